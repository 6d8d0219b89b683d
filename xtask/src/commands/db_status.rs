//! `db-status`: every migration and its state, with a failing exit code when something is wrong.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::elapsed::duration;
use crate::migrations::history::Detail;
use crate::migrations::plan::{Plan, State};
use crate::migrations::{self, MigrationFile, Sides, folder};
use crate::output::{self, note, out};
use crate::postgres::Database;
use crate::project::Project;
use crate::schema;
use crate::server::{Pull, Server};

/// Show every migration and its state: applied, pending or wrong
///
/// States: applied (when, how long), pending, changed since applied (checksum differs), applied
/// but file missing, pending but older than the newest applied (out of order), failed. Exits
/// with status 1 when anything other than applied or pending is found, so CI can use it.
///
/// At the newest migration, it then compares the database's schema with the one the files
/// produce (the reset cache's, when a reset already built these migrations, else built in a
/// scratch database, <name>__xtask_schema, kept for the next run with the same files) and names each table, column,
/// constraint, index, trigger, view, function or type added, removed or changed by hand (drift),
/// with status 1.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-status\n  cargo xtask db-status --no-drift     # the history only\n  DATABASE_URL=postgres://u:p@localhost/app cargo xtask db-status"
)]
pub struct Args {
    /// List the history only, without comparing the schema with the one the files produce
    /// (which reads the reset cache, or builds the migrations in a scratch database)
    #[arg(long)]
    no_drift: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let loading = folder::load_in_background(project.migrations_dir());
        let database = async { Server::select(&self.server, sh, project, Pull::Never)?.up(sh).await }.await;
        let (mut db, Sides { files, applied, .. }) = migrations::read_sides(loading, database, Detail::Listing).await?;
        let database = db.name().to_owned();
        let database = database.as_str();
        let applied = applied.unwrap_or_else(|| {
            note!("Database {database} does not exist yet: `cargo xtask db-migrate` creates it");
            Vec::new()
        });
        let plan = Plan::new(&files, &applied);

        // One write for the whole listing: a thousand migrations are a thousand lines.
        let mut listing = String::new();
        let width = plan.entries.iter().map(|e| e.description.len()).max().unwrap_or(0);
        let version_width = plan.entries.iter().map(|e| e.version.to_string().len()).max().unwrap_or(0);
        for entry in &plan.entries {
            let _ = write!(
                listing,
                "{:>version_width$} {:width$}  {}",
                entry.version,
                entry.description,
                entry.state.label()
            );
            if let (State::Applied, Some(row)) = (entry.state, entry.applied) {
                if let Some(installed_on) = &row.installed_on {
                    let _ = write!(listing, " {installed_on}");
                }
                if let Ok(nanos) = u64::try_from(row.execution_nanos) {
                    let _ = write!(listing, " ({})", duration(Duration::from_nanos(nanos)));
                }
            }
            if entry.state.is_problem() {
                let _ = write!(listing, "\n    {}", entry.state.advice());
            }
            listing.push('\n');
        }
        let pending = plan.entries.iter().filter(|e| e.state == State::Pending).count();
        let problems = plan.problems().count();
        let applied = plan.entries.iter().filter(|e| e.state == State::Applied).count();
        let _ = writeln!(listing, "{database}: {applied} applied, {pending} pending, {problems} problem(s)");
        output::result(format_args!("{listing}"));
        // Drift only means something at the newest migration: otherwise the schema differs from
        // the files' as the listing already says.
        if !self.no_drift && applied > 0 && (pending > 0 || problems > 0) {
            note!("Drift not checked: the history of {database} does not match db/migrations yet (see above)");
        }
        let drifted = !self.no_drift
            && applied > 0
            && pending == 0
            && problems == 0
            && report_drift(&mut db, project, &files).await;
        Ok(output::exit_code(if problems == 0 && !drifted { output::OK } else { output::FOUND }))
    }
}

/// Compares the dev database's schema with the one the files produce (the reset cache's, or
/// built in a scratch database) and prints one line per difference; true when there is any.
/// When the comparison cannot be made (no right to create a database on a managed server), a
/// note says so and the listing stands alone.
async fn report_drift(db: &mut Database, project: &Project, files: &[MigrationFile]) -> bool {
    let target = db.target().clone();
    let database = target.database();
    // The fast path: the dev database's digest is one a full comparison found drift-free.
    let digest = async {
        let dev = db.dev().await?;
        let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut *dev).await?;
        let digest = schema::digest::of(dev).await?;
        anyhow::Ok((schema::digest::KnownGood::new(project, files, &version), digest))
    };
    let digest = digest.await.ok();
    if let Some((known_good, digest)) = &digest
        && known_good.is(digest)
    {
        out!("{database}: no drift, its schema is what db/migrations produce");
        return false;
    }
    let compared = async {
        let actual =
            schema::catalog::read(db.dev().await?).await.with_context(|| format!("read the schema of {database}"))?;
        db.close_dev().await;
        let expected = schema::scratch::expected(db.maintenance().await?, &target, project, files).await?.schema;
        anyhow::Ok((schema::drift::compare(&expected, &actual), actual))
    };
    let (differences, actual) = match compared.await {
        Ok(compared) => compared,
        Err(err) => {
            note!("Note: drift not checked: {}", output::describe_error(&err));
            return false;
        }
    };
    if differences.is_empty() {
        if let Some((known_good, digest)) = &digest {
            known_good.remember(digest);
        }
        out!("{database}: no drift, its schema is what db/migrations produce");
        return false;
    }
    // A migration that leaves session state set changes what the migrations after it in the same
    // run do: what a build one run per migration explains is not a hand's doing.
    let settings = schema::session::settings(files);
    let (by_hand, from_session) = if settings.is_empty() {
        (differences, Vec::new())
    } else {
        let separate = async { schema::scratch::in_separate_runs(db.maintenance().await?, &target, files).await };
        match separate.await {
            Ok(separate) => schema::drift::explain(differences, &separate, &actual),
            Err(err) => {
                note!(
                    "Note: session state not told from hand changes: {}",
                    crate::secrets::redact(&format!("{err:#}"))
                );
                (differences, Vec::new())
            }
        }
    };
    let mut listing = format!("Drift: {database} differs from the schema db/migrations produce:\n");
    for difference in &by_hand {
        let _ = writeln!(listing, "  {difference}");
    }
    for difference in &from_session {
        let _ = writeln!(listing, "  {}", schema::drift::FromSessionState(difference));
    }
    if !by_hand.is_empty() {
        let _ = writeln!(
            listing,
            "{database}: {} difference(s) from the migrations; put the change in a migration (`cargo xtask db-new <name>`), \
             or `cargo xtask db-reset` to rebuild the database from the files",
            by_hand.len()
        );
    }
    if !settings.is_empty() {
        let named: Vec<String> = settings.iter().map(|s| format!("{} (`{}`)", s.place, s.statement)).collect();
        let _ = writeln!(
            listing,
            "{database}: {} difference(s) come from session state, not from a hand: {} set(s) it for the rest of the \
             session, and sqlx keeps it for the migrations applied after it in the same run, so a database migrated \
             in several runs differs from one built in one{}. `cargo xtask db-reset` rebuilds it in one run, as a \
             fresh clone and CI build it; in new migrations, `SET LOCAL` ends with its migration",
            from_session.len(),
            named.join(", "),
            if by_hand.is_empty() { "" } else { " (the differences above called hand changes are not explained so)" }
        );
    }
    output::result(format_args!("{listing}"));
    true
}

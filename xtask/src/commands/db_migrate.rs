//! `db-migrate`: create the dev database if missing and apply pending migrations.

use anyhow::Result;
use xshell::Shell;

use crate::background::Background;
use crate::cli::{ServerArgs, TimeoutArgs};
use crate::elapsed::duration;
use crate::migrations::apply::{self, Applied, Mode, Outcome};
use crate::migrations::history::Detail;
use crate::migrations::plan::Plan;
use crate::migrations::{self, MigrationFile, Sides, folder, lock};
use crate::output::{note, out};
use crate::postgres::{Database, StatementTimeout};
use crate::project::Project;
use crate::schema;
use crate::server::{Pull, Server};

/// Apply pending migrations to the dev database, creating it if missing
///
/// Migrations run in version order, each in its own transaction (a file whose first line is
/// `-- no-transaction` runs outside one), while holding sqlx's migration lock. Before anything
/// runs, the whole of db/migrations is checked against the database's history: a changed or
/// missing applied migration, or a pending one older than the newest applied, is refused.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-migrate\n  cargo xtask db-migrate --dry-run\n  cargo xtask db-migrate --statement-timeout 30s"
)]
pub struct Args {
    /// List the migrations that would run, and change nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    timeout: TimeoutArgs,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let loading = folder::load_in_background(project.migrations_dir());
        let database = async { Server::select(&self.server, sh, project, Pull::IfMissing)?.up(sh).await }.await;
        migrate(project, loading, database, self.timeout.statement_timeout.as_ref(), self.dry_run).await.map(drop)
    }
}

/// What `db-migrate` does to the dev database of `server`, for the commands that need it up to
/// date first (`test` and `db-prepare`: sqlx's checked queries are checked against it). Returns
/// the handle, its sessions open.
pub async fn up_to_date(sh: &Shell, project: &Project, server: &Server) -> Result<Database> {
    let loading = folder::load_in_background(project.migrations_dir());
    let database = server.up(sh).await;
    migrate(project, loading, database, None, false).await
}

async fn migrate(
    project: &Project,
    loading: Background<Result<Vec<MigrationFile>>>,
    database: Result<Database>,
    statement_timeout: Option<&StatementTimeout>,
    dry_run: bool,
) -> Result<Database> {
    let (mut database, Sides { files, applied, all_applied }) =
        migrations::read_sides(loading, database, Detail::Decision).await?;
    let name = database.name().to_owned();
    // The everyday no-op: the history's summary is the files', and the schema files were
    // rendered from these migrations. What `apply::migrate` and `schema::refresh` would find
    // (nothing to do), without comparing a thousand rows twice in the unoptimised build.
    if all_applied && (dry_run || schema::is_current(project, &files)) {
        report(&name, Outcome::UpToDate { applied: files.len() });
        return Ok(database);
    }
    // What the dev database held before this run decides what the schema files may be written
    // from: a database created here, or one whose schema is the one remembered for what it had
    // applied, is what the migrations produce; any other may hold changes made by hand.
    let mut provenance = schema::Provenance::FromTheFiles;
    let pending = applied.as_ref().is_none_or(|applied| Plan::new(&files, applied).pending().next().is_some());
    if applied.is_none() {
        // Nothing is applied yet, so only the files can be wrong: say so before anything.
        Plan::new(&files, &[]).refuse_problems(&name)?;
        if dry_run {
            out!("Database {name} does not exist yet; db-migrate would create it");
            report(&name, Outcome::WouldApply(files.iter().collect()));
            return Ok(database);
        }
        if database.create_if_missing().await? {
            out!("Created database {name}");
        }
    } else if let Some(applied) = &applied
        && !dry_run
        && (pending || !schema::is_current(project, &files))
    {
        provenance = schema::provenance(database.dev().await?, project, &files, applied).await;
    }
    database.set_statement_timeout(statement_timeout).await;
    // With migrations to apply, the lock is held until the schema files are written from what
    // they made (apply::migrate takes and releases it once more inside): a db-reset waiting for
    // this run swaps its database in only after that, instead of ending the session reading it.
    let hold = !dry_run && pending;
    if hold {
        lock::acquire(database.dev().await?, &name).await?;
    }
    let mode = if dry_run { Mode::DryRun } else { Mode::Apply };
    let outcome = apply::migrate(database.dev().await?, &name, &files, applied, mode, report_applied).await?;
    if let Outcome::Applied { session_left } = &outcome
        && !session_left.is_empty()
        && let Some(newest) = files.last()
    {
        schema::session_left::record(project, newest.version());
    }
    report(&name, outcome);
    if !dry_run {
        schema::refresh(&mut database, project, &files, provenance).await?;
    }
    if hold {
        lock::release(database.dev().await?, &name).await?;
    }
    Ok(database)
}

/// sqlx-cli's line for a migration just applied: `Applied 20261125150000/migrate create
/// gateways (12.3ms)`. `db-reset` prints its build's the same way.
pub fn report_applied(applied: Applied) {
    let Applied { file, elapsed } = applied;
    out!("Applied {}/migrate {} ({})", file.version(), file.migration.description, duration(elapsed));
}

/// What a run of the migrations came to, beyond the lines `report_applied` printed.
pub fn report(database: &str, outcome: Outcome) {
    match outcome {
        Outcome::UpToDate { applied } => out!("Database {database} is up to date ({applied} migration(s) applied)"),
        Outcome::WouldApply(files) => {
            for file in files {
                out!("Can apply {}/migrate {}", file.version(), file.migration.description);
            }
        }
        Outcome::Applied { session_left } if session_left.is_empty() => {}
        Outcome::Applied { session_left } => note!(
            "Note: the migrations left session settings changed ({}): sqlx keeps them for the migrations that \
             follow, and so did this run; the xtask's own queries after it (the history, the schema, the seeds) \
             run without them. `SET LOCAL` keeps a setting to its own migration.",
            session_left.join(", ")
        ),
    }
}

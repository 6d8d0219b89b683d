//! `db-status`: every migration and its state, with a failing exit code when something is wrong.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::elapsed::duration;
use crate::migrations::plan::{Plan, State};
use crate::migrations::{self, Sides, folder};
use crate::output::{self, note};
use crate::project::Project;
use crate::server::Server;

/// Show every migration and its state: applied, pending or wrong
///
/// States: applied (when, how long), pending, changed since applied (checksum differs), applied
/// but file missing, pending but older than the newest applied (out of order), failed. Exits
/// with status 1 when anything other than applied or pending is found, so CI can use it.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-status\n  DATABASE_URL=postgres://u:p@localhost/app cargo xtask db-status"
)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let loading = folder::load_in_background(project.migrations_dir());
        let database = async { Server::select(&self.server, sh, project, false)?.up(sh).await }.await;
        let (database, Sides { files, applied }) = migrations::read_sides(loading, database).await?;
        let database = database.name();
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
                let _ = write!(listing, " {}", row.installed_on);
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
        Ok(output::exit_code(if problems == 0 { output::OK } else { output::FOUND }))
    }
}

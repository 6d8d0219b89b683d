//! `db-migrate`: create the dev database if missing and apply pending migrations.

use anyhow::Result;
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::migrations::plan::Plan;
use crate::migrations::{self, Start, apply, folder};
use crate::output::out;
use crate::postgres::connect::Session;
use crate::postgres::{StatementTimeout, admin, connect};
use crate::project::Project;
use crate::schema;
use crate::server::{Running, Server};

/// Apply pending migrations to the dev database, creating it if missing
///
/// Migrations run in version order, each in its own transaction (a file whose first line is
/// `-- no-transaction` runs outside one), while holding sqlx's migration lock. Before anything
/// runs, the whole of db/migrations is checked against the database's history: a changed or
/// missing applied migration, or a pending one older than the newest applied, is refused.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  cargo xtask db-migrate\n  cargo xtask db-migrate --dry-run")]
pub struct Args {
    /// List the migrations that would run, and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Cancel any statement that runs longer than this (e.g. 30s, 5min); the migration or seed
    /// then fails and is rolled back
    #[arg(long, value_name = "DURATION")]
    statement_timeout: Option<StatementTimeout>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let loading = folder::load_in_background(project.migrations_dir());
        let running = async { Server::select(&self.server, sh, project, true)?.up(sh, "db-migrate").await }.await;
        let Start { files, running: Running { target, session }, applied } =
            migrations::start(loading, running).await?;
        let database = target.database();
        let target = target.with_statement_timeout(self.statement_timeout.as_ref());
        let mut conn = match session {
            // The common case: one session does everything.
            Session::Dev(conn) if self.statement_timeout.is_none() => conn,
            Session::Dev(_) => connect::connect(&target, "db-migrate").await?,
            Session::Maintenance(_) if self.dry_run => {
                out!("Database {database} does not exist yet; db-migrate would create it");
                for file in &files {
                    out!("Can apply {}/migrate {}", file.version(), file.migration.description);
                }
                return Ok(());
            }
            Session::Maintenance(mut admin_conn) => {
                // Nothing is applied yet, so only the files can be wrong: say so before creating.
                Plan::new(&files, &[]).refuse_problems(database)?;
                if admin::create_if_missing(&mut admin_conn, database).await? {
                    out!("Created database {database}");
                }
                connect::connect(&target, "db-migrate").await?
            }
        };
        apply::migrate(&mut conn, &target, &files, applied, self.dry_run).await?;
        if !self.dry_run {
            schema::refresh(&mut conn, project, &files).await?;
        }
        Ok(())
    }
}

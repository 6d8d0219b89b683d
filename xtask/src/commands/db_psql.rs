//! `db-psql`: psql on the dev database, wherever the server comes from.

use std::process::ExitCode;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::project::Project;
use crate::server::{Pull, Server};

/// Open psql on the dev database
///
/// Inside the container for Docker, through the private socket for the local cluster, and the
/// DATABASE_URL server otherwise. The password, where one is needed, reaches psql through its
/// environment, never its command line. Arguments after `--` go to psql; its exit status is
/// this command's.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-psql\n  cargo xtask db-psql -- -c 'SELECT count(*) FROM gateways'\n  cargo xtask db-psql -- -f query.sql"
)]
pub struct Args {
    /// Arguments for psql
    #[arg(last = true)]
    psql_args: Vec<String>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        let database = server.up(sh).await?;
        let psql = server.psql(sh, database.target(), &self.psql_args)?;
        // psql opens its own session; ours only proved the server is up.
        drop(database);
        let status = std::process::Command::from(psql).status().context("run psql")?;
        // psql's own status: 0 ok, 1 a fatal error of its own, 2 a lost connection, 3 a failed
        // script with ON_ERROR_STOP.
        Ok(ExitCode::from(
            status.code().map_or(crate::output::ERROR, |code| u8::try_from(code).unwrap_or(crate::output::ERROR)),
        ))
    }
}

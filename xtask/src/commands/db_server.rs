//! `db-up` and `db-down`: start and stop the dev server without touching its data.

use anyhow::Result;
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::output::out;
use crate::project::Project;
use crate::server::{Pull, Remote, Server, refuse_remote};

/// Start the dev server (if needed) and print its address
///
/// With the local cluster, the first run creates it under .xtask/postgres. With
/// DATABASE_URL, checks that the server answers.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  cargo xtask db-up")]
pub struct UpArgs {
    #[command(flatten)]
    server: ServerArgs,
}

impl UpArgs {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        let database = server.up(sh).await?;
        // The address printed here is for everything else: its password must work.
        database.check_password_login().await?;
        out!("PostgreSQL is up: {} ({})", database.target(), server.describe());
        Ok(())
    }
}

/// Stop the dev server, keeping its data (--purge deletes it)
///
/// --purge also deletes the server's data and says what it removed: the local cluster's folder,
/// or, with DATABASE_URL, the one database the URL names. Purging refuses servers on other
/// machines unless --allow-remote is given.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  cargo xtask db-down\n  cargo xtask db-down --purge")]
pub struct DownArgs {
    /// Also delete the server's data
    #[arg(long)]
    purge: bool,
    /// Allow --purge on a server that is not on this machine
    #[arg(long, requires = "purge")]
    allow_remote: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl DownArgs {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project, Pull::Never)?;
        if !self.purge {
            return server.down(sh);
        }
        if let Some(target) = server.target_if_known() {
            let remote = if self.allow_remote { Remote::Allowed } else { Remote::Refused };
            refuse_remote(target, "db-down --purge", remote)?;
        }
        server.purge(sh, project).await
    }
}

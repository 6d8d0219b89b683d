//! `db-url`: the dev database's address, for the tools that are not the xtask.

use anyhow::Result;
use xshell::Shell;

use crate::cli::ServerArgs;
use crate::output::{note, out};
use crate::project::Project;
use crate::server::{Pull, Server};

/// Print the dev database's URL, for IDEs, sqlx-cli and plain `cargo test`
///
/// Starts the server if needed and prints `postgres://USER:***@127.0.0.1:PORT/DATABASE`: the
/// address over TCP that any tool can use, the password masked unless --show-password. A
/// DATABASE_URL set to this address (in the shell or .env) leaves the xtask on this checkout's
/// own server, where it was: it does not switch to the url backend.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  cargo xtask db-url
  DATABASE_URL=$(cargo xtask db-url --show-password) cargo test -p db
  echo \"DATABASE_URL=$(cargo xtask db-url --show-password)\" >> .env   # rust-analyzer, sqlx-cli")]
pub struct Args {
    /// Print the password too (it is then in your terminal's scrollback)
    #[arg(long)]
    show_password: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        let database = server.up(sh).await?;
        // What is printed here is for everything else: its password must work.
        database.check_password_login().await?;
        let target = database.target().over_tcp();
        if self.show_password {
            out!("{}", target.url_with_password());
        } else {
            out!("{target}");
            note!("The password is masked; --show-password prints it");
        }
        Ok(())
    }
}

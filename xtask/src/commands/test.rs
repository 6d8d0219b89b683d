//! `test`: the workspace's tests against the dev server.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::output::note;
use crate::project::Project;
use crate::server::{Running, Server};

/// Run the workspace's tests against the dev server
///
/// Starts the server if needed, then runs `cargo test --workspace` with DATABASE_URL set to the
/// server's maintenance database; the tests create databases of their own there. Arguments after
/// `--` go to `cargo test`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask test\n  cargo xtask test -- -p db\n  cargo xtask test -- --test engine reset"
)]
pub struct Args {
    /// Arguments for `cargo test`
    #[arg(last = true)]
    cargo_args: Vec<String>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project)?;
        let Running { target, .. } = server.up(sh, "test").await?;
        note!("Testing against {} ({})", target.maintenance(), server.describe());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let args = &self.cargo_args;
        cmd!(sh, "{cargo} test --workspace {args...}")
            .env("DATABASE_URL", target.maintenance().url_with_password())
            .run()
            .context("the tests failed (see above)")?;
        Ok(())
    }
}

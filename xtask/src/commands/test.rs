//! `test`: the workspace's tests against the dev server.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::output::note;
use crate::project::Project;
use crate::server::Server;

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
        let server = Server::select(&self.server, sh, project, true)?;
        let database = server.up(sh).await?;
        // The tests log in with the password: a password changed since the cluster was made is
        // said here, once, not by every test.
        database.check_password_login().await?;
        let target = database.target();
        note!("Testing against {} ({})", target.maintenance(), server.describe());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let args = &self.cargo_args;
        let mut test = cmd!(sh, "{cargo} test --workspace {args...}")
            .env("DATABASE_URL", target.maintenance().url_with_password());
        for (key, value) in cargo_run_environment() {
            test = match value {
                Some(value) => test.env(key, value),
                None => test.env_remove(key),
            };
        }
        test.run().context("the tests failed (see above)")?;
        Ok(())
    }
}

/// What `cargo run` added to this process's environment, undone for the inner `cargo test`:
/// build scripts that watch such a variable (ring's watches `CARGO_MANIFEST_DIR`) would otherwise
/// see it change between `cargo xtask test` and every other `cargo xtask` command, and half the
/// dependency graph would be rebuilt each time one follows the other. `None` removes a variable.
fn cargo_run_environment() -> Vec<(String, Option<String>)> {
    let mut changes = Vec::new();
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let added_by_cargo_run = key.starts_with("CARGO_PKG_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if added_by_cargo_run {
            changes.push((key.to_owned(), None));
        }
    }
    // `cargo run` puts the target folder and the toolchain's libraries in front of the library
    // path; whatever the user had stays.
    if let Ok(paths) = std::env::var("LD_LIBRARY_PATH") {
        let kept: Vec<&str> = paths
            .split(':')
            .filter(|path| !path.contains("/target/") && !path.contains("/rustlib/") && !path.contains("/toolchains/"))
            .collect();
        changes.push(("LD_LIBRARY_PATH".to_owned(), (!kept.is_empty()).then(|| kept.join(":"))));
    }
    changes
}

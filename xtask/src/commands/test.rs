//! `test`: the workspace's tests against the dev server.

mod leftovers;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::commands::db_migrate;
use crate::output::note;
use crate::project::Project;
use crate::server::{Pull, Server};

/// Run the workspace's tests against the dev server
///
/// Starts the server if needed, brings the dev database up to date (as db-migrate does: sqlx's
/// checked queries, `query!`, are checked against it while the tests build), then runs `cargo
/// test` with DATABASE_URL set to the dev database. The tests make their databases beside it
/// (crates/testdb). Arguments after `--` go to `cargo test` as written: `-p db` runs that
/// package's tests alone, a name filters them. Without arguments, every test of the workspace
/// runs, the xtask's own CLI suite included (minutes).
#[derive(clap::Args)]
#[command(after_help = "Examples:
  cargo xtask test                          # everything, as CI runs it
  cargo xtask test -- -p db                 # the schema tests: seconds once built
  cargo xtask test -- -p db slugs           # those whose name contains `slugs`
  cargo xtask test -- -p xtask --test cli reset
  cargo xtask test --leftovers              # databases failed tests left behind")]
pub struct Args {
    /// List the databases tests left on the dev server (a failed test's copy, a #[sqlx::test]
    /// database, a CLI test's fixture, a passed test's copy a run outside this command put aside)
    /// and the test templates, then stop
    #[arg(long, conflicts_with = "drop_leftovers")]
    leftovers: bool,
    /// Drop those databases (templates older than an hour among them: they are rebuilt when a
    /// test needs them), then stop, e.g. `cargo xtask test --drop-leftovers`
    #[arg(long)]
    drop_leftovers: bool,
    /// Arguments for `cargo test`
    #[arg(last = true)]
    cargo_args: Vec<String>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        if self.leftovers || self.drop_leftovers {
            let mut database = server.up(sh).await?;
            let found = leftovers::find(&mut database).await?;
            if self.drop_leftovers {
                return leftovers::drop_all(&mut database, &found).await;
            }
            leftovers::list(&found);
            return Ok(());
        }
        let mut database = db_migrate::up_to_date(sh, project, &server).await?;
        // The tests log in with the password: a password changed since the cluster was made is
        // said here, once, not by every test.
        database.check_password_login().await?;
        let target = database.target().clone();
        note!("Testing against {} ({})", target, server.describe());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let args = cargo_test_args(&self.cargo_args);
        // The dev database, as sqlx expects DATABASE_URL: its macros check queries against it.
        let mut test = cmd!(sh, "{cargo} {args...}").env("DATABASE_URL", target.url_with_password());
        if let Some(threads) = default_test_threads(&self.cargo_args, std::env::var_os("RUST_TEST_THREADS").is_some()) {
            test = test.env("RUST_TEST_THREADS", threads);
        }
        for (key, value) in cargo_run_environment() {
            test = match value {
                Some(value) => test.env(key, value),
                None => test.env_remove(key),
            };
        }
        let outcome = test.run().context("cargo test failed (see above: a test, or cargo itself)");
        let found = leftovers::find(&mut database).await?;
        let left = leftovers::drop_trash(&mut database, found).await?;
        leftovers::note_failed_tests(&left);
        outcome?;
        Ok(())
    }
}

/// `cargo test` and the user's arguments, as written: a virtual workspace's `cargo test` runs
/// every member by itself, and an added `--workspace` would make cargo ignore `-p`.
fn cargo_test_args(user: &[String]) -> Vec<String> {
    std::iter::once("test".to_owned()).chain(user.iter().cloned()).collect()
}

/// Threads per test binary when the user chose none: the tests mostly wait (for the xtask's
/// child processes, servers, containers, the database), so libtest's default of one per core (two
/// on CI's machines) left the cores idle much of the time (the CLI suite's figures: docs/testing.md).
const TEST_THREADS: &str = "8";

/// `RUST_TEST_THREADS` for the inner `cargo test`, unless the user set it or passed
/// `--test-threads` to the test binaries.
fn default_test_threads(user: &[String], user_set_variable: bool) -> Option<&'static str> {
    let passed = user.iter().any(|arg| arg == "--test-threads" || arg.starts_with("--test-threads="));
    (!passed && !user_set_variable).then_some(TEST_THREADS)
}

/// What `cargo run` added to this process's environment, undone for the inner `cargo test`:
/// build scripts that watch such a variable (ring's watches `CARGO_MANIFEST_DIR`) would otherwise
/// see it change between `cargo xtask test` and every other `cargo xtask` command, and half the
/// dependency graph would be rebuilt each time one follows the other. `None` removes a variable.
pub fn cargo_run_environment() -> Vec<(String, Option<String>)> {
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

#[cfg(test)]
mod tests {
    use super::{TEST_THREADS, cargo_test_args, default_test_threads};

    #[test]
    fn the_users_arguments_reach_cargo_as_written() {
        let args: Vec<String> = ["-p", "db", "slugs"].map(String::from).into();
        assert_eq!(cargo_test_args(&args), ["test", "-p", "db", "slugs"]);
        assert_eq!(cargo_test_args(&[]), ["test"]);
    }

    #[test]
    fn more_test_threads_unless_the_user_chose_a_number() {
        let args = |list: &[&str]| -> Vec<String> { list.iter().map(|arg| (*arg).to_owned()).collect() };
        assert_eq!(default_test_threads(&args(&["-p", "db"]), false), Some(TEST_THREADS));
        assert_eq!(default_test_threads(&args(&["--", "--test-threads", "1"]), false), None);
        assert_eq!(default_test_threads(&args(&["--", "--test-threads=3"]), false), None);
        assert_eq!(default_test_threads(&[], true), None);
    }
}

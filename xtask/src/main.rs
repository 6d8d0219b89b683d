//! The team's database workflow: `cargo xtask <command>`.
//!
//! Each command lives in `commands/`; where the PostgreSQL server comes from (a `DATABASE_URL`, a
//! private local cluster, a Docker Compose container) lives in `server/`; reading, checking and
//! applying `db/migrations` and `db/seeds` lives in `migrations/` and `seeds.rs`; the reset cache
//! in `template_cache.rs`; talking to PostgreSQL in `postgres/`.

mod background;
mod cli;
mod commands;
mod config;
mod fingerprint;
mod migrations;
mod postgres;
mod project;
mod reset_copies;
mod secrets;
mod seeds;
mod server;
mod template_cache;
mod timestamp;

use std::process::ExitCode;

use clap::Parser;

/// The conventional status of a program stopped by Ctrl-C (128 + SIGINT).
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: what failed and why. Every
            // message goes through the redactor, so a password echoed by a driver never shows.
            eprintln!("error: {}", secrets::redact(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let project = project::Project::locate()?;
    let sh = xshell::Shell::new()?;
    sh.change_dir(&project.root);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        tokio::select! {
            biased;
            // Dropping the command's future closes its connections, and the server rolls back
            // whatever transaction was open: no migration or seed run is left half applied.
            _ = tokio::signal::ctrl_c() => {
                eprintln!(
                    "interrupted: stopped before finishing; open transactions were rolled back \
                     (a half-built reset is cleaned up by the next db-reset)"
                );
                Ok(ExitCode::from(INTERRUPTED))
            }
            result = commands::run(cli.command, &sh, &project) => result,
        }
    })
}

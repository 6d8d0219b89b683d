//! The team's database workflow: `cargo xtask <command>`.
//!
//! Each command lives in `commands/`; where the PostgreSQL server comes from (a `DATABASE_URL`, a
//! private local cluster, a Docker Compose container) lives in `server/`; reading, checking and
//! applying `db/migrations` and `db/seeds` lives in `migrations/` and `seeds.rs`; what a reset adds
//! around a migration run (scratch name, lock, template cache, swap) in `reset/`; talking to PostgreSQL in `postgres/`; the schema the migrations produce
//! (`db/schema.sql`, the ER diagram, drift) in `schema/`; what a new migration would lock in
//! production, traced for `db-check`, in `safety/`.

mod append_only;
mod background;
mod bench;
mod child_process;
mod cli;
mod commands;
mod config;
mod elapsed;
mod github;
mod lock_file;
mod migrations;
mod output;
mod postgres;
mod project;
#[cfg(test)]
mod reliability_doc;
mod reset;
mod safety;
mod schema;
mod secrets;
mod seeds;
mod server;
mod timestamp;

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    let matches = <cli::Cli as clap::CommandFactory>::command().get_matches();
    // The server shows each session's command (`pg_stat_activity`), as named on the command line.
    postgres::waits::name_sessions_after(matches.subcommand_name().unwrap_or("xtask"));
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let Some(command) = cli.command else {
        // `cargo xtask` alone: the list of commands, on stdout, as `--help` prints it.
        let mut help = <cli::Cli as clap::CommandFactory>::command();
        return match help.print_help() {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => output::exit_code(output::ERROR),
            _ => ExitCode::SUCCESS,
        };
    };
    match run(command, cli.quiet) {
        Ok(code) => code,
        Err(err) => {
            // The whole context chain on one line: what failed and why. Every message goes
            // through the redactor, so a password echoed by a driver never shows.
            eprintln!("error: {}", output::describe_error(&err));
            output::exit_code(output::ERROR)
        }
    }
}

fn run(command: cli::Command, quiet: bool) -> anyhow::Result<ExitCode> {
    output::set_quiet(quiet);
    let project = project::Project::locate()?;
    let sh = xshell::Shell::new()?;
    sh.change_dir(&project.root);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // Listening from the start, so a Ctrl-C that lands while a child process (initdb, Compose)
        // holds the thread is still seen when the command comes back with that child's failure.
        let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let interrupted = || {
            let what = output::interrupt_note().unwrap_or_else(|| {
                "stopped before finishing; the server rolls back whatever transaction was open".to_owned()
            });
            eprintln!("interrupted: {}", secrets::redact(&what));
            Ok(output::exit_code(output::INTERRUPTED))
        };
        let result = tokio::select! {
            biased;
            // Dropping the command's future closes its connections, and the server rolls back
            // whatever transaction was open: no migration or seed run is left half applied.
            _ = interrupt.recv() => return interrupted(),
            result = commands::run(command, &sh, &project) => result,
            never = postgres::waits::watch() => match never {},
        };
        if result.is_err() && tokio::time::timeout(std::time::Duration::from_millis(20), interrupt.recv()).await.is_ok()
        {
            return interrupted();
        }
        result
    })
}

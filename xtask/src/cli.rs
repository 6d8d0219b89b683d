//! The command line: one subcommand per task, whose doc comments are the help text.

use clap::{Parser, Subcommand, ValueEnum};

use crate::bench;
use crate::commands::{
    db_check, db_migrate, db_new, db_prepare, db_psql, db_reset, db_server, db_status, db_url, test,
};
use crate::postgres::StatementTimeout;

const EXAMPLES: &str = "\
Examples:
  cargo xtask db-reset                 # fresh dev database: drop, recreate, migrate, seed
  cargo xtask db-new create_sensors    # new migration file in db/migrations
  cargo xtask db-migrate               # apply pending migrations
  cargo xtask db-status                # what is applied, pending or wrong
  cargo xtask db-check                 # before a push: append-only, in order, schema files current
  cargo xtask db-psql                  # psql on the dev database
  cargo xtask test                     # run every test against the dev server
  cargo xtask test -- -p db            # the schema tests alone: seconds
  cargo xtask db-url                   # the dev database's URL for other tools
  cargo xtask db-prepare               # refresh .sqlx, the checked queries' offline data
  cargo xtask bench                    # time resets against a psql floor
  DATABASE_URL=postgres://u:p@localhost/app cargo xtask db-migrate";

/// The team's database workflow: a private PostgreSQL per developer, plain-SQL migrations in
/// db/migrations, seed data in db/seeds.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", after_help = EXAMPLES)]
pub struct Cli {
    /// Print results and errors only, no notes
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// None: `cargo xtask` alone, which lists the commands (and succeeds: asking is not an error).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    DbReset(db_reset::Args),
    DbMigrate(db_migrate::Args),
    DbNew(db_new::Args),
    DbStatus(db_status::Args),
    DbCheck(db_check::Args),
    DbPsql(db_psql::Args),
    DbUp(db_server::UpArgs),
    DbDown(db_server::DownArgs),
    DbUrl(db_url::Args),
    DbPrepare(db_prepare::Args),
    Test(test::Args),
    Bench(bench::Args),
}

/// Where the PostgreSQL server comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// DATABASE_URL when it is set, else Docker when it can run the image, else the local cluster
    Auto,
    /// The Docker Compose service in docker-compose.yml, one project per checkout
    Docker,
    /// A private cluster in .xtask/postgres, made with this machine's PostgreSQL binaries
    Native,
    /// The server DATABASE_URL names; nothing is started or stopped
    Url,
}

/// Options every command that talks to the server shares.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// Where the server comes from: auto, docker, native or url [env: XTASK_DB_BACKEND] [default: auto]
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<Backend>,
}

/// The option of the commands that run migrations and seeds (db-migrate, db-reset).
#[derive(clap::Args)]
pub struct TimeoutArgs {
    /// Cancel any statement that runs longer than this (e.g. 30s, 5min; 0: never); the migration it belongs
    /// to (or, in db-reset, the seeds) then fails and is rolled back
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<StatementTimeout>,
}

/// Where the command reference lives: generated from these types, so help and docs never differ.
#[cfg(test)]
const REFERENCE_FILE: &str = "docs/commands.md";

/// The command reference in Markdown: `cargo xtask --help` and each command's `--help`, as they
/// print, at a fixed width.
#[cfg(test)]
fn reference() -> String {
    let mut cli = <Cli as clap::CommandFactory>::command().term_width(100);
    cli.build();
    let mut text = String::from(
        "# Command reference\n\n\
         Generated from the commands' help text (`xtask/src/cli.rs`, `xtask/src/commands/`,\n\
         `xtask/src/bench/`) by the test `cli::tests::the_command_reference_is_current`: edit the doc\n\
         comments, not this file.\n\
         `cargo xtask <command> --help` prints the same.\n\n",
    );
    let help = |command: &mut clap::Command| command.render_long_help().to_string();
    text.push_str(&format!("## `cargo xtask`\n\n```text\n{}```\n", help(&mut cli)));
    for command in cli.get_subcommands_mut().filter(|c| c.get_name() != "help") {
        let name = command.get_name().to_owned();
        text.push_str(&format!("\n## `cargo xtask {name}`\n\n```text\n{}```\n", help(command)));
    }
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    /// The committed reference is what the help says; when it is not, the test writes the new
    /// one (so the next run passes) and fails, so the change is seen and committed.
    #[test]
    fn the_command_reference_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(super::REFERENCE_FILE);
        let expected = super::reference();
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != expected {
            std::fs::write(&path, &expected).unwrap();
            panic!(
                "{} was stale and has been rewritten from the help text: review and commit it",
                super::REFERENCE_FILE
            );
        }
    }
}

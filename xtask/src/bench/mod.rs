//! `bench`: times whole commands against one server, next to a floor that does the same work
//! with one `psql` process. It prints figures; it never passes or fails on them. Kept out of
//! the everyday commands: `harness.rs` runs and times commands and prints rows, `workloads.rs`
//! writes the projects it times, `trace.rs` and `test_databases.rs` time db-check's trace and
//! the test databases; this file says what is timed against what.

mod harness;
mod test_databases;
mod trace;
mod workloads;

use std::path::PathBuf;

use anyhow::{Context, Result};
use sqlx::Connection;
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::output::out;
use crate::postgres::{admin, beside, connect, install};
use crate::project::Project;
use crate::server::{Pull, Server};
use harness::{Timed, print_machine, row, sqlx_cli_migrate, start_container, time, xtask, xtask_in_container};
use test_databases::{TEST_DATABASES_BENCH, test_database_rows};
use trace::{largest_table, time_trace};
use workloads::{copy_project_files, write_floor_script, write_large_seed, write_many_migrations};

/// Time resets, migrations and status against a psql floor, and print the figures
///
/// Workloads: (a) this project's migrations and seeds; (b) 1,000 small generated migrations;
/// (c) this project's schema with 200,000 rows of its most seeded table (written from what the
/// catalog says of it); and a no-op db-migrate and db-status with 1,000 migrations applied, beside
/// sqlx-cli's `migrate run` and `migrate info` when it is installed. Each reset is paired with a run of the floor, in alternating
/// order: one psql process that drops and creates the database and runs the same files. Prints
/// the median and spread (min–max) of each, and of the ratios run by run. Requires `psql` on
/// this machine.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  cargo xtask bench\n  cargo xtask bench --runs 9\n  cargo xtask bench --quick")]
pub struct Args {
    /// Runs of each measurement (the median of an odd number is a real run)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Only the project's own workload (a), run once: a quick look, and what the tests run
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// One generated project: its folder, and the database it resets.
struct Workload {
    label: &'static str,
    dir: PathBuf,
    database: String,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        let mut database = server.up(sh).await?;
        let target = database.target().clone();
        let admin_conn = database.maintenance().await?;
        let psql = install::psql(sh)?;
        let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut *admin_conn).await?;
        print_machine(sh, &version, &server.describe());

        let root = project.state_dir().join("bench");
        let workloads = [
            Workload { label: "(a) project data", dir: root.join("project"), database: "xtask_bench_project".into() },
            Workload {
                label: "(b) 1,000 migrations",
                dir: root.join("migrations"),
                database: "xtask_bench_many".into(),
            },
            Workload {
                label: "(c) 200,000 seeded rows",
                dir: root.join("large"),
                database: "xtask_bench_large".into(),
            },
        ];
        std::fs::remove_dir_all(&root).ok();
        copy_project_files(project, &workloads[0].dir)?;
        let (workloads_run, runs) = if self.quick { (&workloads[..1], 1) } else { (&workloads[..], self.runs) };
        if !self.quick {
            write_many_migrations(&workloads[1].dir, 1000)?;
            copy_project_files(project, &workloads[2].dir)?;
        }

        let exe = std::env::current_exe().context("find the xtask binary")?;
        let mut report = String::new();
        for workload in workloads_run {
            if workload.database == workloads[2].database {
                // The project's schema and seeds, as workload (a)'s resets left them.
                let mut conn = connect::connect(&target.with_database(&workloads[0].database)).await?;
                let seed = workload.dir.join("db/seeds/999_bench_rows.sql");
                let table = write_large_seed(&mut conn, &seed, 200_000).await?;
                conn.close().await.ok();
                out!("(c) repeats the seeded rows of {table}");
            }
            let url = target.with_database(&workload.database).local_url_with_password();
            let floor_db = format!("{}_floor", workload.database);
            let floor = write_floor_script(&workload.dir, &floor_db)?;
            // psql gets the address and password from its environment: never on its command
            // line, which `ps` shows to every account.
            let maintenance_env = target.maintenance().libpq_env();
            let (mut floors, mut resets, mut default, mut cached) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Fills the reset cache, so every timed cached run finds it.
            xtask(sh, &exe, &workload.dir, &url, &["db-reset"])?;
            let run_floor = || {
                time(|| {
                    cmd!(sh, "{psql} -X -q -v ON_ERROR_STOP=1 -f {floor}")
                        .envs(maintenance_env.iter().map(|(key, value)| (*key, value)))
                        .env("PGOPTIONS", "-c client_min_messages=warning")
                        .quiet()
                        .ignore_stdout()
                        .run()
                })
            };
            let run_reset = || time(|| xtask(sh, &exe, &workload.dir, &url, &["db-reset", "--no-cache"]));
            for run in 0..runs {
                // Each timed command starts from a checkpoint, so none pays for the pages another
                // left dirty, and each pair runs in alternating order, so whatever else one
                // leaves behind for the next (files just deleted) weighs on both sides alike.
                if run % 2 == 0 {
                    admin::checkpoint(admin_conn).await?;
                    floors.push(run_floor()?);
                    admin::checkpoint(admin_conn).await?;
                    resets.push(run_reset()?);
                } else {
                    admin::checkpoint(admin_conn).await?;
                    resets.push(run_reset()?);
                    admin::checkpoint(admin_conn).await?;
                    floors.push(run_floor()?);
                }
                // --no-cache dropped the template: one reset, untimed, saves it again (and labels it
                // with what its build and its copy took), so the default finds a fresh one.
                xtask(sh, &exe, &workload.dir, &url, &["db-reset"])?;
                admin::checkpoint(admin_conn).await?;
                default.push(time(|| xtask(sh, &exe, &workload.dir, &url, &["db-reset"]))?);
                admin::checkpoint(admin_conn).await?;
                cached.push(time(|| xtask(sh, &exe, &workload.dir, &url, &["db-reset", "--cache", "always"]))?);
            }
            row(&mut report, workload.label, "psql floor (drop, create, run the files)", &floors, None);
            row(&mut report, workload.label, "db-reset --no-cache", &resets, Some(&floors));
            row(&mut report, workload.label, "db-reset (copies when faster)", &default, Some(&floors));
            row(&mut report, workload.label, "db-reset --cache always (copied)", &cached, Some(&floors));
            admin::drop_force(admin_conn, &floor_db).await?;

            // What db-check's trace adds for one new migration (a catalog-only ALTER TABLE under
            // a lock_timeout), by where its base comes from.
            if workload.database != workloads[2].database {
                let target = target.with_database(&workload.database);
                match largest_table(&target).await? {
                    Some(table) => {
                        for (label, times) in time_trace(admin_conn, &target, &workload.dir, &table, runs).await? {
                            row(&mut report, workload.label, label, &times, None);
                        }
                    }
                    None => out!("(no table in {}: no db-check trace rows)", workload.database),
                }
            }

            // No-op commands on the database with 1,000 migrations applied, timed before the
            // 200,000-row workload, whose writes keep the server busy for a while after it.
            // Beside this server's own address: the same server over TCP with a password
            // handshake (as a DATABASE_URL server is reached), sqlx-cli there when it is
            // installed, and a container of the workload's own when Docker can run one.
            if workload.database == workloads[1].database {
                let tcp_url = target.over_tcp().with_database(&workload.database).url_with_password();
                let docker = start_container(sh, &exe, project, &workload.dir);
                let sqlx_cli = cmd!(sh, "sqlx --version").quiet().ignore_stdout().ignore_stderr().run().is_ok();
                let mut variants: Vec<Timed> = vec![
                    ("db-migrate, nothing pending", Box::new(|| xtask(sh, &exe, &workload.dir, &url, &["db-migrate"]))),
                    ("db-status", Box::new(|| xtask(sh, &exe, &workload.dir, &url, &["db-status"]))),
                    (
                        "db-migrate, nothing pending, over TCP",
                        Box::new(|| xtask(sh, &exe, &workload.dir, &tcp_url, &["db-migrate"])),
                    ),
                    ("db-status, over TCP", Box::new(|| xtask(sh, &exe, &workload.dir, &tcp_url, &["db-status"]))),
                    (
                        "db-status --no-drift, over TCP",
                        Box::new(|| xtask(sh, &exe, &workload.dir, &tcp_url, &["db-status", "--no-drift"])),
                    ),
                ];
                if sqlx_cli {
                    variants.push((
                        "sqlx migrate run (sqlx-cli), over TCP",
                        Box::new(|| sqlx_cli_migrate(sh, &workload.dir, &tcp_url, "run")),
                    ));
                    variants.push((
                        "sqlx migrate info (sqlx-cli), over TCP",
                        Box::new(|| sqlx_cli_migrate(sh, &workload.dir, &tcp_url, "info")),
                    ));
                } else {
                    let line = "(no sqlx-cli rows: `sqlx` is not on PATH; `cargo install sqlx-cli --no-default-features \
                                --features postgres,rustls` installs it)";
                    out!("{line}");
                    report.push_str(line);
                    report.push('\n');
                }
                if docker {
                    variants.push((
                        "db-migrate, nothing pending, Docker",
                        Box::new(|| xtask_in_container(sh, &exe, &workload.dir, &["db-migrate"])),
                    ));
                    variants.push((
                        "db-status, Docker",
                        Box::new(|| xtask_in_container(sh, &exe, &workload.dir, &["db-status"])),
                    ));
                }
                // Round robin, so a slow moment of the machine weighs on every variant alike.
                let mut timings = vec![Vec::new(); variants.len()];
                for _ in 0..runs.max(5) * 2 {
                    for ((_, run), times) in variants.iter().zip(&mut timings) {
                        times.push(time(run)?);
                    }
                }
                for ((label, _), times) in variants.iter().zip(&timings) {
                    row(&mut report, "(b) 1,000 applied", label, times, None);
                }
                if docker {
                    xtask_in_container(sh, &exe, &workload.dir, &["db-down", "--purge"])?;
                }
            }
        }
        // The test databases' rows need this project's own crates/testdb: a project of another
        // shape (the CLI tests' fixtures) has none to build.
        if project.root.join(TEST_DATABASES_BENCH).is_file() {
            let workloads = workloads_run.iter().take(2).collect::<Vec<_>>();
            test_database_rows(sh, &target, admin_conn, &workloads, runs, &mut report).await?;
        } else {
            out!("(no test-database rows: {TEST_DATABASES_BENCH} is not in this project)");
        }

        let mut help = Vec::new();
        for _ in 0..10 {
            help.push(time(|| cmd!(sh, "{exe} --help").quiet().ignore_stdout().run())?);
        }
        row(&mut report, "binary", "xtask --help", &help, None);
        out!("{report}");

        for workload in &workloads {
            admin::drop_force(admin_conn, &workload.database).await?;
            admin::drop_force(admin_conn, &beside::trace_base(&workload.database)).await?;
            admin::drop_force(admin_conn, &beside::previous(&workload.database)).await?;
            admin::drop_all_with_prefix(admin_conn, &beside::template_prefix(&workload.database)).await?;
        }
        std::fs::remove_dir_all(&root).ok();
        Ok(())
    }
}

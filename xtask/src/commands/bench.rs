//! `bench`: times whole commands against one server, next to a floor that does the same work
//! with one `psql` process. It prints figures; it never passes or fails on them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::elapsed::duration;
use crate::migrations::{MigrationFile, folder};
use crate::output::out;
use crate::postgres::admin::{self, quote_ident};
use crate::postgres::{Target, beside, connect, install};
use crate::project::Project;
use crate::server::{Pull, Server};
use crate::{safety, seeds, timestamp};

/// Time resets, migrations and status against a psql floor, and print the figures
///
/// Workloads: (a) this project's migrations and seeds; (b) 1,000 small generated migrations;
/// (c) this project's schema with 200,000 seeded gateways; and a no-op db-migrate and db-status
/// with 1,000 migrations applied. Each reset is paired with a run of the floor, in alternating
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
                label: "(c) 200,000 gateways",
                dir: root.join("gateways"),
                database: "xtask_bench_gateways".into(),
            },
        ];
        std::fs::remove_dir_all(&root).ok();
        copy_project_files(project, &workloads[0].dir)?;
        let (workloads_run, runs) = if self.quick { (&workloads[..1], 1) } else { (&workloads[..], self.runs) };
        if !self.quick {
            write_many_migrations(&workloads[1].dir, 1000)?;
            copy_project_files(project, &workloads[2].dir)?;
            write_gateway_seed(&workloads[2].dir.join("db/seeds/999_bench_gateways.sql"), 200_000)?;
        }

        let exe = std::env::current_exe().context("find the xtask binary")?;
        let mut report = String::new();
        for workload in workloads_run {
            let url = target.with_database(&workload.database).local_url_with_password();
            let floor_db = format!("{}_floor", workload.database);
            let floor = write_floor_script(&workload.dir, &floor_db)?;
            // psql gets the address and password from its environment: never on its command
            // line, which `ps` shows to every account.
            let maintenance_env = target.maintenance().libpq_env();
            let (mut floors, mut resets, mut cached) = (Vec::new(), Vec::new(), Vec::new());
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
                admin::checkpoint(admin_conn).await?;
                cached.push(time(|| xtask(sh, &exe, &workload.dir, &url, &["db-reset"]))?);
            }
            row(&mut report, workload.label, "psql floor (drop, create, run the files)", &floors, None);
            row(&mut report, workload.label, "db-reset --no-cache", &resets, Some(&floors));
            row(&mut report, workload.label, "db-reset (cached)", &cached, Some(&floors));
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
                    out!("(sqlx-cli is not installed: no sqlx-cli rows; `cargo install sqlx-cli` adds them)");
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

/// The workload's largest table (the first by name among equals), which the traced migration
/// alters.
async fn largest_table(target: &Target) -> Result<Option<String>> {
    let mut conn = connect::connect(target).await?;
    let table = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY pg_relation_size(c.oid) DESC, c.relname LIMIT 1",
    )
    .fetch_optional(&mut conn)
    .await
    .context("find the workload's largest table")?;
    conn.close().await.ok();
    Ok(table)
}

/// Times `safety::trace_files` (db-check's trace, without git) for one new migration on the
/// workload in `dir`, whose database is `target`'s: with the base kept from an earlier run (every
/// run but the first), made from the reset cache the workload's resets left (the first run after
/// a reset), and built from the files (CI's first run: the reset cache removed); then one
/// `-- no-transaction` migration, which is traced on a copy of the kept base.
async fn time_trace(
    admin: &mut PgConnection,
    target: &Target,
    dir: &Path,
    table: &str,
    runs: u32,
) -> Result<Vec<(&'static str, Vec<Duration>)>> {
    let files = folder::load(&dir.join("db/migrations"), "db/migrations")?;
    let seeds = seeds::load(&dir.join("db/seeds"), "db/seeds")?;
    let new_dir = dir.join("trace/db/migrations");
    std::fs::create_dir_all(&new_dir)?;
    let alter = format!("ALTER TABLE {table} ADD COLUMN bench_note text;\n");
    std::fs::write(new_dir.join("29991231000000_bench_trace.sql"), format!("SET LOCAL lock_timeout = '2s';\n{alter}"))?;
    let new = folder::load(&new_dir, "db/migrations")?;
    std::fs::write(
        new_dir.join("29991231000000_bench_trace.sql"),
        format!("-- no-transaction\nSET lock_timeout = '2s';\n{alter}"),
    )?;
    let alone = folder::load(&new_dir, "db/migrations")?;
    let kept = beside::trace_base(target.database());
    let trace = async |admin: &mut PgConnection, new: &MigrationFile| -> Result<Duration> {
        admin::checkpoint(admin).await?;
        let start = Instant::now();
        safety::trace_files(admin, target, &files, &seeds, &[new]).await?;
        Ok(start.elapsed())
    };
    let (mut cached, mut kept_runs, mut copied, mut built) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        admin::drop_force(admin, &kept).await?;
        cached.push(trace(admin, &new[0]).await?);
    }
    for _ in 0..runs {
        kept_runs.push(trace(admin, &new[0]).await?);
    }
    for _ in 0..runs {
        copied.push(trace(admin, &alone[0]).await?);
    }
    admin::drop_all_with_prefix(admin, &beside::template_prefix(target.database())).await?;
    for _ in 0..runs {
        admin::drop_force(admin, &kept).await?;
        built.push(trace(admin, &new[0]).await?);
    }
    Ok(vec![
        ("db-check trace, base kept (later runs)", kept_runs),
        ("db-check trace, base from the reset cache", cached),
        ("db-check trace, base built (CI's first run)", built),
        ("db-check trace, no-transaction file (a copy)", copied),
    ])
}

const TEST_DATABASES_BENCH: &str = "crates/testdb/tests/bench.rs";

/// The test databases' two modes against `#[sqlx::test]`, per test, on the project's files and
/// on the 1,000 migrations: `crates/testdb/tests/bench.rs`, built as `cargo xtask test` builds
/// it, against a database of the benchmark's own (`#[sqlx::test]` keeps its bookkeeping in the
/// database DATABASE_URL names), everything it made dropped after.
async fn test_database_rows(
    sh: &Shell,
    target: &crate::postgres::Target,
    admin_conn: &mut sqlx::PgConnection,
    workloads: &[&Workload],
    runs: u32,
    report: &mut String,
) -> Result<()> {
    const BASE: &str = "xtask_bench_tests";
    admin::drop_force(admin_conn, BASE).await?;
    admin::create(admin_conn, BASE).await?;
    let mut spec = String::new();
    for workload in workloads {
        let seeds = workload.dir.join("db/seeds");
        let has_seeds = std::fs::read_dir(&seeds).is_ok_and(|mut dir| dir.next().is_some());
        let seeds = if has_seeds { seeds.display().to_string() } else { String::new() };
        let _ = write!(spec, "{}={}|{seeds};", workload.label, workload.dir.join("db/migrations").display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let tests = (runs * 2).max(10).to_string();
    // The whole workspace's feature set, as `cargo xtask test` builds: no second build of sqlx.
    let mut command = cmd!(sh, "{cargo} test --quiet --test bench -- --ignored --nocapture --test-threads 1")
        .env("DATABASE_URL", target.over_tcp().with_database(BASE).url_with_password())
        .env("TESTDB_BENCH", &spec)
        .env("TESTDB_BENCH_TESTS", &tests)
        .quiet();
    for (key, value) in super::test::cargo_run_environment() {
        command = match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let output = command.read().context("run the test databases' benchmark (crates/testdb/tests/bench.rs)");
    let leftovers: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE left(datname, length($1)) = $1 OR datname LIKE '\\_sqlx\\_test\\_%'",
    )
    .bind(format!("{BASE}__test_"))
    .fetch_all(&mut *admin_conn)
    .await?;
    for database in leftovers.iter().map(String::as_str).chain([BASE]) {
        admin::drop_force(admin_conn, database).await?;
    }
    let mut sqlx_test: Option<(String, Vec<Duration>)> = None;
    for line in output?.lines() {
        let mut fields = line.split('\t');
        let (Some("BENCH"), Some(workload), Some(label), Some(ms)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let times: Vec<Duration> = ms
            .split(',')
            .filter_map(|ms| ms.parse::<f64>().ok())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .collect();
        if label.starts_with("#[sqlx::test]") {
            sqlx_test = Some((workload.to_owned(), times.clone()));
            row(report, workload, label, &times, None);
            continue;
        }
        row(report, workload, label, &times, None);
        if let Some((of, baseline)) = &sqlx_test
            && of == workload
            && times.len() > 1
        {
            let median = |times: &[Duration]| stats(times.iter().map(Duration::as_secs_f64).collect()).0;
            let _ = writeln!(
                report,
                "{:<22} {:<42} {:.1}× faster than #[sqlx::test] per test",
                "",
                "",
                median(baseline) / median(&times)
            );
        }
    }
    Ok(())
}

/// A command to time, and its row's label.
type Timed<'a> = (&'static str, Box<dyn Fn() -> xshell::Result<()> + 'a>);

fn time(run: impl FnOnce() -> xshell::Result<()>) -> Result<Duration> {
    let start = Instant::now();
    run()?;
    Ok(start.elapsed())
}

/// The xtask binary itself, against `url`, in a workload's folder, the way a developer runs it.
fn xtask(sh: &Shell, exe: &Path, dir: &Path, url: &str, args: &[&str]) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "{exe} -q {args...} --backend url")
        .env("DATABASE_URL", url)
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .run()
}

/// The same commands through the Docker backend, in the workload's own container.
fn xtask_in_container(sh: &Shell, exe: &Path, dir: &Path, args: &[&str]) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "{exe} -q {args...} --backend docker")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .run()
}

/// Starts a container for the workload in `dir` (its own Compose project, as for any checkout)
/// and migrates it. False, said in one line, when Docker cannot run one here.
fn start_container(sh: &Shell, exe: &Path, project: &Project, dir: &Path) -> bool {
    let compose_file = project.root.join("docker-compose.yml");
    if std::fs::copy(&compose_file, dir.join("docker-compose.yml")).is_err() {
        out!("(no {}: no Docker rows)", compose_file.display());
        return false;
    }
    let _dir = sh.push_dir(dir);
    let started = cmd!(sh, "{exe} -q db-migrate --backend docker")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .output();
    match started {
        Ok(_) => true,
        Err(err) => {
            let why = err.to_string();
            let why = why.lines().rev().find(|line| line.starts_with("error:")).unwrap_or("Docker is not available");
            out!("(no Docker rows: {why})");
            false
        }
    }
}

/// sqlx-cli's `migrate run` or `migrate info` on the same files and server, the address in its
/// environment.
fn sqlx_cli_migrate(sh: &Shell, dir: &Path, url: &str, subcommand: &str) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "sqlx migrate {subcommand} --source db/migrations").env("DATABASE_URL", url).quiet().ignore_stdout().run()
}

/// One line: median and spread, and against the floor, the median and spread of the ratios of
/// runs taken side by side.
fn row(report: &mut String, workload: &str, what: &str, runs: &[Duration], floor: Option<&[Duration]>) {
    let (median, min, max) = stats(runs.iter().map(Duration::as_secs_f64).collect());
    let ms = |secs: f64| duration(Duration::from_secs_f64(secs));
    let _ =
        write!(report, "{workload:<22} {what:<42} median {:>8}  spread {:>8} – {:<8}", ms(median), ms(min), ms(max));
    if let Some(floor) = floor {
        let ratios = runs.iter().zip(floor).map(|(run, floor)| run.as_secs_f64() / floor.as_secs_f64()).collect();
        let (median, min, max) = stats(ratios);
        let _ = write!(report, "  {median:.2}× floor ({min:.2}–{max:.2})");
    }
    report.push('\n');
}

fn stats(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

fn print_machine(sh: &Shell, server_version: &str, backend: &str) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next()?.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or_else(|| "unknown".to_owned(), |kb| format!("{} GiB", kb / 1024 / 1024));
    let os = cmd!(sh, "uname -sr").quiet().read().unwrap_or_default();
    out!("Machine: {cpu}, {cores} cores, {memory} memory, {os}");
    out!("Server: PostgreSQL {server_version}, {backend}");
    out!(
        "Binary: {}\n",
        if cfg!(debug_assertions) { "debug build (as `cargo xtask` runs it)" } else { "release build" }
    );
}

/// A project folder with this checkout's migrations and seeds.
fn copy_project_files(project: &Project, dir: &Path) -> Result<()> {
    for sub in ["migrations", "seeds"] {
        let to = dir.join("db").join(sub);
        std::fs::create_dir_all(&to).with_context(|| format!("create {}", to.display()))?;
        for entry in std::fs::read_dir(project.root.join("db").join(sub))? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().ends_with(".sql") {
                std::fs::copy(entry.path(), to.join(entry.file_name()))?;
            }
        }
    }
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n")?;
    Ok(())
}

/// `count` small migrations, one table each, one second apart.
fn write_many_migrations(dir: &Path, count: i64) -> Result<()> {
    let migrations = dir.join("db/migrations");
    std::fs::create_dir_all(&migrations)?;
    std::fs::create_dir_all(dir.join("db/seeds"))?;
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n")?;
    let base = timestamp::from_version(20200101000000).unwrap_or(0);
    for i in 0..count {
        let version = timestamp::to_version(base + i);
        let sql = format!(
            "CREATE TABLE bench_{i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n\
             COMMENT ON TABLE bench_{i} IS 'generated by cargo xtask bench';\n"
        );
        std::fs::write(migrations.join(format!("{version}_create_bench_{i}.sql")), sql)?;
    }
    Ok(())
}

/// `count` gateways as literal rows, a thousand per INSERT, spread over the seeded factories.
fn write_gateway_seed(path: &Path, count: u32) -> Result<()> {
    const FACTORIES: [u32; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11];
    let mut sql = String::with_capacity(count as usize * 160);
    for n in 0..count {
        if n % 1000 == 0 {
            sql.push_str(if n == 0 { "" } else { ";\n" });
            sql.push_str("INSERT INTO gateways (factory_id, serial_number, mac_address, ip_address, firmware_version, status, last_seen_at, metadata) VALUES\n");
        } else {
            sql.push_str(",\n");
        }
        let factory = FACTORIES[n as usize % FACTORIES.len()];
        let status = ["offline", "maintenance", "provisioning", "decommissioned"][n as usize % 4];
        let _ = write!(
            sql,
            "('20000000-0000-4000-8000-0000000000{factory:02}', 'BENCH-{n:07}', '06:00:00:{:02x}:{:02x}:{:02x}', '10.{}.{}.{}', '4.2.1', '{status}', '2026-01-01T00:00:00Z', '{{\"hall\": \"H{}\"}}')",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
            n % 6
        );
    }
    sql.push_str(";\n");
    std::fs::write(path, sql).with_context(|| format!("write {}", path.display()))
}

/// The floor: one psql process that drops and creates the database, connects to it, and runs
/// the migrations and then the seeds, in the same order as the xtask.
fn write_floor_script(dir: &Path, database: &str) -> Result<PathBuf> {
    let mut script = format!(
        "DROP DATABASE IF EXISTS {0} WITH (FORCE);\nCREATE DATABASE {0};\n\\c {1}\n",
        quote_ident(database),
        database
    );
    for sub in ["migrations", "seeds"] {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(dir.join("db").join(sub))?.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let _ = writeln!(script, "\\i '{}'", file.display());
        }
    }
    let path = dir.join("floor.psql");
    std::fs::write(&path, script)?;
    Ok(path)
}

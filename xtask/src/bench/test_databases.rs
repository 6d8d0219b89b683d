//! The test databases' two modes against `#[sqlx::test]`, timed by `crates/testdb/tests/bench.rs`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use super::Workload;
use super::harness::{row, stats};
use crate::postgres::admin;

pub const TEST_DATABASES_BENCH: &str = "crates/testdb/tests/bench.rs";

/// The test databases' two modes against `#[sqlx::test]`, per test, on the project's files and
/// on the 1,000 migrations: `crates/testdb/tests/bench.rs`, built as `cargo xtask test` builds
/// it, against a database of the benchmark's own (`#[sqlx::test]` keeps its bookkeeping in the
/// database DATABASE_URL names), everything it made dropped after.
pub async fn test_database_rows(
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
    for (key, value) in crate::commands::test::cargo_run_environment() {
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

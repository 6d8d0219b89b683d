//! The two modes against `#[sqlx::test]`, per test, on workloads `cargo xtask bench` generates:
//! it runs this with `--ignored` and prints the figures. Each simulated test runs on a runtime
//! of its own, as `#[tokio::test]` and `#[sqlx::test]` run, gets its database, runs one query
//! and ends. `#[sqlx::test]` is run through `sqlx::testing`, exactly what the attribute expands
//! to, with a migrator read at run time. A passed copy is only renamed aside: after each copy
//! row, the copies it put aside are dropped one by one and timed, as `cargo xtask test` drops
//! them after its run, and a second row gives each test's copy plus its drop.
//!
//! Input: `TESTDB_BENCH` = `label=migrations_dir|seeds_dir` entries separated by `;` (no seeds
//! dir: the workload has none), `TESTDB_BENCH_TESTS` = tests per row. Output: one line per row,
//! `BENCH<TAB>workload<TAB>row<TAB>milliseconds,…`.

use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection, PgPool};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn print(workload: &str, row: &str, times: &[Duration]) {
    let ms: Vec<String> = times.iter().map(|t| format!("{:.3}", t.as_secs_f64() * 1000.0)).collect();
    println!("BENCH\t{workload}\t{row}\t{}", ms.join(","));
}

/// Times `tests` runs of `one`, each on a runtime of its own; the first is timed apart (it may
/// build a template).
fn timed(tests: usize, mut one: impl FnMut()) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    one();
    let first = start.elapsed();
    let rest = (0..tests)
        .map(|_| {
            let start = Instant::now();
            one();
            start.elapsed()
        })
        .collect();
    (first, rest)
}

/// Drops the databases with these oids (the copies a row put aside), each timed.
fn drop_timed(oids: &[i64]) -> Vec<Duration> {
    runtime().block_on(async {
        let url = std::env::var("DATABASE_URL").unwrap();
        let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        let mut conn = PgConnection::connect_with(&options.database("postgres")).await.unwrap();
        let mut times = Vec::new();
        for oid in oids {
            let name: String = sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE oid = $1::bigint::oid")
                .bind(oid)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let start = Instant::now();
            conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\""))).await.unwrap();
            times.push(start.elapsed());
        }
        times
    })
}

async fn sqlx_test_body(pool: PgPool) {
    pool.execute("SELECT 1").await.unwrap();
}

#[test]
#[ignore = "a benchmark: `cargo xtask bench` runs it on workloads it generates"]
fn modes_against_sqlx_test() {
    let workloads = std::env::var("TESTDB_BENCH").expect("TESTDB_BENCH");
    let tests: usize = std::env::var("TESTDB_BENCH_TESTS").map_or(10, |n| n.parse().unwrap());
    for entry in workloads.split(';').filter(|e| !e.is_empty()) {
        let (label, dirs) = entry.split_once('=').unwrap();
        let (migrations, seeds) = dirs.split_once('|').unwrap_or((dirs, ""));
        let migrator: &'static Migrator =
            Box::leak(Box::new(runtime().block_on(Migrator::new(std::path::Path::new(migrations))).unwrap()));
        let mut setups = vec![("copy, no seeds", testdb::Setup::unseeded(migrator))];
        let mut transactions = vec![("transaction, no seeds", testdb::Setup::unseeded(migrator))];
        if !seeds.is_empty() {
            let seeds: &'static str = Box::leak(seeds.to_owned().into_boxed_str());
            setups.push(("copy, seeded", testdb::Setup::seeded(migrator, seeds)));
            transactions.push(("transaction, seeded", testdb::Setup::seeded(migrator, seeds)));
        }

        let (_, sqlx_test) = timed(tests, || {
            let mut args = sqlx::testing::TestArgs::new("testdb::bench::sqlx_test");
            args.migrator(migrator);
            let test: fn(PgPool) -> _ = sqlx_test_body;
            sqlx::testing::TestFn::run_test(test, args);
        });
        print(label, "#[sqlx::test] (fresh database, every migration)", &sqlx_test);
        for (row, setup) in &setups {
            let mut oids = Vec::new();
            let (first, times) = timed(tests, || {
                oids.push(runtime().block_on(async {
                    let db = setup.copy().await;
                    // The test's one query: its database's oid, to find the copy once put aside.
                    sqlx::query_scalar("SELECT oid::bigint FROM pg_database WHERE datname = current_database()")
                        .fetch_one(db.pool())
                        .await
                        .unwrap()
                }))
            });
            print(label, &format!("testdb {row}: first test (builds the template)"), &[first]);
            print(label, &format!("testdb {row}"), &times);
            // The copy and its drop, dropped right after the row: copies dropped after a longer run,
            // once written back, took longer (docs/testing.md).
            let drops = drop_timed(&oids);
            let whole: Vec<Duration> = times.iter().zip(&drops[1..]).map(|(copy, drop)| *copy + *drop).collect();
            print(label, &format!("testdb {row}, and its drop right after the row"), &whole);
        }
        for (row, setup) in &transactions {
            let (_, times) = timed(tests, || {
                runtime().block_on(async {
                    let mut tx = setup.transaction().await;
                    tx.execute("SELECT 1").await.unwrap();
                })
            });
            print(label, &format!("testdb {row}"), &times);
        }
    }
}

//! The two modes against the real server (`DATABASE_URL`, which `cargo xtask test` sets), on a
//! fixture schema of their own: a copy is put aside as trash when its test passes (dropped by the
//! next template build once its process has ended) and kept when it fails, a transaction leaves
//! nothing behind, the seeds load as db-reset loads them, and a process without DATABASE_URL
//! stops with one line.

use std::process::Command;

use sqlx::{Connection, Executor, PgConnection};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/fixture/migrations");
static SEEDED: testdb::Setup =
    testdb::Setup::seeded(&MIGRATOR, concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixture/seeds"));
static EMPTY: testdb::Setup = testdb::Setup::unseeded(&MIGRATOR);

async fn count(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(conn).await.unwrap()
}

/// A session in the server's maintenance database, to look from outside.
async fn outside() -> PgConnection {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    PgConnection::connect_with(&options.database("postgres")).await.unwrap()
}

/// The name the database with `oid` has now, if it still exists.
async fn name_of(oid: i64) -> Option<String> {
    sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE oid = $1::bigint::oid")
        .bind(oid)
        .fetch_optional(&mut outside().await)
        .await
        .unwrap()
}

async fn oid_of(database: &str) -> i64 {
    sqlx::query_scalar("SELECT oid::bigint FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_one(&mut outside().await)
        .await
        .unwrap()
}

/// Held by the tests that build a template (which drops the trash of ended processes), so one
/// does not drop what another is still looking at.
static BUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn exists(database: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut outside().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_copy_holds_the_seeds_loaded_in_name_order_and_is_put_aside_when_the_test_passes() {
    let db = SEEDED.copy().await;
    let name = db.name().to_owned();
    let oid = oid_of(&name).await;
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM notes ORDER BY id").fetch_all(db.pool()).await.unwrap();
    assert_eq!(bodies, ["seeded first", "seeded by COPY"]);
    // Its own: a commit stays in it, and nowhere else.
    db.pool().execute("INSERT INTO notes (id, body) VALUES (3, 'committed')").await.unwrap();
    assert_eq!(count(&mut db.pool().acquire().await.unwrap()).await, 3);
    assert!(exists(&name).await);
    drop(db);
    assert!(!exists(&name).await, "{name} should be put aside once its test passed");
    // Renamed, not dropped: deleting its files would slow the copies of the tests still running.
    // It carries this process's id, so nothing drops it while this process runs.
    let trash = name_of(oid).await.unwrap_or_else(|| panic!("{name} was dropped at once, not put aside"));
    assert!(trash.ends_with(&format!("__test_trash_{}_{oid}", std::process::id())), "{trash}");
}

#[tokio::test]
async fn an_unseeded_copy_has_the_schema_and_no_rows() {
    let db = EMPTY.copy().await;
    assert_eq!(count(&mut db.pool().acquire().await.unwrap()).await, 0);
}

#[tokio::test]
async fn a_transaction_is_rolled_back_when_the_test_ends() {
    {
        let mut tx = SEEDED.transaction().await;
        assert_eq!(count(&mut tx).await, 2);
        tx.execute("INSERT INTO notes (id, body) VALUES (100, 'gone with the transaction')").await.unwrap();
        tx.execute("CREATE TABLE scratch (x int)").await.unwrap();
        assert_eq!(count(&mut tx).await, 3);
    }
    let mut tx = SEEDED.transaction().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM notes WHERE id = 100").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(left, 0);
    let scratch: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('scratch')::text").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(scratch, None);
}

#[tokio::test]
async fn a_transaction_serves_tokio_postgres_too() {
    let client = SEEDED.transaction_tokio_postgres().await;
    let row = client.query_one("SELECT body FROM notes WHERE id = 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "seeded first");
}

/// Run by `the_next_template_build_drops_the_trash_of_ended_processes_and_keeps_failed_copies`,
/// in a process of its own.
#[tokio::test]
#[ignore = "fails on purpose; run by the_next_template_build_drops_the_trash_of_ended_processes_and_keeps_failed_copies"]
async fn fails_holding_a_copy() {
    let _db = SEEDED.copy().await;
    panic!("this test fails on purpose");
}

/// Run by `the_next_template_build_drops_the_trash_of_ended_processes_and_keeps_failed_copies`,
/// in a process of its own: passes holding a copy, and prints the copy's oid.
#[tokio::test]
#[ignore = "a helper; run by the_next_template_build_drops_the_trash_of_ended_processes_and_keeps_failed_copies"]
async fn passes_holding_a_copy() {
    let db = SEEDED.copy().await;
    println!("copy oid {}", oid_of(db.name()).await);
}

fn run_this_binary(test: &str, env: &[(&str, Option<&str>)], dir: &std::path::Path) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([test, "--exact", "--ignored", "--nocapture"]).current_dir(dir);
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command.output().unwrap()
}

/// A template built for seeds of the test's own, which no other test uses: its build drops the
/// trash of processes that have ended. Its template and shared database are dropped after.
async fn build_a_template() {
    let seeds = std::env::temp_dir().join(format!("testdb-seeds-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&seeds).unwrap();
    let unique = format!("INSERT INTO notes (id, body) VALUES (1, 'unique to {}');\n", seeds.display());
    std::fs::write(seeds.join("001_notes.sql"), unique).unwrap();
    let run = Command::new(std::env::current_exe().unwrap())
        .args(["prints_the_template_it_copied", "--exact", "--ignored", "--nocapture"])
        .env("TESTDB_SEEDS", &seeds)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&seeds).ok();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let template = stdout.lines().find_map(|l| l.strip_prefix("template ")).unwrap().split_whitespace().next().unwrap();
    for database in [template.to_owned(), template.replace("__test_tpl_", "__test_tx_")] {
        outside().await.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{database}\""))).await.unwrap();
    }
}

#[tokio::test]
async fn the_next_template_build_drops_the_trash_of_ended_processes_and_keeps_failed_copies() {
    let _one_build_at_a_time = BUILDS.lock().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let passed = run_this_binary("passes_holding_a_copy", &[], dir);
    let stdout = String::from_utf8_lossy(&passed.stdout);
    assert!(passed.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&passed.stderr));
    let passed_oid: i64 = stdout.lines().find_map(|l| l.strip_prefix("copy oid ")).unwrap().parse().unwrap();
    let failed = run_this_binary("fails_holding_a_copy", &[], dir);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let kept = stderr
        .lines()
        .find_map(|line| line.strip_prefix("testdb: kept the failed test's database "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no database named as kept:\n{stderr}"))
        .to_owned();
    // This process's own trash, while it runs.
    let mine = SEEDED.copy().await;
    let mine_oid = oid_of(mine.name()).await;
    drop(mine);

    let trash = name_of(passed_oid).await.expect("a passed test's copy stays as trash until the next build");
    assert!(trash.contains("__test_trash_"), "{trash}");
    build_a_template().await;
    assert_eq!(name_of(passed_oid).await, None, "{trash}: its process has ended, the build should drop it");
    assert!(exists(&kept).await, "{kept}: a failed test's copy is kept for a look");
    let own = name_of(mine_oid).await;
    assert!(own.is_some(), "the trash of a process still running is its own, not dropped by another's build");
    outside().await.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{kept}\""))).await.unwrap();
}

#[tokio::test]
async fn without_database_url_the_tests_stop_with_one_line_that_says_what_to_run() {
    // A folder without a .env, so nothing provides DATABASE_URL.
    let empty = std::env::temp_dir().join(format!("testdb-no-env-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let run = run_this_binary("fails_holding_a_copy", &[("DATABASE_URL", None), ("RUST_BACKTRACE", Some("1"))], &empty);
    std::fs::remove_dir_all(&empty).ok();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, no panic or backtrace:\n{stderr}");
    assert!(lines[0].contains("DATABASE_URL is not set") && lines[0].contains("cargo xtask test"), "{stderr}");
}

/// Run by `test_binaries_in_parallel_build_one_template` and `build_a_template`: prepares a copy
/// from the seeds in `TESTDB_SEEDS`, a folder no other test uses (so its template does not exist
/// yet), and prints the template's oid.
#[tokio::test]
#[ignore = "a helper; run by test_binaries_in_parallel_build_one_template and build_a_template"]
async fn prints_the_template_it_copied() {
    let seeds: &'static str = Box::leak(std::env::var("TESTDB_SEEDS").unwrap().into_boxed_str());
    let setup: &'static testdb::Setup = Box::leak(Box::new(testdb::Setup::seeded(&MIGRATOR, seeds)));
    let db = setup.copy().await;
    let oid: i64 = sqlx::query_scalar("SELECT oid::bigint FROM pg_database WHERE datname = $1")
        .bind(db.template())
        .fetch_one(&mut outside().await)
        .await
        .unwrap();
    println!("template {} oid {oid}", db.template());
}

#[tokio::test]
async fn test_binaries_in_parallel_build_one_template() {
    let _one_build_at_a_time = BUILDS.lock().await;
    let seeds = std::env::temp_dir().join(format!("testdb-seeds-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&seeds).unwrap();
    let unique = format!("INSERT INTO notes (id, body) VALUES (1, 'unique to {}');\n", seeds.display());
    std::fs::write(seeds.join("001_notes.sql"), unique).unwrap();
    let processes: Vec<_> = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["prints_the_template_it_copied", "--exact", "--ignored", "--nocapture"])
                .env("TESTDB_SEEDS", &seeds)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut templates = Vec::new();
    for process in processes {
        let run = process.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
        templates.push(stdout.lines().find(|l| l.starts_with("template ")).unwrap().to_owned());
    }
    std::fs::remove_dir_all(&seeds).ok();
    assert!(templates.windows(2).all(|w| w[0] == w[1]), "one template, built once: {templates:?}");
    // Its own template and shared database are no use to anyone else.
    let name = templates[0].split_whitespace().nth(1).unwrap().to_owned();
    let shared = name.replace("__test_tpl_", "__test_tx_");
    for database in [name, shared] {
        outside().await.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{database}\""))).await.unwrap();
    }
}

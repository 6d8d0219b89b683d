//! What makes a reset trustworthy beyond building the same database: pg_dump's COPY data,
//! psql's own commands refused clearly, seeds that cannot end their transaction, resets that
//! serialize, and waits that say what they wait for.

use std::process::{Child, Output};

use sqlx::Connection;

use crate::support::{Fixture, SHORT_PATIENCE, StderrLines};

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Case 10: `COPY … FROM stdin` as `pg_dump --data-only` writes it, in a migration and a seed.
#[tokio::test]
async fn copy_from_stdin_loads_rows_in_migrations_and_seeds() {
    let fx = Fixture::new("copy");
    fx.migration(
        20260101000001,
        "create_t",
        "CREATE TABLE t (a int PRIMARY KEY, b text);\n\
         COPY public.t (a, b) FROM stdin;\n1\tone; not SQL\n2\t\\N\n\\.\n\
         INSERT INTO t VALUES (3, 'after the copy');\n",
    );
    fx.seed("001_t.sql", "COPY t (a, b) FROM stdin;\n4\tfour\n5\tfive\n\\.\n");
    fx.xtask(&["db-reset", "--no-cache"]).success();
    assert_eq!(fx.count("t").await, 5);
    let b: Option<String> =
        sqlx::query_scalar("SELECT b FROM t WHERE a = 2").fetch_one(&mut fx.connect().await).await.unwrap();
    assert_eq!(b, None, "\\N is NULL in COPY's text format");

    // db-migrate runs the same file the same way.
    let fx2 = Fixture::new("copy");
    std::fs::copy(
        fx.migrations().join("20260101000001_create_t.sql"),
        fx2.migrations().join("20260101000001_create_t.sql"),
    )
    .unwrap();
    fx2.xtask(&["db-migrate"]).success();
    assert_eq!(fx2.count("t").await, 3);
}

/// A bad COPY row is reported at its own line of the file.
#[tokio::test]
async fn a_bad_copy_row_is_reported_at_its_line() {
    let fx = Fixture::new("copy_bad");
    fx.migration(20260101000001, "create_t", "CREATE TABLE t (a int, b text);\n");
    fx.seed("001_t.sql", "-- rows\nCOPY t (a, b) FROM stdin;\n1\tone\nnot a number\ttwo\n\\.\n");
    fx.xtask(&["db-reset"])
        .failure()
        .says("db/seeds/001_t.sql:4:1: invalid input syntax for type integer")
        .never_says(" at line ");
}

/// psql's backslash commands (pg_dump's `\restrict` line among them) are named as psql's.
#[tokio::test]
async fn psql_meta_commands_are_refused_with_their_line() {
    let fx = Fixture::new("meta");
    fx.migration(20260101000001, "dump", "SELECT 1;\n\\restrict AbC123\nCREATE TABLE t (id int);\n");
    for args in [&["db-migrate"][..], &["db-reset"][..]] {
        fx.xtask(args)
            .failure()
            .says("db/migrations/20260101000001_dump.sql:2:1: `\\restrict AbC123` is a psql meta-command, not SQL");
    }
    let fx = Fixture::new("meta");
    fx.migration(20260101000001, "t", "CREATE TABLE t (id int);\n");
    fx.seed("001_vars.sql", "\\set id 1\nINSERT INTO t VALUES (:id);\n");
    fx.xtask(&["db-reset"]).failure().says("db/seeds/001_vars.sql:1:1: `\\set id 1` is a psql meta-command");
}

/// Case 8: a seed that ends the seed transaction is an error naming it, not a silent loss.
#[tokio::test]
async fn a_seed_that_ends_the_seed_transaction_is_refused() {
    for ending in ["ROLLBACK;", "COMMIT;", "COMMIT;\nBEGIN;"] {
        let fx = Fixture::new("seed_tx");
        fx.migration(20260101000001, "t", "CREATE TABLE t (id int);\n");
        fx.seed("001_ok.sql", "INSERT INTO t VALUES (1);\n");
        fx.xtask(&["db-reset"]).success();
        fx.seed("002_ends.sql", &format!("INSERT INTO t VALUES (2);\n{ending}\n"));
        fx.xtask(&["db-reset"])
            .failure()
            .says("db/seeds/002_ends.sql: the seed ends the seed transaction itself")
            .never_says("Reset ");
        assert_eq!(fx.count("t").await, 1, "{ending}: the previous database must stay as it was");
    }
}

/// Case 9: resets started together take turns; the dev database is never missing or invalid.
#[tokio::test]
async fn concurrent_resets_take_turns() {
    let fx = Fixture::new("resets");
    fx.migration(20260101000001, "t", "CREATE TABLE t (id int);\nSELECT pg_sleep(0.2);\n");
    fx.seed("001_t.sql", "INSERT INTO t VALUES (1), (2);\n");
    fx.xtask(&["db-reset"]).success();
    // Uncached resets, and cached ones: fast enough that one may finish, swap (ending every
    // session in the dev database) and release the lock before another even asks for it.
    for (round, args) in [&["db-reset", "--no-cache"][..], &["db-reset", "--no-cache"], &["db-reset"], &["db-reset"]]
        .into_iter()
        .enumerate()
    {
        let children: Vec<Child> = (0..3).map(|_| fx.spawn(args)).collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "round {round}: a concurrent reset failed:\n{}", text(&output));
            assert!(!text(&output).contains("interrupted reset"), "a reset removed another's scratch database");
        }
        assert_eq!(fx.count("t").await, 2, "round {round}");
        assert!(!fx.database_exists(&format!("{}__xtask_reset", fx.database)).await);
    }
}

/// Case 11: a command blocked by a lock someone else holds says what it waits for and who
/// holds it, and goes on once the lock is released.
#[tokio::test]
async fn a_command_waiting_for_a_lock_says_who_holds_it() {
    let fx = Fixture::new("lock_wait");
    fx.migration(20260101000001, "t", "CREATE TABLE t (id int);\n");
    fx.xtask(&["db-migrate"]).success();
    let mut holder = fx.connect().await;
    sqlx::query("SET application_name = 'a forgotten psql'").execute(&mut holder).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
    let mut status = fx.spawn_with(&["db-status"], &[("DATABASE_URL", &fx.url()), SHORT_PATIENCE]);
    let mut stderr = StderrLines::of(&mut status);
    stderr.wait_for("Waiting for a lock on _sqlx_migrations");
    tx.rollback().await.unwrap();
    let output = status.wait_with_output().unwrap();
    let all = format!("{}{}", text(&output), stderr.all());
    assert!(output.status.success(), "{all}");
    assert!(all.contains("Waiting for a lock on _sqlx_migrations"), "{all}");
    assert!(all.contains("(a forgotten psql) since"), "{all}");
}

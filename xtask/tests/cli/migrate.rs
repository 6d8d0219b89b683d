//! `db-migrate`: applying, reporting, dry runs, transactions and failures.

use crate::support::Fixture;

const ORGS: &str = "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);\n";
const SITES: &str = "CREATE TABLE sites (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs);\n";

#[tokio::test]
async fn creates_the_database_and_applies_each_migration_once_in_order() {
    let fx = Fixture::new("migrate_order");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260102000000, "create_sites", SITES);

    let run = fx.xtask(&["db-migrate"]).success();
    let first =
        run.stdout.find("Applied 20260101000000/migrate create orgs (").expect("a line for the first migration");
    let second = run.stdout.find("Applied 20260102000000/migrate create sites (").expect("a line for the second");
    assert!(first < second, "applied out of order:\n{}", run.stdout);
    assert!(run.all().contains(&format!("Created database {}", fx.database)));
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);
    assert!(fx.table_exists("sites").await);

    fx.xtask(&["db-migrate"]).success().says("is up to date (2 migration(s) applied)").never_says("Applied");
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);

    fx.migration(20260103000000, "add_site_name", "ALTER TABLE sites ADD COLUMN name text;\n");
    fx.xtask(&["db-migrate"]).success().says("Applied 20260103000000/migrate add site name").never_says("create orgs");
}

#[tokio::test]
async fn dry_run_lists_what_would_run_and_changes_nothing() {
    let fx = Fixture::new("migrate_dry_run");
    fx.migration(20260101000000, "create_orgs", ORGS);

    fx.xtask(&["db-migrate", "--dry-run"]).success().says("Can apply 20260101000000/migrate create orgs");
    assert!(!fx.database_exists(&fx.database).await, "a dry run created the database");
    // A dry run refuses what the real run refuses, with or without the database.
    let todo = fx.xtask(&["db-new", "todo"]).success().stdout.trim().to_owned();
    fx.xtask(&["db-migrate", "--dry-run"]).failure().says("with no SQL written yet").says(&todo);
    std::fs::remove_file(fx.root().join(todo)).unwrap();

    fx.xtask(&["db-migrate"]).success();
    fx.migration(20260102000000, "create_sites", SITES);
    fx.xtask(&["db-migrate", "--dry-run"])
        .success()
        .says("Can apply 20260102000000/migrate create sites")
        .never_says("create orgs");
    assert_eq!(fx.applied_versions().await, [20260101000000]);
    assert!(!fx.table_exists("sites").await);
}

#[tokio::test]
async fn a_failing_statement_is_located_and_rolled_back() {
    let fx = Fixture::new("migrate_syntax");
    fx.migration(20260101000000, "create_orgs", ORGS);
    let bad = "CREATE TABLE half (id int);\n\n  CREAT TABLE broken (id int);\n";
    fx.migration(20260102000000, "broken", bad);

    fx.xtask(&["db-migrate"])
        .failure()
        .says("db/migrations/20260102000000_broken.sql:3:3: syntax error at or near \"CREAT\"")
        .says("nothing of it stays applied");
    assert_eq!(fx.applied_versions().await, [20260101000000], "the first migration stays, the broken one does not");
    assert!(!fx.table_exists("half").await, "a statement of the failed migration stayed applied");
}

#[tokio::test]
async fn reports_the_servers_detail_and_hint() {
    let fx = Fixture::new("migrate_detail");
    fx.migration(20260101000000, "dupes", "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1), (1);\n");
    fx.xtask(&["db-migrate"])
        .failure()
        .says("duplicate key value violates unique constraint \"t_pkey\"")
        .says("constraint: t_pkey")
        .says("detail: Key (id)=(1) already exists.");

    let fx = Fixture::new("migrate_hint");
    fx.migration(20260101000000, "hint", "SELECT * FROM generate_series(1, 2) AS g WHERE g = 'x'::text;\n");
    fx.xtask(&["db-migrate"]).failure().says("hint: No operator matches");
}

#[tokio::test]
async fn no_transaction_migrations_run_outside_a_transaction() {
    let fx = Fixture::new("migrate_no_tx");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260102000000, "index_in_tx", "CREATE INDEX CONCURRENTLY orgs_name ON orgs (name);\n");
    fx.xtask(&["db-migrate"]).failure().says("cannot run inside a transaction block");
    assert_eq!(fx.applied_versions().await, [20260101000000]);

    std::fs::remove_file(fx.migrations().join("20260102000000_index_in_tx.sql")).unwrap();
    fx.migration(
        20260102000000,
        "index_outside_tx",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY orgs_name ON orgs (name);\n",
    );
    fx.xtask(&["db-migrate"]).success().says("Applied 20260102000000/migrate index outside tx");
    assert!(fx.table_exists("orgs_name").await);
}

#[tokio::test]
async fn holds_sqlx_advisory_lock_while_migrating() {
    let fx = Fixture::new("migrate_lock");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success();
    // Another session holds sqlx's lock: a migrate must wait for it, then go on.
    let mut holder = fx.connect().await;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(sqlx_lock_id(&fx.database)).execute(&mut holder).await.unwrap();
    fx.migration(20260102000000, "create_sites", SITES);
    let xtask = fx.spawn(&["db-migrate"]);
    let mut waiting = false;
    for _ in 0..100 {
        let waiters: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name LIKE 'cargo xtask db-migrate (process %'",
        )
        .fetch_one(&mut holder)
        .await
        .unwrap();
        if waiters > 0 {
            waiting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waiting, "db-migrate did not wait for sqlx's advisory lock");
    assert_eq!(fx.applied_versions().await, [20260101000000], "applied while another session held the lock");
    sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut holder).await.unwrap();
    let output = xtask.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);
}

/// sqlx's lock key: `0x3d32ad9e * crc32(database name)`.
fn sqlx_lock_id(database: &str) -> i64 {
    let mut crc = 0xffff_ffffu32;
    for byte in database.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    0x3d32ad9e * i64::from(!crc)
}

/// `db-psql` opens psql on the dev database, with the password in its environment only, and
/// passes psql's exit status on.
#[tokio::test]
async fn db_psql_runs_psql_on_the_dev_database() {
    let fx = Fixture::new("psql");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success();
    let password = crate::support::server_url().password().unwrap_or_default().to_owned();
    let run = fx.xtask(&["db-psql", "--", "-X", "-A", "-t", "-c", "SELECT current_database()"]).success();
    assert_eq!(run.stdout.trim(), fx.database);
    run.never_says(&password);
    let failed = fx.xtask(&["db-psql", "--", "-X", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1/0"]);
    assert_eq!(failed.code, Some(1), "psql's own status: {}", failed.all());
    failed.says("division by zero");
}

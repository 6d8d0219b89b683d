//! `db-migrate` and `db-reset` refuse, before changing anything, when the folder is malformed or
//! disagrees with the database's history.

use crate::support::Fixture;

const ORGS: &str = "CREATE TABLE orgs (id int PRIMARY KEY);\n";
const SITES: &str = "CREATE TABLE sites (id int PRIMARY KEY);\n";

/// A fixture with one applied migration, and a pending one that a refusal must not apply.
async fn migrated() -> Fixture {
    let fx = Fixture::new("refuse");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success();
    fx.migration(20260201000000, "create_sites", SITES);
    fx
}

async fn assert_unchanged(fx: &Fixture) {
    assert_eq!(fx.applied_versions().await, [20260101000000], "a refused command changed the history");
    assert!(!fx.table_exists("sites").await, "a refused command applied a pending migration");
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused_by_migrate_and_rebuilt_by_reset() {
    let fx = migrated().await;
    // The everyday loop: write a migration, apply it, spot a mistake, edit it.
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint PRIMARY KEY);\n");
    fx.xtask(&["db-migrate"])
        .failure()
        .says("db/migrations/20260101000000_create_orgs.sql: changed since applied")
        .says("cargo xtask db-reset")
        .says("append-only");
    assert_unchanged(&fx).await;
    fx.xtask(&["db-reset"])
        .success()
        .says("Rebuilding")
        .says("db/migrations/20260101000000_create_orgs.sql changed since it was applied");
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260201000000]);
    let column: String =
        sqlx::query_scalar("SELECT data_type FROM information_schema.columns WHERE table_name = 'orgs'")
            .fetch_one(&mut fx.connect().await)
            .await
            .unwrap();
    assert_eq!(column, "bigint");
}

#[tokio::test]
async fn a_vanished_migration_is_refused_by_migrate_and_rebuilt_by_reset() {
    let fx = migrated().await;
    std::fs::remove_file(fx.migrations().join("20260101000000_create_orgs.sql")).unwrap();
    fx.xtask(&["db-migrate"])
        .failure()
        .says("20260101000000 (create orgs): applied, file missing")
        .says("cargo xtask db-reset");
    assert_unchanged(&fx).await;
    // A branch switch: the reset rebuilds from the files that are there, and says what went.
    fx.xtask(&["db-reset"]).success().says("20260101000000 (create orgs) was applied but its file is gone");
    assert_eq!(fx.applied_versions().await, [20260201000000]);
}

#[tokio::test]
async fn refuses_a_pending_migration_older_than_the_newest_applied() {
    let fx = migrated().await;
    fx.migration(20251231000000, "late_arrival", "CREATE TABLE late (id int);\n");
    fx.xtask(&["db-migrate"])
        .failure()
        .says("db/migrations/20251231000000_late_arrival.sql: pending, out of order")
        .says("give it a fresh version");
    assert_unchanged(&fx).await;
    assert!(!fx.table_exists("late").await);
    fx.xtask(&["db-reset"]).success().says("20251231000000_late_arrival.sql is older than migrations applied after it");
    assert!(fx.table_exists("late").await);
}

#[tokio::test]
async fn refuses_what_sqlx_refuses_and_lists_what_it_skips() {
    let fx = migrated().await;
    std::fs::write(fx.migrations().join("v2_create_x.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(fx.migrations().join("99999999999999999999_huge.sql"), "SELECT 1;\n").unwrap();
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says("has 2 problem(s), nothing was changed")
            .says("is not a version number")
            .says("db/migrations/v2_create_x.sql")
            .says("db/migrations/99999999999999999999_huge.sql");
        assert_unchanged(&fx).await;
    }
    let fx = migrated().await;
    for skipped in ["README.md", "notes.txt", "20260301000000.sql", "20260301000000_x.sql.bak"] {
        std::fs::write(fx.migrations().join(skipped), "SELECT 1;\n").unwrap();
    }
    fx.xtask(&["db-migrate"])
        .success()
        .says("Skipped 4 entries of db/migrations that are not migrations")
        .says("db/migrations/README.md");
    fx.xtask(&["-q", "db-status"]).success().never_says("Skipped");
}

#[tokio::test]
async fn refuses_two_files_with_one_version() {
    let fx = migrated().await;
    fx.migration(20260201000000, "create_other", "CREATE TABLE other (id int);\n");
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says("files share a version")
            .says("20260201000000: db/migrations/20260201000000_create_other.sql, db/migrations/20260201000000_create_sites.sql");
        assert_unchanged(&fx).await;
    }
}

#[tokio::test]
async fn groups_many_problems_by_kind() {
    let fx = migrated().await;
    for n in 0..300 {
        std::fs::write(fx.migrations().join(format!("x{n:03}_bad.sql")), "SELECT 1;\n").unwrap();
    }
    let run = fx.xtask(&["db-migrate"]).failure().says("has 300 problem(s)").says("… and 280 more");
    assert!(run.stderr.lines().count() < 30, "{}", run.stderr);
    assert_eq!(run.stderr.matches("is not a version number").count(), 1, "one explanation per kind");
    assert_unchanged(&fx).await;
}

/// A file that is still only the header db-new wrote is refused until its SQL is written;
/// applied, it would stay in the history as a no-op. (A file with comments of its own applies, as
/// sqlx applies it: `sqlx_compat.rs`.)
#[tokio::test]
async fn a_migration_still_only_db_news_header_is_refused_until_it_has_sql() {
    let fx = migrated().await;
    let shown = fx.xtask(&["db-new", "todo"]).success().stdout.trim().to_owned();
    let path = fx.root().join(&shown);
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says(&shown)
            .says("is still the header `cargo xtask db-new` wrote, nothing else: write its SQL");
        assert_unchanged(&fx).await;
    }
    let header = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{header}CREATE TABLE todo (id int);\n")).unwrap();
    fx.xtask(&["db-migrate"]).success();
    assert!(fx.table_exists("todo").await);
}

#[tokio::test]
async fn the_servers_own_databases_are_never_reset() {
    let fx = Fixture::new("refuse_system");
    for database in ["postgres", "template1"] {
        fx.xtask_with(&["db-reset"], &[("DATABASE_URL", &fx.url_for(database))])
            .failure()
            .says(&format!("would drop and replace {database}, a database every PostgreSQL server needs"));
        assert!(!fx.database_exists(&format!("{database}__xtask_reset")).await);
    }
}

#[tokio::test]
async fn a_role_a_migration_creates_is_explained_as_the_servers() {
    use sqlx::Executor;
    let fx = Fixture::new("role");
    let role = format!("{}_reader", fx.database);
    fx.migration(20260101000000, "create_role", &format!("CREATE ROLE {role} NOLOGIN;\n"));
    fx.xtask(&["db-migrate"]).success();
    // The reset's build runs the migration again on the same server, where the role exists.
    let run = fx.xtask(&["db-reset"]);
    fx.admin().await.execute(sqlx::AssertSqlSafe(format!("DROP ROLE {role}"))).await.expect("drop the test's role");
    run.failure()
        .says(&format!("role \"{role}\" already exists"))
        .says("a role belongs to the whole server")
        .says("EXCEPTION WHEN duplicate_object");
}

/// A no-op is answered from a digest of `_sqlx_migrations` (`history::summary`), not from its
/// rows: every change made to the table by hand must still be seen, as the rows would show it.
#[tokio::test]
async fn a_history_changed_by_hand_is_never_taken_for_up_to_date() {
    let fx = Fixture::new("refuse_by_hand");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260201000000, "create_sites", SITES);
    fx.xtask(&["db-migrate"]).success();
    // The shortcut itself: a no-op lists every migration with when it was applied.
    let run = fx.xtask(&["db-status", "--no-drift"]).success().says("2 applied, 0 pending, 0 problem(s)");
    for version in ["20260101000000", "20260201000000"] {
        let line = run.stdout.lines().find(|l| l.starts_with(version)).unwrap();
        assert!(line.contains("applied 20") && line.contains(" UTC (") && line.ends_with(')'), "{line}");
    }
    fx.xtask(&["db-migrate"]).success().says("is up to date (2 migration(s) applied)");

    let orgs = "db/migrations/20260101000000_create_orgs.sql";
    let cases = [
        (
            "UPDATE _sqlx_migrations SET checksum = sha384('by hand') WHERE version = 20260101000000",
            "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 20260101000000",
            format!("{orgs}: changed since applied"),
            "20260101000000 create orgs   changed since applied",
        ),
        (
            "UPDATE _sqlx_migrations SET success = false WHERE version = 20260101000000",
            "UPDATE _sqlx_migrations SET success = true WHERE version = 20260101000000 AND $1::bytea IS NOT NULL",
            format!("{orgs}: failed"),
            "20260101000000 create orgs   failed",
        ),
        (
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (20260301000000, 'by hand', true, sha384('x'), 0)",
            "DELETE FROM _sqlx_migrations WHERE version = 20260301000000 AND $1::bytea IS NOT NULL",
            "20260301000000 (by hand): applied, file missing".to_owned(),
            "20260301000000 by hand       applied, file missing",
        ),
        (
            "DELETE FROM _sqlx_migrations WHERE version = 20260101000000",
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (20260101000000, 'create orgs', true, $1, 0)",
            format!("{orgs}: pending, out of order"),
            "20260101000000 create orgs   pending, out of order",
        ),
    ];
    for (change, undo, refusal, status) in cases {
        let mut conn = fx.connect().await;
        let checksum: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 20260101000000")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        sqlx::query(change).execute(&mut conn).await.unwrap();
        fx.xtask(&["db-migrate"]).failure().says(&refusal).never_says("up to date");
        let run = fx.xtask(&["db-status", "--no-drift"]);
        assert_eq!(run.code, Some(1), "{change}: {}", run.all());
        run.says(status);
        sqlx::query(undo).bind(checksum).execute(&mut conn).await.unwrap();
        fx.xtask(&["db-migrate"]).success().says("is up to date (2 migration(s) applied)");
    }
}

/// A history row with values sqlx never writes but a hand may (`infinity`, NULLs once a
/// constraint is dropped) is read and shown, and db-reset still rebuilds: sqlx reads only
/// versions and checksums, so the application's migrator carries on too.
#[tokio::test]
async fn a_history_row_with_odd_values_is_read_and_a_reset_rebuilds() {
    let fx = Fixture::new("odd_history");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success();
    sqlx::raw_sql(
        "UPDATE _sqlx_migrations SET installed_on = 'infinity'; \
         ALTER TABLE _sqlx_migrations ALTER execution_time DROP NOT NULL; \
         UPDATE _sqlx_migrations SET execution_time = NULL",
    )
    .execute(&mut fx.connect().await)
    .await
    .unwrap();
    fx.xtask(&["db-status", "--no-drift"]).success().says("applied infinity");
    fx.xtask(&["db-migrate"]).success().says("is up to date");
    fx.xtask(&["db-reset"]).success();
    assert_eq!(fx.applied_versions().await, [20260101000000]);
}

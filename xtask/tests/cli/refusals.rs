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
async fn refuses_an_applied_migration_that_changed() {
    let fx = migrated().await;
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint PRIMARY KEY);\n");
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says("db/migrations/20260101000000_create_orgs.sql: changed since applied")
            .says("append-only")
            .says("cargo xtask db-new");
        assert_unchanged(&fx).await;
    }
}

#[tokio::test]
async fn refuses_an_applied_migration_whose_file_is_gone() {
    let fx = migrated().await;
    std::fs::remove_file(fx.migrations().join("20260101000000_create_orgs.sql")).unwrap();
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says("20260101000000 (create orgs): applied, file missing")
            .says("restore the file");
        assert_unchanged(&fx).await;
    }
    // A deliberate branch switch: --ignore-applied rebuilds from the files that are there.
    fx.xtask(&["db-reset", "--ignore-applied"]).success();
    assert_eq!(fx.applied_versions().await, [20260201000000]);
}

#[tokio::test]
async fn refuses_a_pending_migration_older_than_the_newest_applied() {
    let fx = migrated().await;
    fx.migration(20251231000000, "late_arrival", "CREATE TABLE late (id int);\n");
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command])
            .failure()
            .says("db/migrations/20251231000000_late_arrival.sql: pending, out of order")
            .says("give it a fresh version");
        assert_unchanged(&fx).await;
        assert!(!fx.table_exists("late").await);
    }
}

#[tokio::test]
async fn refuses_misnamed_files_instead_of_ignoring_them() {
    let cases: &[(&str, &str)] = &[
        ("20260301000000_create_x.up.sql", "reversible (.up.sql/.down.sql) migrations are not used here"),
        ("20260301000000_create_x.down.sql", "reversible (.up.sql/.down.sql) migrations are not used here"),
        ("2026030100000_short.sql", "does not start with a 14-digit UTC timestamp"),
        ("create_x.sql", "does not start with a 14-digit UTC timestamp"),
        ("20260301000000_Create X.sql", "contains 'C'"),
        ("20260301000000.sql", "has no name after the timestamp"),
        ("20261301000000_bad_month.sql", "is not a real date and time"),
        ("99999999999999999999_huge.sql", "does not start with a 14-digit UTC timestamp"),
        ("notes.txt", "not a .sql file"),
    ];
    for (file_name, problem) in cases {
        let fx = migrated().await;
        std::fs::write(fx.migrations().join(file_name), "SELECT 1;\n").unwrap();
        for command in ["db-migrate", "db-reset"] {
            fx.xtask(&[command]).failure().says(&format!("db/migrations/{file_name}: ")).says(problem);
            assert_unchanged(&fx).await;
        }
    }
}

#[tokio::test]
async fn refuses_two_files_with_one_version() {
    let fx = migrated().await;
    fx.migration(20260201000000, "create_other", "CREATE TABLE other (id int);\n");
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command]).failure().says(
            "2 files share version 20260201000000 (20260201000000_create_other.sql, 20260201000000_create_sites.sql)",
        );
        assert_unchanged(&fx).await;
    }
}

#[tokio::test]
async fn lists_every_problem_at_once() {
    let fx = migrated().await;
    std::fs::write(fx.migrations().join("a.sql"), "").unwrap();
    std::fs::write(fx.migrations().join("20260301000000_empty.sql"), "  \n").unwrap();
    fx.xtask(&["db-migrate"])
        .failure()
        .says("has 2 problem(s), nothing was changed")
        .says("db/migrations/a.sql")
        .says("db/migrations/20260301000000_empty.sql: is empty");
    assert_unchanged(&fx).await;
}

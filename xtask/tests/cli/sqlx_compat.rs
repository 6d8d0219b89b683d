//! Databases migrated by the xtask and by sqlx's own `Migrator` are interchangeable.

use sqlx::migrate::Migrator;

use crate::support::Fixture;

fn project(name: &str) -> Fixture {
    let fx = Fixture::new(name);
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY);\n");
    fx.migration(
        20260102000000,
        "create_sites",
        "-- a comment\nCREATE TABLE sites (id int PRIMARY KEY, org int REFERENCES orgs);\n",
    );
    fx.migration(
        20260103000000,
        "index_sites",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY sites_org ON sites (org);\n",
    );
    fx
}

#[tokio::test]
async fn sqlx_accepts_a_database_the_xtask_migrated() {
    let fx = project("compat_xtask_first");
    fx.xtask(&["db-migrate"]).success();
    let migrator = Migrator::new(fx.migrations()).await.unwrap();
    // sqlx checks versions and checksums of everything applied, then finds nothing to do.
    migrator.run(&mut fx.connect().await).await.expect("sqlx refused a database the xtask migrated");
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000, 20260103000000]);
    let descriptions: Vec<String> = sqlx::query_scalar("SELECT description FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut fx.connect().await)
        .await
        .unwrap();
    assert_eq!(descriptions, ["create orgs", "create sites", "index sites"]);
}

#[tokio::test]
async fn the_xtask_accepts_a_database_sqlx_migrated() {
    let fx = project("compat_sqlx_first");
    fx.xtask(&["db-migrate", "--dry-run"]).success();
    let migrator = Migrator::new(fx.migrations()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{}\"", fx.database)))
        .execute(&mut fx.admin().await)
        .await
        .unwrap();
    migrator.run(&mut fx.connect().await).await.unwrap();

    fx.xtask(&["db-migrate"]).success().says("is up to date (3 migration(s) applied)");
    fx.xtask(&["db-status"]).success().says("3 applied, 0 pending, 0 problem(s)");
}

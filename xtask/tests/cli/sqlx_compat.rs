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

/// An existing sqlx project's folder works unchanged: dashes and capitals in names, sequential
/// versions, `.up.sql`/`.down.sql` pairs, a README. The xtask applies it, and sqlx agrees.
#[tokio::test]
async fn an_adopted_sqlx_history_applies_unchanged_and_sqlx_agrees() {
    let fx = Fixture::new("compat_adopt");
    let files: &[(&str, &str)] = &[
        ("1_setup.sql", "CREATE TABLE a (id int);\n"),
        ("2_idx-cache.sql", "CREATE INDEX a_id ON a (id);\n"),
        ("3_column_set_via_IDs.sql", "ALTER TABLE a ADD COLUMN ids int[];\n"),
        ("4_[2.0.0]_initial.up.sql", "CREATE TABLE b (id int);\n"),
        ("4_[2.0.0]_initial.down.sql", "DROP TABLE b;\n"),
        ("README.md", "# migrations\n"),
    ];
    for (name, sql) in files {
        std::fs::write(fx.migrations().join(name), sql).unwrap();
    }
    fx.xtask(&["db-migrate"])
        .success()
        .says("Applied 4/migrate [2.0.0] initial")
        .says("1 .down.sql file(s) in db/migrations are never run")
        .says("db/migrations/README.md");
    assert!(!fx.xtask(&["db-migrate"]).success().all().contains("Applied"));
    let descriptions: Vec<String> = sqlx::query_scalar("SELECT description FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut fx.connect().await)
        .await
        .unwrap();
    assert_eq!(descriptions, ["setup", "idx-cache", "column set via IDs", "[2.0.0] initial"]);
    let migrator = Migrator::new(fx.migrations()).await.unwrap();
    migrator.run(&mut fx.connect().await).await.expect("sqlx refused the history the xtask applied");

    // And the other way round: sqlx applies, the xtask agrees.
    let fx2 = Fixture::new("compat_adopt");
    for (name, sql) in files {
        std::fs::write(fx2.migrations().join(name), sql).unwrap();
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{}\"", fx2.database)))
        .execute(&mut fx2.admin().await)
        .await
        .unwrap();
    Migrator::new(fx2.migrations()).await.unwrap().run(&mut fx2.connect().await).await.unwrap();
    fx2.xtask(&["db-status"]).success().says("4 applied, 0 pending, 0 problem(s)");
}

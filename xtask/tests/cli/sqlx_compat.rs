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

/// Real histories hold `.up.sql` files with only comments (a step kept for the record), and files
/// left blank; sqlx applies them as no-ops. The xtask applies the same history, goes on from a
/// database sqlx migrated part of, checks drift on one sqlx migrated fully, and sqlx agrees with
/// what the xtask applied. Only a file that is still db-new's header is refused.
#[tokio::test]
async fn comment_only_and_blank_migrations_apply_as_sqlx_applies_them() {
    let files: &[(&str, &str)] = &[
        ("1_setup.up.sql", "CREATE TABLE a (id int);\n"),
        ("1_setup.down.sql", "DROP TABLE a;\n"),
        ("2_noop.up.sql", "-- This step was moved to 1_setup; kept so versions line up.\n"),
        ("2_noop.down.sql", "-- nothing\n"),
        ("3_blank.up.sql", "\n  \n"),
        ("4_block_comment.sql", "/* reserved for the audit tables */\n"),
        ("5_more.up.sql", "ALTER TABLE a ADD COLUMN b int;\n"),
    ];
    let write = |fx: &Fixture, upto: usize| {
        for (name, sql) in files {
            let version: usize = name.split('_').next().unwrap().parse().unwrap();
            if version <= upto {
                std::fs::write(fx.migrations().join(name), sql).unwrap();
            }
        }
    };
    let create = async |fx: &Fixture| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{}\"", fx.database)))
            .execute(&mut fx.admin().await)
            .await
            .unwrap();
    };

    // The xtask applies the whole history, and sqlx agrees with it.
    let fx = Fixture::new("compat_comments");
    write(&fx, 5);
    fx.xtask(&["db-migrate"]).success().says("Applied 2/migrate noop").says("Applied 3/migrate blank");
    assert_eq!(fx.applied_versions().await, [1, 2, 3, 4, 5]);
    Migrator::new(fx.migrations()).await.unwrap().run(&mut fx.connect().await).await.unwrap();
    fx.xtask(&["db-reset"]).success().says("5 migration(s)");

    // sqlx applied part of it: the xtask goes on.
    let fx = Fixture::new("compat_comments");
    write(&fx, 3);
    create(&fx).await;
    Migrator::new(fx.migrations()).await.unwrap().run(&mut fx.connect().await).await.unwrap();
    write(&fx, 5);
    fx.xtask(&["db-migrate"]).success().says("Applied 4/migrate block comment").says("Applied 5/migrate more");

    // sqlx applied all of it: db-status checks drift, and finds none.
    let fx = Fixture::new("compat_comments");
    write(&fx, 5);
    create(&fx).await;
    Migrator::new(fx.migrations()).await.unwrap().run(&mut fx.connect().await).await.unwrap();
    fx.xtask(&["db-status"])
        .success()
        .says("5 applied, 0 pending, 0 problem(s)")
        .says("no drift")
        .never_says("not checked");
}

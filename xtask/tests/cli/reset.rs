//! `db-reset`: rebuilds the database from scratch and swaps it in only when everything worked.

use sqlx::Connection;

use crate::support::Fixture;

fn project() -> Fixture {
    let fx = Fixture::new("reset");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL UNIQUE);\n");
    fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme'), (2, 'Globex');\n");
    fx.seed("002_more_orgs.sql", "INSERT INTO orgs VALUES (3, 'Initech');\n");
    fx
}

#[tokio::test]
async fn migrates_and_seeds_and_can_run_twice_in_a_row() {
    let fx = project();
    for _ in 0..2 {
        let run = fx.xtask(&["db-reset", "--no-cache"]).success();
        let seeded_first = run.stdout.find("Seeded db/seeds/001_orgs.sql").expect("first seed reported");
        let seeded_second = run.stdout.find("Seeded db/seeds/002_more_orgs.sql").expect("second seed reported");
        assert!(seeded_first < seeded_second, "seeds out of file-name order:\n{}", run.stdout);
        assert!(run.stdout.contains("Applied 20260101000000/migrate create orgs"));
        assert!(run.stdout.contains(&format!("Reset {}: 1 migration(s), 2 seed file(s)", fx.database)));
        assert_eq!(fx.count("orgs").await, 3);
        assert_eq!(fx.applied_versions().await, [20260101000000]);
    }
    assert!(!fx.database_exists(&format!("{}__xtask_reset", fx.database)).await);
}

#[tokio::test]
async fn no_seed_skips_the_seeds() {
    let fx = project();
    fx.xtask(&["db-reset", "--no-seed"]).success().never_says("Seeded");
    assert_eq!(fx.count("orgs").await, 0);
}

#[tokio::test]
async fn replaces_the_data_and_disconnects_other_sessions() {
    let fx = project();
    fx.xtask(&["db-reset"]).success();
    let mut other = fx.connect().await;
    sqlx::query("INSERT INTO orgs VALUES (99, 'Scribbled by hand')").execute(&mut other).await.unwrap();

    fx.xtask(&["db-reset"]).success();
    assert_eq!(fx.count("orgs").await, 3, "the hand-made row survived the reset");
    assert!(other.ping().await.is_err(), "the open session should have been disconnected");
}

#[tokio::test]
async fn the_replaced_database_is_kept_until_the_next_reset() {
    let fx = project();
    let previous = format!("{}__xtask_old", fx.database);
    fx.xtask(&["db-reset"]).success();
    assert!(!fx.database_exists(&previous).await, "the first reset replaced nothing");
    sqlx::query("INSERT INTO orgs VALUES (99, 'Scribbled by hand')").execute(&mut fx.connect().await).await.unwrap();

    fx.xtask(&["db-reset", "--no-cache"]).success();
    assert_eq!(fx.count("orgs").await, 3);
    let url = fx.url_for(&previous);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs")
        .fetch_one(&mut sqlx::PgConnection::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(kept, 4, "the replaced database should be kept as it was, hand-made row and all");

    // The next reset drops it and keeps its own predecessor; purging removes it.
    fx.xtask(&["db-reset"]).success();
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs")
        .fetch_one(&mut sqlx::PgConnection::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(kept, 3);
    fx.xtask(&["db-down", "--purge"]).success().says(&format!("Removed {previous}"));
    assert!(!fx.database_exists(&previous).await);
}

#[tokio::test]
async fn a_file_that_runs_into_the_next_one_fails_as_it_would_alone() {
    // A reset sends all migrations in one round trip; an unterminated quote must not be closed by
    // the next file, which would make two broken files run as one.
    let fx = with_hand_made_row().await;
    fx.migration(20260102000000, "opens_a_quote", "CREATE TABLE a (id int);\nSELECT $$\n");
    fx.migration(20260103000000, "closes_it", "$$;\nCREATE TABLE b (id int);\n");
    fx.xtask(&["db-reset", "--no-cache"])
        .failure()
        .says("db/migrations/20260102000000_opens_a_quote.sql")
        .says("unterminated dollar-quoted string");
    assert_old_database_intact(&fx).await;

    // The same with a comment left open.
    let fx = with_hand_made_row().await;
    fx.migration(20260102000000, "opens_a_comment", "CREATE TABLE a (id int);\n/* unfinished\n");
    fx.migration(20260103000000, "closes_it", "*/\nCREATE TABLE b (id int);\n");
    fx.xtask(&["db-reset", "--no-cache"])
        .failure()
        .says("db/migrations/20260102000000_opens_a_comment.sql")
        .says("unterminated /* comment");
    assert_old_database_intact(&fx).await;
}

/// The old database, with rows the reset would have thrown away, survives any failure.
async fn assert_old_database_intact(fx: &Fixture) {
    assert_eq!(fx.count("orgs").await, 4, "the previous database lost rows");
    let marker: String = sqlx::query_scalar("SELECT name FROM orgs WHERE id = 99")
        .fetch_one(&mut fx.connect().await)
        .await
        .expect("the previous database's own row is gone");
    assert_eq!(marker, "Scribbled by hand");
    assert!(!fx.database_exists(&format!("{}__xtask_reset", fx.database)).await, "a scratch database was left behind");
}

async fn with_hand_made_row() -> Fixture {
    let fx = project();
    fx.xtask(&["db-reset"]).success();
    sqlx::query("INSERT INTO orgs VALUES (99, 'Scribbled by hand')").execute(&mut fx.connect().await).await.unwrap();
    fx
}

#[tokio::test]
async fn a_failing_migration_leaves_the_previous_database_as_it_was() {
    let fx = with_hand_made_row().await;
    fx.migration(20260102000000, "broken", "ALTER TABLE orgs ADD COLUMN x int;\nSELEC 1;\n");
    fx.xtask(&["db-reset"])
        .failure()
        .says(&format!("reset of {} failed; the previous database is unchanged", fx.database))
        .says("db/migrations/20260102000000_broken.sql:2:1: syntax error");
    assert_old_database_intact(&fx).await;

    // A first reset that fails has no previous database to speak of.
    let first = project();
    first.migration(20260102000000, "broken", "SELEC 1;\n");
    first.xtask(&["db-reset"]).failure().says(&format!("reset of {} failed; nothing was created", first.database));
    assert!(!first.database_exists(&first.database).await);
}

#[tokio::test]
async fn a_failing_seed_leaves_the_previous_database_as_it_was() {
    let fx = with_hand_made_row().await;
    fx.seed(
        "003_duplicate.sql",
        "INSERT INTO orgs VALUES (10, 'Umbrella');\n\nINSERT INTO orgs VALUES (11, 'Acme');\n",
    );
    fx.xtask(&["db-reset"])
        .failure()
        .says("db/seeds/003_duplicate.sql:3:1: duplicate key value violates unique constraint \"orgs_name_key\"")
        .says("detail: Key (name)=(Acme) already exists.");
    assert_old_database_intact(&fx).await;
}

#[tokio::test]
async fn removes_a_scratch_database_left_by_an_interrupted_reset() {
    let fx = project();
    let scratch = format!("{}__xtask_reset", fx.database);
    let sql = format!("CREATE DATABASE \"{scratch}\"");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut fx.admin().await).await.unwrap();

    fx.xtask(&["db-reset"]).success().says(&format!("Removed {scratch}, left behind by an interrupted reset"));
    assert!(!fx.database_exists(&scratch).await);
    assert_eq!(fx.count("orgs").await, 3);
}

#[tokio::test]
async fn refuses_a_misnamed_seed_before_touching_anything() {
    let fx = with_hand_made_row().await;
    fx.seed("Bad Name.sql", "SELECT 1;\n");
    fx.xtask(&["db-reset"]).failure().says("db/seeds/Bad Name.sql: name contains 'B'");
    assert_old_database_intact(&fx).await;
}

#[tokio::test]
async fn the_reset_cache_is_used_and_never_stale() {
    let fx = project();
    fx.xtask(&["db-reset"]).success().never_says("reset cache");
    fx.xtask(&["db-reset", "--cache", "always"]).success().says("copied from the reset cache").never_says("Applied");
    assert_eq!(fx.count("orgs").await, 3);

    // Edit a seed: the next reset has the new data.
    fx.seed("002_more_orgs.sql", "INSERT INTO orgs VALUES (3, 'Initech'), (4, 'Umbrella');\n");
    fx.xtask(&["db-reset"]).success().never_says("reset cache").says("Seeded db/seeds/002_more_orgs.sql");
    assert_eq!(fx.count("orgs").await, 4);
    fx.xtask(&["db-reset", "--cache", "always"]).success().says("copied from the reset cache");
    assert_eq!(fx.count("orgs").await, 4);

    // Add a migration: the next reset has the new table.
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id int PRIMARY KEY);\n");
    fx.xtask(&["db-reset"]).success().never_says("reset cache").says("Applied 20260102000000/migrate create sites");
    assert!(fx.table_exists("sites").await);
    fx.xtask(&["db-reset", "--cache", "always"]).success().says("copied from the reset cache");
    assert!(fx.table_exists("sites").await);
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);

    // Rename it: its description is in _sqlx_migrations, so the cache of the old name is not used.
    std::fs::rename(
        fx.migrations().join("20260102000000_create_sites.sql"),
        fx.migrations().join("20260102000000_add_sites.sql"),
    )
    .unwrap();
    fx.xtask(&["db-reset", "--cache", "always"]).success().never_says("copied from the reset cache");
    let description: String =
        sqlx::query_scalar("SELECT description FROM _sqlx_migrations WHERE version = 20260102000000")
            .fetch_one(&mut fx.connect().await)
            .await
            .unwrap();
    assert_eq!(description, "add sites");

    // --no-seed is cached apart from the seeded result; --no-cache builds from the files.
    fx.xtask(&["db-reset", "--no-seed"]).success().never_says("reset cache");
    assert_eq!(fx.count("orgs").await, 0);
    // --no-cache builds from the files and drops the cache, so nothing reads a build older than
    // the database.
    fx.xtask(&["db-reset", "--no-cache"])
        .success()
        .never_says("copied from the reset cache")
        .says("Dropped the reset cache")
        .says("Seeded");
    assert_eq!(fx.count("orgs").await, 4);
    assert_eq!(cached_templates(&fx).await, 0);

    // Only the newest template is kept, and purging the database removes it.
    fx.xtask(&["db-reset", "--no-seed"]).success();
    fx.xtask(&["db-reset"]).success();
    assert_eq!(cached_templates(&fx).await, 1);
    fx.xtask(&["db-down", "--purge"]).success().says("Removed the reset cache");
    assert_eq!(cached_templates(&fx).await, 0);
}

async fn cached_templates(fx: &Fixture) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE left(datname, length($1)) = $1")
        .bind(format!("{}__xtask_tpl_", fx.database))
        .fetch_one(&mut fx.admin().await)
        .await
        .unwrap()
}

/// The names of the reset cache's templates for `fx`'s database.
async fn templates(fx: &Fixture) -> Vec<String> {
    sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1")
        .bind(format!("{}__xtask_tpl_", fx.database))
        .fetch_all(&mut fx.admin().await)
        .await
        .unwrap()
}

/// Edits `template` as someone with a GUI would, opening it first when it is closed; leaves it
/// open or closed as asked.
async fn edit_template(fx: &Fixture, template: &str, table: &str, leave_open: bool) {
    let mut admin = fx.admin().await;
    let open = |allow: bool| format!("ALTER DATABASE \"{template}\" WITH ALLOW_CONNECTIONS {allow}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(open(true))).execute(&mut admin).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&fx.url_for(template)).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} (id int)"))).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    if !leave_open {
        sqlx::raw_sql(sqlx::AssertSqlSafe(open(false))).execute(&mut admin).await.unwrap();
    }
}

/// The reset cache is closed to connections, so no GUI edits it; one found open (as an older
/// xtask left it) is not copied but built anew; `--no-cache` drops it, so nothing compares with a
/// build older than the database.
#[tokio::test]
async fn the_reset_cache_is_closed_and_never_serves_a_hand_edit() {
    let fx = project();
    fx.xtask(&["db-reset"]).success();
    let [template] = &templates(&fx).await[..] else { panic!("one template: {:?}", templates(&fx).await) };
    assert!(sqlx::PgConnection::connect(&fx.url_for(template)).await.is_err(), "the reset cache accepts connections");
    fx.xtask(&["db-status"]).success().says("no drift");

    // Found open, and edited: not copied, built anew (and closed).
    edit_template(&fx, template, "edited_in_a_gui", true).await;
    fx.xtask(&["db-reset"]).success().says("accepts connections").never_says("copied from the reset cache");
    assert!(!fx.table_exists("edited_in_a_gui").await, "a hand edit of the cache reached the dev database");
    fx.xtask(&["db-status"]).success().says("no drift");
    let [template] = &templates(&fx).await[..] else { panic!("one template") };
    assert!(sqlx::PgConnection::connect(&fx.url_for(template)).await.is_err(), "the new cache accepts connections");
    fx.xtask(&["db-reset", "--cache", "always"]).success().says("copied from the reset cache");

    // Edited and closed again by someone who meant it: --no-cache builds from the files and drops
    // it, and db-status compares with a build of the files, not with it.
    edit_template(&fx, template, "edited_and_closed", false).await;
    fx.xtask(&["db-reset", "--no-cache"]).success().says("Dropped the reset cache");
    assert!(templates(&fx).await.is_empty());
    assert!(!fx.table_exists("edited_and_closed").await);
    std::fs::remove_file(fx.root().join(".xtask/schema-digest")).ok();
    fx.xtask(&["db-status"]).success().says("no drift").never_says("the reset cache of these migrations");
}

/// Seeds load data only: a seed that creates a function and an index is refused, naming them,
/// and the reset keeps the previous database (else db-check passes locally from the reset cache
/// and fails in CI, and db-status calls the function "removed by hand" after db-migrate). Data
/// seeds written as pg_dump --data-only --disable-triggers writes them pass.
#[tokio::test]
async fn a_seed_that_changes_the_schema_is_refused_naming_what_it_changed() {
    let fx = project();
    fx.xtask(&["db-reset"]).success();
    fx.seed(
        "003_helpers.sql",
        "CREATE FUNCTION org_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orgs';\n\
         CREATE INDEX orgs_name_idx ON orgs (lower(name));\n",
    );
    fx.xtask(&["db-reset"])
        .failure()
        .says("db/seeds changed the schema")
        .says("function org_count()")
        .says("index orgs_name_idx")
        .says("move what creates, changes or drops")
        .says("into a migration")
        .says("the previous database is unchanged");
    assert_eq!(fx.count("orgs").await, 3, "the previous database must stay");
    fx.xtask(&["db-reset", "--no-cache"]).failure().says("db/seeds changed the schema");

    fx.seed(
        "003_helpers.sql",
        "TRUNCATE orgs;\nCREATE TEMPORARY TABLE staging (id int);\n\
         ALTER TABLE orgs DISABLE TRIGGER ALL;\nINSERT INTO orgs VALUES (4, 'Umbrella');\n\
         ALTER TABLE orgs ENABLE TRIGGER ALL;\nANALYZE orgs;\nSELECT 1 FROM orgs;\n",
    );
    fx.xtask(&["db-reset"]).success();
    assert_eq!(fx.count("orgs").await, 1);
    fx.xtask(&["db-status"]).success().says("no drift");
}

/// The cache is copied only when that was measured faster than the build it was saved from
/// (the label records both): for a handful of migrations a build is, and the reset builds.
/// The costs are written into the label here so each way is taken whatever the machine's speed.
#[tokio::test]
async fn the_reset_cache_is_copied_only_when_a_copy_is_faster_than_the_build() {
    let fx = project();
    fx.xtask(&["db-reset"]).success().never_says("reset cache");
    let [template] = &templates(&fx).await[..] else { panic!("one template") };
    let relabel = async |build: u64, copy: u64| {
        let mut admin = fx.admin().await;
        let comment: String =
            sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
                .bind(template)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        let (built, rest) = comment.split_once(", build ").expect("the label records the build's cost");
        let (_, schema) = rest.split_once(", schema ").unwrap();
        let label = format!("{built}, build {build}us, copy {copy}us, schema {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("COMMENT ON DATABASE \"{template}\" IS '{label}'")))
            .execute(&mut admin)
            .await
            .unwrap();
    };
    relabel(1_000, 90_000).await;
    fx.xtask(&["db-reset"]).success().never_says("copied from the reset cache").says("Applied 20260101000000/migrate");
    assert_eq!(fx.count("orgs").await, 3);
    assert_eq!(templates(&fx).await, std::slice::from_ref(template), "the fresh template is kept as it was");
    fx.xtask(&["db-reset", "--cache", "always"]).success().says("copied from the reset cache");
    relabel(2_000_000, 90_000).await;
    fx.xtask(&["db-reset"]).success().says("copied from the reset cache").never_says("Applied");
    assert_eq!(fx.count("orgs").await, 3);
}

//! The rule every speed idea must keep: `db-reset` builds exactly what `db-migrate` builds from
//! the same files. Each history below is built three ways — `db-migrate` on an empty database,
//! `db-reset --no-cache`, and `db-reset` copied from its cache — and the three databases are
//! compared: schema and data (pg_dump), `_sqlx_migrations` rows but timings, per-database
//! settings. Where `db-migrate` fails, the reset must fail with the same file, line and error.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use sqlx::{Connection, PgConnection};

use crate::support::{Fixture, Run};

/// One way of building the fixture's files, into a database of its own.
#[derive(Clone, Copy, Debug)]
enum Way {
    Migrate,
    ResetUncached,
    ResetCached,
}

impl Way {
    const ALL: [Way; 3] = [Way::Migrate, Way::ResetUncached, Way::ResetCached];

    /// The database this way builds into; the fixture removes it afterwards.
    fn database(self, fx: &Fixture) -> String {
        let suffix = match self {
            Way::Migrate => "m",
            Way::ResetUncached => "u",
            Way::ResetCached => "c",
        };
        format!("{}__xtask_{suffix}", fx.database)
    }

    fn build(self, fx: &Fixture) -> Run {
        let url = fx.url_for(&self.database(fx));
        let run = |args: &[&str]| fx.xtask_with(args, &[("DATABASE_URL", &url)]);
        match self {
            Way::Migrate => run(&["db-migrate"]),
            Way::ResetUncached => run(&["db-reset", "--no-cache", "--no-seed"]),
            Way::ResetCached => {
                // The first reset fills the cache (when the files fail, it fails as the others do).
                let first = run(&["db-reset", "--no-seed"]);
                if first.code != Some(0) {
                    return first;
                }
                // Copied whenever the cache is fresh: with these few migrations a build is faster.
                run(&["db-reset", "--no-seed", "--cache", "always"])
            }
        }
    }
}

/// Builds the fixture all three ways, asserts they succeeded and built the same database, and
/// returns the output of the cached reset.
async fn assert_same_database(fx: &Fixture) -> Run {
    let mut snapshots = Vec::new();
    let mut cached = None;
    for way in Way::ALL {
        let run = way.build(fx).success();
        snapshots.push((way, snapshot(fx, &way.database(fx)).await));
        if let Way::ResetCached = way {
            cached = Some(run);
        }
    }
    let (_, migrated) = &snapshots[0];
    for (way, snapshot) in &snapshots[1..] {
        assert_eq!(snapshot.history, migrated.history, "{way:?}: _sqlx_migrations differs from db-migrate's");
        assert_eq!(snapshot.settings, migrated.settings, "{way:?}: per-database settings differ from db-migrate's");
        assert_eq!(snapshot.attributes, migrated.attributes, "{way:?}: the database's own attributes differ");
        if snapshot.dump != migrated.dump {
            panic!("{way:?}: schema or data differ from db-migrate's:\n{}", diff(&migrated.dump, &snapshot.dump));
        }
    }
    cached.expect("the cached way ran")
}

/// Builds the fixture all three ways, asserts each failed with the same located error, and
/// returns that error line.
async fn assert_same_failure(fx: &Fixture) -> String {
    let mut errors = Vec::new();
    for way in Way::ALL {
        let run = way.build(fx).failure();
        assert!(!run.stderr.contains(" at line "), "{way:?} shows a server source line:\n{}", run.stderr);
        let located = run
            .stderr
            .lines()
            .flat_map(|line| line.split(": "))
            .find(|part| part.starts_with("db/migrations/"))
            .map(|part| part.to_owned())
            .unwrap_or_else(|| panic!("{way:?} names no migration file:\n{}", run.stderr));
        let message =
            run.stderr.split(&located).nth(1).unwrap_or_default().lines().next().unwrap_or_default().to_owned();
        errors.push((way, format!("{located}{message}")));
        let scratch = format!("{}__xtask_reset", way.database(fx));
        assert!(!fx.database_exists(&scratch).await, "{way:?} left its scratch database");
    }
    for (way, error) in &errors[1..] {
        assert_eq!(error, &errors[0].1, "{way:?} fails differently from db-migrate");
    }
    errors.swap_remove(0).1
}

struct Snapshot {
    dump: String,
    history: Vec<(i64, String, bool, Vec<u8>)>,
    settings: Vec<(String, Vec<String>)>,
    attributes: (Option<String>, Option<String>, i32),
}

async fn snapshot(fx: &Fixture, database: &str) -> Snapshot {
    let url = fx.url_for(database);
    let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|e| panic!("connect to {database}: {e}"));
    let history =
        sqlx::query_as("SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let settings = sqlx::query_as(
        "SELECT coalesce(r.rolname::text, ''), s.setconfig FROM pg_db_role_setting s \
         JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole \
         WHERE d.datname = current_database() ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let attributes = sqlx::query_as(
        "SELECT shobj_description(oid, 'pg_database'), datacl::text, datconnlimit FROM pg_database \
         WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let options = ["--no-sync", "--exclude-table-data=_sqlx_migrations"];
    Snapshot { dump: PgDump::for_test_server().await.output(&options, &url), history, settings, attributes }
}

/// A pg_dump that can read the test server: pg_dump refuses a server of a newer major than its
/// own ("aborting because of server version mismatch"), and the test server may be the README's
/// default, PostgreSQL 18 in Docker, on a machine whose own binaries are older. (`replay.rs`
/// uses it too.)
pub enum PgDump {
    /// A local pg_dump of the server's major, else the nearest newer one.
    Local(PathBuf),
    /// The server's own, in the Docker container that publishes the server's port.
    InContainer(String),
}

impl PgDump {
    /// The test server's (`DATABASE_URL`), chosen once per test process.
    pub async fn for_test_server() -> &'static PgDump {
        static CHOSEN: OnceLock<PgDump> = OnceLock::new();
        if let Some(chosen) = CHOSEN.get() {
            return chosen;
        }
        let server = crate::support::server_url();
        let mut conn = PgConnection::connect(server.as_str()).await.expect("connect to the test server");
        let major: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int / 10000")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        CHOSEN.get_or_init(|| PgDump::choose(major as u32, server.port().unwrap_or(5432)))
    }

    fn choose(major: u32, port: u16) -> PgDump {
        let mut local: Vec<(u32, PathBuf)> = local_pg_dumps().into_iter().filter(|(m, _)| *m >= major).collect();
        local.sort();
        if let Some((_, path)) = local.into_iter().next() {
            return PgDump::Local(path);
        }
        let published = Command::new("docker")
            .args(["ps", "--quiet", "--filter", &format!("publish={port}")])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_owned())
            .unwrap_or_default();
        if !published.is_empty() {
            return PgDump::InContainer(published);
        }
        panic!(
            "these tests compare databases with pg_dump, which must be of the test server's major ({major}) or \
             newer: install PostgreSQL {major}'s client (postgresql-client-{major}), or test against a Docker \
             container of {major} (`--backend docker`), whose own pg_dump is used"
        )
    }

    /// What pg_dump with `options` writes for the database `url` (on the test server), without
    /// the random key of the `\restrict` lines current pg_dump writes.
    pub fn output(&self, options: &[&str], url: &str) -> String {
        let output = match self {
            PgDump::Local(path) => Command::new(path).args(options).args(["--dbname", url]).output(),
            PgDump::InContainer(container) => {
                // Inside the container the server listens on 5432; the password goes through the
                // environment, never the command line.
                let url = url::Url::parse(url).unwrap();
                let password = percent_decode(url.password().unwrap_or_default());
                Command::new("docker")
                    .args(["exec", "--env", "PGPASSWORD", container, "pg_dump", "--host", "127.0.0.1"])
                    .args(["--port", "5432", "--username", &percent_decode(url.username())])
                    .args(["--dbname", &percent_decode(url.path().trim_start_matches('/'))])
                    .args(options)
                    .env("PGPASSWORD", password)
                    .output()
            }
        }
        .expect("run pg_dump");
        dump_text(&output)
    }
}

/// What a pg_dump run wrote, failing the test when it failed, without the random key of the
/// `\restrict` lines current pg_dump writes.
pub fn dump_text(output: &std::process::Output) -> String {
    assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every pg_dump of Debian's layout (`/usr/lib/postgresql/<major>/bin`), and the one on `PATH`,
/// with the major it reports.
fn local_pg_dumps() -> Vec<(u32, PathBuf)> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pg_dump"))
        .filter(|path| path.is_file())
        .collect();
    candidates.push(PathBuf::from("pg_dump"));
    candidates
        .into_iter()
        .filter_map(|path| {
            // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
            let out = Command::new(&path).arg("--version").output().ok().filter(|out| out.status.success())?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let version = text.split_whitespace().nth(2)?;
            let major = version.split(['.', 'b', 'r', 'd']).next()?.parse().ok()?;
            Some((major, path))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let only_a = a.iter().filter(|line| !b.contains(line)).map(|line| format!("- {line}"));
    let only_b = b.iter().filter(|line| !a.contains(line)).map(|line| format!("+ {line}"));
    only_a.chain(only_b).collect::<Vec<_>>().join("\n")
}

/// The project's own history.
#[tokio::test]
async fn the_projects_own_migrations() {
    let fx = Fixture::new("eq");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../db/migrations");
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        std::fs::copy(entry.path(), fx.migrations().join(entry.file_name())).unwrap();
    }
    assert_same_database(&fx).await.says("copied from the reset cache");
}

/// Case 1: a ROLLBACK in a migration undoes that migration only, never an earlier one.
#[tokio::test]
async fn a_rollback_in_a_migration_undoes_only_that_migration() {
    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TABLE a (id int);\n");
    fx.migration(20260101000002, "b", "CREATE TABLE b (id int);\nROLLBACK;\n");
    fx.migration(20260101000003, "c", "CREATE TABLE c (id int);\n");
    assert_same_database(&fx).await;
    let mut conn = PgConnection::connect(&fx.url_for(&Way::ResetUncached.database(&fx))).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT relname::text FROM pg_class WHERE relname IN ('a', 'b', 'c') ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(tables, ["a", "c"]);
}

/// Case 2: `SET LOCAL` ends with its migration's transaction.
#[tokio::test]
async fn set_local_ends_with_its_migration() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "a",
        "CREATE SCHEMA app;\nSET LOCAL search_path TO app, public;\nCREATE TABLE inner_t (id int);\n",
    );
    fx.migration(20260101000002, "b", "CREATE TABLE b (id int);\n");
    assert_same_database(&fx).await;
    let mut conn = PgConnection::connect(&fx.url_for(&Way::ResetCached.database(&fx))).await.unwrap();
    let schema: String =
        sqlx::query_scalar("SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 'b'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(schema, "public");
}

/// Case 3: an enum value added in one migration can be used by the next.
#[tokio::test]
async fn an_enum_value_added_by_one_migration_is_usable_in_the_next() {
    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TYPE s AS ENUM ('x');\n");
    fx.migration(20260101000002, "b", "ALTER TYPE s ADD VALUE 'y';\n");
    fx.migration(20260101000003, "c", "CREATE TABLE t (v s NOT NULL DEFAULT 'y');\nINSERT INTO t VALUES ('y');\n");
    assert_same_database(&fx).await;
}

/// Case 4: per-database settings survive the cache, list values and role settings included.
#[tokio::test]
async fn per_database_settings_are_kept_by_the_cache() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "settings",
        "CREATE SCHEMA app;\n\
         DO $$ BEGIN\n\
           EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'Asia/Kathmandu');\n\
           EXECUTE format('ALTER DATABASE %I SET search_path TO app, public', current_database());\n\
           EXECUTE format('ALTER ROLE %I IN DATABASE %I SET work_mem TO %L', current_user, current_database(), '8192');\n\
           EXECUTE format('ALTER DATABASE %I SET statement_timeout = 60000', current_database());\n\
           EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'iso, dmy');\n\
         END $$;\n",
    );
    let cached = assert_same_database(&fx).await;
    cached.says("copied from the reset cache");
    let mut conn = PgConnection::connect(&fx.url_for(&Way::ResetCached.database(&fx))).await.unwrap();
    // (sqlx sets the session's time zone to UTC, so the stored setting is read instead.)
    let stored: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
         WHERE d.datname = current_database() AND 'TimeZone=Asia/Kathmandu' = ANY (s.setconfig))",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(stored, "the time zone setting is missing from the cached copy");
}

/// A migration that changes the database itself (here its comment) is not cached, since a copy
/// would lose it; every reset builds it from the files.
#[tokio::test]
async fn a_database_comment_is_never_lost_to_the_cache() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "comment",
        "DO $$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), 'the fleet'); END $$;\n",
    );
    assert_same_database(&fx).await.never_says("copied from the reset cache").says("not cached");
}

/// A migration that makes its database a template is not cached either.
#[tokio::test]
async fn a_template_database_is_never_lost_to_the_cache() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "template",
        "CREATE TABLE t (a int);\n\
         DO $$ BEGIN EXECUTE format('ALTER DATABASE %I IS_TEMPLATE true', current_database()); END $$;\n",
    );
    assert_same_database(&fx).await.never_says("copied from the reset cache");
}

/// A failing migration that commits part of itself says so, and is not run again to find its
/// line (which would commit that part a second time).
#[tokio::test]
async fn a_failing_migration_that_commits_part_of_itself_says_so() {
    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TABLE audit (x int);\nCREATE SEQUENCE s;\n");
    fx.migration(
        20260101000002,
        "b",
        "INSERT INTO audit VALUES (nextval('s'));\nCOMMIT;\nINSERT INTO missing VALUES (1);\n",
    );
    fx.xtask(&["db-migrate"])
        .failure()
        .says("it ends its own transaction (line 2 `COMMIT;`), so what ran before that statement may stay applied")
        .never_says("nothing of it stays applied");
    assert_eq!(fx.count("audit").await, 1, "the migration ran again to find its line");
}

/// Case 5: a migration's own BEGIN … COMMIT; the failing migration after it is the one named.
#[tokio::test]
async fn a_failure_after_a_migration_with_its_own_commit_names_the_right_file() {
    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TABLE a (id int);\n");
    fx.migration(20260101000002, "b", "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n");
    fx.migration(20260101000003, "c", "CREATE TABLE c (id int);\n\nINSERT INTO missing VALUES (1);\n");
    let error = assert_same_failure(&fx).await;
    assert!(
        error.starts_with("db/migrations/20260101000003_c.sql:3:13: relation \"missing\" does not exist"),
        "{error}"
    );
}

/// Case 6: a deferred foreign key violated by a migration fails at its commit, naming the file.
#[tokio::test]
async fn a_deferred_constraint_names_the_migration_that_violated_it() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "a",
        "CREATE TABLE p (id int PRIMARY KEY);\n\
         CREATE TABLE ch (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n",
    );
    fx.migration(20260101000002, "b", "INSERT INTO ch VALUES (1);\n");
    let error = assert_same_failure(&fx).await;
    assert!(error.starts_with("db/migrations/20260101000002_b.sql: "), "{error}");
    assert!(error.contains("violates foreign key constraint"), "{error}");
}

/// Case 7: a failing migration runs once, and once more at most to find its line; its side
/// effects outside the transaction happen no more often than that.
#[tokio::test]
async fn a_failing_migration_runs_at_most_twice() {
    let fx = Fixture::new("eq");
    let log = std::env::temp_dir().join(format!("{}-runs", fx.database));
    std::fs::write(&log, "").unwrap();
    // The server (another account, for the local cluster run as root) appends to the file.
    std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    fx.migration(20260101000001, "a", "CREATE TABLE p (id int PRIMARY KEY);\n");
    fx.migration(
        20260101000002,
        "b",
        &format!("COPY (SELECT 'ran') TO PROGRAM 'cat >> {}';\nINSERT INTO p VALUES (1), (1);\n", log.display()),
    );
    let url = fx.url_for(&Way::ResetUncached.database(&fx));
    fx.xtask_with(&["db-reset", "--no-cache"], &[("DATABASE_URL", &url)])
        .failure()
        .says("db/migrations/20260101000002_b.sql:2:1: duplicate key value violates unique constraint");
    let runs = std::fs::read_to_string(&log).unwrap().lines().count();
    std::fs::remove_file(&log).ok();
    assert!(runs <= 2, "the failing migration ran {runs} times");
}

/// Case 12: a `-- no-transaction` file runs statement by statement, as psql does, and a failure
/// says exactly which statements stayed applied.
#[tokio::test]
async fn no_transaction_files_run_statement_by_statement() {
    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TABLE t (a int, b int);\n");
    fx.migration(
        20260101000002,
        "indexes",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n",
    );
    assert_same_database(&fx).await;

    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "a", "CREATE TABLE t (a int, b int);\n");
    fx.migration(
        20260101000002,
        "indexes",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_c ON t (c);\n",
    );
    fx.xtask(&["db-migrate"])
        .failure()
        .says("db/migrations/20260101000002_indexes.sql:3:1: column \"c\" does not exist")
        .says("1 statement(s) before the failing one stay applied (line 2 `CREATE INDEX CONCURRENTLY t_a ON t (a);`)");
    assert!(fx.table_exists("t_a").await, "the first index stays, as the message says");
    // On record as a failed migration: db-status shows it, db-migrate refuses until it is fixed.
    fx.xtask(&["db-status"]).found().says("failed");
    fx.xtask(&["db-migrate"]).failure().says("failed");

    let fx = Fixture::new("eq");
    fx.migration(20260101000001, "bad", "-- no-transaction\nCREATE INDEX CONCURRENTLY t_a ON nope (a);\n");
    fx.xtask(&["db-migrate"]).failure().says("nothing of it was applied").never_says("stay applied");
}

/// Case 13: a session-level `SET` in a migration holds for the migrations after it, as sqlx
/// applies a history on one connection; it never reaches what the xtask does after the run: the
/// schema read (no identifiers quoted by `quote_all_identifiers`), drift's scratch build, and the
/// seeds (no `standard_conforming_strings = off`, no migration's `statement_timeout`).
#[tokio::test]
async fn session_settings_a_migration_leaves_stop_at_the_last_migration() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "settings",
        "CREATE TABLE t (v text);\nSET standard_conforming_strings = off;\nSET quote_all_identifiers = on;\n\
         SET statement_timeout = '250ms';\n",
    );
    fx.migration(20260101000002, "row", "INSERT INTO t VALUES ('a\\nb');\n");
    assert_same_database(&fx).await;
    let mut conn = PgConnection::connect(&fx.url_for(&Way::Migrate.database(&fx))).await.unwrap();
    let row: String = sqlx::query_scalar("SELECT v FROM t").fetch_one(&mut conn).await.unwrap();
    assert_eq!(row, "a\nb", "the second migration must see the first one's standard_conforming_strings, as with sqlx");

    let url = fx.url_for(&Way::Migrate.database(&fx));
    let sql = std::fs::read_to_string(fx.root().join("db/schema.sql")).unwrap();
    assert!(sql.contains("CREATE TABLE public.t (") && !sql.contains("\"public\""), "{sql}");
    fx.xtask_with(&["db-status"], &[("DATABASE_URL", &url)]).success().says("no drift").never_says("not checked");

    // The seeds run as on a session of their own: the backslash is a backslash, and the
    // migration's 250 ms statement_timeout does not cancel the seed.
    fx.seed("001_rows.sql", "INSERT INTO t VALUES ('c\\nd');\nSELECT pg_sleep(0.5);\n");
    let seeded = fx.url_for(&format!("{}__xtask_s", fx.database));
    fx.xtask_with(&["db-reset", "--no-cache"], &[("DATABASE_URL", &seeded)])
        .success()
        .says("the migrations left session settings changed (quote_all_identifiers = on, standard_conforming_strings = off, statement_timeout = 250ms)");
    let mut conn = PgConnection::connect(&seeded).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT v FROM t ORDER BY v").fetch_all(&mut conn).await.unwrap();
    assert_eq!(rows, ["a\nb", "c\\nd"]);
}

/// Case 14: a history that names objects after the date (daily partitions, as real projects
/// create them) builds another schema tomorrow, as db-migrate and sqlx-cli do: it is never served
/// from the cache, which would give the day's before on the day after.
#[tokio::test]
async fn a_history_named_after_the_date_is_never_served_from_the_cache() {
    let fx = Fixture::new("eq");
    fx.migration(
        20260101000001,
        "daily",
        "CREATE TABLE events (at date NOT NULL) PARTITION BY RANGE (at);\n\
         DO $$ BEGIN\n\
           EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',\n\
                          'events_' || to_char(current_date, 'YYYYMMDD'), current_date, current_date + 1);\n\
         END $$;\n",
    );
    assert_same_database(&fx)
        .await
        .never_says("copied from the reset cache")
        .says("not cached: the schema names the date (relation public.events_");
    let templates: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)")
        .bind(format!("{}__xtask_tpl_", Way::ResetCached.database(&fx)))
        .fetch_one(&mut fx.admin().await)
        .await
        .unwrap();
    assert_eq!(templates, 0, "a date-dependent build was kept as a template");
}

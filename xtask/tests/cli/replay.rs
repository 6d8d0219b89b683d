//! `db/schema.sql` replayed: written by `db-migrate`, run with `psql -f` into an empty database,
//! it must build the schema the migrations built, for every kind of object it claims to cover.
//! Compared two ways: pg_dump's schema of both databases, and the xtask's own model (the schema
//! files rendered from the replayed database, and drift between them).

use std::path::PathBuf;
use std::process::Command;

use sqlx::Connection;

use crate::schema::RICH;
use crate::support::{Fixture, Run};

/// One case per way the file once failed to replay, or replayed into another schema. The names
/// are chosen so that name order is not dependency order.
pub const CASES: &[(&str, &str)] = &[
    (
        "types named before the types they use",
        "CREATE TYPE z_level AS ENUM ('low', 'high');
         CREATE TYPE z_point AS (x integer, y integer);
         CREATE DOMAIN a_level AS z_level NOT NULL DEFAULT 'low';
         CREATE DOMAIN a_points AS z_point[];
         CREATE TYPE a_segment AS (from_point z_point, to_point z_point, level a_level);",
    ),
    (
        "a function returning a table's rows",
        "CREATE TABLE c_items (id integer PRIMARY KEY);
         CREATE FUNCTION a_items() RETURNS SETOF c_items LANGUAGE sql STABLE AS 'SELECT * FROM c_items';",
    ),
    (
        "a BEGIN ATOMIC function",
        "CREATE TABLE c_counted (id integer);
         CREATE FUNCTION a_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM c_counted; END;",
    ),
    (
        "a sub-partition named before its parent",
        "CREATE TABLE d_events (at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at);
         CREATE TABLE d_events_2026 PARTITION OF d_events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')
             PARTITION BY LIST (kind);
         CREATE TABLE a_events_2026_x PARTITION OF d_events_2026 FOR VALUES IN ('x');",
    ),
    (
        "a foreign key on a partitioned table",
        "CREATE TABLE e_owners (id integer PRIMARY KEY);
         CREATE TABLE e_readings (at timestamptz NOT NULL, owner_id integer REFERENCES e_owners) PARTITION BY RANGE (at);
         CREATE TABLE e_readings_all PARTITION OF e_readings DEFAULT;",
    ),
    (
        "a foreign key to a unique index",
        "CREATE TABLE f_codes (code text);
         CREATE UNIQUE INDEX f_codes_code_idx ON f_codes (code);
         CREATE TABLE f_uses (code text REFERENCES f_codes (code));",
    ),
    (
        "a domain whose check calls a function",
        "CREATE FUNCTION g_is_positive(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n > 0';
         CREATE DOMAIN g_positive AS integer CHECK (g_is_positive(VALUE));
         CREATE FUNCTION a_double(x g_positive) RETURNS g_positive LANGUAGE sql IMMUTABLE AS 'SELECT (x * 2)::g_positive';
         CREATE TABLE g_sizes (size g_positive DEFAULT a_double(1));",
    ),
    (
        "user-defined collations",
        "CREATE COLLATION h_plain (provider = libc, locale = 'C');
         CREATE COLLATION h_case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         CREATE DOMAIN h_label AS text COLLATE h_case_insensitive;
         CREATE TABLE h_names (name text COLLATE h_plain, label h_label);",
    ),
    (
        "NOT VALID checks",
        "CREATE TABLE i_marks (mark integer);
         ALTER TABLE i_marks ADD CONSTRAINT i_marks_positive CHECK (mark > 0) NOT VALID;
         CREATE DOMAIN i_mark AS integer;
         ALTER DOMAIN i_mark ADD CONSTRAINT i_mark_positive CHECK (VALUE > 0) NOT VALID;",
    ),
    (
        "a partition's own DEFAULT and NOT NULL",
        "CREATE TABLE j_log (at timestamptz NOT NULL, kind text, note text) PARTITION BY RANGE (at);
         CREATE TABLE j_log_2025 PARTITION OF j_log (kind WITH OPTIONS NOT NULL DEFAULT 'none')
             FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         ALTER TABLE j_log_2025 ALTER COLUMN note SET DEFAULT 'n/a';",
    ),
    (
        "an attached partition's column order",
        "CREATE TABLE k_log (at timestamptz NOT NULL, kind text CHECK (kind <> '')) PARTITION BY RANGE (at);
         CREATE TABLE k_log_old (kind text CONSTRAINT k_log_kind_check CHECK (kind <> ''), at timestamptz NOT NULL);
         ALTER TABLE k_log ATTACH PARTITION k_log_old FOR VALUES FROM (MINVALUE) TO ('2025-01-01');",
    ),
    (
        "a view's check option, security_invoker and security_barrier",
        "CREATE TABLE l_bins (id integer, size integer);
         CREATE VIEW l_small_bins WITH (security_invoker = true) AS
             SELECT id, size FROM l_bins WHERE size < 10 WITH LOCAL CHECK OPTION;
         CREATE VIEW l_tiny_bins WITH (security_barrier) AS
             SELECT id, size FROM l_small_bins WHERE size < 2 WITH CASCADED CHECK OPTION;",
    ),
    (
        "disabled, replica and always triggers",
        "CREATE TABLE m_rows (id integer);
         CREATE FUNCTION m_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER m_off BEFORE UPDATE ON m_rows FOR EACH ROW EXECUTE FUNCTION m_touch();
         CREATE TRIGGER m_replica BEFORE INSERT ON m_rows FOR EACH ROW EXECUTE FUNCTION m_touch();
         CREATE TRIGGER m_always AFTER INSERT ON m_rows FOR EACH ROW EXECUTE FUNCTION m_touch();
         ALTER TABLE m_rows DISABLE TRIGGER m_off;
         ALTER TABLE m_rows ENABLE REPLICA TRIGGER m_replica;
         ALTER TABLE m_rows ENABLE ALWAYS TRIGGER m_always;",
    ),
    (
        "an index on a partitioned table left invalid (ON ONLY, not attached)",
        "CREATE TABLE n_parted (id integer) PARTITION BY LIST (id);
         CREATE TABLE n_parted_1 PARTITION OF n_parted FOR VALUES IN (1);
         CREATE INDEX n_parted_id_idx ON ONLY n_parted (id);",
    ),
    (
        "storage parameters",
        "CREATE TABLE o_hot (id integer) WITH (fillfactor = 70, autovacuum_enabled = false);
         CREATE MATERIALIZED VIEW o_hot_ids WITH (fillfactor = 50) AS SELECT id FROM o_hot;",
    ),
];

/// Every case, and every kind of object the schema files cover, in one history.
pub fn corpus() -> String {
    let mut corpus = String::from(RICH);
    for (_, sql) in CASES {
        corpus.push_str(sql);
        corpus.push('\n');
    }
    corpus
}

/// A PostgreSQL client program, the newest installed (psql reads any server's script; pg_dump,
/// which refuses a server newer than itself, is `equivalence::PgDump`).
fn client(program: &str) -> PathBuf {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin").join(program)))
        })
        .filter(|(_, path)| path.is_file())
        .collect();
    candidates.sort();
    candidates.pop().map_or_else(|| PathBuf::from(program), |(_, path)| path)
}

/// Runs `psql -f <file>` into `url`, stopping at the first error; the error when it fails.
fn psql_file(url: &str, file: &std::path::Path) -> Result<(), String> {
    let output = Command::new(client("psql"))
        .args(["--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--dbname", url, "--file"])
        .arg(file)
        .output()
        .expect("run psql (the replay test needs PostgreSQL's client programs)");
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}

/// Where a replay runs: the test server, or a server of another major in its container.
#[derive(Clone, Copy)]
enum On<'a> {
    TestServer,
    Other(&'a OtherMajor),
}

impl On<'_> {
    fn url(self, fx: &Fixture) -> String {
        match self {
            On::TestServer => fx.url(),
            On::Other(server) => server.url_for(&fx.database),
        }
    }

    fn xtask(self, fx: &Fixture, args: &[&str]) -> Run {
        fx.xtask_with(args, &[("DATABASE_URL", &self.url(fx))])
    }

    async fn create_database(self, fx: &Fixture) {
        let mut admin = match self {
            On::TestServer => fx.admin().await,
            On::Other(server) => sqlx::PgConnection::connect(server.url.as_str()).await.unwrap(),
        };
        let create = format!("CREATE DATABASE \"{}\"", fx.database);
        sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.unwrap();
    }

    /// pg_dump with `args` on the fixture's database, by a pg_dump that reads the server's major
    /// (the container's own for another major), without the random key of the `\restrict` lines
    /// current pg_dump writes.
    async fn pg_dump(self, fx: &Fixture, args: &[&str]) -> String {
        let output = match self {
            On::TestServer => return crate::equivalence::PgDump::for_test_server().await.output(args, &fx.url()),
            On::Other(server) => Command::new("docker")
                .args(["exec", &server.container, "pg_dump", "--username=postgres"])
                .args(args)
                .args(["--dbname", &fx.database])
                .output(),
        }
        .expect("run pg_dump");
        crate::equivalence::dump_text(&output)
    }
}

/// The lines only one side has, or, when both have the same lines in another order, the first
/// place they differ.
fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let only_a = a.iter().filter(|line| !b.contains(line)).map(|line| format!("- {line}"));
    let only_b = b.iter().filter(|line| !a.contains(line)).map(|line| format!("+ {line}"));
    let lines: Vec<String> = only_a.chain(only_b).collect();
    if !lines.is_empty() {
        return lines.join("\n");
    }
    let at = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    format!(
        "the same lines in another order, from line {}:\n- {}\n+ {}",
        at + 1,
        a.get(at).unwrap_or(&""),
        b.get(at).unwrap_or(&"")
    )
}

/// Migrates `sql` with db-migrate, replays the db/schema.sql it wrote with psql into an empty
/// database, and compares the two: what differs, if anything. The replayed database is given
/// the migrated one's history, so the xtask can render its schema files too (they must be the
/// same bytes) and compare its schema with the migrations' (no drift).
async fn replay(on: On<'_>, test: &str, sql: &str, with_drift: bool) -> Result<(), String> {
    let migrated = Fixture::new(test);
    migrated.migration(20260101000000, "corpus", sql);
    on.xtask(&migrated, &["db-migrate"]).success();
    let schema_sql = migrated.root().join("db/schema.sql");

    let replayed = Fixture::new(&format!("{test}_replay"));
    on.create_database(&replayed).await;
    psql_file(&on.url(&replayed), &schema_sql).map_err(|error| format!("psql -f db/schema.sql failed: {error}"))?;

    let schema_only = ["--schema-only", "--no-sync", "--exclude-table=public._sqlx_migrations"];
    let (before, after) = (on.pg_dump(&migrated, &schema_only).await, on.pg_dump(&replayed, &schema_only).await);
    if before != after {
        return Err(format!("pg_dump differs after the replay:\n{}", diff(&before, &after)));
    }

    // The xtask's own view of the replayed database: its history is the migrated one's.
    let history = replayed.root().join("history.sql");
    let rows = on.pg_dump(&migrated, &["--no-sync", "--table=public._sqlx_migrations"]).await;
    std::fs::write(&history, rows).unwrap();
    psql_file(&on.url(&replayed), &history).unwrap();
    replayed.migration(20260101000000, "corpus", sql);
    on.xtask(&replayed, &["db-migrate"]).success().says("up to date");
    for file in ["db/schema.sql", "db/schema.md"] {
        let (before, after) = (
            std::fs::read_to_string(migrated.root().join(file)).unwrap(),
            std::fs::read_to_string(replayed.root().join(file)).unwrap_or_default(),
        );
        if before != after {
            return Err(format!("{file} differs when rendered from the replayed database:\n{}", diff(&before, &after)));
        }
    }
    if with_drift {
        let status = on.xtask(&replayed, &["db-status"]);
        if status.code != Some(0) || !status.stdout.contains("no drift") {
            return Err(format!("db-status finds drift in the replayed database:\n{}", status.all()));
        }
    }
    Ok(())
}

/// The whole corpus: schema.sql replays into an empty database as exactly the migrated schema.
#[tokio::test]
async fn schema_sql_replays_every_kind_of_object_it_covers() {
    if let Err(error) = replay(On::TestServer, "replay_corpus", &corpus(), true).await {
        panic!("{error}");
    }
}

/// The same on a server of another major (18, or 15 when the test server is 18).
#[tokio::test]
async fn schema_sql_replays_every_kind_of_object_on_another_major() {
    let other = OtherMajor::start("replay_other_major").await;
    if let Err(error) = replay(On::Other(&other), "replay_other", &corpus(), true).await {
        panic!("{error}");
    }
}

/// Each case on its own, so a failure names the case.
#[tokio::test]
async fn each_case_replays_on_its_own() {
    let mut failures = Vec::new();
    for (n, (case, sql)) in CASES.iter().enumerate() {
        if let Err(error) = replay(On::TestServer, &format!("replay_case{n}"), sql, false).await {
            failures.push(format!("{case}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) do not replay:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// A server of another major than the test server's, in a container of its own that goes away
/// with it: the image `XTASK_TEST_OTHER_MAJOR_IMAGE`, by default `fleet-test-postgres:18`, or
/// `:15` when the test server is 18 (as in CI, and on the README's default Docker path).
struct OtherMajor {
    container: String,
    url: url::Url,
}

impl OtherMajor {
    /// Started and answering; a failure that says why when Docker or the image is missing.
    async fn start(test: &str) -> OtherMajor {
        let image = match std::env::var("XTASK_TEST_OTHER_MAJOR_IMAGE") {
            Ok(image) => image,
            Err(_) => {
                let mut test_server = sqlx::PgConnection::connect(crate::support::server_url().as_str()).await.unwrap();
                let major: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int / 10000")
                    .fetch_one(&mut test_server)
                    .await
                    .unwrap();
                format!("fleet-test-postgres:{}", if major == 18 { 15 } else { 18 })
            }
        };
        let inspect = Command::new("docker").args(["image", "inspect", &image]).output();
        if !inspect.as_ref().is_ok_and(|o| o.status.success()) {
            panic!(
                "replay::{test} needs Docker and the image {image} (a PostgreSQL of another major; build it with \
                 .ci/build-postgres-image, or leave this test out with `--skip replay::{test}`)"
            );
        }
        let container = format!("xtask-test-{test}-{}", std::process::id());
        let password = "other-major-pw";
        let run = Command::new("docker")
            .args(["run", "-d", "--name", &container, "-e"])
            .arg(format!("POSTGRES_PASSWORD={password}"))
            .args(["-p", "127.0.0.1::5432", &image])
            .output()
            .expect("run docker");
        let mut server = OtherMajor { container, url: url::Url::parse("postgres://localhost").unwrap() };
        assert!(run.status.success(), "docker run: {}", String::from_utf8_lossy(&run.stderr));
        let port = Command::new("docker").args(["port", &server.container, "5432/tcp"]).output().unwrap();
        let port = String::from_utf8_lossy(&port.stdout);
        let port = port.lines().next().and_then(|l| l.rsplit(':').next()).expect("a published port").trim().to_owned();
        let url = url::Url::parse(&format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres")).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while sqlx::PgConnection::connect(url.as_str()).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "{image} did not start");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        server.url = url;
        server
    }

    fn url_for(&self, database: &str) -> String {
        let mut url = self.url.clone();
        url.set_path(&format!("/{database}"));
        url.to_string()
    }
}

impl Drop for OtherMajor {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.container]).output();
    }
}

pub const VIEWS: &str = "CREATE TABLE parts (id integer PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE bins (id integer PRIMARY KEY, part_id integer REFERENCES parts);
CREATE VIEW cheap_parts AS SELECT id, price FROM parts WHERE price < 10;
CREATE VIEW bin_totals AS SELECT part_id, count(*) AS n FROM bins GROUP BY part_id;
";

/// Case 10: PostgreSQL 15 and 18 spell the same views differently (`parts.price` and `price`).
/// db-check accepts db/schema.sql from either major on the other, because only those
/// definitions differ and, replayed there, it builds the same schema; db-migrate keeps it rather
/// than respelling it; a file that says something else fails on both.
#[tokio::test]
async fn one_answer_for_a_team_on_two_majors() {
    let other = OtherMajor::start("majors").await;
    let fifteen = crate::schema::repository_with("replay_majors", VIEWS);
    let on_other = |fx: &Fixture, args: &[&str]| fx.xtask_with(args, &[("DATABASE_URL", &other.url_for(&fx.database))]);

    // The premise: the two majors write different files for these migrations.
    let eighteen = Fixture::new("replay_majors_other");
    eighteen.migration(20260101000000, "create_orgs", crate::schema::ORGS);
    eighteen.migration(20260102000000, "views", VIEWS);
    on_other(&eighteen, &["db-migrate"]).success().says("Wrote db/schema.sql");
    let (file15, file18) = (
        std::fs::read_to_string(fifteen.root().join("db/schema.sql")).unwrap(),
        std::fs::read_to_string(eighteen.root().join("db/schema.sql")).unwrap(),
    );
    assert_ne!(file15, file18, "the majors spell these views alike: the test proves nothing");

    // The file 15 wrote, checked on the other major, and migrated there: accepted and kept.
    on_other(&fifteen, &["db-check"]).success().says("spelled as another PostgreSQL major spells its definitions");
    // (The stamp would say the files are current: they were rendered from these migrations.)
    let stamp = fifteen.root().join(".xtask/schema-stamp");
    std::fs::remove_file(&stamp).unwrap();
    on_other(&fifteen, &["db-migrate"]).success().says("Kept db/schema.sql").never_says("Wrote db/schema.sql");
    assert_eq!(std::fs::read_to_string(fifteen.root().join("db/schema.sql")).unwrap(), file15);

    // The file the other major wrote, checked on 15 and migrated there: the same.
    std::fs::write(fifteen.root().join("db/schema.sql"), &file18).unwrap();
    fifteen.xtask(&["db-check"]).success().says("spelled as another PostgreSQL major spells its definitions");
    std::fs::remove_file(&stamp).ok();
    fifteen.xtask(&["db-migrate"]).success().says("Kept db/schema.sql").never_says("Wrote db/schema.sql");
    assert_eq!(std::fs::read_to_string(fifteen.root().join("db/schema.sql")).unwrap(), file18);

    // A file that says something else fails on both majors, spelled either way.
    for file in [&file15, &file18] {
        std::fs::write(fifteen.root().join("db/schema.sql"), file.replace("< 10", "< 20")).unwrap();
        fifteen.xtask(&["db-check"]).found().says("db/schema.sql");
        on_other(&fifteen, &["db-check"]).found().says("db/schema.sql");
    }
}

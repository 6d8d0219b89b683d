//! `db/schema.sql` replayed: written by `db-migrate`, run with `psql -f` into an empty database,
//! it must build the schema the migrations built, for every kind of object it claims to cover.
//! Compared two ways: pg_dump's schema of both databases, and the xtask's own model (the schema
//! files rendered from the replayed database, and drift between them).

use std::path::PathBuf;
use std::process::Command;

use crate::schema::RICH;
use crate::support::Fixture;

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

/// A PostgreSQL client program, the newest installed (pg_dump refuses a server newer than itself).
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

/// pg_dump's schema of the database, without sqlx's history table and the random key of the
/// `\restrict` lines current pg_dump writes.
fn dump_schema(url: &str) -> String {
    let output = Command::new(client("pg_dump"))
        .args(["--schema-only", "--no-sync", "--exclude-table=public._sqlx_migrations", "--dbname", url])
        .output()
        .expect("run pg_dump");
    assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// sqlx's history of the database, as SQL (table and rows).
fn dump_history(url: &str) -> String {
    let output = Command::new(client("pg_dump"))
        .args(["--no-sync", "--table=public._sqlx_migrations", "--dbname", url])
        .output()
        .expect("run pg_dump");
    assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let only_a = a.iter().filter(|line| !b.contains(line)).map(|line| format!("- {line}"));
    let only_b = b.iter().filter(|line| !a.contains(line)).map(|line| format!("+ {line}"));
    only_a.chain(only_b).collect::<Vec<_>>().join("\n")
}

/// Migrates `sql` with db-migrate, replays the db/schema.sql it wrote with psql into an empty
/// database, and compares the two: what differs, if anything. The replayed database is given
/// the migrated one's history, so the xtask can render its schema files too (they must be the
/// same bytes) and compare its schema with the migrations' (no drift).
async fn replay(test: &str, sql: &str, with_drift: bool) -> Result<(), String> {
    let migrated = Fixture::new(test);
    migrated.migration(20260101000000, "corpus", sql);
    migrated.xtask(&["db-migrate"]).success();
    let schema_sql = migrated.root().join("db/schema.sql");

    let replayed = Fixture::new(&format!("{test}_replay"));
    let create = format!("CREATE DATABASE \"{}\"", replayed.database);
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut replayed.admin().await).await.unwrap();
    psql_file(&replayed.url(), &schema_sql).map_err(|error| format!("psql -f db/schema.sql failed: {error}"))?;

    let (before, after) = (dump_schema(&migrated.url()), dump_schema(&replayed.url()));
    if before != after {
        return Err(format!("pg_dump differs after the replay:\n{}", diff(&before, &after)));
    }

    // The xtask's own view of the replayed database: its history is the migrated one's.
    let history = replayed.root().join("history.sql");
    std::fs::write(&history, dump_history(&migrated.url())).unwrap();
    psql_file(&replayed.url(), &history).unwrap();
    replayed.migration(20260101000000, "corpus", sql);
    replayed.xtask(&["db-migrate"]).success().says("up to date");
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
        let status = replayed.xtask(&["db-status"]);
        if status.code != Some(0) || !status.stdout.contains("no drift") {
            return Err(format!("db-status finds drift in the replayed database:\n{}", status.all()));
        }
    }
    Ok(())
}

/// The whole corpus: schema.sql replays into an empty database as exactly the migrated schema.
#[tokio::test]
async fn schema_sql_replays_every_kind_of_object_it_covers() {
    if let Err(error) = replay("replay_corpus", &corpus(), true).await {
        panic!("{error}");
    }
}

/// Each case on its own, so a failure names the case.
#[tokio::test]
async fn each_case_replays_on_its_own() {
    let mut failures = Vec::new();
    for (n, (case, sql)) in CASES.iter().enumerate() {
        if let Err(error) = replay(&format!("replay_case{n}"), sql, false).await {
            failures.push(format!("{case}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) do not replay:\n\n{}", failures.len(), failures.join("\n\n"));
}

//! `db/schema.sql` and `db/schema.md`: written by `db-migrate` and `db-reset` when the schema
//! changed, from the catalog, the same on every run, and valid SQL that builds the same schema.

use std::time::SystemTime;

use crate::check::git;
use crate::support::Fixture;
use sqlx::{Connection, PgConnection};

pub const ORGS: &str = "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);\n\
                    COMMENT ON TABLE orgs IS 'Customers';\n";
const SITES: &str = "CREATE TABLE sites (id int PRIMARY KEY, org_id int REFERENCES orgs ON DELETE CASCADE);\n";

/// Every kind of object the files cover, with names that need quoting.
pub const RICH: &str = r#"
CREATE SCHEMA inventory;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN inventory.positive_int AS integer NOT NULL DEFAULT 1 CONSTRAINT positive CHECK (VALUE > 0);
CREATE TYPE inventory.dimensions AS (width numeric(10,2), height numeric(10,2));
CREATE SEQUENCE inventory.part_numbers AS integer START WITH 1000 INCREMENT BY 10;
CREATE TABLE inventory."Parts" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number integer NOT NULL DEFAULT nextval('inventory.part_numbers'),
    "user" text COLLATE "C",
    size inventory.dimensions,
    qty inventory.positive_int,
    price numeric(10,2) NOT NULL,
    price_with_tax numeric GENERATED ALWAYS AS (price * 1.2) STORED,
    tags text[] NOT NULL DEFAULT '{}',
    feeling mood,
    valid_during tstzrange,
    secret bytea DEFAULT gen_random_bytes(4),
    UNIQUE (number),
    EXCLUDE USING gist (valid_during WITH &&)
);
ALTER SEQUENCE inventory.part_numbers OWNED BY inventory."Parts".number;
CREATE TABLE bins (
    id serial PRIMARY KEY,
    part_id bigint REFERENCES inventory."Parts" ON DELETE CASCADE ON UPDATE CASCADE,
    label varchar(20)
);
CREATE TABLE bin_details (bin_id integer PRIMARY KEY REFERENCES bins ON DELETE CASCADE, note text);
CREATE TABLE events (at timestamptz NOT NULL, kind text CHECK (kind <> '')) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events (CONSTRAINT events_2026_kind CHECK (kind <> 'x'))
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at_idx ON events (at);
CREATE VIEW part_view AS SELECT id, price FROM inventory."Parts" WHERE price > 0;
CREATE VIEW a_cheap_parts AS SELECT id FROM part_view WHERE price < 10;
CREATE MATERIALIZED VIEW bin_counts AS SELECT part_id, count(*) AS n FROM bins GROUP BY part_id;
CREATE UNIQUE INDEX bin_counts_part_idx ON bin_counts (part_id);
CREATE FUNCTION is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n % 2 = 0';
CREATE DOMAIN a_even AS integer CHECK (is_even(VALUE));
CREATE TABLE pairs (n a_even);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE PROCEDURE noop(n integer) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TRIGGER bins_touch BEFORE UPDATE ON bins FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE bins IS 'Where parts are; it''s "quoted"';
COMMENT ON COLUMN bins.label IS 'Printed label';
COMMENT ON VIEW part_view IS 'Priced parts';
"#;

fn read(fx: &Fixture, file: &str) -> String {
    std::fs::read_to_string(fx.root().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

fn modified(fx: &Fixture, file: &str) -> SystemTime {
    std::fs::metadata(fx.root().join(file)).and_then(|m| m.modified()).unwrap()
}

#[tokio::test]
async fn migrate_and_reset_write_both_files_only_when_the_schema_changed() {
    let fx = Fixture::new("schema_refresh");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql").says("Wrote db/schema.md");
    let sql = read(&fx, "db/schema.sql");
    assert!(sql.contains("CREATE TABLE public.orgs (\n    id integer NOT NULL,\n    name text NOT NULL,"), "{sql}");
    assert!(sql.contains("COMMENT ON TABLE public.orgs IS 'Customers';"), "{sql}");
    assert!(!sql.contains("_sqlx_migrations"), "{sql}");
    assert!(read(&fx, "db/schema.md").contains("\"orgs\" {\n        integer id PK\n        text name\n    }"));

    // Nothing changed: neither file is touched, and nothing is said.
    let (sql_time, md_time) = (modified(&fx, "db/schema.sql"), modified(&fx, "db/schema.md"));
    fx.xtask(&["db-migrate"]).success().never_says("Wrote");
    assert_eq!((modified(&fx, "db/schema.sql"), modified(&fx, "db/schema.md")), (sql_time, md_time));

    // A dry run writes nothing, even with the files out of date.
    fx.migration(20260102000000, "create_sites", SITES);
    fx.xtask(&["db-migrate", "--dry-run"]).success().never_says("Wrote");
    assert_eq!(read(&fx, "db/schema.sql"), sql);

    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql").says("Wrote db/schema.md");
    assert!(read(&fx, "db/schema.sql").contains("REFERENCES public.orgs(id) ON DELETE CASCADE"));
    let md = read(&fx, "db/schema.md");
    assert!(md.contains("\"orgs\" |o..o{ \"sites\" : \"org_id ON DELETE CASCADE\""), "{md}");

    // db-reset: the same files, so nothing written; a stale file is rewritten.
    let sql = read(&fx, "db/schema.sql");
    fx.xtask(&["db-reset"]).success().never_says("Wrote");
    std::fs::write(fx.root().join("db/schema.md"), "stale\n").unwrap();
    std::fs::remove_file(fx.root().join("db/schema.sql")).unwrap();
    fx.xtask(&["db-reset"]).success().says("Wrote db/schema.sql").says("Wrote db/schema.md");
    assert_eq!(read(&fx, "db/schema.sql"), sql);
    assert_eq!(read(&fx, "db/schema.md"), md);
}

/// schema.sql is SQL that builds the schema it describes: applied as the only migration of
/// another project, it writes itself again, byte for byte.
#[tokio::test]
async fn schema_sql_rebuilds_the_same_schema() {
    let fx = Fixture::new("schema_rich");
    fx.migration(20260101000000, "rich", RICH);
    fx.xtask(&["db-migrate"]).success();
    let sql = read(&fx, "db/schema.sql");
    for expected in [
        "CREATE SCHEMA inventory;",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;",
        "CREATE TYPE public.mood AS ENUM (\n    'sad',\n    'ok',\n    'happy'\n);",
        "CREATE DOMAIN inventory.positive_int AS integer\n    DEFAULT 1\n    NOT NULL\n    CONSTRAINT positive CHECK ((VALUE > 0));",
        "CREATE TYPE inventory.dimensions AS (\n    width numeric(10,2),\n    height numeric(10,2)\n);",
        "CREATE TABLE inventory.\"Parts\" (\n    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,",
        "    \"user\" text COLLATE pg_catalog.\"C\",",
        "    price_with_tax numeric GENERATED ALWAYS AS ((price * 1.2)) STORED,",
        "EXCLUDE USING gist (valid_during WITH &&)",
        "ALTER SEQUENCE inventory.part_numbers OWNED BY inventory.\"Parts\".number;",
        "ALTER SEQUENCE public.bins_id_seq OWNED BY public.bins.id;",
        "CREATE TABLE public.events_2026 PARTITION OF public.events (\n    CONSTRAINT events_2026_kind CHECK ((kind <> 'x'::text))\n)\n    FOR VALUES FROM ('2026-01-01 00:00:00+00')",
        ") PARTITION BY RANGE (at);",
        "CREATE VIEW public.part_view AS\nSELECT",
        "CREATE MATERIALIZED VIEW public.bin_counts AS",
        // A view after the view it reads. (PostgreSQL 15 spells the condition `"Parts".price`,
        // 16 and later `price`.)
        "price > 0::numeric;\n\nCREATE VIEW public.a_cheap_parts AS",
        "CREATE UNIQUE INDEX bin_counts_part_idx ON public.bin_counts USING btree (part_id);",
        "CREATE INDEX events_at_idx ON public.events USING btree (at);",
        "CREATE OR REPLACE PROCEDURE public.noop(IN n integer)",
        "$function$;\n\n-- Types\n\nCREATE DOMAIN public.a_even AS integer\n    CONSTRAINT a_even_check CHECK (public.is_even(VALUE));\n\n-- Sequences",
        "CREATE TRIGGER bins_touch BEFORE UPDATE ON public.bins",
        "COMMENT ON TABLE public.bins IS 'Where parts are; it''s \"quoted\"';",
        "COMMENT ON VIEW public.part_view IS 'Priced parts';",
    ] {
        assert!(sql.contains(expected), "schema.sql lacks {expected:?}:\n{sql}");
    }
    for absent in ["pgp_sym_encrypt", "events_2026_at_idx", "gateway", "\\restrict", "PostgreSQL database dump"] {
        assert!(!sql.contains(absent), "schema.sql has {absent:?}:\n{sql}");
    }
    let md = read(&fx, "db/schema.md");
    for expected in [
        "\"inventory.Parts\" {\n        bigint id PK\n        integer number UK\n        text user\n",
        "        numeric(10_2) price\n",
        "        text[] tags\n",
        "        varchar(20) label \"Printed label\"\n",
        "\"inventory.Parts\" |o..o{ \"bins\" : \"part_id ON DELETE CASCADE, ON UPDATE CASCADE\"",
        "\"bins\" ||--o| \"bin_details\" : \"bin_id ON DELETE CASCADE\"",
        "| bins | Where parts are; it's \"quoted\" |",
        "| mood | sad, ok, happy |",
    ] {
        assert!(md.contains(expected), "schema.md lacks {expected:?}:\n{md}");
    }

    let replay = Fixture::new("schema_replay");
    replay.migration(20260101000000, "replay", &sql);
    replay.xtask(&["db-migrate"]).success();
    assert_eq!(read(&replay, "db/schema.sql"), sql, "schema.sql does not rebuild the schema it describes");
    assert_eq!(read(&replay, "db/schema.md"), md);
}

/// A repository whose main branch has one migration and the schema files it produces.
fn repository(test: &str) -> Fixture {
    repository_with(test, "")
}

/// A repository whose main branch has the orgs migration, then `sql` as a second one when it is
/// not empty, and the schema files they produce.
pub fn repository_with(test: &str, sql: &str) -> Fixture {
    let fx = Fixture::new(test);
    fx.migration(20260101000000, "create_orgs", ORGS);
    if !sql.is_empty() {
        fx.migration(20260102000000, "views", sql);
    }
    fx.xtask(&["db-migrate"]).success();
    git(&fx, &["init", "-q"]);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "base"]);
    fx
}

#[tokio::test]
async fn db_check_fails_on_a_stale_schema_file_naming_it_and_the_command() {
    let fx = repository("schema_check");
    fx.xtask(&["db-check"])
        .success()
        .says("Built 1 migration(s) in")
        .says("db/schema.sql and db/schema.md: what the migrations produce");
    let scratch = format!("{}__xtask_schema", fx.database);
    assert!(fx.database_exists(&scratch).await, "the build is kept for the next run");
    fx.xtask(&["db-check"]).success().says("built from these migrations before").never_says("Built 1 migration(s)");

    // A hand edit of either file, or a missing one, fails.
    let sql = read(&fx, "db/schema.sql");
    std::fs::write(fx.root().join("db/schema.sql"), sql.replace("name text NOT NULL", "name text")).unwrap();
    fx.xtask(&["db-check"])
        .found()
        .says("differs from what db/migrations produce: `cargo xtask db-reset` rewrites it")
        .says("db/schema.sql")
        .never_says("db/schema.md\n");
    git(&fx, &["checkout", "-q", "--", "."]);
    std::fs::write(fx.root().join("db/schema.md"), read(&fx, "db/schema.md").replace("text name", "text nom")).unwrap();
    fx.xtask(&["db-check"]).found().says("\n    db/schema.md").never_says("\n    db/schema.sql");
    std::fs::remove_file(fx.root().join("db/schema.md")).unwrap();
    fx.xtask(&["db-check"]).found().says("missing: `cargo xtask db-reset` writes it").says("db/schema.md");
    git(&fx, &["checkout", "-q", "--", "."]);

    // Both files deleted in a commit: the base has them, so they are missing.
    git(&fx, &["checkout", "-q", "-b", "no-schema"]);
    git(&fx, &["rm", "-q", "db/schema.sql", "db/schema.md"]);
    git(&fx, &["commit", "-q", "-m", "drop the schema files"]);
    fx.xtask(&["db-check"]).found().says("missing").says("db/schema.sql").says("db/schema.md");
    git(&fx, &["checkout", "-q", "-"]);

    // A new migration whose schema files were not refreshed: both are stale, until db-migrate.
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    // Safe on a live orgs table (db-check traces it): a lock_timeout for the foreign key's lock
    // on orgs, and the index its checks need.
    let sites = format!("SET LOCAL lock_timeout = '2s';\n{SITES}CREATE INDEX sites_org_idx ON sites (org_id);\n");
    fx.migration(20260102000000, "create_sites", &sites);
    fx.xtask(&["db-check"])
        .found()
        .says("Built 2 migration(s) in")
        .says("have 2 problem(s)")
        .says("db/schema.sql")
        .says("db/schema.md");
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql");
    fx.xtask(&["db-check"]).success();

    // A migration that fails to build is an error (exit 2), and the scratch database is gone.
    fx.migration(20260103000000, "broken", "CREATE TABLE broken (id int REFERENCES nowhere);\n");
    fx.xtask(&["db-check"]).failure().says("20260103000000_broken.sql").says("scratch database");
    assert!(!fx.database_exists(&scratch).await, "the scratch database was left behind");
}

#[tokio::test]
async fn db_status_names_what_was_changed_by_hand() {
    let fx = Fixture::new("schema_drift");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260102000000, "create_sites", SITES);
    fx.migration(20260103000000, "index_sites", "CREATE INDEX sites_org_idx ON sites (org_id);\n");
    fx.xtask(&["db-migrate"]).success();
    // db-migrate built the database from nothing, so it remembered its schema as drift-free: the
    // fast path answers. Without that, the full comparison builds the files' schema.
    fx.xtask(&["db-status"]).success().says("no drift").never_says("Built");
    std::fs::remove_file(fx.root().join(".xtask/schema-digest")).unwrap();
    fx.xtask(&["db-status"])
        .success()
        .says("Built 3 migration(s) in")
        .says(&format!("{}: no drift, its schema is what db/migrations produce", fx.database));

    let mut conn = fx.connect().await;
    sqlx::raw_sql("ALTER TABLE orgs ADD COLUMN note text; DROP INDEX sites_org_idx; CREATE TABLE notes (id int);")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let run = fx.xtask(&["db-status"]).found();
    assert!(run.stdout.contains(&format!("{}: 3 applied, 0 pending, 0 problem(s)\n", fx.database)), "{}", run.stdout);
    run.says("column public.orgs.note: added by hand")
        .says("index public.sites_org_idx: removed by hand")
        .says("table public.notes: added by hand")
        .never_says("column public.notes.id")
        .says("3 difference(s) from the migrations");
    // The build is kept, closed to connections so nobody edits it by hand: the next db-status
    // reads it.
    let scratch = format!("{}__xtask_schema", fx.database);
    assert!(PgConnection::connect(&fx.url_for(&scratch)).await.is_err(), "the kept build accepts connections");
    fx.xtask(&["db-status"]).found().says("built from these migrations before").never_says("Built 3");
    fx.xtask(&["db-status", "--no-drift"]).success().never_says("by hand").never_says("Built");

    // After a reset the schema is the one found drift-free before: its digest says so, and
    // nothing is read or built (the fast path).
    fx.xtask(&["db-reset"]).success();
    fx.xtask(&["db-status"]).success().says("no drift").never_says("Built").never_says("Compared with");
    let mut conn = fx.connect().await;
    sqlx::raw_sql("ALTER TABLE sites ALTER COLUMN org_id SET NOT NULL").execute(&mut conn).await.unwrap();
    drop(conn);
    // A hand change changes the digest: the full comparison, here with the reset cache's schema.
    fx.xtask(&["db-status"])
        .found()
        .says("the reset cache of these migrations")
        .says("column public.sites.org_id: changed by hand (the migrations give `org_id integer`, the database has `org_id integer NOT NULL`)");

    // Pending migrations: the schema is expected to differ, so no drift is reported.
    fx.migration(20260104000000, "more", "CREATE TABLE more (id int);\n");
    fx.xtask(&["db-status"]).success().never_says("Drift:").never_says("by hand");
}

/// Without a server, db-check still reports the git part, then says what it could not compare
/// and why (exit 2: CI must not pass without the comparison).
#[test]
fn db_check_without_a_server_says_what_it_could_not_compare() {
    let fx = repository("schema_check_offline");
    fx.xtask_with(&["db-check"], &[("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/nothing")])
        .failure()
        .says("db/migrations: 1 migration(s); nothing to compare: HEAD is on main")
        .says("compare db/schema.sql and db/schema.md with what the migrations produce")
        .says("nothing listens there")
        .never_says("secret");
}

/// Constants and names the server spells according to the session's settings.
const SPELLED_BY_SETTINGS: &str = r#"
CREATE TABLE s_values (
    secret bytea DEFAULT '\x00ff'::bytea,
    price money DEFAULT '1.50'::money,
    ratio float8 DEFAULT 0.1,
    wait interval DEFAULT '1 day 02:00:00',
    at timestamptz DEFAULT '2026-01-01 12:00:00+00',
    day date DEFAULT '2026-01-31',
    note text DEFAULT E'back\\slash' CHECK (note <> E'\\'),
    "Mixed" integer
);
CREATE DOMAIN b_positive AS integer CHECK (VALUE > 0);
CREATE VIEW s_view AS SELECT "Mixed", secret, wait FROM s_values WHERE day > '2026-01-01';
CREATE TABLE s_events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE s_events_2026 PARTITION OF s_events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
"#;

/// Case 7: schema.sql is the same bytes whatever the session's settings, from the database
/// (`ALTER DATABASE … SET`) or from PGOPTIONS.
#[tokio::test]
async fn schema_files_are_the_same_whatever_the_session_settings() {
    let fx = Fixture::new("schema_settings");
    fx.migration(20260101000000, "values", SPELLED_BY_SETTINGS);
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql");
    let (sql, md) = (read(&fx, "db/schema.sql"), read(&fx, "db/schema.md"));
    assert!(sql.contains("'\\x00ff'::bytea"), "{sql}");

    let settings = [
        "bytea_output = 'escape'",
        "quote_all_identifiers = on",
        "standard_conforming_strings = off",
        "DateStyle = 'SQL, DMY'",
        "IntervalStyle = 'sql_standard'",
        "TimeZone = 'Asia/Kathmandu'",
        "extra_float_digits = -10",
        "lc_monetary = 'C.utf8'",
    ];
    let mut admin = fx.admin().await;
    for setting in settings {
        let statement = format!("ALTER DATABASE \"{}\" SET {setting}", fx.database);
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.unwrap();
    }
    std::fs::remove_file(fx.root().join("db/schema.sql")).unwrap();
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql");
    assert_eq!(read(&fx, "db/schema.sql"), sql, "the database's settings changed schema.sql");

    let options = "-c bytea_output=escape -c quote_all_identifiers=on -c DateStyle=German -c IntervalStyle=iso_8601 \
                   -c TimeZone=America/St_Johns -c extra_float_digits=0";
    std::fs::remove_file(fx.root().join("db/schema.sql")).unwrap();
    fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", &fx.url()), ("PGOPTIONS", options)])
        .success()
        .says("Wrote db/schema.sql");
    assert_eq!(read(&fx, "db/schema.sql"), sql, "PGOPTIONS changed schema.sql");
    assert_eq!(read(&fx, "db/schema.md"), md);
}

/// Cases 11 and 12: the one-query digest (the fast path of drift) changes whenever the full
/// comparison finds a difference, for every kind of object the comparison covers; it does not
/// depend on OIDs, so undoing a change by recreating an object gives the remembered digest back,
/// and identical schemas in two databases share it.
#[tokio::test]
async fn the_fast_path_sees_exactly_what_the_full_comparison_sees() {
    let fx = Fixture::new("schema_fast_path");
    fx.migration(20260101000000, "corpus", &crate::replay::corpus());
    fx.xtask(&["db-migrate"]).success();
    // db-migrate built the database from nothing and remembered its digest; forgotten here, so
    // the first db-status makes the full comparison.
    std::fs::remove_file(fx.root().join(".xtask/schema-digest")).unwrap();
    fx.xtask(&["db-status"]).success().says("no drift").says("Built 1 migration(s)");
    fx.xtask(&["db-status"]).success().says("no drift").never_says("Compared with");
    let digest_file = fx.root().join(".xtask/schema-digest");
    let known_good = std::fs::read(&digest_file).expect("a drift-free comparison remembers the digest");

    // Identical schemas in another database share the digest.
    let twin = Fixture::new("schema_fast_path_twin");
    twin.migration(20260101000000, "corpus", &crate::replay::corpus());
    twin.xtask(&["db-migrate"]).success();
    std::fs::create_dir_all(twin.root().join(".xtask")).unwrap();
    std::fs::write(twin.root().join(".xtask/schema-digest"), &known_good).unwrap();
    twin.xtask(&["db-status"]).success().says("no drift").never_says("Compared with").never_says("Built");
    drop(twin);

    // Data for the unique index that fails to build.
    let mut conn = fx.connect().await;
    sqlx::raw_sql("INSERT INTO l_bins VALUES (1, 1), (1, 1)").execute(&mut conn).await.unwrap();
    // (what it changes, the change, its undo, what the full comparison names)
    let changes: &[(&str, &str, &str, &str)] = &[
        ("a schema", "CREATE SCHEMA hand", "DROP SCHEMA hand", "schema hand"),
        (
            "an extension's schema",
            "ALTER EXTENSION pgcrypto SET SCHEMA inventory",
            "ALTER EXTENSION pgcrypto SET SCHEMA public",
            "extension pgcrypto",
        ),
        ("a collation", "CREATE COLLATION hand_c (locale = 'C')", "DROP COLLATION hand_c", "collation public.hand_c"),
        (
            "a collation recreated",
            "DROP DOMAIN h_label CASCADE; DROP COLLATION h_case_insensitive; CREATE COLLATION h_case_insensitive (provider = icu, locale = 'und-u-ks-level1', deterministic = false); CREATE DOMAIN h_label AS text COLLATE h_case_insensitive; ALTER TABLE h_names ADD COLUMN label h_label",
            "DROP DOMAIN h_label CASCADE; DROP COLLATION h_case_insensitive; CREATE COLLATION h_case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false); CREATE DOMAIN h_label AS text COLLATE h_case_insensitive; ALTER TABLE h_names ADD COLUMN label h_label",
            "collation public.h_case_insensitive",
        ),
        (
            "an enum's label",
            "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'",
            "ALTER TYPE mood RENAME VALUE 'fine' TO 'ok'",
            "type public.mood",
        ),
        (
            "a domain's default",
            "ALTER DOMAIN inventory.positive_int SET DEFAULT 2",
            "ALTER DOMAIN inventory.positive_int SET DEFAULT 1",
            "type inventory.positive_int",
        ),
        (
            "a domain's NOT NULL",
            "ALTER DOMAIN inventory.positive_int DROP NOT NULL",
            "ALTER DOMAIN inventory.positive_int SET NOT NULL",
            "type inventory.positive_int",
        ),
        (
            "a domain's check",
            "ALTER DOMAIN inventory.positive_int DROP CONSTRAINT positive",
            "ALTER DOMAIN inventory.positive_int ADD CONSTRAINT positive CHECK (VALUE > 0)",
            "type inventory.positive_int",
        ),
        (
            "a composite type",
            "ALTER TYPE inventory.dimensions ADD ATTRIBUTE depth numeric",
            "ALTER TYPE inventory.dimensions DROP ATTRIBUTE depth",
            "type inventory.dimensions",
        ),
        (
            "a function's body",
            "CREATE OR REPLACE FUNCTION is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n % 2 = 1'",
            "CREATE OR REPLACE FUNCTION is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n % 2 = 0'",
            "function public.is_even(n integer)",
        ),
        (
            "a procedure's settings",
            "ALTER PROCEDURE noop(integer) SET search_path = public",
            "ALTER PROCEDURE noop(integer) RESET search_path",
            "function public.noop(IN n integer)",
        ),
        (
            "a sequence",
            "ALTER SEQUENCE inventory.part_numbers INCREMENT BY 5",
            "ALTER SEQUENCE inventory.part_numbers INCREMENT BY 10",
            "sequence inventory.part_numbers",
        ),
        (
            "a sequence's owner",
            "ALTER SEQUENCE inventory.part_numbers OWNED BY NONE",
            "ALTER SEQUENCE inventory.part_numbers OWNED BY inventory.\"Parts\".number",
            "sequence inventory.part_numbers",
        ),
        (
            "a table's comment",
            "COMMENT ON TABLE bins IS 'Somewhere'",
            "COMMENT ON TABLE bins IS 'Where parts are; it''s \"quoted\"'",
            "table public.bins",
        ),
        (
            "a table's storage parameters",
            "ALTER TABLE bins SET (fillfactor = 50)",
            "ALTER TABLE bins RESET (fillfactor)",
            "table public.bins",
        ),
        ("a table's logging", "ALTER TABLE pairs SET UNLOGGED", "ALTER TABLE pairs SET LOGGED", "table public.pairs"),
        (
            "a column's type",
            "ALTER TABLE bins ALTER label TYPE varchar(30)",
            "ALTER TABLE bins ALTER label TYPE varchar(20)",
            "column public.bins.label",
        ),
        (
            "a column's default",
            "ALTER TABLE bins ALTER label SET DEFAULT 'x'",
            "ALTER TABLE bins ALTER label DROP DEFAULT",
            "column public.bins.label",
        ),
        (
            "a column's NOT NULL",
            "ALTER TABLE bins ALTER label SET NOT NULL",
            "ALTER TABLE bins ALTER label DROP NOT NULL",
            "column public.bins.label",
        ),
        (
            "a column's collation",
            "ALTER TABLE bins ALTER label TYPE varchar(20) COLLATE \"C\"",
            "ALTER TABLE bins ALTER label TYPE varchar(20) COLLATE \"default\"",
            "column public.bins.label",
        ),
        (
            "a column's comment",
            "COMMENT ON COLUMN bins.label IS 'Label'",
            "COMMENT ON COLUMN bins.label IS 'Printed label'",
            "column public.bins.label",
        ),
        (
            "an identity column",
            "ALTER TABLE inventory.\"Parts\" ALTER id SET GENERATED BY DEFAULT",
            "ALTER TABLE inventory.\"Parts\" ALTER id SET GENERATED ALWAYS",
            "column inventory.\"Parts\".id",
        ),
        (
            "a partition's default",
            "ALTER TABLE j_log_2025 ALTER note DROP DEFAULT",
            "ALTER TABLE j_log_2025 ALTER note SET DEFAULT 'n/a'",
            "column public.j_log_2025.note",
        ),
        (
            "a check constraint",
            "ALTER TABLE bins ADD CONSTRAINT bins_positive CHECK (id > 0)",
            "ALTER TABLE bins DROP CONSTRAINT bins_positive",
            "constraint bins_positive on public.bins",
        ),
        (
            "a NOT VALID check validated",
            "ALTER TABLE i_marks VALIDATE CONSTRAINT i_marks_positive",
            "ALTER TABLE i_marks DROP CONSTRAINT i_marks_positive; ALTER TABLE i_marks ADD CONSTRAINT i_marks_positive CHECK (mark > 0) NOT VALID",
            "constraint i_marks_positive on public.i_marks",
        ),
        (
            "a foreign key's rule",
            "ALTER TABLE bins DROP CONSTRAINT bins_part_id_fkey; ALTER TABLE bins ADD CONSTRAINT bins_part_id_fkey FOREIGN KEY (part_id) REFERENCES inventory.\"Parts\" ON DELETE SET NULL",
            "ALTER TABLE bins DROP CONSTRAINT bins_part_id_fkey; ALTER TABLE bins ADD CONSTRAINT bins_part_id_fkey FOREIGN KEY (part_id) REFERENCES inventory.\"Parts\" ON DELETE CASCADE ON UPDATE CASCADE",
            "constraint bins_part_id_fkey on public.bins",
        ),
        (
            "a view's query",
            "CREATE OR REPLACE VIEW part_view AS SELECT id, price FROM inventory.\"Parts\" WHERE price > 1",
            "CREATE OR REPLACE VIEW part_view AS SELECT id, price FROM inventory.\"Parts\" WHERE price > 0",
            "view public.part_view",
        ),
        (
            "a view's options reset",
            "ALTER VIEW l_small_bins RESET (check_option, security_invoker)",
            "ALTER VIEW l_small_bins SET (security_invoker = true, check_option = local)",
            "view public.l_small_bins",
        ),
        (
            "a view's comment",
            "COMMENT ON VIEW part_view IS NULL",
            "COMMENT ON VIEW part_view IS 'Priced parts'",
            "view public.part_view",
        ),
        (
            "a materialized view",
            "ALTER MATERIALIZED VIEW bin_counts RENAME TO bin_totals",
            "ALTER MATERIALIZED VIEW bin_totals RENAME TO bin_counts",
            "materialized view public.bin_counts",
        ),
        (
            "an index",
            "DROP INDEX events_at_idx",
            "CREATE INDEX events_at_idx ON events (at)",
            "index public.events_at_idx",
        ),
        (
            "an index left invalid by a failed CREATE UNIQUE INDEX CONCURRENTLY",
            "CREATE UNIQUE INDEX CONCURRENTLY l_bins_id_key ON l_bins (id)",
            "DROP INDEX l_bins_id_key",
            "index public.l_bins_id_key",
        ),
        (
            "a trigger disabled",
            "ALTER TABLE bins DISABLE TRIGGER bins_touch",
            "ALTER TABLE bins ENABLE TRIGGER bins_touch",
            "trigger bins_touch on public.bins",
        ),
        (
            "a trigger's definition",
            "DROP TRIGGER bins_touch ON bins; CREATE TRIGGER bins_touch AFTER UPDATE ON bins FOR EACH ROW EXECUTE FUNCTION touch()",
            "DROP TRIGGER bins_touch ON bins; CREATE TRIGGER bins_touch BEFORE UPDATE ON bins FOR EACH ROW EXECUTE FUNCTION touch()",
            "trigger bins_touch on public.bins",
        ),
        ("a type's comment", "COMMENT ON TYPE mood IS 'Feelings'", "COMMENT ON TYPE mood IS NULL", "type public.mood"),
    ];
    // With the known-good digest remembered, db-status takes the fast path: an unchanged digest
    // says "no drift" at once, a changed one sends it down the full comparison, whose findings
    // it prints. So the two paths agree exactly when this run finds the change.
    let mut disagreements = Vec::new();
    for (what, change, undo, named) in changes {
        std::fs::write(&digest_file, &known_good).unwrap();
        // A failing CREATE INDEX CONCURRENTLY is the point of one change.
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(*change)).execute(&mut conn).await;
        let run = fx.xtask(&["db-status"]);
        if run.code != Some(1) || !run.stdout.contains(named) {
            disagreements.push(format!("{what}: the full comparison names {named}, but db-status said\n{}", run.all()));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(*undo))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("undo {what}: {e}"));
        // Undone, the schema is the remembered one again, whatever OIDs the undo gave it.
        std::fs::write(&digest_file, &known_good).unwrap();
        let undone = fx.xtask(&["db-status"]).success().says("no drift");
        if undone.all().contains("Compared with") {
            disagreements.push(format!("{what}: undone, the fast path did not know the schema:\n{}", undone.all()));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}

/// Case 13: a migration's session-level `SET search_path` reaches the migrations applied after
/// it in the same run (as with sqlx), so a dev database migrated in two runs differs from the
/// one built in one. Drift says so, names the migration, and blames no one's hand; a real hand
/// change beside it is still named as one.
#[tokio::test]
async fn drift_never_blames_a_hand_for_what_session_state_did() {
    let fx = Fixture::new("schema_session_state");
    fx.migration(
        20260101000000,
        "app",
        "CREATE SCHEMA app;\nSET search_path = app, public;\nCREATE TABLE t1 (id int);\n",
    );
    fx.xtask(&["db-migrate"]).success();
    fx.migration(20260102000000, "t2", "CREATE TABLE t2 (id int);\n");
    // The second run starts a new session: t2 goes to public, where one run of both files (what
    // db-reset builds) puts it in app. The schema files show the one run, and the difference is
    // drift, explained by the migration that set the search_path, both by the fast path and
    // by the full comparison.
    fx.xtask(&["db-migrate"]).success();
    let written = std::fs::read_to_string(fx.root().join("db/schema.sql")).unwrap();
    assert!(written.contains("app.t2") && !written.contains("public.t2"), "{written}");
    for _ in 0..2 {
        fx.xtask(&["db-status"])
            .found()
            .never_says("by hand")
            .says("table public.t2")
            .says("table app.t2")
            .says("20260101000000_app.sql")
            .says("search_path");
        std::fs::remove_file(fx.root().join(".xtask/schema-digest")).ok();
    }

    let mut conn = fx.connect().await;
    sqlx::raw_sql("ALTER TABLE app.t1 ADD COLUMN note text").execute(&mut conn).await.unwrap();
    fx.xtask(&["db-status"]).found().says("column app.t1.note: added by hand").never_says("t2: added by hand");
}

/// db-check says what the schema holds that the schema files neither write nor compare.
#[tokio::test]
async fn db_check_says_what_the_schema_files_do_not_cover() {
    let fx = repository("schema_uncovered");
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(
        20260102000000,
        "uncovered",
        // The lock_timeout that db-check's trace asks of a migration that locks a table the base has.
        "SET LOCAL lock_timeout = '2s';
         ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
         CREATE POLICY orgs_all ON orgs USING (true);
         CREATE TYPE span AS RANGE (subtype = integer);
         CREATE AGGREGATE total(integer) (sfunc = int4pl, stype = integer);
         CREATE RULE orgs_keep AS ON DELETE TO orgs DO INSTEAD NOTHING;
         CREATE TABLE branch_orgs (branch text) INHERITS (orgs);
         GRANT SELECT ON orgs TO PUBLIC;
         CREATE STATISTICS orgs_stats ON id, name FROM orgs;
         COMMENT ON SCHEMA public IS 'Everything';\n",
    );
    fx.xtask(&["db-migrate"]).success();
    // A range type's constructors are the type's, which schema.sql does not write: written
    // alone, they would name a type that does not exist, and the file would not replay.
    let written = std::fs::read_to_string(fx.root().join("db/schema.sql")).unwrap();
    assert!(!written.contains("public.span"), "a range type's own functions were written without it:\n{written}");
    fx.xtask(&["db-check"])
        .success()
        .says("do not cover")
        .says("policy orgs_all on public.orgs")
        .says("row-level security on public.orgs")
        .says("range type public.span")
        .says("aggregate public.total(integer)")
        .says("rule orgs_keep on public.orgs")
        .says("public.branch_orgs inherits from public.orgs")
        .says("grants on table public.orgs")
        .says("statistics object public.orgs_stats")
        .says("comment on schema public")
        .never_says("cast (");
}

/// A schema.sql that is not this server's rendering is accepted only when it is another major's
/// spelling of the same schema: whatever is slipped into a definition's place (a statement after
/// the last one, an edited query) fails, on the server that wrote the file too.
#[tokio::test]
async fn db_check_fails_what_is_slipped_into_a_definitions_place() {
    let fx = repository_with("schema_slipped", crate::replay::VIEWS);
    let sql = read(&fx, "db/schema.sql");
    for edited in [
        format!("{sql}GRANT SELECT ON public.parts TO PUBLIC;\n"),
        format!("{sql}DROP VIEW public.cheap_parts;\n"),
        sql.replace("< 10", "< 20"),
    ] {
        std::fs::write(fx.root().join("db/schema.sql"), &edited).unwrap();
        fx.xtask(&["db-check"]).found().says("db/schema.sql").never_says("spelled as another");
    }
}

/// A change made by hand in the dev database never reaches the schema files: db-migrate writes
/// them from what the migrations produce and says loudly that the database differs; db-check
/// then passes, and a reset leaves them right. Without hand changes, db-migrate writes them from
/// the dev database it knows to be clean, with no scratch build.
#[tokio::test]
async fn a_hand_change_in_the_dev_database_never_reaches_the_schema_files() {
    let fx = repository("schema_hand");
    fx.migration(20260102000000, "answer", "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42';\n");
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql").never_says("warning");
    let mut conn = fx.connect().await;
    sqlx::raw_sql("CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 41'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    fx.migration(20260103000000, "sites", "CREATE TABLE sites (id int PRIMARY KEY);\n");
    fx.xtask(&["db-migrate"])
        .success()
        .says("warning: ")
        .says("differs from the schema db/migrations produce (1 difference(s)")
        .says("function public.answer()")
        .says("are written from the migrations");
    let sql = read(&fx, "db/schema.sql");
    assert!(sql.contains("SELECT 42") && !sql.contains("SELECT 41"), "the hand change reached schema.sql:\n{sql}");
    assert!(sql.contains("CREATE TABLE public.sites"), "{sql}");
    fx.xtask(&["db-check"]).success().says("what the migrations produce");
    fx.xtask(&["db-reset"]).success().never_says("Wrote");
    fx.xtask(&["db-reset", "--no-cache"]).success().never_says("Wrote");
    assert_eq!(read(&fx, "db/schema.sql"), sql);

    // After the reset the database is known clean: the next migration's files come from it.
    fx.migration(20260104000000, "more", "CREATE TABLE more (id int PRIMARY KEY);\n");
    fx.xtask(&["db-migrate"]).success().says("Wrote db/schema.sql").never_says("Built").never_says("warning");
    fx.xtask(&["db-check"]).success();
}

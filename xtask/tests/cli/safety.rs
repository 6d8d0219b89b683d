//! db-check's trace of new migrations, on this project's own schema and seeds: each dangerous
//! form flagged at its line, each safe form passing, exceptions honoured or refused, and the
//! dev database never touched.

use std::path::{Path, PathBuf};

use sqlx::Connection;

use crate::check::git;
use crate::support::{Fixture, Run};

/// This checkout's `db/` folder: the project's own migrations and seeds.
fn project_db() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("db")
}

fn copy_sql_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "sql") {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A repository whose main branch holds this project's migrations and seeds, checked out on a
/// branch of its own.
fn fleet(test: &str) -> Fixture {
    let fx = Fixture::new(test);
    copy_sql_files(&project_db().join("migrations"), &fx.migrations());
    copy_sql_files(&project_db().join("seeds"), &fx.root().join("db/seeds"));
    git(&fx, &["init", "-q"]);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "base"]);
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx
}

const TIMEOUT: &str = "SET LOCAL lock_timeout = '2s';\n";

fn check(fx: &Fixture) -> Run {
    fx.xtask(&["db-check"])
}

#[test]
fn each_dangerous_form_on_the_projects_tables_is_flagged_at_its_line() {
    let fx = fleet("safety_danger");
    let forms: [(&str, String, &str); 16] = [
        (
            "retype",
            format!(
                "{TIMEOUT}-- A shorter firmware version.\nALTER TABLE gateways ALTER COLUMN firmware_version TYPE varchar(64);\n"
            ),
            "3:1: error[rewrite]: rewrites gateways: ACCESS EXCLUSIVE on gateways (taken here, held until commit) blocks its reads and writes",
        ),
        (
            "volatile_default",
            format!("{TIMEOUT}ALTER TABLE gateways ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"),
            "2:1: error[rewrite]: rewrites gateways",
        ),
        (
            "check",
            format!(
                "{TIMEOUT}ALTER TABLE factories ADD CONSTRAINT factories_city_short CHECK (char_length(city) < 150);\n"
            ),
            "2:1: error[validation]: validates the new CHECK constraint factories_city_short against every row of factories (12 rows read",
        ),
        (
            "foreign_key",
            format!(
                "{TIMEOUT}ALTER TABLE gateways\n    ADD CONSTRAINT gateways_factory_check_fk FOREIGN KEY (factory_id) REFERENCES factories (id);\n"
            ),
            "2:1: error[validation]: validates the new FOREIGN KEY constraint gateways_factory_check_fk against every row of gateways",
        ),
        ("add_nullable", format!("{TIMEOUT}ALTER TABLE gateways ADD COLUMN region text DEFAULT 'eu';\n"), ""),
        (
            "set_not_null",
            format!("{TIMEOUT}ALTER TABLE gateways ALTER COLUMN region SET NOT NULL;\n"),
            "2:1: error[validation]: validates NOT NULL on region against every row of gateways",
        ),
        (
            "index",
            format!("{TIMEOUT}\nCREATE INDEX gateways_firmware_idx ON gateways (firmware_version);\n"),
            "3:1: error[index-build]: builds index gateways_firmware_idx on gateways (492 rows read in the seeded copy): SHARE on gateways (taken here, held until commit) blocks its writes",
        ),
        (
            "unique",
            format!(
                "{TIMEOUT}ALTER TABLE factories ADD CONSTRAINT factories_name_key UNIQUE (organization_id, name);\n"
            ),
            "2:1: error[unique-constraint]: builds the index of UNIQUE constraint factories_name_key on factories",
        ),
        (
            "backfill",
            format!("{TIMEOUT}ALTER TABLE gateways ADD COLUMN note text;\nUPDATE gateways SET note = serial_number;\n"),
            "3:1: error[after-access-exclusive]: runs while the migration holds ACCESS EXCLUSIVE on gateways (taken at line 2)",
        ),
        (
            "no_timeout",
            "ALTER TABLE factories ADD COLUMN note text;\n".to_owned(),
            "1:1: error[lock-timeout]: takes ACCESS EXCLUSIVE on factories with no lock_timeout",
        ),
        (
            // RESET goes back to what the session started with: the server's, as for an
            // application's migrator, never the xtask's own.
            "reset_timeout",
            format!("{TIMEOUT}RESET lock_timeout;\nALTER TABLE factories ADD COLUMN note2 text;\n"),
            "3:1: error[lock-timeout]: takes ACCESS EXCLUSIVE on factories with no lock_timeout",
        ),
        (
            // A `;` inside a SQL-standard body or a rule's parentheses ends no statement.
            "bodies",
            format!(
                "{TIMEOUT}CREATE FUNCTION two() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 2 END;\nEND;\n\
                 CREATE TABLE rule_log (x int);\nCREATE TABLE rule_a (x int);\n\
                 CREATE RULE rule_a_log AS ON INSERT TO rule_a DO ALSO (INSERT INTO rule_log VALUES (1); INSERT INTO rule_log VALUES (2));\n"
            ),
            "",
        ),
        (
            "events",
            format!(
                "{TIMEOUT}CREATE TABLE gateway_events (\n    id bigint PRIMARY KEY,\n    gateway_id uuid NOT NULL REFERENCES gateways\n);\n"
            ),
            "2:1: error[foreign-key-index]: foreign key gateway_events_gateway_id_fkey on gateway_events (gateway_id) has no index",
        ),
        (
            "index_alone",
            "-- no-transaction\nSET lock_timeout = '2s';\nCREATE INDEX gateways_ip_idx ON gateways (ip_address);\n"
                .to_owned(),
            "3:1: error[index-build]: builds index gateways_ip_idx on gateways",
        ),
        (
            "recollate",
            format!("{TIMEOUT}ALTER TABLE gateways ALTER COLUMN serial_number TYPE text COLLATE \"POSIX\";\n"),
            "2:1: error[rewrite]: rewrites gateways: ACCESS EXCLUSIVE on gateways (taken here, held until commit) blocks its reads and writes until the migration commits, because changing serial_number from text COLLATE \"C\" to text COLLATE \"POSIX\" rebuilds the indexes that use it",
        ),
        (
            "vacuum_full",
            "-- no-transaction\nVACUUM FULL factories;\n".to_owned(),
            "2:1: error[rewrite]: rewrites factories: ACCESS EXCLUSIVE on factories (what every rewrite takes",
        ),
    ];
    for (n, (name, sql, _)) in forms.iter().enumerate() {
        fx.migration(20270101000000 + n as u64, name, sql);
    }
    let run = check(&fx).found();
    let mut expected = 0;
    for (n, (name, _, finding)) in forms.iter().enumerate() {
        if !finding.is_empty() {
            expected += 1;
            let at = format!("db/migrations/{}_{name}.sql:{finding}", 20270101000000 + n as u64);
            // PostgreSQL 18 records a NOT NULL as a constraint of its own (pg_constraint), which
            // the trace names, with 18's safer form (NOT VALID, then VALIDATE CONSTRAINT).
            let on_18 = (*name == "set_not_null").then(|| {
                format!(
                    "db/migrations/{}_{name}.sql:2:1: error[validation]: validates the new NOT NULL constraint \
                     gateways_region_not_null against every row of gateways",
                    20270101000000 + n as u64
                )
            });
            let found = run.stdout.contains(&at) || on_18.as_ref().is_some_and(|alt| run.stdout.contains(alt));
            assert!(found, "{name}: expected {at:?} (or, on PostgreSQL 18, {on_18:?}):\n{}", run.all());
        }
    }
    let run = run
        .says(&format!("Traced 16 new migration(s) against main: {expected} error(s), 1 warning(s), 0 allowed"))
        .says(
            "warning[column-type]: changes gateways.firmware_version from text COLLATE \"C\" to character varying(64)",
        )
        .says("safer: add CONCURRENTLY: this file already runs outside a transaction")
        .says("safer: `SET LOCAL lock_timeout = '2s';` as the migration's first statement")
        .says("`CREATE UNIQUE INDEX CONCURRENTLY factories_name_key ON factories (…)`")
        .says("ALTER TABLE gateways VALIDATE CONSTRAINT gateways_factory_check_fk")
        .says("allow(<rule>): <why it is acceptable here>");
    // The safe statement between them is not flagged.
    run.never_says("_add_nullable.sql:2:1: error");
}

#[test]
fn the_safe_forms_pass() {
    let fx = fleet("safety_safe");
    let forms = [
        (
            "create_maintenance_windows",
            "CREATE TABLE maintenance_windows (id bigint PRIMARY KEY, starts_at timestamptz NOT NULL);\n\
             CREATE INDEX maintenance_windows_starts_idx ON maintenance_windows (starts_at);\n"
                .to_owned(),
        ),
        (
            "index_gateways_firmware",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY gateways_firmware_idx ON gateways (firmware_version);\n".to_owned(),
        ),
        (
            "check_city_length",
            format!("{TIMEOUT}ALTER TABLE factories ADD CONSTRAINT factories_city_short CHECK (char_length(city) < 150) NOT VALID;\n"),
        ),
        ("validate_city_length", "ALTER TABLE factories VALIDATE CONSTRAINT factories_city_short;\n".to_owned()),
        (
            "add_gateway_columns",
            format!("{TIMEOUT}ALTER TABLE gateways ADD COLUMN note text, ADD COLUMN region text DEFAULT 'eu';\nCOMMENT ON COLUMN gateways.note IS 'Free text';\n"),
        ),
        (
            "unique_factory_names_index",
            "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY factories_name_key ON factories (organization_id, name);\n"
                .to_owned(),
        ),
        (
            "unique_factory_names",
            format!("{TIMEOUT}ALTER TABLE factories ADD CONSTRAINT factories_name_key UNIQUE USING INDEX factories_name_key;\n"),
        ),
        (
            "create_gateway_events",
            format!(
                "{TIMEOUT}CREATE TABLE gateway_events (id bigint PRIMARY KEY, gateway_id uuid NOT NULL REFERENCES gateways);\n\
                 CREATE INDEX gateway_events_gateway_idx ON gateway_events (gateway_id);\n"
            ),
        ),
        // SET NOT NULL, the long way: the server skips its scan once a valid CHECK proves it,
        // which only a trace can see.
        (
            "region_not_null_check",
            format!("{TIMEOUT}ALTER TABLE gateways ADD CONSTRAINT gateways_region_not_null CHECK (region IS NOT NULL) NOT VALID;\n"),
        ),
        ("validate_region_not_null", "ALTER TABLE gateways VALIDATE CONSTRAINT gateways_region_not_null;\n".to_owned()),
        (
            "region_not_null",
            format!(
                "{TIMEOUT}ALTER TABLE gateways ALTER COLUMN region SET NOT NULL;\n\
                 ALTER TABLE gateways DROP CONSTRAINT gateways_region_not_null;\n"
            ),
        ),
    ];
    for (n, (name, sql)) in forms.iter().enumerate() {
        fx.migration(20270101000000 + n as u64, name, sql);
    }
    check(&fx).success().says("Traced 11 new migration(s) against main: 0 error(s), 0 warning(s), 0 allowed");
}

#[test]
fn the_projects_own_migrations_pass() {
    let fx = Fixture::new("safety_own");
    git(&fx, &["init", "-q"]);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "empty"]);
    git(&fx, &["checkout", "-q", "-b", "schema"]);
    copy_sql_files(&project_db().join("migrations"), &fx.migrations());
    copy_sql_files(&project_db().join("seeds"), &fx.root().join("db/seeds"));
    let count = std::fs::read_dir(fx.migrations()).unwrap().count();
    let traced = format!("Traced {count} new migration(s) against main: 0 error(s), 0 warning(s), 0 allowed");
    check(&fx).success().says(&traced);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "schema"]);
    check(&fx).success().says(&traced);
    git(&fx, &["checkout", "-q", "main"]);
    git(&fx, &["merge", "-q", "schema"]);
    check(&fx).success().says("No new migration to trace against main");
}

#[test]
fn what_breaks_the_running_release_warns_but_passes() {
    let fx = fleet("safety_compat");
    fx.migration(
        20270101000000,
        "retype_org_names",
        &format!("{TIMEOUT}ALTER TABLE organizations ALTER COLUMN name TYPE varchar;\n"),
    );
    fx.migration(20270101000001, "drop_metadata", &format!("{TIMEOUT}ALTER TABLE gateways DROP COLUMN metadata;\n"));
    fx.migration(
        20270101000002,
        "rename_city",
        &format!("{TIMEOUT}ALTER TABLE factories RENAME COLUMN city TO town;\n"),
    );
    fx.migration(20270101000003, "rename_orgs", &format!("{TIMEOUT}ALTER TABLE organizations RENAME TO customers;\n"));
    fx.migration(20270101000004, "drop_gateways", &format!("{TIMEOUT}\nDROP TABLE gateways;\n"));
    check(&fx)
        .success()
        .says("20270101000000_retype_org_names.sql:2:1: warning[column-type]: changes organizations.name from text COLLATE \"und-x-icu\" to character varying")
        .says("20270101000001_drop_metadata.sql:2:1: warning[drop-column]: drops column gateways.metadata")
        .says("20270101000002_rename_city.sql:2:1: warning[rename-column]: renames column factories.city to town")
        .says("20270101000003_rename_orgs.sql:2:1: warning[rename-table]: renames organizations to customers")
        .says("20270101000004_drop_gateways.sql:3:1: warning[drop-table]: drops gateways")
        .says("0 error(s), 5 warning(s)");
}

#[test]
fn a_reviewed_exception_is_honoured_and_a_blanket_or_malformed_one_refused() {
    let fx = fleet("safety_exceptions");
    fx.migration(
        20270101000000,
        "index_factories_city",
        &format!(
            "{TIMEOUT}-- db-check allow(index-build): factories holds one row per site, a few hundred at most\n\
             CREATE INDEX factories_city_idx ON factories (city);\n"
        ),
    );
    check(&fx)
        .success()
        .says("20270101000000_index_factories_city.sql:3:1: allowed[index-build]: builds index factories_city_idx")
        .says("reason given: factories holds one row per site, a few hundred at most")
        .says("0 error(s), 0 warning(s), 1 allowed");

    // A blanket exception at the top of a file silences nothing, and is itself an error.
    let blanket = fx.migration(
        20270101000001,
        "index_gateways_status",
        &format!("-- db-check allow(all): reviewed\n{TIMEOUT}CREATE INDEX gateways_status_idx ON gateways (status);\n"),
    );
    check(&fx)
        .found()
        .says("20270101000001_index_gateways_status.sql:1:1: error[exception]: `-- db-check allow(all): reviewed` is a blanket exception")
        .says("20270101000001_index_gateways_status.sql:3:1: error[index-build]");
    std::fs::remove_file(blanket).unwrap();

    // Detached by a blank line: it excuses nothing, and says so.
    let detached = fx.migration(
        20270101000001,
        "index_gateways_status",
        &format!("{TIMEOUT}-- db-check allow(index-build): small table\n\nCREATE INDEX gateways_status_idx ON gateways (status);\n"),
    );
    check(&fx)
        .found()
        .says("2:1: error[exception]: this exception excuses no statement")
        .says("4:1: error[index-build]");
    std::fs::remove_file(detached).unwrap();

    // No reason, an unknown rule: refused.
    fx.migration(
        20270101000001,
        "index_gateways_status",
        &format!("{TIMEOUT}-- db-check allow(index-build)\nCREATE INDEX gateways_status_idx ON gateways (status);\n"),
    );
    check(&fx).found().says("2:1: error[exception]").says("gives no reason").says("3:1: error[index-build]");
    fx.migration(
        20270101000001,
        "index_gateways_status",
        &format!("{TIMEOUT}-- db-check allow(locks): small\nCREATE INDEX gateways_status_idx ON gateways (status);\n"),
    );
    check(&fx).found().says("`locks` is not a rule db-check has");

    // One that allows what its statement does not do is a stale exception: a warning.
    fx.migration(
        20270101000001,
        "index_gateways_status",
        &format!("{TIMEOUT}-- db-check allow(rewrite): reviewed by ops\nALTER TABLE gateways ADD COLUMN note text;\n"),
    );
    check(&fx).success().says("2:1: warning[exception]: this exception allows rewrite on the statement below");
}

#[test]
fn in_github_actions_findings_are_annotations_and_a_job_summary() {
    let fx = fleet("safety_github");
    fx.migration(20270101000000, "index_gateways", "CREATE INDEX gateways_status_idx ON gateways (status);\n");
    let summary = fx.root().join("summary.md");
    let summary_path = summary.to_string_lossy().into_owned();
    let url = fx.url();
    let run = fx
        .xtask_with(
            &["db-check"],
            &[("DATABASE_URL", &url), ("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", &summary_path)],
        )
        .found();
    run.says(
        "::error file=db/migrations/20270101000000_index_gateways.sql,line=1,col=1,title=db-check index-build::builds index gateways_status_idx",
    )
    .says("title=db-check lock-timeout::")
    .says("%0ASafer: CREATE INDEX CONCURRENTLY");
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("## db-check: what the new migrations lock"), "{markdown}");
    assert!(
        markdown.contains("| **error** | `db/migrations/20270101000000_index_gateways.sql:1:1` | `index-build` |"),
        "{markdown}"
    );
    // Elsewhere, no workflow commands.
    fx.xtask_with(&["db-check"], &[("DATABASE_URL", &url), ("GITHUB_ACTIONS", "false")]).found().never_says("::error");
}

#[tokio::test]
async fn the_trace_never_touches_the_dev_database_and_keeps_only_its_base() {
    let fx = fleet("safety_isolation");
    git(&fx, &["checkout", "-q", "main"]);
    fx.xtask(&["db-reset"]).success();
    let applied = fx.applied_versions().await;
    git(&fx, &["checkout", "-q", "feature"]);
    fx.migration(20270101000000, "note", "ALTER TABLE gateways ADD COLUMN note text;\n");
    let kept = format!("{}__xtask_tracebase", fx.database);
    let copy = format!("{}__xtask_trace", fx.database);
    // The base is what the last reset on main built: the reset cache becomes the kept base, where
    // one transactional migration is traced and rolled back.
    check(&fx).found().says("in a transaction on the base copied from the reset cache").says(&kept);
    // Rolled back: the same migration traces the same way on the kept base (a committed ADD
    // COLUMN would make it fail).
    check(&fx).found().says(&format!("in a transaction on the base kept in {kept}, rolled back"));
    let dev_unchanged = async || {
        assert_eq!(fx.applied_versions().await, applied, "the trace applied a migration to the dev database");
        let note: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'gateways'::regclass AND attname = 'note'",
        )
        .fetch_one(&mut fx.connect().await)
        .await
        .unwrap();
        assert_eq!(note, 0, "the trace changed the dev database");
    };
    dev_unchanged().await;

    // Two new migrations must commit in turn: traced on a copy, dropped after.
    fx.migration(
        20270101000001,
        "more",
        "SET LOCAL lock_timeout = '2s';\nALTER TABLE gateways ADD COLUMN more text;\n",
    );
    check(&fx).found().says(&format!("on {copy}, a copy of the base kept in {kept}"));
    assert!(!fx.database_exists(&copy).await, "the trace's copy was left behind");
    dev_unchanged().await;

    // A base the cache does not hold is built from the files, and kept.
    fx.seed("004_more.sql", "INSERT INTO organizations (name, slug) VALUES ('Late Arrival', 'late-arrival');\n");
    git(&fx, &["checkout", "-q", "main"]);
    git(&fx, &["add", "db/seeds/004_more.sql"]);
    git(&fx, &["commit", "-q", "-m", "a seed"]);
    git(&fx, &["checkout", "-q", "feature"]);
    git(&fx, &["rebase", "-q", "main"]);
    check(&fx).found().says(&format!("the base built in {kept}"));
    check(&fx).found().says(&format!("the base kept in {kept}"));
    assert!(fx.database_exists(&kept).await);
    dev_unchanged().await;
    fx.xtask(&["db-down", "--purge"]).success().says(&format!("Removed {kept}"));
    assert!(!fx.database_exists(&kept).await);
}

#[tokio::test]
async fn a_migration_that_fails_on_the_seeded_base_is_named_at_its_line() {
    let fx = fleet("safety_fails");
    fx.migration(
        20270101000000,
        "require_ip",
        &format!("{TIMEOUT}ALTER TABLE gateways ALTER COLUMN ip_address SET NOT NULL;\n"),
    );
    check(&fx)
        .failure()
        .says("20270101000000_require_ip.sql:2:1: column \"ip_address\" of relation \"gateways\" contains null values")
        .says("fails when traced on the base with its seeds loaded");
    // Traced in the kept base, rolled back, and closed again.
    let kept = format!("{}__xtask_tracebase", fx.database);
    assert!(fx.database_exists(&kept).await);
    assert!(sqlx::PgConnection::connect(&fx.url_for(&kept)).await.is_err(), "the kept base was left open");
}

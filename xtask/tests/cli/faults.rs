//! Things going wrong: concurrent runs, killed processes, a server that goes away, hostile files
//! and arguments. Nothing may be lost, half applied, or reported with a panic.

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use crate::support::{Fixture, SHORT_PATIENCE, StderrLines};

const ORGS: &str = "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL UNIQUE);\n";

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Waits until a session of `application` runs a statement containing `needle`.
async fn wait_for_statement(fx: &Fixture, application: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut admin = fx.admin().await;
    while Instant::now() < deadline {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name LIKE $1 || ' (process %' AND state = 'active' AND position($2 in query) > 0 AND datname IN ($3, $3 || '__xtask_reset')",
        )
        .bind(application)
        .bind(needle)
        .bind(&fx.database)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if running > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no session of {application} ran {needle:?} within 30s");
}

/// Waits (at most 30 s) until no session of the xtask process `pid` is left on the server.
async fn sessions_end(fx: &Fixture, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut admin = fx.admin().await;
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '% (process ' || $1 || ')'",
        )
        .bind(pid.to_string())
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} session(s) of process {pid} still there after 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name}");
}

/// A migrated fixture whose next `db-migrate` is stuck in a long statement of migration
/// 20260102000000 (which creates the table `half` first); returns that process.
async fn migrate_stuck_in_a_long_migration(name: &str) -> (Fixture, Child, PathBuf) {
    let fx = Fixture::new(name);
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.xtask(&["db-migrate"]).success();
    let long = fx.migration(20260102000000, "long", "CREATE TABLE half (id int);\nSELECT pg_sleep(60);\n");
    let child = fx.spawn(&["db-migrate"]);
    wait_for_statement(&fx, "cargo xtask db-migrate", "pg_sleep(60)").await;
    (fx, child, long)
}

#[tokio::test]
async fn eight_concurrent_migrates_apply_each_migration_once() {
    let fx = Fixture::new("concurrent");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260102000000, "slow", "SELECT pg_sleep(0.3);\nCREATE TABLE slow (id int);\n");
    fx.migration(20260103000000, "create_sites", "CREATE TABLE sites (id int);\n");
    let children: Vec<Child> = (0..8).map(|_| fx.spawn(&["db-migrate"])).collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for output in &outputs {
        assert!(output.status.success(), "a concurrent db-migrate failed:\n{}", text(output));
    }
    let all: String = outputs.iter().map(text).collect();
    for version in ["20260101000000", "20260102000000", "20260103000000"] {
        assert_eq!(all.matches(&format!("Applied {version}/")).count(), 1, "{version} applied more than once:\n{all}");
    }
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000, 20260103000000]);
}

#[tokio::test]
async fn a_reset_waits_for_a_running_migrate_and_says_who_holds_the_lock() {
    let fx = Fixture::new("reset_waits");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme');\n");
    fx.xtask(&["db-reset"]).success();
    // On the dev database, the migration waits for an advisory lock the test holds, so the
    // migrate holds the migration lock until the test has seen the reset wait for it (the
    // reset's own scratch copy runs the migration at once).
    let mut gate = fx.connect().await;
    sqlx::query("SELECT pg_advisory_lock(4242)").execute(&mut gate).await.unwrap();
    let wait = "SELECT CASE WHEN current_database() LIKE '%xtask_reset' THEN NULL ELSE pg_advisory_xact_lock_shared(4242) END;";
    fx.migration(20260102000000, "long", &format!("{wait}\nCREATE TABLE long_done (id int);\n"));
    let migrate = fx.spawn(&["db-migrate"]);
    wait_for_statement(&fx, "cargo xtask db-migrate", "pg_advisory_xact_lock_shared(4242)").await;

    let mut reset = fx.spawn_with(&["db-reset"], &[("DATABASE_URL", &fx.url()), SHORT_PATIENCE]);
    let mut stderr = StderrLines::of(&mut reset);
    stderr.wait_for("Waiting for the migration lock (sqlx's advisory lock) in database");
    sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut gate).await.unwrap();
    let reset_output = reset.wait_with_output().unwrap();
    let said = format!("{}{}", text(&reset_output), stderr.all());
    assert!(reset_output.status.success(), "the reset failed:\n{said}");
    assert!(said.contains("(cargo xtask db-migrate (process"), "{said}");
    let migrate = migrate.wait_with_output().unwrap();
    assert!(migrate.status.success(), "the migrate the reset waited for failed:\n{}", text(&migrate));
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);
    assert!(fx.table_exists("long_done").await);
    assert_eq!(fx.count("orgs").await, 1);
}

#[tokio::test]
async fn a_migrate_killed_mid_migration_leaves_the_previous_version() {
    let (fx, mut child, long) = migrate_stuck_in_a_long_migration("kill_migrate").await;
    signal(&child, "KILL");
    child.wait().unwrap();

    // The server notices the dead client within a second, rolls back and frees the lock.
    std::fs::write(&long, "CREATE TABLE half (id int);\n").unwrap();
    fx.xtask(&["db-status"]).success().says("20260102000000 long         pending");
    assert!(!fx.table_exists("half").await, "the killed migration left a table behind");
    fx.xtask(&["db-migrate"]).success().says("Applied 20260102000000/migrate long");
    assert_eq!(fx.applied_versions().await, [20260101000000, 20260102000000]);
}

#[tokio::test]
async fn a_reset_killed_midway_keeps_the_old_database_and_the_next_one_cleans_up() {
    let fx = Fixture::new("kill_reset");
    fx.migration(20260101000000, "create_orgs", ORGS);
    let seed = fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme');\n");
    fx.xtask(&["db-reset"]).success();
    std::fs::write(&seed, "INSERT INTO orgs VALUES (1, 'Acme');\nSELECT pg_sleep(60);\n").unwrap();
    let mut child = fx.spawn(&["db-reset"]);
    wait_for_statement(&fx, "cargo xtask db-reset", "pg_sleep(60)").await;
    signal(&child, "KILL");
    child.wait().unwrap();

    assert_eq!(fx.count("orgs").await, 1, "the previous dev database must stay usable");
    std::fs::write(&seed, "INSERT INTO orgs VALUES (1, 'Acme'), (2, 'Globex');\n").unwrap();
    fx.xtask(&["db-reset"]).success().says("left behind by an interrupted reset");
    assert_eq!(fx.count("orgs").await, 2);
}

#[tokio::test]
async fn ctrl_c_stops_cleanly_with_a_message() {
    let (fx, child, _) = migrate_stuck_in_a_long_migration("ctrl_c").await;
    let child_pid = child.id();
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(text(&output).contains("interrupted: stopped before finishing"), "{}", text(&output));
    assert!(!text(&output).contains("panicked"));
    // Once the interrupted command's sessions are gone, nothing of the migration can commit.
    sessions_end(&fx, child_pid).await;
    assert_eq!(fx.applied_versions().await, [20260101000000]);
    assert!(!fx.table_exists("half").await);
}

#[tokio::test]
async fn a_server_that_drops_the_connection_mid_run_is_a_clear_error() {
    let (fx, child, _) = migrate_stuck_in_a_long_migration("server_gone").await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'cargo xtask db-migrate (process %' AND datname = $1",
    )
    .bind(&fx.database)
    .execute(&mut fx.admin().await)
        .await
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(all.contains("error: migration 20260102000000 failed"), "{all}");
    assert!(all.contains("terminating connection"), "{all}");
    assert!(!all.contains("panicked") && !all.contains("stack backtrace"), "{all}");
    assert_eq!(fx.applied_versions().await, [20260101000000]);
}

#[tokio::test]
async fn a_statement_timeout_stops_a_migration_that_never_ends() {
    let fx = Fixture::new("timeout");
    fx.migration(20260101000000, "create_orgs", ORGS);
    fx.migration(20260102000000, "endless", "CREATE TABLE half (id int);\n\nSELECT pg_sleep(3600);\n");
    fx.xtask(&["db-migrate", "--statement-timeout", "1s"])
        .failure()
        .says("20260102000000_endless.sql:3:1: canceling statement due to statement timeout")
        .says("--statement-timeout");
    assert_eq!(fx.applied_versions().await, [20260101000000]);
    assert!(!fx.table_exists("half").await);
    fx.xtask(&["db-reset", "--statement-timeout", "1s"])
        .failure()
        .says("20260102000000_endless.sql:3:1: canceling statement due to statement timeout");
    assert_eq!(fx.applied_versions().await, [20260101000000]);
    assert!(!fx.table_exists("half").await);
    let bad = fx.xtask(&["db-migrate", "--statement-timeout", "5 parsecs"]);
    assert_eq!(bad.code, Some(2), "{}", bad.all());
    bad.says("is not a duration");
}

/// Every session bounds its lock waits (`lock_timeout`), and has the server check that its client
/// is still there (`client_connection_check_interval`): a killed command's migration is rolled
/// back within a second, not when its statement ends.
#[tokio::test]
async fn sessions_give_up_on_locks_and_notice_a_dead_client() {
    let fx = Fixture::new("session_bounds");
    fx.migration(
        20260101000000,
        "settings",
        "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, \
         current_setting('client_connection_check_interval') AS check_interval;\n",
    );
    for command in ["db-migrate", "db-reset"] {
        fx.xtask(&[command]).success();
        let seen: (String, String) = sqlx::query_as("SELECT lock_timeout, check_interval FROM seen")
            .fetch_one(&mut fx.connect().await)
            .await
            .unwrap();
        assert_eq!(seen, ("5min".to_owned(), "1s".to_owned()), "the settings of {command}'s session");
    }
}

#[tokio::test]
async fn odd_but_valid_files_apply_and_line_endings_do_not_change_checksums() {
    let fx = Fixture::new("encodings");
    fx.migration(20260101000000, "create_orgs", ORGS);
    let crlf = fx.migration(20260102000000, "windows", "CREATE TABLE windows (id int);\n-- saved on Windows\n");
    std::fs::write(fx.migrations().join("20260103000000_bom.sql"), "\u{feff}CREATE TABLE bom (id int);\n").unwrap();
    fx.xtask(&["db-migrate"]).success();
    assert!(fx.table_exists("bom").await);

    // The same file checked out with CRLF line endings is the same migration.
    std::fs::write(&crlf, "CREATE TABLE windows (id int);\r\n-- saved on Windows\r\n").unwrap();
    fx.xtask(&["db-status"]).success().says("3 applied, 0 pending, 0 problem(s)");
    fx.xtask(&["db-migrate"]).success().says("is up to date");
    // A real edit still is not.
    std::fs::write(&crlf, "CREATE TABLE windows (id bigint);\r\n").unwrap();
    fx.xtask(&["db-migrate"]).failure().says("changed since applied");
}

#[tokio::test]
async fn malformed_files_are_refused_with_their_names() {
    let fx = Fixture::new("malformed");
    fx.migration(20260101000000, "create_orgs", ORGS);
    std::fs::write(fx.migrations().join("20260102000000_latin1.sql"), b"SELECT 'caf\xe9';\n").unwrap();
    fx.xtask(&["db-migrate"])
        .failure()
        .says("not valid UTF-8; save it as UTF-8")
        .says("db/migrations/20260102000000_latin1.sql");
    assert!(!fx.database_exists(&fx.database).await, "nothing may change when a file is refused");
    std::fs::remove_file(fx.migrations().join("20260102000000_latin1.sql")).unwrap();
    assert!(!fx.database_exists(&fx.database).await, "nothing may change when a file is refused");
}

#[tokio::test]
async fn a_fifty_megabyte_migration_applies() {
    let fx = Fixture::new("huge");
    let mut sql = String::from("CREATE TABLE readings (id int PRIMARY KEY, note text NOT NULL);\n");
    let note = "x".repeat(80);
    let mut id = 0;
    while sql.len() < 50 * 1024 * 1024 {
        sql.push_str("INSERT INTO readings VALUES ");
        let rows: Vec<String> = (0..1000)
            .map(|_| {
                id += 1;
                format!("({id}, '{note}')")
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push_str(";\n");
    }
    fx.migration(20260101000000, "huge", &sql);
    fx.xtask(&["db-migrate"]).success().says("Applied 20260101000000/migrate huge");
    assert_eq!(fx.count("readings").await, i64::from(id));
}

#[tokio::test]
async fn unknown_flags_are_usage_errors_for_every_command() {
    let fx = Fixture::new("flags");
    for command in ["db-reset", "db-migrate", "db-new", "db-status", "db-up", "db-down", "test"] {
        let run = fx.xtask(&[command, "--frobnicate"]);
        assert_eq!(run.code, Some(2), "{command}: {}", run.all());
        assert!(run.stderr.contains("unexpected argument '--frobnicate'"), "{command}: {}", run.stderr);
    }
    let run = fx.xtask(&["db-destroy"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("unrecognized subcommand"), "{}", run.stderr);
    assert!(!fx.database_exists(&fx.database).await);
}

#[test]
fn sql_keywords_are_just_names() {
    let fx = Fixture::new("keywords");
    fx.xtask(&["db-new", "DROP TABLE users"]).success().says("_drop_table_users.sql");
    fx.xtask(&["db-new", "select; drop"]).failure().says("contains ';'");
}

/// Ctrl-C during a reset says what it leaves: the old database as it was, and who cleans up.
#[tokio::test]
async fn ctrl_c_during_a_reset_says_the_old_database_is_intact() {
    let fx = Fixture::new("ctrl_c_reset");
    fx.migration(20260101000000, "create_orgs", ORGS);
    let seed = fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme');\n");
    fx.xtask(&["db-reset"]).success();
    std::fs::write(&seed, "INSERT INTO orgs VALUES (1, 'Acme');\nSELECT pg_sleep(60);\n").unwrap();
    let child = fx.spawn(&["db-reset"]);
    wait_for_statement(&fx, "cargo xtask db-reset", "pg_sleep(60)").await;
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains(&format!(
            "interrupted: db-reset stopped before its swap, so {} is exactly as it was; the next db-reset removes the \
             unfinished copy ({}__xtask_reset)",
            fx.database, fx.database
        )),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(fx.count("orgs").await, 1, "the previous dev database must stay usable");
    std::fs::write(&seed, "INSERT INTO orgs VALUES (1, 'Acme');\n").unwrap();
    fx.xtask(&["db-reset"]).success().says("left behind by an interrupted reset");
}

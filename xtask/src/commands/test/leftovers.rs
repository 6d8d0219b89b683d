//! The databases tests leave on the dev server: a failed test's copy (`testdb` keeps it for a
//! look), a passed test's copy put aside as trash (dropped after every run), a `#[sqlx::test]`
//! database of a failed test, a CLI test's fixture, and the test templates older than an hour
//! (caches, rebuilt when needed; a fresher one may be what a running test binary copies from).
//! Listed and dropped by name, never by a pattern in SQL, and never one in use or made by a
//! process still running.

use anyhow::{Context, Result};
use dbfiles::names::{self, TestDatabase};
use dbfiles::template;
use sqlx::{AssertSqlSafe, Executor};

use crate::output::{note, out};
use crate::postgres::Database;
use crate::postgres::admin::{self, quote_ident};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `testdb` copy: its test failed (or the run was killed).
    FailedTestCopy,
    /// A `testdb` copy its test put aside when it passed, for dropping after the run.
    PassedTestTrash,
    /// A `testdb` template or shared database: rebuilt when a test needs it.
    TestTemplate,
    /// A `#[sqlx::test]` database: its test failed.
    SqlxTest,
    /// A database the xtask's CLI tests made (`xt_<test>_<process>_<n>`, and its reset's copies).
    CliFixture,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::FailedTestCopy => "the database of a test that failed or was interrupted (testdb)",
            Kind::PassedTestTrash => "a passed test's database, put aside (the next test run drops it)",
            Kind::TestTemplate => "a test template older than an hour, or unfinished (rebuilt when needed)",
            Kind::SqlxTest => "a failed #[sqlx::test]'s database",
            Kind::CliFixture => "a CLI test's fixture",
        }
    }
}

pub struct Leftover {
    pub name: String,
    pub kind: Kind,
}

/// What `name` is, on the server whose dev database is `dev`; `None` for anything else.
pub fn classify(dev: &str, name: &str) -> Option<Kind> {
    if let Some(kind) = names::test_database_kind(dev, name) {
        return Some(match kind {
            TestDatabase::Copy => Kind::FailedTestCopy,
            TestDatabase::Trash => Kind::PassedTestTrash,
            TestDatabase::Cache => Kind::TestTemplate,
        });
    }
    if name.starts_with("_sqlx_test_") {
        return Some(Kind::SqlxTest);
    }
    is_cli_fixture(name).then_some(Kind::CliFixture)
}

/// `xt_<test>_<process>_<n>`, as `xtask/tests/cli/support.rs` names its fixtures, or a database
/// a reset keeps beside one (`…__xtask_…`).
fn is_cli_fixture(name: &str) -> bool {
    let base = name.split("__xtask_").next().unwrap_or(name);
    let Some(rest) = base.strip_prefix("xt_") else { return false };
    let mut parts = rest.rsplitn(3, '_');
    let numbers = [parts.next(), parts.next()];
    let test = parts.next();
    numbers.iter().all(|n| n.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        && test.is_some_and(|t| !t.is_empty())
}

pub async fn find(database: &mut Database) -> Result<Vec<Leftover>> {
    let dev = database.name().to_owned();
    let conn = database.maintenance().await?;
    let all: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database'), extract(epoch FROM now())::bigint \
         FROM pg_database ORDER BY datname",
    )
    .fetch_all(conn)
    .await
    .context("list the databases")?;
    Ok(all
        .into_iter()
        .filter(|(name, ..)| !made_by_a_running_process(&dev, name))
        .filter_map(|(name, comment, now)| {
            let kind = classify(&dev, &name)?;
            // A template or shared database carries no process id: one built within the hour
            // may be what a test binary still running copies from (testdb drops older ones).
            let built = names::test_template_built(comment.as_deref());
            if kind == Kind::TestTemplate && built.is_some_and(|built| now - built < template::MAX_AGE_SECS) {
                return None;
            }
            Some(Leftover { kind, name })
        })
        .collect())
}

/// True for a test's database whose name carries the id of a process still running on this
/// machine (`xt_<test>_<process>_<n>`, `<dev>__test_<process>_<n>`, `<dev>__test_trash_<process>_<oid>`):
/// a test binary in another terminal between two of its commands, or one whose tests still run,
/// not a leftover. Where `/proc` is missing, nothing is known to be running, and only a database
/// in use is kept.
fn made_by_a_running_process(dev: &str, name: &str) -> bool {
    let process = match classify(dev, name) {
        Some(Kind::CliFixture) => {
            name.split("__xtask_").next().and_then(|base| base.rsplit('_').nth(1)).map(str::to_owned)
        }
        Some(Kind::FailedTestCopy | Kind::PassedTestTrash) => {
            names::test_database_process(dev, name).map(|id| id.to_string())
        }
        _ => None,
    };
    process.is_some_and(|pid| std::path::Path::new("/proc").join(pid).exists())
}

pub fn list(found: &[Leftover]) {
    for leftover in found {
        out!("{}  {}", leftover.name, leftover.kind.describe());
    }
    match found.len() {
        0 => note!("No test databases on the dev server"),
        n => note!("{n} test database(s); `cargo xtask test --drop-leftovers` drops them"),
    }
}

/// After a test run: the databases failed tests kept, said in one line (with the templates not
/// counted: they are meant to stay, nor the passed tests' trash: [`drop_trash`] drops it).
pub fn note_failed_tests(found: &[Leftover]) {
    let kept: Vec<&str> = found
        .iter()
        .filter(|l| !matches!(l.kind, Kind::TestTemplate | Kind::PassedTestTrash))
        .map(|l| l.name.as_str())
        .collect();
    if !kept.is_empty() {
        note!(
            "{} database(s) left by failed or interrupted tests on the dev server ({}); `cargo xtask test --drop-leftovers` drops them",
            kept.len(),
            kept.join(", ")
        );
    }
}

/// After a test run: drops the copies passed tests put aside (`testdb` renames them rather than
/// drop them at once: deleting a copy's files slowed the copies of the tests still running).
/// Their processes have ended, so nothing is in them; one that is (a user's session) stays for
/// the next run. Returns what stays a leftover.
pub async fn drop_trash(database: &mut Database, found: Vec<Leftover>) -> Result<Vec<Leftover>> {
    let (trash, rest): (Vec<Leftover>, Vec<Leftover>) =
        found.into_iter().partition(|leftover| leftover.kind == Kind::PassedTestTrash);
    if trash.is_empty() {
        return Ok(rest);
    }
    note!("Dropping the databases of {} passed test(s)", trash.len());
    let conn = database.maintenance().await?;
    for leftover in &trash {
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&leftover.name));
        match conn.execute(AssertSqlSafe(sql)).await {
            Ok(_) => {}
            Err(err) if admin::sql_state(&err).as_deref() == Some("55006") => {
                note!("Kept {}: in use (the next run drops it)", leftover.name)
            }
            Err(err) => return Err(err).with_context(|| format!("drop {}", leftover.name)),
        }
    }
    Ok(rest)
}

pub async fn drop_all(database: &mut Database, found: &[Leftover]) -> Result<()> {
    let conn = database.maintenance().await?;
    let mut dropped = 0;
    for leftover in found {
        let name = quote_ident(&leftover.name);
        // A CLI test's migration may have made it a template (`IS_TEMPLATE true`), which DROP
        // refuses: that once kept such fixtures on the dev server after every run.
        let sql = format!("DROP DATABASE IF EXISTS {name}");
        let mut result = conn.execute(AssertSqlSafe(sql.clone())).await;
        if result.as_ref().err().and_then(admin::sql_state).as_deref() == Some("42809") {
            conn.execute(AssertSqlSafe(format!("ALTER DATABASE {name} IS_TEMPLATE false")))
                .await
                .with_context(|| format!("unmark {} as a template", leftover.name))?;
            result = conn.execute(AssertSqlSafe(sql)).await;
        }
        match result {
            Ok(_) => {
                out!("Dropped {}", leftover.name);
                dropped += 1;
            }
            // In use (a test running in another terminal): its test drops it, or the next run.
            Err(err) if admin::sql_state(&err).as_deref() == Some("55006") => {
                note!("Kept {}: in use", leftover.name)
            }
            Err(err) => return Err(err).with_context(|| format!("drop {}", leftover.name)),
        }
    }
    note!("Dropped {dropped} test database(s)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Kind, classify, made_by_a_running_process};

    /// A running process's copy or trash is its own (its tests still run); an ended one's is a
    /// leftover. Process ids beyond Linux's limit (2^22) belong to no running process.
    #[test]
    fn a_running_processs_test_databases_are_no_leftovers() {
        let me = std::process::id();
        for name in [format!("fleet_dev__test_{me}_0"), format!("fleet_dev__test_trash_{me}_16384")] {
            assert!(made_by_a_running_process("fleet_dev", &name), "{name}");
        }
        for name in ["fleet_dev__test_4999999_0", "fleet_dev__test_trash_4999999_16384"] {
            assert!(!made_by_a_running_process("fleet_dev", name), "{name}");
        }
    }

    #[test]
    fn test_databases_are_told_from_everything_else() {
        assert_eq!(classify("fleet_dev", "fleet_dev__test_4242_0"), Some(Kind::FailedTestCopy));
        assert_eq!(classify("fleet_dev", "fleet_dev__test_trash_4242_16384"), Some(Kind::PassedTestTrash));
        assert_eq!(classify("fleet_dev", "fleet_dev__test_tpl_00000000000000ab"), Some(Kind::TestTemplate));
        assert_eq!(classify("fleet_dev", "fleet_dev__test_tx_00000000000000ab"), Some(Kind::TestTemplate));
        assert_eq!(classify("fleet_dev", "_sqlx_test_abc"), Some(Kind::SqlxTest));
        assert_eq!(classify("fleet_dev", "xt_eq_1234_5"), Some(Kind::CliFixture));
        assert_eq!(classify("fleet_dev", "xt_eq_1234_5__xtask_c__xtask_old"), Some(Kind::CliFixture));
        for other in ["fleet_dev", "fleet_dev__xtask_old", "postgres", "xt_", "xt_notes", "xt_a_b_c", "other__test_1_2"]
        {
            assert_eq!(classify("fleet_dev", other), None, "{other}");
        }
    }
}

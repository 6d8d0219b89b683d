//! What migrations leave set in their session. sqlx applies every pending migration on one
//! connection, so a session-level `SET search_path = app, public` (not `SET LOCAL`) reaches the
//! migrations applied after it in the same run, and not those of the next run: a database
//! migrated in two runs can differ from one built in one. Drift names such a migration rather
//! than blaming a hand for what it did.

use crate::migrations::MigrationFile;
use dbfiles::statements;

/// A statement that sets something for the rest of its session.
#[derive(Debug, PartialEq, Eq)]
pub struct SessionSetting {
    /// `db/migrations/20260101000000_app.sql:2`.
    pub place: String,
    /// The statement's first line: `SET search_path = app, public`.
    pub statement: String,
}

/// Every statement of `files` that sets session state beyond its transaction: `SET` (not `SET
/// LOCAL`, nor the transaction's own `SET TRANSACTION` and `SET CONSTRAINTS`), and
/// `set_config(…)` (whose third argument may say `false`: for the session).
pub fn settings(files: &[MigrationFile]) -> Vec<SessionSetting> {
    let mut found = Vec::new();
    for file in files {
        let sql = file.migration.sql.as_str();
        let Ok(statements) = statements::split(sql) else { continue };
        for statement in statements {
            if sets_session_state(statement.text) {
                let line = sql[..statement.offset].matches('\n').count() + 1;
                let first = statement.text.lines().next().unwrap_or("").trim().trim_end_matches(';');
                found.push(SessionSetting { place: format!("{}:{line}", file.shown), statement: first.to_owned() });
            }
        }
    }
    found
}

fn sets_session_state(statement: &str) -> bool {
    let words: Vec<String> = statement.split_whitespace().take(2).map(|w| w.to_ascii_uppercase()).collect();
    let set = words.first().is_some_and(|w| w == "SET")
        && !words.get(1).is_some_and(|w| matches!(w.as_str(), "LOCAL" | "TRANSACTION" | "CONSTRAINTS"));
    set || statement.to_ascii_lowercase().contains("set_config(")
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_what_outlives_its_transaction() {
        for (statement, sets) in [
            ("SET search_path = app, public", true),
            ("set  statement_timeout to 1", true),
            ("SET SESSION search_path TO app", true),
            ("SET ROLE admin", true),
            ("SELECT pg_catalog.set_config('search_path', '', false)", true),
            ("SET LOCAL search_path = app", false),
            ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false),
            ("SET CONSTRAINTS ALL DEFERRED", false),
            ("UPDATE t SET a = 1", false),
            ("ALTER TABLE t ALTER a SET DEFAULT 1", false),
        ] {
            assert_eq!(super::sets_session_state(statement), sets, "{statement}");
        }
    }
}

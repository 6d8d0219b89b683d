//! No silent waits: while a command runs, a watcher looks every few seconds for sessions of this
//! process that wait for a lock, and says once what each waits for and who holds it. Every
//! session also has a `lock_timeout`, so no wait is without a bound.
//!
//! Sessions are told apart by their `application_name`, which carries this process's id
//! (`cargo xtask db-reset (process 4242)`); the server is the one the first connection reached.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::Result;
use sqlx::PgConnection;

use super::{Target, connect, named_lock};

/// How long a wait goes unmentioned, unless `XTASK_LOCK_WAIT_PATIENCE_MS` says otherwise: long
/// enough that a lock held for a moment is not worth a line.
const PATIENCE: Duration = Duration::from_secs(3);

/// `XTASK_LOCK_WAIT_PATIENCE_MS`, read from the environment only: the CLI tests of waits set it
/// low, so that they see the line in a fraction of a second instead of sleeping past 3 s.
const PATIENCE_VARIABLE: &str = "XTASK_LOCK_WAIT_PATIENCE_MS";

/// The patience `value` (the variable's text, if set) asks for, or why it is not a number.
fn patience_from(value: Option<&str>) -> Result<Duration, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(PATIENCE),
        Some(text) => match text.parse::<u64>() {
            Ok(millis) if millis > 0 => Ok(Duration::from_millis(millis)),
            _ => Err(format!(
                "{PATIENCE_VARIABLE} is {text:?}; set it to a number of milliseconds above 0 (using {} ms)",
                PATIENCE.as_millis()
            )),
        },
    }
}

/// How long any session waits for a lock before its statement fails (PostgreSQL's
/// `lock_timeout`).
pub const LOCK_TIMEOUT: &str = "5min";

/// The maintenance database of the server this process talks to.
static SERVER: Mutex<Option<Target>> = Mutex::new(None);

/// Remembers the server a connection reached, for the watcher's probes.
pub fn register(target: &Target) {
    let mut server = SERVER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if server.is_none() {
        *server = Some(target.maintenance());
    }
}

/// The command this process runs, as its sessions name it.
static COMMAND: OnceLock<String> = OnceLock::new();

/// Names every session this process opens after `command` (set once, by `main`).
pub fn name_sessions_after(command: &str) {
    COMMAND.set(command.to_owned()).ok();
}

/// `application_name` of this process's sessions: the command and the process id, so
/// `pg_stat_activity` shows who holds a lock, and the watcher finds this process's own waits.
pub fn application_name() -> String {
    let command = COMMAND.get().map_or("xtask", String::as_str);
    format!("cargo xtask {command} (process {})", std::process::id())
}

/// Runs for as long as the command does, reporting each new wait on stderr; never returns.
pub async fn watch() -> Infallible {
    let value = std::env::var(PATIENCE_VARIABLE).ok();
    // The watcher cannot fail the command it watches: a bad value is said and the default kept.
    let patience = patience_from(value.as_deref()).unwrap_or_else(|problem| {
        eprintln!("warning: {problem}");
        PATIENCE
    });
    let mut reported = HashSet::new();
    loop {
        tokio::time::sleep(patience).await;
        let server = SERVER.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let Some(server) = server else { continue };
        // A probe that fails says nothing: the command's own error will.
        if let Ok(waits) = probe(&server).await {
            for wait in waits {
                if reported.insert((wait.waiter, wait.blocker)) {
                    eprintln!(
                        "Waiting for {} in database {}: held by pid {} ({}) since {}; giving up after {LOCK_TIMEOUT}",
                        wait.lock, wait.database, wait.blocker, wait.application, wait.since
                    );
                }
            }
        }
    }
}

struct Wait {
    waiter: i32,
    database: String,
    lock: String,
    blocker: i32,
    application: String,
    since: String,
}

type WaitRow = (i32, String, String, Option<i64>, Option<i64>, Option<i16>, String, i32, String, String);

/// This process's sessions that wait for a lock, each with a session that holds it.
async fn probe(server: &Target) -> Result<Vec<Wait>> {
    let mut conn = connect::connect(server).await?;
    let rows: Vec<WaitRow> = sqlx::query_as(
        "SELECT w.pid, coalesce(w.datname::text, ''), l.locktype, l.relation::int8, l.classid::int8, l.objsubid, \
                l.mode, b.pid, coalesce(nullif(b.application_name, ''), 'no application_name'), \
                to_char(coalesce(b.xact_start, b.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') \
         FROM pg_stat_activity w \
         JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted \
         CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid) \
         JOIN pg_stat_activity b ON b.pid = blocking.pid \
         WHERE w.application_name LIKE '%' || $1 \
         ORDER BY w.pid, b.pid",
    )
    .bind(format!("(process {})", std::process::id()))
    .fetch_all(&mut conn)
    .await?;
    let mut waits = Vec::with_capacity(rows.len());
    for (waiter, database, locktype, relation, classid, objsubid, mode, blocker, application, since) in rows {
        let lock = match (locktype.as_str(), relation, classid, objsubid) {
            ("relation", Some(relation), ..) => {
                let name =
                    relation_name(server, &database, relation).await.unwrap_or_else(|| format!("oid {relation}"));
                format!("a lock on {name} ({mode})")
            }
            ("advisory", _, Some(class), Some(sub)) if named_lock::is_named_lock(class, sub) => {
                "the reset lock (another db-reset of this database, or a db-check or db-status building its schema)"
                    .to_owned()
            }
            ("advisory", ..) => "the migration lock (sqlx's advisory lock)".to_owned(),
            ("transactionid" | "virtualxid", ..) => "another transaction to end".to_owned(),
            (other, ..) => format!("a lock on a {other} ({mode})"),
        };
        waits.push(Wait { waiter, database, lock, blocker, application, since });
    }
    Ok(waits)
}

/// The name of a table or index, asked of its own database.
async fn relation_name(server: &Target, database: &str, oid: i64) -> Option<String> {
    let mut conn: PgConnection = connect::connect(&server.with_database(database)).await.ok()?;
    sqlx::query_scalar("SELECT $1::oid::regclass::text").bind(oid).fetch_one(&mut conn).await.ok()
}

#[cfg(test)]
mod tests {
    use super::{PATIENCE, patience_from};
    use std::time::Duration;

    #[test]
    fn the_patience_is_three_seconds_unless_the_variable_says_otherwise() {
        assert_eq!(patience_from(None), Ok(PATIENCE));
        assert_eq!(PATIENCE, Duration::from_secs(3));
        assert_eq!(patience_from(Some("")), Ok(PATIENCE));
        assert_eq!(patience_from(Some("150")), Ok(Duration::from_millis(150)));
        for bad in ["0", "-5", "3s", "soon"] {
            let problem = patience_from(Some(bad)).unwrap_err();
            assert!(problem.contains("XTASK_LOCK_WAIT_PATIENCE_MS") && problem.contains("milliseconds"), "{problem}");
        }
    }
}

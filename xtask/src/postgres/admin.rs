//! Statements on whole databases, run from a connection to the maintenance database.
//!
//! Database names can't be bound as parameters in DDL, so they are quoted as identifiers.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

const DUPLICATE_DATABASE: &str = "42P04";
/// A database that still has sessions.
const OBJECT_IN_USE: &str = "55006";
const UNKNOWN_DATABASE: &str = "3D000";
/// What a `CREATE DATABASE` that loses a race against another one reports.
const UNIQUE_VIOLATION: &str = "23505";

/// PostgreSQL's limit on identifier length, in bytes.
const MAX_IDENTIFIER: usize = 63;

/// The longest start of `base` that leaves `room` bytes for a suffix within PostgreSQL's
/// identifier limit, cut on a character boundary.
pub fn fit_identifier(base: &str, room: usize) -> &str {
    let mut keep = base.len().min(MAX_IDENTIFIER - room);
    while !base.is_char_boundary(keep) {
        keep -= 1;
    }
    &base[..keep]
}

/// `"name"` with inner quotes doubled: safe for any name, however odd.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub async fn exists(conn: &mut PgConnection, database: &str) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(conn)
        .await
        .with_context(|| format!("look up database {database}"))
}

pub async fn create(conn: &mut PgConnection, database: &str) -> Result<()> {
    let sql = format!("CREATE DATABASE {}", quote_ident(database));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("create database {database}"))?;
    Ok(())
}

/// The SQLSTATE of a server error, if `err` is one.
fn sql_state(err: &sqlx::Error) -> Option<std::borrow::Cow<'_, str>> {
    err.as_database_error().and_then(|err| err.code())
}

/// True when `err` says the database to be created already exists.
pub fn is_duplicate_database(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sqlx::Error>().and_then(sql_state).as_deref() == Some(DUPLICATE_DATABASE)
}

/// Creates the database unless it exists; true when this call created it. Several processes
/// may race to create it (eight `db-migrate`s started at once): losing that race is fine.
pub async fn create_if_missing(conn: &mut PgConnection, database: &str) -> Result<bool> {
    if exists(conn, database).await? {
        return Ok(false);
    }
    let sql = format!("CREATE DATABASE {}", quote_ident(database));
    match conn.execute(AssertSqlSafe(sql)).await {
        Ok(_) => Ok(true),
        Err(err) if matches!(sql_state(&err).as_deref(), Some(DUPLICATE_DATABASE | UNIQUE_VIOLATION)) => Ok(false),
        Err(err) => Err(err).with_context(|| format!("create database {database}")),
    }
}

/// Drops the database if it exists, disconnecting anyone still using it: a dev database left
/// open in a SQL console must not block a reset.
pub async fn drop_force(conn: &mut PgConnection, database: &str) -> Result<()> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(database));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("drop database {database}"))?;
    Ok(())
}

/// Puts `replacement` in the place of `database` in one transaction, renaming the old one to
/// `previous` (which must not exist): nobody ever finds the name missing. RENAME, unlike DROP …
/// WITH (FORCE), cannot end the sessions in the database itself, so they are ended first; one
/// that connects in between makes the rename fail, and the step is tried again.
pub async fn swap(conn: &mut PgConnection, database: &str, replacement: &str, previous: &str) -> Result<()> {
    const ATTEMPTS: u32 = 5;
    // Both renames in one simple query: one implicit transaction, one round trip.
    let renames = format!(
        "ALTER DATABASE {} RENAME TO {}; ALTER DATABASE {} RENAME TO {}",
        quote_ident(database),
        quote_ident(previous),
        quote_ident(replacement),
        quote_ident(database)
    );
    for attempt in 1..=ATTEMPTS {
        end_sessions(conn, database).await?;
        let err = match conn.execute(sqlx::raw_sql(AssertSqlSafe(renames.clone()))).await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        match sql_state(&err).as_deref() {
            // Nothing to replace (the first reset): the new database simply takes the name.
            Some(UNKNOWN_DATABASE) => return rename(conn, replacement, database).await,
            Some(OBJECT_IN_USE) if attempt < ATTEMPTS => continue,
            _ => return Err(err).with_context(|| format!("rename {replacement} to {database}")),
        }
    }
    unreachable!("the last attempt returns")
}

/// Ends every other session in `database` and waits (up to two seconds) until they are gone.
/// Polling for them is faster than what DROP … WITH (FORCE) does: it sleeps 100 ms whenever it
/// finds a session, even one already on its way out.
async fn end_sessions(conn: &mut PgConnection, database: &str) -> Result<()> {
    let mut sessions: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("end the sessions in database {database}"))?;
    for _ in 0..2000 {
        if sessions == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        sessions = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(database)
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("count the sessions in database {database}"))?;
    }
    Ok(())
}

/// Writes every dirty page to disk now (`CHECKPOINT`), rather than inside a later command.
pub async fn checkpoint(conn: &mut PgConnection) -> Result<()> {
    conn.execute("CHECKPOINT").await.context("checkpoint")?;
    Ok(())
}

pub async fn rename(conn: &mut PgConnection, from: &str, to: &str) -> Result<()> {
    let sql = format!("ALTER DATABASE {} RENAME TO {}", quote_ident(from), quote_ident(to));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("rename database {from} to {to}"))?;
    Ok(())
}

/// The databases whose names start with `prefix`, such as scratch copies left by a reset that was
/// killed. `LIKE` would treat `_` in the prefix as a wildcard, so this compares a plain prefix.
pub async fn with_prefix(conn: &mut PgConnection, prefix: &str) -> Result<Vec<String>> {
    sqlx::query_scalar("SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY datname")
        .bind(prefix)
        .fetch_all(conn)
        .await
        .context("list databases")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_identifiers() {
        assert_eq!(super::quote_ident(r#"we"ird"#), r#""we""ird""#);
    }
}

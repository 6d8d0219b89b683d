//! Statements on whole databases, run from a connection to the maintenance database.
//!
//! Database names can't be bound as parameters in DDL, so they are quoted as identifiers.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

const DUPLICATE_DATABASE: &str = "42P04";
/// What a `CREATE DATABASE` that loses a race against another one reports.
const UNIQUE_VIOLATION: &str = "23505";

pub use dbfiles::names::fit_identifier;

/// `"name"` with inner quotes doubled: safe for any name, however odd.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Refuses to drop or replace the databases every server needs: the maintenance database the
/// xtask works from, and the templates new databases are copied from.
pub fn refuse_system_database(database: &str, command: &str) -> Result<()> {
    if matches!(database, "postgres" | "template0" | "template1") {
        anyhow::bail!(
            "`{command}` would drop and replace {database}, a database every PostgreSQL server needs; \
             name your own database in DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/my_dev_db)"
        );
    }
    Ok(())
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
pub fn sql_state(err: &sqlx::Error) -> Option<std::borrow::Cow<'_, str>> {
    err.as_database_error().and_then(|err| err.code())
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

/// Opens a kept database to connections (PostgreSQL's ALLOW_CONNECTIONS), for a read or a copy.
pub async fn open_to_connections(conn: &mut PgConnection, database: &str) -> Result<()> {
    set_allow_connections(conn, database, "true").await.with_context(|| format!("open {database} to connections"))
}

/// Closes a database to connections. A scratch build a command keeps between runs stays closed,
/// so nobody changes it by hand (a GUI lists every database) and the next run can trust it.
pub async fn close_to_connections(conn: &mut PgConnection, database: &str) -> Result<()> {
    set_allow_connections(conn, database, "false").await.with_context(|| format!("close {database} to connections"))
}

async fn set_allow_connections(conn: &mut PgConnection, database: &str, allow: &str) -> Result<()> {
    let statement = format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {allow}", quote_ident(database));
    conn.execute(AssertSqlSafe(statement)).await?;
    Ok(())
}

/// The label (comment) a finished build left on a kept database, when it exists and is closed
/// to connections: a database without one, or open, is never taken as built.
pub async fn label_if_closed(conn: &mut PgConnection, database: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1 AND NOT datallowconn",
    )
    .bind(database)
    .fetch_optional(conn)
    .await
    .ok()
    .flatten()
    .flatten()
}

/// Labels a database with what it was built from (its comment). The label is written by the
/// xtask from hex digits and counts only.
pub async fn label(conn: &mut PgConnection, database: &str, label: &str) -> Result<()> {
    let statement = format!("COMMENT ON DATABASE {} IS '{}'", quote_ident(database), label.replace('\'', "''"));
    conn.execute(AssertSqlSafe(statement)).await.with_context(|| format!("label {database}"))?;
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

/// Drops every database whose name starts with `prefix` (a dev database's reset cache, say);
/// returns their names.
pub async fn drop_all_with_prefix(conn: &mut PgConnection, prefix: &str) -> Result<Vec<String>> {
    let databases = with_prefix(conn, prefix).await?;
    for database in &databases {
        drop_force(conn, database).await?;
    }
    Ok(databases)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_identifiers() {
        assert_eq!(super::quote_ident(r#"we"ird"#), r#""we""ird""#);
    }
}

//! What a database has applied: the rows of sqlx's `_sqlx_migrations` table.

use anyhow::{Context, Result};
use sqlx::PgConnection;

use crate::postgres::Database;

pub const TABLE: &str = "_sqlx_migrations";

pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
    pub checksum: Vec<u8>,
    pub success: bool,
    /// `2026-11-25 15:00:00 UTC`, formatted by the server so the xtask needs no date crate.
    pub installed_on: String,
    /// How long the migration took; sqlx stores nanoseconds, and -1 when unknown.
    pub execution_nanos: i64,
}

/// PostgreSQL's SQLSTATE for a table that does not exist.
const UNDEFINED_TABLE: &str = "42P01";

/// The applied migrations in version order; none when the table doesn't exist yet. One round
/// trip: a no-op `db-migrate` or `db-status` is mostly this query.
pub async fn read(conn: &mut PgConnection) -> Result<Vec<AppliedMigration>> {
    let rows: Vec<(i64, String, Vec<u8>, bool, String, i64)> = match sqlx::query_as(
        "SELECT version, description, checksum, success, \
                to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), execution_time \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(conn)
    .await
    {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some(UNDEFINED_TABLE) => return Ok(Vec::new()),
        Err(err) => return Err(err).context("read _sqlx_migrations"),
    };
    Ok(rows
        .into_iter()
        .map(|(version, description, checksum, success, installed_on, execution_nanos)| AppliedMigration {
            version,
            description,
            checksum,
            success,
            installed_on,
            execution_nanos,
        })
        .collect())
}

/// What the dev database of `database` has applied, read on its open session; `None` when it does
/// not exist.
pub async fn of(database: &mut Database) -> Result<Option<Vec<AppliedMigration>>> {
    match database.open_dev() {
        Some(dev) => Ok(Some(read(dev).await?)),
        None => Ok(None),
    }
}

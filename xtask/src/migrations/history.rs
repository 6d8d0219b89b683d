//! What a database has applied: the rows of sqlx's `_sqlx_migrations` table.

use anyhow::{Context, Result};
use sqlx::{PgConnection, Row};

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

/// The applied migrations in version order; none when the table doesn't exist yet.
pub async fn read(conn: &mut PgConnection) -> Result<Vec<AppliedMigration>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(TABLE)
        .fetch_one(&mut *conn)
        .await
        .context("look for the migrations table")?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT version, description, checksum, success, \
                to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') AS installed_on, \
                execution_time \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(conn)
    .await
    .context("read _sqlx_migrations")?;
    rows.iter()
        .map(|row| {
            Ok(AppliedMigration {
                version: row.try_get("version")?,
                description: row.try_get("description")?,
                checksum: row.try_get("checksum")?,
                success: row.try_get("success")?,
                installed_on: row.try_get("installed_on")?,
                execution_nanos: row.try_get("execution_time")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("read _sqlx_migrations: unexpected columns")
}

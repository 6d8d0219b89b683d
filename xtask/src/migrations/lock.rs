//! sqlx's migration lock: the session-level advisory lock sqlx takes (keyed on the database
//! name), so the xtask, `sqlx-cli` and the application's `Migrator::run` all wait for each other.
//! A long wait is reported, with who holds the lock, by `postgres::waits`.

use anyhow::{Context, Result};
use sqlx::PgConnection;
use sqlx::migrate::Migrate;

/// Takes the lock on `database`, the database `conn` is connected to.
pub async fn acquire(conn: &mut PgConnection, database: &str) -> Result<()> {
    conn.lock().await.with_context(|| format!("take the migration lock on {database}"))
}

/// Releases one hold of the lock on `database` (sqlx's lock is counted: each `acquire` needs one).
pub async fn release(conn: &mut PgConnection, database: &str) -> Result<()> {
    conn.unlock().await.with_context(|| format!("release the migration lock on {database}"))
}

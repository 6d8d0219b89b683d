//! The swap that ends a reset: the new database takes the dev database's name in one
//! transaction, and the old one is kept aside until the next reset.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use crate::postgres::admin::{quote_ident, rename, sql_state};

/// A database that still has sessions.
const OBJECT_IN_USE: &str = "55006";
const UNKNOWN_DATABASE: &str = "3D000";

/// Puts `replacement` in the place of `database` in one transaction, renaming the old one to
/// `previous` (which must not exist): nobody ever finds the name missing. RENAME, unlike DROP …
/// WITH (FORCE), cannot end the sessions in the database itself, so they are ended first; one
/// that connects in between makes the rename fail, and the step is tried again.
pub async fn swap(conn: &mut PgConnection, database: &str, replacement: &str, previous: &str) -> Result<()> {
    const ATTEMPTS: u32 = 5;
    // The swap's commit waits for the write-ahead log whatever the server's default (the local
    // cluster runs with synchronous_commit = off), so a reset reported done survives a crash of
    // the server, or its immediate stop. Set for the session, so the first reset's single rename
    // (after the pair failed) waits too.
    conn.execute("SET synchronous_commit = on").await.context("make the swap durable")?;
    // Both renames in one simple query: one implicit transaction, one round trip.
    let renames = format!(
        "ALTER DATABASE {} RENAME TO {}; ALTER DATABASE {} RENAME TO {}",
        quote_ident(database),
        quote_ident(previous),
        quote_ident(replacement),
        quote_ident(database)
    );
    let mut attempt = 1;
    loop {
        end_sessions(conn, database).await?;
        let err = match conn.execute(sqlx::raw_sql(AssertSqlSafe(renames.clone()))).await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        match sql_state(&err).as_deref() {
            // Nothing to replace (the first reset): the new database simply takes the name.
            Some(UNKNOWN_DATABASE) => return rename(conn, replacement, database).await,
            Some(OBJECT_IN_USE) if attempt < ATTEMPTS => attempt += 1,
            _ => return Err(err).with_context(|| format!("rename {replacement} to {database}")),
        }
    }
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

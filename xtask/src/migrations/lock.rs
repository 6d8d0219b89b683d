//! sqlx's migration lock, with a word about who holds it when the wait gets long.
//!
//! The lock is the session-level advisory lock sqlx takes (keyed on the database name), so the
//! xtask, `sqlx-cli` and the application's `Migrator::run` all wait for each other.

use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::PgConnection;
use sqlx::migrate::Migrate;

use crate::postgres::{Target, connect};

/// How long to wait quietly before saying who holds the lock.
const PATIENCE: Duration = Duration::from_secs(3);

/// Takes the lock on the database `conn` is connected to (`target`), waiting as long as it takes.
pub async fn acquire(conn: &mut PgConnection, target: &Target) -> Result<()> {
    let database = target.database();
    let lock = conn.lock();
    tokio::pin!(lock);
    tokio::select! {
        taken = &mut lock => return taken.with_context(|| format!("take the migration lock on {database}")),
        () = tokio::time::sleep(PATIENCE) => {}
    }
    match holders(target).await {
        Ok(holders) if !holders.is_empty() => {
            for (pid, application, since) in holders {
                let application = if application.is_empty() { "no application_name".to_owned() } else { application };
                println!(
                    "Waiting for the migration lock on {database}: held by pid {pid} ({application}) since {since}"
                );
            }
        }
        _ => println!("Waiting for the migration lock on {database}"),
    }
    lock.await.with_context(|| format!("take the migration lock on {database}"))
}

/// The sessions holding an advisory lock in the database: pid, application_name, and since when
/// (the start of their transaction, else of their connection).
async fn holders(target: &Target) -> Result<Vec<(i32, String, String)>> {
    let mut probe = connect::connect(target, "lock probe").await?;
    sqlx::query_as(
        "SELECT a.pid, coalesce(a.application_name, ''), \
                to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         ORDER BY a.pid",
    )
    .fetch_all(&mut probe)
    .await
    .context("look up who holds the migration lock")
}

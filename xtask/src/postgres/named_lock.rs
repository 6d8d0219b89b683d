//! An advisory lock keyed by a database's name, held by a session in the maintenance database:
//! one reset at a time per dev database (two at once would drop each other's scratch database
//! and race at the swap; the second waits here instead, and after a few seconds the lock-wait
//! reporter says who it waits for), and one build at a time of each database the xtask keeps
//! beside it (`db-check` and `db-status` key it on their schema build, `db-check`'s trace on its
//! copy).

use anyhow::{Context, Result};
use sqlx::PgConnection;

/// The advisory lock's first key: "xt". sqlx's migration lock uses the one-key form, so the two
/// never collide.
const RESET_LOCK_CLASS: i32 = 0x7874;

/// Takes the reset lock for `database` at once, if no other reset holds it, on a session in the
/// maintenance database, which every reset of that dev database connects to. Held until that
/// session closes.
pub async fn try_acquire(admin: &mut PgConnection, database: &str) -> Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
        .bind(RESET_LOCK_CLASS)
        .bind(database)
        .fetch_one(admin)
        .await
        .with_context(|| format!("take the reset lock of {database}"))
}

/// Waits for the reset lock for `database` (see `try_acquire`).
pub async fn acquire(admin: &mut PgConnection, database: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
        .bind(RESET_LOCK_CLASS)
        .bind(database)
        .execute(admin)
        .await
        .with_context(|| format!("wait for other resets of {database} to finish"))?;
    Ok(())
}

/// Releases the reset lock for `database`, taken by `try_acquire` or `acquire` on this session.
pub async fn release(admin: &mut PgConnection, database: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
        .bind(RESET_LOCK_CLASS)
        .bind(database)
        .execute(admin)
        .await
        .with_context(|| format!("release the reset lock of {database}"))?;
    Ok(())
}

/// True for the lock `acquire` takes, as `pg_locks` shows it.
pub fn is_named_lock(classid: i64, objsubid: i16) -> bool {
    classid == i64::from(RESET_LOCK_CLASS) && objsubid == 2
}

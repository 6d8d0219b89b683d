//! How a backend that starts its own server gets the dev database, the same for Docker and the
//! local cluster: the common case costs one connection and no child process.

use std::path::Path;

use anyhow::Result;

use crate::lock_file;
use crate::postgres::Database;

/// The dev database on the server `reach` finds (the one this checkout ran last time, still
/// answering as itself), else on the one `start` finds or starts. Starting is one command's job
/// at a time: several commands started together in a fresh checkout would race in initdb,
/// pg_ctl or `docker compose up`. So `start` runs under the checkout's `lock` (announced as
/// starting `what` to a command that waits), after asking `reach` again: the others wait, then
/// find the server the first one started.
pub async fn reach_or_start(
    lock: &Path,
    what: &str,
    reach: impl AsyncFn() -> Option<Database>,
    start: impl AsyncFnOnce() -> Result<Database>,
) -> Result<Database> {
    if let Some(database) = reach().await {
        return Ok(database);
    }
    let _starting = lock_file::take(lock, what).await?;
    if let Some(database) = reach().await {
        return Ok(database);
    }
    start().await
}

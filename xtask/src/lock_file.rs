//! Lock files in `.xtask/`: one command at a time starts a checkout's server (several commands
//! started together in a fresh checkout would otherwise race in initdb or `docker compose up`),
//! and one `db-new` at a time picks a version.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::output::note;

/// The lock file at `path`, made with its folder if needed; `File::lock` on it takes the lock,
/// held while the file stays open.
pub fn open(path: &Path) -> Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))
}

/// An exclusive lock on `path`, held while the returned file stays open. Taken without blocking
/// the runtime, so Ctrl-C still works while waiting; after a few seconds the wait is announced.
pub async fn take(path: &Path, what: &str) -> Result<std::fs::File> {
    let file = open(path)?;
    let started = Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                if !said && started.elapsed() > Duration::from_secs(3) {
                    note!("Waiting for another command that is starting {what}");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("lock {}", path.display()));
            }
        }
    }
}

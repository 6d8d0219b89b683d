//! One command at a time starts a checkout's server: several commands started together in a
//! fresh checkout would otherwise race in initdb or `docker compose up` ("directory exists but
//! is not empty", "container name already in use"). The others wait, then find it running.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::output::note;

/// An exclusive lock on `path`, held while the returned file stays open. Taken without blocking
/// the runtime, so Ctrl-C still works while waiting; after a few seconds the wait is announced.
pub async fn take(path: &Path, what: &str) -> Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
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

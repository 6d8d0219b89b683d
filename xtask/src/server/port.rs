//! The dev server's host port: one per checkout, chosen once and remembered.

use std::net::TcpListener;
use std::path::Path;

use crate::output::note;
use anyhow::{Context, Result, bail};

const RANGE_START: u16 = 20_000;
const RANGE_LEN: u16 = 10_000;

/// `POSTGRES_PORT` when set; else the port this checkout used before, while it is free; else a
/// free port derived from the checkout's path (so two clones get different ones), written to
/// `remembered` so URLs in the developer's tools stay valid.
pub fn choose(pinned: Option<u16>, remembered: &Path, fingerprint: u64) -> Result<u16> {
    if let Some(port) = pinned {
        if !is_free(port) {
            bail!("port {port} (POSTGRES_PORT) is in use by another program; choose another port in .env");
        }
        return Ok(port);
    }
    let previous = std::fs::read_to_string(remembered).ok().and_then(|text| text.trim().parse::<u16>().ok());
    if let Some(port) = previous.filter(|&port| is_free(port)) {
        return Ok(port);
    }
    let preferred = (fingerprint % u64::from(RANGE_LEN)) as u16;
    let port = (0..RANGE_LEN)
        .map(|offset| RANGE_START + (preferred + offset) % RANGE_LEN)
        .find(|&port| is_free(port))
        .context("no free port between 20000 and 29999 on 127.0.0.1; set POSTGRES_PORT in .env")?;
    if let Some(old) = previous {
        note!("Port {old} is taken by another program now; the dev server moves to {port}");
    }
    if let Some(dir) = remembered.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(remembered, format!("{port}\n")).with_context(|| format!("write {}", remembered.display()))?;
    Ok(port)
}

pub fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

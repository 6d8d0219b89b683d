//! Finding the machine's PostgreSQL server binaries (`initdb`, `pg_ctl`).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::postgres::install;

/// The newest server binaries: `pg_config --bindir`, then `PATH`, then Debian's and Ubuntu's
/// `/usr/lib/postgresql/<major>/bin`.
pub fn find(sh: &Shell) -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(bindir) = cmd!(sh, "pg_config --bindir").quiet().ignore_stderr().read() {
        let bindir = PathBuf::from(bindir.trim());
        if has_server(&bindir) {
            return Ok(bindir);
        }
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_server(dir))
    {
        return Ok(dir);
    }
    match install::newest_debian_bindir(&["initdb", "pg_ctl"]) {
        Some(bin) => Ok(bin),
        None => bail!(
            "no PostgreSQL server binaries found (looked at `pg_config --bindir`, PATH and /usr/lib/postgresql/*/bin): \
             install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql`), \
             or set DATABASE_URL to a server you already have"
        ),
    }
}

//! Which account runs the cluster's commands, and the file operations done as that account.
//!
//! `initdb` and `postgres` refuse to run as root, so as root every server command runs as the
//! `postgres` account through `runuser`. Everything written, read or removed inside the
//! cluster's folder then goes through that account too: a link it planted there can never make
//! root write, read or delete somewhere else.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

const SERVICE_ACCOUNT: &str = "postgres";

/// How server commands run: as ourselves, or through `runuser` as the service account.
pub enum RunAs {
    Me,
    Account(String),
}

/// How `RunAs::write` treats a file that is already there.
#[derive(Clone, Copy)]
pub enum Write {
    Replace,
    Append,
}

impl RunAs {
    /// Ourselves, unless we are root: then the `postgres` account, which must exist.
    pub fn for_this_process(sh: &Shell) -> Result<RunAs> {
        let uid = cmd!(sh, "id -u").quiet().read().context("find out which user this is (id -u)")?;
        if uid.trim() != "0" {
            return Ok(RunAs::Me);
        }
        if cmd!(sh, "id -u {SERVICE_ACCOUNT}").quiet().ignore_stdout().ignore_stderr().run().is_err() {
            bail!(
                "running as root, but initdb and postgres refuse to run as root and there is no `{SERVICE_ACCOUNT}` \
                 account to run them as: create one (`useradd --system {SERVICE_ACCOUNT}`) or run as a normal user"
            );
        }
        Ok(RunAs::Account(SERVICE_ACCOUNT.to_owned()))
    }

    /// `program`, run as this account.
    pub fn command<'a>(&self, sh: &'a Shell, program: PathBuf) -> Cmd<'a> {
        match self {
            RunAs::Me => sh.cmd(program),
            RunAs::Account(account) => cmd!(sh, "runuser -u {account} --").arg(program),
        }
    }

    /// Writes (or appends to) a file inside the cluster's folder as the account that owns it: as
    /// root, anything written there goes through `runuser … tee`.
    pub fn write(&self, sh: &Shell, path: &Path, text: &str, how: Write) -> Result<()> {
        let append = matches!(how, Write::Append);
        match self {
            RunAs::Me => {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(append)
                    .write(true)
                    .truncate(!append)
                    .open(path)
                    .with_context(|| format!("open {}", path.display()))?;
                std::io::Write::write_all(&mut file, text.as_bytes())
                    .with_context(|| format!("write {}", path.display()))
            }
            RunAs::Account(account) => {
                let append = if append { Some("--append") } else { None };
                cmd!(sh, "runuser -u {account} -- tee {append...} {path}")
                    .stdin(text)
                    .quiet()
                    .ignore_stdout()
                    .run()
                    .with_context(|| format!("write {} as {account}", path.display()))
            }
        }
    }

    /// A folder only the cluster's owner may enter, made by that owner.
    pub fn make_private_dir(&self, sh: &Shell, dir: &Path) -> Result<()> {
        match self {
            RunAs::Me => create_private_dir(dir),
            RunAs::Account(account) => {
                if std::fs::symlink_metadata(dir).is_ok_and(|meta| meta.is_dir()) {
                    return Ok(());
                }
                cmd!(sh, "runuser -u {account} -- mkdir -m 0700 -- {dir}")
                    .quiet()
                    .run()
                    .with_context(|| format!("create {} as {account}", dir.display()))
            }
        }
    }

    /// A file's text, read as the cluster's owner (empty when it can't be read): as root, a link
    /// planted in its place must not make root read (and print) a file only root may read.
    pub fn read(&self, sh: &Shell, path: &Path) -> String {
        match self {
            RunAs::Me => std::fs::read_to_string(path).unwrap_or_default(),
            RunAs::Account(account) => {
                cmd!(sh, "runuser -u {account} -- cat -- {path}").quiet().ignore_stderr().read().unwrap_or_default()
            }
        }
    }

    /// Removes files inside the cluster's folder as its owner (never as root through a link the
    /// owner planted).
    pub fn remove(&self, sh: &Shell, paths: &[PathBuf]) -> Result<()> {
        match self {
            RunAs::Me => {
                for path in paths {
                    match std::fs::remove_file(path) {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                            return Err(err).with_context(|| format!("remove {}", path.display()));
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            RunAs::Account(account) => cmd!(sh, "runuser -u {account} -- rm -f -- {paths...}")
                .quiet()
                .run()
                .with_context(|| format!("remove files of the local cluster as {account}")),
        }
    }

    /// Hands `path` (made by us) to the service account, when commands run as that account.
    pub fn give(&self, sh: &Shell, path: &Path) -> Result<()> {
        if let RunAs::Account(account) = self {
            give_to(sh, account, path)?;
        }
        Ok(())
    }
}

/// Hands `path` (made by us) to `account`.
pub fn give_to(sh: &Shell, account: &str, path: &Path) -> Result<()> {
    cmd!(sh, "chown {account}: {path}").quiet().run().with_context(|| format!("hand {} to {account}", path.display()))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("make {} private", dir.display()))
}

/// This process's user id.
pub fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |meta| meta.uid())
}

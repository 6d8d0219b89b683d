//! Where this checkout's cluster lives: `.xtask/postgres`, or, when the service account can't
//! reach the checkout, a private folder under the temp dir that a pointer file names. Deciding
//! which, and the paths inside it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

use super::account::{self, RunAs};
use super::binaries;
use crate::output::note;
use crate::project::Project;
use crate::secrets;

/// The folders a cluster of this checkout may be in, before one is chosen.
pub struct Folders {
    /// `.xtask/postgres` of this checkout.
    pub home: PathBuf,
    /// Where the path of the cluster's folder is kept when running as root and the `postgres`
    /// account can't reach the checkout (a clone under `/root`, say): then the cluster lives in a
    /// folder made with an unpredictable name under the temp dir, and only this file, in the
    /// checkout, says which. No other account can plant what the xtask would trust there.
    pub fallback_pointer: PathBuf,
    /// `.xtask/native-port`: the remembered port, outside the folder the service account owns.
    pub port_file: PathBuf,
    /// `home` as messages show it.
    pub shown_home: String,
}

/// Why the cluster's folder is being looked for: to start a server there (which may make the
/// folder), or only to find one that is there.
#[derive(Clone, Copy)]
pub enum Intent {
    Start,
    Find,
}

/// Where the cluster is, once `locate` has decided.
pub struct Layout {
    pub home: PathBuf,
    bin: PathBuf,
    pub run_as: RunAs,
    pub port_file: PathBuf,
}

impl Layout {
    pub fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    pub fn log(&self) -> PathBuf {
        self.home.join("server.log")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.home.join("socket")
    }

    pub fn is_initialised(&self) -> bool {
        self.data().join("PG_VERSION").is_file()
    }

    /// A PostgreSQL program from the chosen bin folder, run as the right account, in the
    /// cluster's folder (the service account may not be allowed into the caller's).
    pub fn pg<'a>(&self, sh: &'a Shell, program: &str) -> Cmd<'a> {
        self.run_as.command(sh, self.bin.join(program))
    }

    /// The log's last lines, read as the cluster's owner.
    pub fn log_tail(&self, sh: &Shell, lines: usize) -> String {
        let log = self.run_as.read(sh, &self.log());
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n    ")
    }

    /// The socket files a server that is gone may have left (its lock file names its pid, and a
    /// server that finds it, with that pid still a zombie, refuses to start).
    pub fn socket_leftovers(&self, port: u16) -> Vec<PathBuf> {
        let dir = self.socket_dir();
        vec![dir.join(format!(".s.PGSQL.{port}.lock")), dir.join(format!(".s.PGSQL.{port}"))]
    }
}

impl Folders {
    pub fn of(project: &Project) -> Folders {
        let home = project.state_dir().join("postgres");
        Folders {
            shown_home: project.show(&home),
            home,
            fallback_pointer: project.state_dir().join("native-home"),
            port_file: project.state_dir().join("native-port"),
        }
    }

    /// The folders a cluster of this checkout may be in: `.xtask/postgres`, and the one the
    /// pointer file names, if it is still a real folder (not a link).
    pub fn homes(&self) -> Vec<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let mut homes = vec![self.home.clone()];
        if let Ok(text) = std::fs::read_to_string(&self.fallback_pointer) {
            // The folder the pointer names must be ours and no link: then its `cluster` folder
            // can be neither renamed nor replaced by the account that owns that.
            let folder = PathBuf::from(text.trim());
            let ours = std::fs::symlink_metadata(&folder)
                .is_ok_and(|meta| meta.is_dir() && meta.uid() == account::current_uid());
            if ours {
                homes.push(folder.join("cluster"));
            }
        }
        homes
    }

    /// A new folder for the cluster under the temp dir, with a name nobody can guess, made
    /// exclusively (never one that someone else made first), private, and handed to `account`;
    /// its path is written to the pointer file.
    fn make_fallback_home(&self, sh: &Shell, account: &str) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let name = secrets::unguessable(12).context("name the local cluster's folder")?;
        // Root keeps the folder (0711: the account may pass through, not list or rename), and
        // hands the account only `cluster` inside it.
        let folder = std::env::temp_dir().join(format!("xtask-postgres-{name}"));
        std::fs::create_dir(&folder).with_context(|| format!("create {}", folder.display()))?;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o711))
            .with_context(|| format!("set the permissions of {}", folder.display()))?;
        let home = folder.join("cluster");
        std::fs::create_dir(&home).with_context(|| format!("create {}", home.display()))?;
        account::give_to(sh, account, &home)?;
        if let Some(dir) = self.fallback_pointer.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        std::fs::write(&self.fallback_pointer, format!("{}\n", folder.display()))
            .with_context(|| format!("write {}", self.fallback_pointer.display()))?;
        Ok(home)
    }

    /// Picks the cluster's folder: the one that already holds a cluster, else `home`, unless the
    /// service account can't reach it.
    pub fn locate(&self, sh: &Shell, intent: Intent) -> Result<Layout> {
        let layout = self.pick_folder(sh, intent)?;
        let home = &layout.home;
        // PostgreSQL's tools take the cluster's folders as text (initdb's --pwfile, the socket
        // folder in the server's options, pg_ctl's log): a path that is not UTF-8 would reach
        // them mangled, so it is refused before a cluster is made or started there.
        if home.to_str().is_none() {
            bail!(
                "the local cluster's folder {} is not valid UTF-8, and PostgreSQL's tools cannot be given it \
                 unchanged: move the checkout to a path of UTF-8 characters, or use Docker (`--backend docker`) or \
                 a server of your own (DATABASE_URL)",
                home.display()
            );
        }
        Ok(layout)
    }

    fn pick_folder(&self, sh: &Shell, intent: Intent) -> Result<Layout> {
        for home in self.homes() {
            if home.join("data").join("PG_VERSION").is_file() {
                return self.locate_at(sh, home);
            }
        }
        let layout = self.locate_at(sh, self.home.clone())?;
        if let RunAs::Account(account) = &layout.run_as
            && let Intent::Start = intent
        {
            std::fs::create_dir_all(&self.home).with_context(|| format!("create {}", self.home.display()))?;
            let home = &self.home;
            let reachable = cmd!(sh, "runuser -u {account} -- test -x {home}").quiet().ignore_stderr().run().is_ok();
            if !reachable {
                std::fs::remove_dir(&self.home).ok();
                let fallback = match self.homes().get(1) {
                    Some(existing) => existing.clone(),
                    None => self.make_fallback_home(sh, account)?,
                };
                note!(
                    "The {account} account cannot reach {} (a parent folder is private), so the local cluster goes in {}",
                    self.shown_home,
                    fallback.display()
                );
                return self.locate_at(sh, fallback);
            }
        }
        Ok(layout)
    }

    /// The layout of a cluster in `home`, with the binaries and the account to run them as.
    pub fn locate_at(&self, sh: &Shell, home: PathBuf) -> Result<Layout> {
        Ok(Layout {
            home,
            bin: binaries::find(sh)?,
            run_as: RunAs::for_this_process(sh)?,
            port_file: self.port_file.clone(),
        })
    }
}

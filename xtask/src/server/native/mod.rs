//! A private PostgreSQL cluster for this checkout, made with the machine's own server binaries.
//!
//! It lives in `.xtask/postgres` (the data folder, its log, the remembered port), listens on
//! 127.0.0.1 only with password authentication, and keeps running between commands until
//! `db-down`. The xtask itself connects through a Unix socket in a folder only the cluster's owner
//! can enter, where the server takes the operating system's word for who connects (peer
//! authentication): a password handshake costs ~10 ms of CPU in the unoptimised build, on every
//! connection. `initdb` and `postgres` refuse to run as root, so as root every server command runs
//! as the `postgres` account instead.
//!
//! This module answers the backend's questions (`up`, `down`, `purge`); the work is below it,
//! each module using only those listed after it: `control` (start and stop), `init` (making a
//! cluster), `postmaster` (is the server running, where does it listen), `layout` (which folder,
//! the paths in it), `binaries` (where initdb and pg_ctl are), `account` (as whom, and file
//! operations as that account).

mod account;
mod binaries;
mod control;
mod init;
mod layout;
mod postmaster;

use std::time::Duration;

use anyhow::{Context, Result};
use xshell::Shell;

use super::{fast_path, port};
use crate::config::Settings;
use crate::output::{note, out};
use crate::postgres::{Database, Target, connect};
use crate::project::Project;
use layout::{Folders, Intent};
use postmaster::Listening;

pub struct NativeCluster {
    folders: Folders,
    user: String,
    password: String,
    database: String,
    pinned_port: Option<u16>,
    fingerprint: u64,
    ready_timeout: Duration,
}

impl NativeCluster {
    pub fn new(project: &Project, settings: &Settings) -> Result<NativeCluster> {
        Ok(NativeCluster {
            folders: Folders::of(project),
            user: settings.user.clone(),
            password: settings.password()?,
            database: settings.database.clone(),
            pinned_port: settings.port,
            fingerprint: project.fingerprint(),
            ready_timeout: settings.ready_timeout,
        })
    }

    pub fn describe(&self) -> String {
        // The folder under the temp dir, when the cluster lives there.
        match self.folders.homes().get(1).filter(|home| home.join("data").join("PG_VERSION").exists()) {
            Some(fallback) => format!("the local cluster in {}", fallback.display()),
            None => format!("the local cluster in {}", self.folders.shown_home),
        }
    }

    /// Why no local cluster can be made here, or `None` when one can.
    pub fn unavailable_because(sh: &Shell) -> Option<String> {
        binaries::find(sh).and_then(|_| account::RunAs::for_this_process(sh)).err().map(|err| format!("{err:#}"))
    }

    /// The dev database on the server this checkout started, else on the one started now (the
    /// cluster made first when there is none).
    pub async fn up(&self, sh: &Shell) -> Result<Database> {
        let lock = self.folders.home.with_extension("lock");
        fast_path::reach_or_start(
            &lock,
            "the local cluster",
            async || self.already_running().await,
            async || self.start(sh).await,
        )
        .await
    }

    /// Starts this checkout's cluster, making it first if there is none, and waits until it
    /// answers.
    async fn start(&self, sh: &Shell) -> Result<Database> {
        let layout = self.folders.locate(sh, Intent::Start)?;
        // Moved or renamed while its server ran: that server still writes to the old path (its
        // socket, its lock files) and would fail on the next of them. It is stopped through the
        // folder's new path before anything else touches it, then started here.
        if let Some(old) = postmaster::moved_from(&layout) {
            control::stop_moved(sh, &layout)?;
            note!(
                "This checkout moved while its local cluster ran (it was started in {}); stopped it there, starting it here",
                old.display()
            );
        }
        if !layout.is_initialised() {
            init::init(sh, &layout, &self.user, &self.password)?;
        }
        let running = Listening::read(&layout.data()).filter(|_| postmaster::is_running(sh, &layout).unwrap_or(false));
        let listening = match running {
            Some(listening) => listening,
            None => {
                control::remove_stale_pid_file(sh, &layout)?;
                let port = port::choose(self.pinned_port, &layout.port_file, self.fingerprint)?;
                control::start(sh, &layout, port, self.ready_timeout)?;
                Listening::read(&layout.data()).context("the local cluster started but wrote no postmaster.pid")?
            }
        };
        let target = self.target(&listening);
        // Readiness is waited for on the maintenance database, which always exists.
        let ready = connect::wait_until_ready(&target.maintenance(), self.ready_timeout).await;
        ready.with_context(|| {
            format!(
                "the local cluster started but does not accept connections; last lines of {}:\n    {}",
                layout.log().display(),
                layout.log_tail(sh, 20)
            )
        })?;
        Database::open(target).await
    }

    /// The dev database on the server this checkout started, when it runs and answers.
    async fn already_running(&self) -> Option<Database> {
        for home in self.folders.homes() {
            if let Some(listening) = Listening::read_verified(&home.join("data"))
                && let Ok(database) = Database::open(self.target(&listening)).await
            {
                return Some(database);
            }
        }
        None
    }

    /// The dev database on a running server: through its socket when this account can reach it.
    fn target(&self, listening: &Listening) -> Target {
        let target = Target::new("127.0.0.1", listening.port, &self.user, &self.password, &self.database);
        match &listening.socket_dir {
            Some(dir) if dir.join(format!(".s.PGSQL.{}", listening.port)).exists() => target.with_socket(dir),
            _ => target,
        }
    }

    pub fn down(&self, sh: &Shell) -> Result<()> {
        let layout = self.folders.locate(sh, Intent::Find)?;
        if !postmaster::is_running(sh, &layout)? {
            out!("The local cluster is not running ({})", self.folders.shown_home);
            return Ok(());
        }
        control::stop(sh, &layout)?;
        out!("Stopped the local cluster; its data stays in {}", layout.home.display());
        Ok(())
    }

    pub fn purge(&self, sh: &Shell) -> Result<()> {
        let mut removed = false;
        for home in self.folders.homes() {
            if !home.exists() {
                continue;
            }
            if let Ok(layout) = self.folders.locate_at(sh, home.clone())
                && postmaster::is_running(sh, &layout)?
            {
                control::stop(sh, &layout)?;
            }
            std::fs::remove_dir_all(&home).with_context(|| format!("remove {}", home.display()))?;
            if home != self.folders.home
                && let Some(folder) = home.parent()
            {
                std::fs::remove_dir(folder).ok();
            }
            out!("Removed the local cluster in {} (every database in it, its log and its port)", home.display());
            removed = true;
        }
        std::fs::remove_file(&self.folders.fallback_pointer).ok();
        std::fs::remove_file(&self.folders.port_file).ok();
        if !removed {
            out!("Nothing to remove: there is no local cluster in {}", self.folders.shown_home);
        }
        Ok(())
    }
}

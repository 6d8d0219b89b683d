//! A private PostgreSQL cluster for this checkout, made with the machine's own server binaries.
//!
//! It lives in `.xtask/postgres` (the data folder, its log, the remembered port), listens on
//! 127.0.0.1 only with password authentication, and keeps running between commands until
//! `db-down`. The xtask itself connects through a Unix socket in a folder only the cluster's owner
//! can enter, where the server takes the operating system's word for who connects (peer
//! authentication): a password handshake costs ~10 ms of CPU in the unoptimised build, on every
//! connection. `initdb` and `postgres` refuse to run as root, so as root every server command runs
//! as the `postgres` account instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

use super::port;
use crate::child_process::run_captured;
use crate::config::Settings;
use crate::lock_file;
use crate::output::{note, out};
use crate::postgres::{Database, Target, connect, install};
use crate::project::Project;
use crate::secrets;

const SERVICE_ACCOUNT: &str = "postgres";

/// The longest socket path PostgreSQL can use on every Unix (macOS allows 103 bytes, Linux 107).
const MAX_SOCKET_PATH: usize = 103;

/// Appended to `postgresql.conf` by `initdb`'s caller. Durability is traded for speed: this is a
/// disposable development server, and an OS crash at worst means `db-down --purge` and a reset.
const SERVER_CONFIG: &str = "
# Added by cargo xtask: a private development server for one checkout.
listen_addresses = '127.0.0.1'
# The private socket's folder is given when the server starts (pg_ctl start -o -k).
unix_socket_directories = ''
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
";

pub struct NativeCluster {
    /// `.xtask/postgres` of this checkout.
    home: PathBuf,
    /// Where the path of the cluster's folder is kept when running as root and the `postgres`
    /// account can't reach the checkout (a clone under `/root`, say): then the cluster lives in a
    /// folder made with an unpredictable name under the temp dir, and only this file, in the
    /// checkout, says which. No other account can plant what the xtask would trust there.
    fallback_pointer: PathBuf,
    /// `.xtask/native-port`: the remembered port, outside the folder the service account owns.
    port_file: PathBuf,
    shown_home: String,
    user: String,
    password: String,
    database: String,
    pinned_port: Option<u16>,
    fingerprint: u64,
    ready_timeout: Duration,
}

/// How server commands run: as ourselves, or through `runuser` as the service account.
enum RunAs {
    Me,
    Account(String),
}

/// Where the cluster is, once `locate` has decided.
struct Layout {
    home: PathBuf,
    bin: PathBuf,
    run_as: RunAs,
    port_file: PathBuf,
}

impl Layout {
    fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    fn log(&self) -> PathBuf {
        self.home.join("server.log")
    }

    fn socket_dir(&self) -> PathBuf {
        self.home.join("socket")
    }

    fn is_initialised(&self) -> bool {
        self.data().join("PG_VERSION").is_file()
    }

    /// Writes (or with `append`, appends) a file inside the cluster's folder as the account that
    /// owns it: as root, anything written there goes through `runuser … tee`, so a link that
    /// account planted can never make root write somewhere else.
    fn write(&self, sh: &Shell, path: &Path, text: &str, append: bool) -> Result<()> {
        match &self.run_as {
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
    fn make_private_dir(&self, sh: &Shell, dir: &Path) -> Result<()> {
        match &self.run_as {
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

    /// A PostgreSQL program from the chosen bin folder, run as the right account, in the
    /// cluster's folder (the service account may not be allowed into the caller's).
    fn pg<'a>(&self, sh: &'a Shell, program: &str) -> Cmd<'a> {
        let program = self.bin.join(program);
        match &self.run_as {
            RunAs::Me => sh.cmd(program),
            RunAs::Account(account) => cmd!(sh, "runuser -u {account} --").arg(program),
        }
    }

    /// True when this cluster's server runs: its `postmaster.pid` names a live process that is a
    /// postgres started on this data folder. A pid file left by a server that died (a reboot, a
    /// `kill -9`) may name an unrelated process by now; believing it would mean waiting for a
    /// server that never starts, or signalling someone else's process.
    fn is_running(&self, sh: &Shell) -> Result<bool> {
        if !self.is_initialised() {
            return Ok(false);
        }
        let Some(pid) = self.postmaster_pid() else { return Ok(false) };
        match postmaster_of(pid, &self.data()) {
            Some(postmaster) => Ok(postmaster != Postmaster::Other),
            // No /proc (macOS): ask pg_ctl, which checks that the process exists.
            None => {
                let _dir = sh.push_dir(&self.home);
                let output =
                    self.pg(sh, "pg_ctl").args(["status", "-D"]).arg(self.data()).quiet().ignore_status().output()?;
                Ok(output.status.success())
            }
        }
    }

    /// The path the running server was started on, when the checkout has moved since.
    fn moved_from(&self) -> Option<PathBuf> {
        match postmaster_of(self.postmaster_pid()?, &self.data())? {
            Postmaster::Moved(old) => Some(old),
            _ => None,
        }
    }

    fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
    }

    /// Removes a `postmaster.pid` whose process is not this cluster's server, so that the server
    /// can start (it would refuse while the pid file names a live process).
    fn remove_stale_pid_file(&self, sh: &Shell) -> Result<()> {
        if let Some(pid) = self.postmaster_pid()
            && !self.is_running(sh)?
        {
            let mut stale = vec![self.data().join("postmaster.pid")];
            if let Some(listening) = self.running() {
                stale.extend(self.socket_leftovers(listening.port));
            }
            self.remove(sh, &stale)?;
            note!("Removed a stale postmaster.pid (process {pid} is not this cluster's server)");
        }
        Ok(())
    }

    /// The port and socket of a running server, from the `postmaster.pid` it wrote.
    fn running(&self) -> Option<Listening> {
        Listening::read(&self.data())
    }

    /// The log's last lines, read as the cluster's owner: as root, a link planted in its place
    /// must not make root read (and print) a file only root may read.
    fn log_tail(&self, sh: &Shell, lines: usize) -> String {
        let log = match &self.run_as {
            RunAs::Me => std::fs::read_to_string(self.log()).unwrap_or_default(),
            RunAs::Account(account) => {
                let path = self.log();
                cmd!(sh, "runuser -u {account} -- cat -- {path}").quiet().ignore_stderr().read().unwrap_or_default()
            }
        };
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n    ")
    }

    /// Removes files inside the cluster's folder as its owner (never as root through a link the
    /// owner planted).
    fn remove(&self, sh: &Shell, paths: &[PathBuf]) -> Result<()> {
        match &self.run_as {
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

    /// The socket files a server that is gone may have left (its lock file names its pid, and a
    /// server that finds it, with that pid still a zombie, refuses to start).
    fn socket_leftovers(&self, port: u16) -> Vec<PathBuf> {
        let dir = self.socket_dir();
        vec![dir.join(format!(".s.PGSQL.{port}.lock")), dir.join(format!(".s.PGSQL.{port}"))]
    }
}

impl NativeCluster {
    pub fn new(project: &Project, settings: &Settings) -> Result<NativeCluster> {
        let home = project.state_dir().join("postgres");
        let fingerprint = project.fingerprint();
        Ok(NativeCluster {
            shown_home: project.show(&home),
            home,
            fallback_pointer: project.state_dir().join("native-home"),
            port_file: project.state_dir().join("native-port"),
            user: settings.user.clone(),
            password: settings.password()?,
            database: settings.database.clone(),
            pinned_port: settings.port,
            fingerprint,
            ready_timeout: settings.ready_timeout,
        })
    }

    /// The folders a cluster of this checkout may be in: `.xtask/postgres`, and the one the
    /// pointer file names, if it is still a real folder (not a link).
    fn homes(&self) -> Vec<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let mut homes = vec![self.home.clone()];
        if let Ok(text) = std::fs::read_to_string(&self.fallback_pointer) {
            // The folder the pointer names must be ours and no link: then its `cluster` folder
            // can be neither renamed nor replaced by the account that owns that.
            let folder = PathBuf::from(text.trim());
            let ours =
                std::fs::symlink_metadata(&folder).is_ok_and(|meta| meta.is_dir() && meta.uid() == current_uid());
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
        cmd!(sh, "chown {account}: {home}")
            .quiet()
            .run()
            .with_context(|| format!("hand {} to {account}", home.display()))?;
        if let Some(dir) = self.fallback_pointer.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        std::fs::write(&self.fallback_pointer, format!("{}\n", folder.display()))
            .with_context(|| format!("write {}", self.fallback_pointer.display()))?;
        Ok(home)
    }

    pub fn describe(&self) -> String {
        // The folder under the temp dir, when the cluster lives there.
        match self.homes().get(1).filter(|home| home.join("data").join("PG_VERSION").exists()) {
            Some(fallback) => format!("the local cluster in {}", fallback.display()),
            None => format!("the local cluster in {}", self.shown_home),
        }
    }

    /// Why no local cluster can be made here, or `None` when one can.
    pub fn unavailable_because(sh: &Shell) -> Option<String> {
        find_binaries(sh).and_then(|_| run_as(sh)).err().map(|err| format!("{err:#}"))
    }

    pub async fn up(&self, sh: &Shell) -> Result<Database> {
        // The common case costs one connection and no child process: the server this checkout
        // started is still running.
        if let Some(database) = self.already_running().await {
            return Ok(database);
        }
        // Creating and starting the cluster is one command's job at a time: several commands
        // started together in a fresh checkout would race in initdb and pg_ctl. The others wait,
        // then find the server the first one started.
        let _starting = lock_file::take(&self.home.with_extension("lock"), "the local cluster").await?;
        if let Some(database) = self.already_running().await {
            return Ok(database);
        }
        let layout = self.locate(sh, true)?;
        // Moved or renamed while its server ran: that server still writes to the old path (its
        // socket, its lock files) and would fail on the next of them. It is stopped through the
        // folder's new path before anything else touches it, then started here.
        if let Some(old) = layout.moved_from() {
            stop_moved(sh, &layout)?;
            note!(
                "This checkout moved while its local cluster ran (it was started in {}); stopped it there, starting it here",
                old.display()
            );
        }
        if !layout.is_initialised() {
            self.init(sh, &layout)?;
        }
        let listening = match layout.running().filter(|_| layout.is_running(sh).unwrap_or(false)) {
            Some(listening) => listening,
            None => {
                layout.remove_stale_pid_file(sh)?;
                self.start(sh, &layout)?;
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
        for home in self.homes() {
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
        let layout = self.locate(sh, false)?;
        if !layout.is_running(sh)? {
            out!("The local cluster is not running ({})", self.shown_home);
            return Ok(());
        }
        self.stop(sh, &layout)?;
        out!("Stopped the local cluster; its data stays in {}", layout.home.display());
        Ok(())
    }

    pub fn purge(&self, sh: &Shell) -> Result<()> {
        let mut removed = false;
        for home in self.homes() {
            if !home.exists() {
                continue;
            }
            if let Ok(layout) = self.locate_at(sh, home.clone())
                && layout.is_running(sh)?
            {
                self.stop(sh, &layout)?;
            }
            std::fs::remove_dir_all(&home).with_context(|| format!("remove {}", home.display()))?;
            if home != self.home
                && let Some(folder) = home.parent()
            {
                std::fs::remove_dir(folder).ok();
            }
            out!("Removed the local cluster in {} (every database in it, its log and its port)", home.display());
            removed = true;
        }
        std::fs::remove_file(&self.fallback_pointer).ok();
        std::fs::remove_file(&self.port_file).ok();
        if !removed {
            out!("Nothing to remove: there is no local cluster in {}", self.shown_home);
        }
        Ok(())
    }

    /// Picks the cluster's folder: the one that already holds a cluster, else `home`, unless the
    /// service account can't reach it.
    fn locate(&self, sh: &Shell, creating: bool) -> Result<Layout> {
        let layout = self.pick_folder(sh, creating)?;
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

    fn pick_folder(&self, sh: &Shell, creating: bool) -> Result<Layout> {
        for home in self.homes() {
            if home.join("data").join("PG_VERSION").is_file() {
                return self.locate_at(sh, home);
            }
        }
        let layout = self.locate_at(sh, self.home.clone())?;
        if let RunAs::Account(account) = &layout.run_as
            && creating
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

    fn locate_at(&self, sh: &Shell, home: PathBuf) -> Result<Layout> {
        Ok(Layout { home, bin: find_binaries(sh)?, run_as: run_as(sh)?, port_file: self.port_file.clone() })
    }

    fn init(&self, sh: &Shell, layout: &Layout) -> Result<()> {
        std::fs::create_dir_all(&layout.home).with_context(|| format!("create {}", layout.home.display()))?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&layout.home, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("make {} private", layout.home.display()))?;
        }
        give_to_account(sh, &layout.run_as, &layout.home)?;
        // The password reaches initdb through a file in the cluster's private folder, written as
        // its owner: never a command line, which `ps` shows to every account.
        let password_file = layout.home.join("initial-password");
        layout.write(sh, &password_file, &format!("{}\n", self.password), false)?;
        let _dir = sh.push_dir(&layout.home);
        let locale = if cfg!(target_os = "linux") { "C.UTF-8" } else { "en_US.UTF-8" };
        let result = run_captured(
            layout
                .pg(sh, "initdb")
                .arg("--pgdata")
                .arg(layout.data())
                .args(["--username", &self.user, "--auth=scram-sha-256", "--encoding=UTF8"])
                .arg(format!("--locale={locale}"))
                .arg(format!("--pwfile={}", password_file.display())),
            "create the local cluster (initdb)",
        );
        std::fs::remove_file(&password_file).ok();
        result?;
        layout.write(sh, &layout.data().join("postgresql.conf"), SERVER_CONFIG, true)?;
        self.write_access_rules(sh, layout)?;
        note!("Created a local PostgreSQL cluster in {} (user {})", layout.home.display(), self.user);
        Ok(())
    }

    /// Who may connect, and how: whoever created the cluster through the private socket, without
    /// a password; anyone else over TCP with the password. (These files replace initdb's, which
    /// ask every connection for the password.)
    fn write_access_rules(&self, sh: &Shell, layout: &Layout) -> Result<()> {
        let os_user = cmd!(sh, "id -un").quiet().read().context("find out which user this is (id -un)")?;
        let hba = layout.data().join("pg_hba.conf");
        let rules = "# Written by cargo xtask. The socket's folder admits only the cluster's owner; the xtask\n\
                     # connects there (peer authentication, see pg_ident.conf). TCP asks for the password.\n\
                     local all all peer map=xtask\n\
                     host all all 127.0.0.1/32 scram-sha-256\n";
        layout.write(sh, &hba, rules, false)?;
        let ident = layout.data().join("pg_ident.conf");
        let map = format!(
            "# Written by cargo xtask: the account that created the cluster connects as its user.\nxtask {} {}\n",
            quote_conf(os_user.trim()),
            quote_conf(&self.user)
        );
        layout.write(sh, &ident, &map, false)
    }

    /// Starts the server on this checkout's port.
    fn start(&self, sh: &Shell, layout: &Layout) -> Result<()> {
        let port = port::choose(self.pinned_port, &layout.port_file, self.fingerprint)?;
        let mut options = format!("-p {port}");
        if let Some(dir) = usable_socket_dir(&layout.socket_dir(), port) {
            layout.make_private_dir(sh, &dir)?;
            // pg_ctl hands these options to a shell; `usable_socket_dir` rules out quotes.
            options += &format!(" -k '{}'", dir.display());
        }
        let _dir = sh.push_dir(&layout.home);
        let timeout = self.ready_timeout.as_secs().to_string();
        let started = run_captured(
            layout
                .pg(sh, "pg_ctl")
                .args(["start", "--wait", "--timeout", &timeout, "--pgdata"])
                .arg(layout.data())
                .arg("--log")
                .arg(layout.log())
                .arg(format!("--options={options}")),
            "start the local cluster (pg_ctl start)",
        );
        if let Err(err) = started {
            bail!("{err:#}\n  last lines of {}:\n    {}", layout.log().display(), layout.log_tail(sh, 20));
        }
        note!("Started the local cluster on 127.0.0.1:{port}");
        Ok(())
    }

    fn stop(&self, sh: &Shell, layout: &Layout) -> Result<()> {
        stop(sh, layout)
    }
}

/// Stops a server whose checkout moved while it ran. Immediately: a clean shutdown would write its
/// last checkpoint to the old path and fail (PANIC). The next start recovers from the write-ahead
/// log, as after a crash of the server alone.
fn stop_moved(sh: &Shell, layout: &Layout) -> Result<()> {
    let port = layout.running().map(|listening| listening.port);
    {
        let _dir = sh.push_dir(&layout.home);
        run_captured(
            layout.pg(sh, "pg_ctl").args(["stop", "--wait", "--mode=immediate", "--pgdata"]).arg(layout.data()),
            "stop the local cluster where it was started (pg_ctl stop)",
        )?;
    }
    // Its socket's lock file moved with the folder, and still names it.
    match port {
        Some(port) => layout.remove(sh, &layout.socket_leftovers(port)),
        None => Ok(()),
    }
}

fn stop(sh: &Shell, layout: &Layout) -> Result<()> {
    if layout.moved_from().is_some() {
        return stop_moved(sh, layout);
    }
    let _dir = sh.push_dir(&layout.home);
    run_captured(
        layout.pg(sh, "pg_ctl").args(["stop", "--wait", "--mode=fast", "--pgdata"]).arg(layout.data()),
        "stop the local cluster (pg_ctl stop)",
    )
}

/// What the process a `postmaster.pid` names is, to this cluster.
#[derive(Debug, PartialEq)]
enum Postmaster {
    /// This cluster's server, started on this very path.
    Ours,
    /// This cluster's server, started before the checkout was moved or renamed: its working
    /// folder is this data folder, while its command line names the old path.
    Moved(PathBuf),
    /// Anything else: a process that took over the pid after the server died, or none.
    Other,
}

/// What process `pid` is to the cluster in `data`, read from `/proc` (`None` where there is
/// none): a postgres whose working folder is this data folder is this cluster's server, wherever
/// the folder has moved since; where the working folder cannot be read (another account's
/// process), its `-D` argument must name this folder.
fn postmaster_of(pid: u32, data: &Path) -> Option<Postmaster> {
    use std::os::unix::ffi::OsStrExt;
    if !Path::new("/proc/self").exists() {
        return None;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return Some(Postmaster::Other) };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let is_postgres =
        args.first().is_some_and(|program| program.ends_with(b"postgres") || program.ends_with(b"postmaster"));
    let started_on =
        args.windows(2).find(|pair| pair[0] == b"-D").map(|pair| PathBuf::from(std::ffi::OsStr::from_bytes(pair[1])));
    let (true, Some(started_on)) = (is_postgres, started_on) else { return Some(Postmaster::Other) };
    // Compared as real paths: the checkout may be reached through a symbolic link.
    let data = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    let started_here = std::fs::canonicalize(&started_on).is_ok_and(|path| path == data);
    Some(match std::fs::read_link(format!("/proc/{pid}/cwd")) {
        Ok(cwd) if cwd == data && started_here => Postmaster::Ours,
        Ok(cwd) if cwd == data => Postmaster::Moved(started_on),
        Ok(_) => Postmaster::Other,
        Err(_) if started_here => Postmaster::Ours,
        Err(_) => Postmaster::Other,
    })
}

/// Where a running server listens, from the `postmaster.pid` it writes when it starts: its pid
/// on the first line, the port on its fourth, the socket's folder (or nothing) on its fifth.
struct Listening {
    pid: u32,
    port: u16,
    socket_dir: Option<PathBuf>,
}

impl Listening {
    /// `read`, believed only when the pid file's process is a postgres on this data folder: a
    /// planted or stale pid file must not send a connection, with its password, anywhere.
    fn read_verified(data: &Path) -> Option<Listening> {
        let listening = Listening::read(data)?;
        match postmaster_of(listening.pid, data) {
            Some(Postmaster::Other | Postmaster::Moved(_)) => None,
            Some(Postmaster::Ours) | None => Some(listening),
        }
    }

    fn read(data: &Path) -> Option<Listening> {
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
        let mut lines = pid_file.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let mut lines = lines.skip(2);
        let port = lines.next()?.trim().parse().ok()?;
        let socket_dir = lines.next().map(str::trim).filter(|dir| !dir.is_empty()).map(PathBuf::from);
        Some(Listening { pid, port, socket_dir })
    }
}

/// `dir`, when PostgreSQL can put its socket there: the socket's path must fit in a
/// `sockaddr_un`, and pg_ctl passes the folder through a shell inside single quotes.
fn usable_socket_dir(dir: &Path, port: u16) -> Option<PathBuf> {
    let text = dir.to_str()?;
    let fits = text.len() + format!("/.s.PGSQL.{port}").len() <= MAX_SOCKET_PATH;
    (fits && !text.contains('\'')).then(|| dir.to_owned())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("make {} private", dir.display()))
}

/// A name as `pg_ident.conf` reads it: in double quotes, with quotes doubled.
fn quote_conf(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The newest server binaries: `pg_config --bindir`, then `PATH`, then Debian's and Ubuntu's
/// `/usr/lib/postgresql/<major>/bin`.
fn find_binaries(sh: &Shell) -> Result<PathBuf> {
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

fn run_as(sh: &Shell) -> Result<RunAs> {
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

/// This process's user id.
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |meta| meta.uid())
}

fn give_to_account(sh: &Shell, run_as: &RunAs, path: &Path) -> Result<()> {
    if let RunAs::Account(account) = run_as {
        cmd!(sh, "chown {account}: {path}")
            .quiet()
            .run()
            .with_context(|| format!("hand {} to {account}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_goes_only_where_postgres_can_put_it() {
        let short = Path::new("/home/dev/fleet/target/xtask/postgres/socket");
        assert_eq!(usable_socket_dir(short, 5432).as_deref(), Some(short));
        // A socket path must fit in 103 bytes with `/.s.PGSQL.<port>`; longer checkouts use TCP.
        let long = PathBuf::from(format!("/home/dev/{}/target/xtask/postgres/socket", "x".repeat(60)));
        assert_eq!(usable_socket_dir(&long, 5432), None);
        // pg_ctl passes the folder through a shell inside single quotes.
        assert_eq!(usable_socket_dir(Path::new("/home/o'brien/fleet/socket"), 5432), None);
        assert!(usable_socket_dir(Path::new("/home/dev/my fleet/socket"), 5432).is_some());
    }

    #[test]
    fn reads_the_port_and_socket_from_postmaster_pid() {
        let data = std::env::temp_dir().join(format!("xtask-pid-test-{}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let pid = |socket: &str| {
            format!("4242\n{}\n1795627004\n29729\n{socket}\n127.0.0.1\n  5341187 9\nready   \n", data.display())
        };
        std::fs::write(data.join("postmaster.pid"), pid("/work/x/socket")).unwrap();
        let listening = Listening::read(&data).unwrap();
        assert_eq!((listening.port, listening.socket_dir), (29729, Some(PathBuf::from("/work/x/socket"))));
        // A cluster started without a socket (unix_socket_directories = '') leaves the line empty.
        std::fs::write(data.join("postmaster.pid"), pid("")).unwrap();
        assert_eq!(Listening::read(&data).unwrap().socket_dir, None);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn pg_ident_names_are_quoted() {
        assert_eq!(quote_conf("fleet"), "\"fleet\"");
        assert_eq!(quote_conf("odd\"name"), "\"odd\"\"name\"");
    }
}

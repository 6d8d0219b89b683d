//! Whether this cluster's server runs, and where it listens, from the `postmaster.pid` it wrote
//! and what `/proc` says of the process that file names.
//!
//! A pid file left by a server that died (a reboot, a `kill -9`) may name an unrelated process by
//! now, and one in a folder another account owns may be planted: believing it would mean waiting
//! for a server that never starts, signalling someone else's process, or sending a connection,
//! with its password, anywhere.

use std::path::{Path, PathBuf};

use anyhow::Result;
use xshell::Shell;

use super::layout::Layout;

/// What the process a `postmaster.pid` names is, to this cluster.
#[derive(Debug, PartialEq)]
pub enum Postmaster {
    /// This cluster's server, started on this very path.
    Ours,
    /// This cluster's server, started before the checkout was moved or renamed: its working
    /// folder is this data folder, while its command line names the old path.
    Moved(PathBuf),
    /// Anything else: a process that took over the pid after the server died, or none.
    Other,
}

/// True when this cluster's server runs: its `postmaster.pid` names a live process that is a
/// postgres started on this data folder.
pub fn is_running(sh: &Shell, layout: &Layout) -> Result<bool> {
    if !layout.is_initialised() {
        return Ok(false);
    }
    let Some(pid) = pid(layout) else { return Ok(false) };
    match postmaster_of(pid, &layout.data()) {
        Some(postmaster) => Ok(postmaster != Postmaster::Other),
        // No /proc (macOS): ask pg_ctl, which checks that the process exists.
        None => {
            let _dir = sh.push_dir(&layout.home);
            let output =
                layout.pg(sh, "pg_ctl").args(["status", "-D"]).arg(layout.data()).quiet().ignore_status().output()?;
            Ok(output.status.success())
        }
    }
}

/// The path the running server was started on, when the checkout has moved since.
pub fn moved_from(layout: &Layout) -> Option<PathBuf> {
    match postmaster_of(pid(layout)?, &layout.data())? {
        Postmaster::Moved(old) => Some(old),
        _ => None,
    }
}

/// The pid on the first line of the cluster's `postmaster.pid`.
pub fn pid(layout: &Layout) -> Option<u32> {
    std::fs::read_to_string(layout.data().join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
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
pub struct Listening {
    pid: u32,
    pub port: u16,
    pub socket_dir: Option<PathBuf>,
}

impl Listening {
    /// `read`, believed only when the pid file's process is a postgres on this data folder: a
    /// planted or stale pid file must not send a connection, with its password, anywhere.
    pub fn read_verified(data: &Path) -> Option<Listening> {
        let listening = Listening::read(data)?;
        match postmaster_of(listening.pid, data) {
            Some(Postmaster::Other | Postmaster::Moved(_)) => None,
            Some(Postmaster::Ours) | None => Some(listening),
        }
    }

    /// What the pid file says, unverified.
    pub fn read(data: &Path) -> Option<Listening> {
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
        let mut lines = pid_file.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let mut lines = lines.skip(2);
        let port = lines.next()?.trim().parse().ok()?;
        let socket_dir = lines.next().map(str::trim).filter(|dir| !dir.is_empty()).map(PathBuf::from);
        Some(Listening { pid, port, socket_dir })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

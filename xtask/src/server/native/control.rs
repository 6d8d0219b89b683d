//! Starting and stopping the cluster's server with `pg_ctl`, including one whose checkout moved
//! while it ran and one whose pid file outlived it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use xshell::Shell;

use super::layout::Layout;
use super::postmaster;
use crate::child_process::run_captured;
use crate::output::note;

/// The longest socket path PostgreSQL can use on every Unix (macOS allows 103 bytes, Linux 107).
const MAX_SOCKET_PATH: usize = 103;

/// Starts the server on `port`, waiting up to `ready_timeout` for it.
pub fn start(sh: &Shell, layout: &Layout, port: u16, ready_timeout: Duration) -> Result<()> {
    let mut options = format!("-p {port}");
    if let Some(dir) = usable_socket_dir(&layout.socket_dir(), port) {
        layout.run_as.make_private_dir(sh, &dir)?;
        // pg_ctl hands these options to a shell; `usable_socket_dir` rules out quotes.
        options += &format!(" -k '{}'", dir.display());
    }
    let _dir = sh.push_dir(&layout.home);
    let timeout = ready_timeout.as_secs().to_string();
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

/// Stops the server, keeping its data.
pub fn stop(sh: &Shell, layout: &Layout) -> Result<()> {
    if postmaster::moved_from(layout).is_some() {
        return stop_moved(sh, layout);
    }
    let _dir = sh.push_dir(&layout.home);
    run_captured(
        layout.pg(sh, "pg_ctl").args(["stop", "--wait", "--mode=fast", "--pgdata"]).arg(layout.data()),
        "stop the local cluster (pg_ctl stop)",
    )
}

/// Stops a server whose checkout moved while it ran. Immediately: a clean shutdown would write its
/// last checkpoint to the old path and fail (PANIC). The next start recovers from the write-ahead
/// log, as after a crash of the server alone.
pub fn stop_moved(sh: &Shell, layout: &Layout) -> Result<()> {
    let port = postmaster::Listening::read(&layout.data()).map(|listening| listening.port);
    {
        let _dir = sh.push_dir(&layout.home);
        run_captured(
            layout.pg(sh, "pg_ctl").args(["stop", "--wait", "--mode=immediate", "--pgdata"]).arg(layout.data()),
            "stop the local cluster where it was started (pg_ctl stop)",
        )?;
    }
    // Its socket's lock file moved with the folder, and still names it.
    match port {
        Some(port) => layout.run_as.remove(sh, &layout.socket_leftovers(port)),
        None => Ok(()),
    }
}

/// Removes a `postmaster.pid` whose process is not this cluster's server, so that the server
/// can start (it would refuse while the pid file names a live process).
pub fn remove_stale_pid_file(sh: &Shell, layout: &Layout) -> Result<()> {
    if let Some(pid) = postmaster::pid(layout)
        && !postmaster::is_running(sh, layout)?
    {
        let mut stale = vec![layout.data().join("postmaster.pid")];
        if let Some(listening) = postmaster::Listening::read(&layout.data()) {
            stale.extend(layout.socket_leftovers(listening.port));
        }
        layout.run_as.remove(sh, &stale)?;
        note!("Removed a stale postmaster.pid (process {pid} is not this cluster's server)");
    }
    Ok(())
}

/// `dir`, when PostgreSQL can put its socket there: the socket's path must fit in a
/// `sockaddr_un`, and pg_ctl passes the folder through a shell inside single quotes.
fn usable_socket_dir(dir: &Path, port: u16) -> Option<PathBuf> {
    let text = dir.to_str()?;
    let fits = text.len() + format!("/.s.PGSQL.{port}").len() <= MAX_SOCKET_PATH;
    (fits && !text.contains('\'')).then(|| dir.to_owned())
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
}

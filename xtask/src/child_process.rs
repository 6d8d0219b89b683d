//! Running the tools a backend needs (initdb, pg_ctl, Compose) with their output held back.
//!
//! Their output means something only when they fail, and then it belongs in the error that says
//! what failed. Held back, it also never reaches the terminal on Ctrl-C, when the terminal
//! interrupts the child too: no initdb clean-up chatter, no Python traceback from Compose v1.

use anyhow::{Context, Result, bail};
use xshell::Cmd;

/// Runs `cmd`, showing the command line; on failure, the error carries what it printed.
pub fn run_captured(cmd: Cmd<'_>, what: &str) -> Result<()> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let output = cmd.ignore_status().output().with_context(|| format!("{what}: run {shown}"))?;
    if !output.status.success() {
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        bail!("{what} failed ({}): {}", output.status, printed.trim());
    }
    Ok(())
}

/// Runs `cmd` quietly and returns what it printed on stdout; on failure, the error carries what
/// it printed on stderr, which otherwise never reaches the terminal.
pub fn read_captured(cmd: Cmd<'_>, what: &str) -> Result<String> {
    let shown = cmd.to_string();
    let output = cmd.quiet().ignore_status().output().with_context(|| format!("{what}: run {shown}"))?;
    if !output.status.success() {
        bail!("{what} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

//! The output contract, as ripgrep keeps it: results on stdout; notes, progress and warnings on
//! stderr (`-q` silences notes); a closed pipe (`cargo xtask db-status | head -1`) ends the
//! output quietly, never the work; and exit codes that mean one thing each.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Everything went as asked.
pub const OK: u8 = 0;
/// The command ran and its check found something: drift (`db-status`), a broken rule (`db-check`).
pub const FOUND: u8 = 1;
/// The command could not do its job: bad input, no server, a failing migration.
pub const ERROR: u8 = 2;
/// Stopped by Ctrl-C (128 + SIGINT), the shell's convention.
pub const INTERRUPTED: u8 = 130;

static QUIET: AtomicBool = AtomicBool::new(false);
/// What a Ctrl-C at this point leaves behind, in the command's own words (see `on_interrupt`).
static ON_INTERRUPT: Mutex<Option<String>> = Mutex::new(None);

/// Says what a Ctrl-C from now on leaves behind, for the `interrupted:` line: a command whose
/// state on an interruption is more than "the open transaction is rolled back" (a reset: which
/// database is in place) keeps this up to date as it goes.
pub fn on_interrupt(what: String) {
    if let Ok(mut slot) = ON_INTERRUPT.lock() {
        *slot = Some(what);
    }
}

/// What the command said a Ctrl-C now leaves behind, if it said anything.
pub fn interrupt_note() -> Option<String> {
    ON_INTERRUPT.lock().ok().and_then(|slot| slot.clone())
}
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Writes a result line on stdout. Once the reader has gone (a closed pipe), the rest of the
/// output is dropped while the command finishes its work.
pub fn result(args: fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_fmt(args).and_then(|()| stdout.flush())
        && err.kind() == std::io::ErrorKind::BrokenPipe
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes a note on stderr, unless `-q` asked for silence.
pub fn write_note(args: fmt::Arguments) {
    if !QUIET.load(Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr().lock(), "{args}");
    }
}

/// An error's whole context chain on one line, `what failed: why: the cause`, as anyhow's `{:#}`
/// writes it, but with the driver's errors in plain words (see `sql_error::describe`: no sqlx
/// `at line N`, which is a line of PostgreSQL's source) and every known password masked. For
/// `error:` lines and for the notes that carry an error.
pub fn describe_error(err: &anyhow::Error) -> String {
    let mut causes = Vec::new();
    for cause in err.chain() {
        if let Some(sqlx_err) = cause.downcast_ref::<sqlx::Error>() {
            // Its own causes are the same error again, with sqlx's wording.
            causes.push(crate::postgres::sql_error::describe(sqlx_err));
            break;
        }
        // sqlx's migration errors repeat the driver error they wrap, which comes next.
        if cause.downcast_ref::<sqlx::migrate::MigrateError>().is_none() {
            causes.push(cause.to_string());
        }
    }
    crate::secrets::redact(&causes.join(": "))
}

pub fn exit_code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// `out!("Applied {v}")`: one result line on stdout.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::result(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `note!("Using the local cluster: {why}")`: one line on stderr, silenced by `-q`.
macro_rules! note {
    ($($arg:tt)*) => { $crate::output::write_note(format_args!($($arg)*)) };
}

pub(crate) use {note, out};

//! The harness: running a command the way a developer does, timing it, and the report's rows.
//! Knows nothing of what the workloads are.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::elapsed::duration;
use crate::output::out;
use crate::project::Project;

/// A command to time, and its row's label.
pub type Timed<'a> = (&'static str, Box<dyn Fn() -> xshell::Result<()> + 'a>);

pub fn time(run: impl FnOnce() -> xshell::Result<()>) -> Result<Duration> {
    let start = Instant::now();
    run()?;
    Ok(start.elapsed())
}

/// The xtask binary itself, against `url`, in a workload's folder, the way a developer runs it.
pub fn xtask(sh: &Shell, exe: &Path, dir: &Path, url: &str, args: &[&str]) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "{exe} -q {args...} --backend url")
        .env("DATABASE_URL", url)
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .run()
}

/// The same commands through the Docker backend, in the workload's own container.
pub fn xtask_in_container(sh: &Shell, exe: &Path, dir: &Path, args: &[&str]) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "{exe} -q {args...} --backend docker")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .run()
}

/// Starts a container for the workload in `dir` (its own Compose project, as for any checkout)
/// and migrates it. False, said in one line, when Docker cannot run one here.
pub fn start_container(sh: &Shell, exe: &Path, project: &Project, dir: &Path) -> bool {
    let compose_file = project.root.join("docker-compose.yml");
    if std::fs::copy(&compose_file, dir.join("docker-compose.yml")).is_err() {
        out!("(no {}: no Docker rows)", compose_file.display());
        return false;
    }
    let _dir = sh.push_dir(dir);
    let started = cmd!(sh, "{exe} -q db-migrate --backend docker")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_MANIFEST_DIR")
        .quiet()
        .ignore_stdout()
        .output();
    match started {
        Ok(_) => true,
        Err(err) => {
            let why = err.to_string();
            let why = why.lines().rev().find(|line| line.starts_with("error:")).unwrap_or("Docker is not available");
            out!("(no Docker rows: {why})");
            false
        }
    }
}

/// sqlx-cli's `migrate run` or `migrate info` on the same files and server, the address in its
/// environment.
pub fn sqlx_cli_migrate(sh: &Shell, dir: &Path, url: &str, subcommand: &str) -> xshell::Result<()> {
    let _dir = sh.push_dir(dir);
    cmd!(sh, "sqlx migrate {subcommand} --source db/migrations").env("DATABASE_URL", url).quiet().ignore_stdout().run()
}

/// One line: median and spread, and against the floor, the median and spread of the ratios of
/// runs taken side by side.
pub fn row(report: &mut String, workload: &str, what: &str, runs: &[Duration], floor: Option<&[Duration]>) {
    let (median, min, max) = stats(runs.iter().map(Duration::as_secs_f64).collect());
    let ms = |secs: f64| duration(Duration::from_secs_f64(secs));
    let _ =
        write!(report, "{workload:<22} {what:<42} median {:>8}  spread {:>8} – {:<8}", ms(median), ms(min), ms(max));
    if let Some(floor) = floor {
        let ratios = runs.iter().zip(floor).map(|(run, floor)| run.as_secs_f64() / floor.as_secs_f64()).collect();
        let (median, min, max) = stats(ratios);
        let _ = write!(report, "  {median:.2}× floor ({min:.2}–{max:.2})");
    }
    report.push('\n');
}

pub fn stats(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

pub fn print_machine(sh: &Shell, server_version: &str, backend: &str) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next()?.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or_else(|| "unknown".to_owned(), |kb| format!("{} GiB", kb / 1024 / 1024));
    let os = cmd!(sh, "uname -sr").quiet().read().unwrap_or_default();
    out!("Machine: {cpu}, {cores} cores, {memory} memory, {os}");
    out!("Server: PostgreSQL {server_version}, {backend}");
    out!(
        "Binary: {}\n",
        if cfg!(debug_assertions) { "debug build (as `cargo xtask` runs it)" } else { "release build" }
    );
}

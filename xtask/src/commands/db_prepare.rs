//! `db-prepare`: `.sqlx`, the data sqlx's checked queries (`query!`) are checked against when no
//! database is at hand (CI, a fresh clone, `cargo build` without DATABASE_URL), written without
//! sqlx-cli.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::commands::{db_migrate, test};
use crate::output::{self, note, out};
use crate::project::Project;
use crate::server::{Pull, Server};

/// Refresh .sqlx, the offline data of sqlx's checked queries (query!, query_as!)
///
/// Brings the dev database up to date (as db-migrate does), then builds the workspace's tests
/// with sqlx's macros checking every query against it, and writes the query data they produce to
/// .sqlx (what `cargo sqlx prepare` does, without sqlx-cli). Commit .sqlx: a build without
/// DATABASE_URL reads it. With --check, writes nothing and exits 1 when .sqlx is not what the
/// queries and migrations give now (CI runs it). The crates under crates/ that use sqlx's macros are rebuilt
/// (their files' modification times are set to now): cargo does not rebuild for a changed schema.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  cargo xtask db-prepare\n  cargo xtask db-prepare --check")]
pub struct Args {
    /// Change nothing; exit 1 when .sqlx is stale, naming each file that differs
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
        let database = db_migrate::up_to_date(sh, project, &server).await?;
        database.check_password_login().await?;
        let target = database.target().clone();
        drop(database);

        let produced_dir = project.state_dir().join("sqlx-prepare");
        std::fs::remove_dir_all(&produced_dir).ok();
        std::fs::create_dir_all(&produced_dir).with_context(|| format!("create {}", produced_dir.display()))?;
        for dir in crates_with_checked_queries(&project.root.join("crates"))? {
            touch_sources(&dir)?;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = cmd!(sh, "{cargo} test --no-run --quiet")
            .env("DATABASE_URL", target.url_with_password())
            .env("SQLX_OFFLINE", "false")
            .env("SQLX_OFFLINE_DIR", &produced_dir);
        for (key, value) in test::cargo_run_environment() {
            build = match value {
                Some(value) => build.env(key, value),
                None => build.env_remove(key),
            };
        }
        build.run().context("build the tests with sqlx's macros checking every query against the dev database")?;

        let committed_dir = project.root.join(".sqlx");
        let produced = read_queries(&produced_dir)?;
        let committed = read_queries(&committed_dir)?;
        let changes = compare(&committed, &produced);
        if self.check {
            if changes.is_empty() {
                out!("Up to date: .sqlx ({} queries)", produced.len());
                return Ok(ExitCode::SUCCESS);
            }
            for (file, change) in &changes {
                out!(".sqlx/{file}: {change}");
            }
            out!(".sqlx is stale: run `cargo xtask db-prepare` and commit .sqlx");
            return Ok(output::exit_code(output::FOUND));
        }
        if changes.is_empty() {
            note!("Up to date: .sqlx ({} queries)", produced.len());
            return Ok(ExitCode::SUCCESS);
        }
        std::fs::create_dir_all(&committed_dir).context("create .sqlx")?;
        for (file, change) in &changes {
            let path = committed_dir.join(file);
            match produced.get(file) {
                Some(text) => std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?,
                None => std::fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?,
            }
            out!("{change} .sqlx/{file}");
        }
        out!("Wrote .sqlx: {} queries; commit it", produced.len());
        Ok(ExitCode::SUCCESS)
    }
}

/// The query files of a folder (`query-<hash>.json`), by name; none when it does not exist.
fn read_queries(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut queries = BTreeMap::new();
    for entry in dbfiles::folder::entries(dir)? {
        if entry.is_file && entry.name.starts_with("query-") && entry.name.ends_with(".json") {
            let text = std::fs::read(&entry.path).with_context(|| format!("read {}", entry.path.display()))?;
            queries.insert(entry.name, text);
        }
    }
    Ok(queries)
}

/// Each file that differs, with what happened to it.
fn compare(committed: &BTreeMap<String, Vec<u8>>, produced: &BTreeMap<String, Vec<u8>>) -> Vec<(String, &'static str)> {
    let mut changes = Vec::new();
    for (file, text) in produced {
        match committed.get(file) {
            None => changes.push((file.clone(), "Added")),
            Some(old) if old != text => changes.push((file.clone(), "Changed")),
            Some(_) => {}
        }
    }
    for file in committed.keys().filter(|file| !produced.contains_key(*file)) {
        changes.push((file.clone(), "Removed"));
    }
    changes
}

/// The crates under `dir` whose manifest turns on sqlx's macros: the only ones that need building
/// again (the rest, the xtask's shared crates among them, keep their build).
fn crates_with_checked_queries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut crates = Vec::new();
    for entry in dbfiles::folder::entries(dir)? {
        let manifest = entry.path.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        if text.lines().any(|line| line.trim_start().starts_with("sqlx") && line.contains("\"macros\"")) {
            crates.push(entry.path);
        }
    }
    Ok(crates)
}

/// Sets every Rust file's modification time under `dir` to now, so cargo builds those crates
/// again and sqlx's macros run (and write their data) once more.
fn touch_sources(dir: &Path) -> Result<()> {
    let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in dbfiles::folder::entries(&dir)? {
            if !entry.is_file {
                if entry.name != "target" {
                    pending.push(entry.path);
                }
            } else if entry.name.ends_with(".rs") {
                let file = std::fs::File::options()
                    .append(true)
                    .open(&entry.path)
                    .with_context(|| format!("open {}", entry.path.display()))?;
                file.set_modified(SystemTime::now()).with_context(|| format!("touch {}", entry.path.display()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn every_difference_is_named() {
        let old =
            BTreeMap::from([("query-a.json".to_owned(), b"a".to_vec()), ("query-b.json".to_owned(), b"b".to_vec())]);
        let new =
            BTreeMap::from([("query-b.json".to_owned(), b"B".to_vec()), ("query-c.json".to_owned(), b"c".to_vec())]);
        assert_eq!(
            super::compare(&old, &new),
            [
                ("query-b.json".to_owned(), "Changed"),
                ("query-c.json".to_owned(), "Added"),
                ("query-a.json".to_owned(), "Removed")
            ]
        );
        assert!(super::compare(&new, &new).is_empty());
    }
}

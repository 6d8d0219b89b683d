//! `db-new <name>`: a new, empty migration file with a fresh UTC timestamp.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::migrations::folder::{self, MAX_NAME_LEN};
use crate::output::out;
use crate::project::Project;
use crate::timestamp;

/// Create db/migrations/<UTC timestamp>_<name>.sql and print its path
///
/// NAME is lower snake_case ASCII (letters, digits, `_`), 1 to 64 characters; upper case, spaces
/// and dashes are converted ("Create Gateways" and `add gateway location` unquoted both work),
/// anything else is refused. A name another migration already has is refused: say what this one
/// does differently. The new version is always newer than every existing migration. Existing
/// files are never overwritten.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-new create_sensors\n  cargo xtask db-new add gateway location    # words are joined: add_gateway_location"
)]
pub struct Args {
    /// What the migration does, e.g. create_sensors (several words are joined with `_`)
    #[arg(required = true, num_args = 1.., value_name = "NAME")]
    words: Vec<String>,
}

impl Args {
    pub fn run(self, project: &Project) -> Result<()> {
        let name = normalise(&self.words.join(" "))?;
        let dir = project.migrations_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", project.show(&dir)))?;
        // Two db-new at once (two terminals) must not take one version: the version is chosen
        // and its file created under a lock of this checkout.
        let _lock = lock(project)?;
        if let Some(existing) = named_alike(&dir, &name)? {
            bail!(
                "{} already does {name:?}; name this migration after what it does differently \
                 (e.g. `cargo xtask db-new {name}_<what>`), or edit that file if it is yours and not yet shared",
                project.show(&dir.join(existing))
            );
        }
        let version = next_version(&dir)?;
        let path = dir.join(format!("{version}_{name}.sql"));
        let shown = project.show(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("create {shown} (an existing file is never overwritten)"))?;
        file.write_all(folder::new_file_header(version, &name).as_bytes()).with_context(|| format!("write {shown}"))?;
        out!("{shown}");
        Ok(())
    }
}

/// The version for a new migration: now (UTC), or one second past the newest version when that
/// is not older (two calls in one second, a clock behind a teammate's), so the new migration
/// always sorts last. Never a version past 9999-12-31 23:59:59, which is no timestamp.
fn next_version(dir: &std::path::Path) -> Result<i64> {
    let newest = folder::entries(dir)?
        .iter()
        .filter_map(|entry| match folder::parse_name(&entry.name) {
            folder::Name::Migration { version, .. } => Some(version),
            _ => None,
        })
        .max();
    let now = timestamp::now();
    let instant = match newest {
        Some(newest) => match timestamp::from_version(newest) {
            Some(newest_instant) if newest_instant >= now => newest_instant + 1,
            Some(_) => now,
            // A version that is no timestamp (an adopted history's `5_x.sql`) sorts before any.
            None if newest < timestamp::to_version(now) => now,
            None => bail!(
                "the newest migration's version, {newest}, is beyond any timestamp, so no new version can sort \
                 after it; rename it, or name the new file by hand"
            ),
        },
        None => now,
    };
    let version = timestamp::to_version(instant);
    if timestamp::from_version(version).is_none() || version <= newest.unwrap_or(i64::MIN) {
        bail!(
            "the newest migration's version, {}, is the last possible timestamp (9999-12-31 23:59:59), so no \
             new version can sort after it; rename it, or name the new file by hand",
            newest.unwrap_or_default()
        );
    }
    Ok(version)
}

/// The migration already named `name` (what sqlx calls its description, spelled as a file name),
/// if any: two files that say they do the same thing leave the reader guessing which did what.
fn named_alike(dir: &std::path::Path, name: &str) -> Result<Option<String>> {
    Ok(folder::entries(dir)?.into_iter().map(|entry| entry.name).find(|file| {
        matches!(folder::parse_name(file), folder::Name::Migration { .. })
            && file.split_once('_').is_some_and(|(_, rest)| {
                rest.strip_suffix(".sql").map(|r| r.strip_suffix(".up").unwrap_or(r)) == Some(name)
            })
    }))
}

/// An exclusive lock on `.xtask/db-new.lock`, waited for (it is held for milliseconds).
fn lock(project: &Project) -> Result<std::fs::File> {
    let path = project.state_dir().join("db-new.lock");
    let file = crate::lock_file::open(&path)?;
    file.lock().with_context(|| format!("lock {}", project.show(&path)))?;
    Ok(file)
}

/// "Create Gateways" → `create_gateways`; path separators, dots, quotes, NUL and non-ASCII are
/// refused rather than guessed at, since the name becomes part of a file name.
fn normalise(raw: &str) -> Result<String> {
    let mut name = String::with_capacity(raw.len());
    for ch in raw.trim().chars() {
        match ch {
            'a'..='z' | '0'..='9' | '_' => name.push(ch),
            'A'..='Z' => name.push(ch.to_ascii_lowercase()),
            ' ' | '-' => name.push('_'),
            _ => bail!(
                "migration name {raw:?} contains {ch:?}; use ASCII letters (a-z), digits, `_`, spaces or dashes, \
                 since the name becomes part of a file name, e.g. `cargo xtask db-new create_sensors`"
            ),
        }
    }
    // Runs of separators collapse, and none lead or trail: "  a - b " becomes a_b.
    let name = name.split('_').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("_");
    if name.is_empty() {
        bail!("migration name is empty; say what the migration does, e.g. `cargo xtask db-new create_sensors`");
    }
    if name.len() > MAX_NAME_LEN {
        bail!("migration name is {} characters long; the limit is {MAX_NAME_LEN}", name.len());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn normalises_case_spaces_and_dashes() {
        assert_eq!(normalise("Create Gateways").unwrap(), "create_gateways");
        assert_eq!(normalise("  add--mac - index ").unwrap(), "add_mac_index");
        assert_eq!(normalise("v2_table").unwrap(), "v2_table");
    }

    #[test]
    fn refuses_paths_and_oddities() {
        for bad in ["../x", "/abs", "", "  ", "-", "café", "a.b", "a\0b", "drop;table", &"x".repeat(65)] {
            assert!(normalise(bad).is_err(), "{bad:?}");
        }
    }
}

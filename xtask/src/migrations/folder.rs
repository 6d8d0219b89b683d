//! Reads `db/migrations` and refuses anything sqlx would silently skip or misread.
//!
//! sqlx ignores files that don't look like migrations; a typo in a name would then mean a table
//! that never gets created. Here every file must be `YYYYMMDDHHMMSS_snake_name.sql`, and all
//! problems are reported together, each with its file and what to do.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sqlx::migrate::{Migration, MigrationType};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::background::Background;
use crate::timestamp;

/// sqlx's marker for a migration that must run outside a transaction.
pub const NO_TRANSACTION: &str = "-- no-transaction";

pub const MAX_NAME_LEN: usize = 64;

pub struct MigrationFile {
    /// As shown to the user: `db/migrations/20261125150000_create_gateways.sql`.
    pub shown: String,
    pub migration: Migration,
}

impl MigrationFile {
    pub fn version(&self) -> i64 {
        self.migration.version
    }
}

/// `load`, on a thread of its own, so the files are read while the command connects.
pub fn load_in_background(dir: PathBuf) -> Background<Result<Vec<MigrationFile>>> {
    Background::spawn(move || load(&dir, "db/migrations"))
}

/// All migrations in version order, or one error listing every problem in the folder.
pub fn load(dir: &Path, shown_dir: &str) -> Result<Vec<MigrationFile>> {
    let mut problems = Vec::new();
    // Per version: file name, path and sqlx's description.
    let mut by_version: BTreeMap<i64, Vec<(String, PathBuf, String)>> = BTreeMap::new();
    for Entry { name: file_name, path, is_file } in entries(dir)? {
        let shown = format!("{shown_dir}/{file_name}");
        if !is_file {
            problems.push(format!("{shown}: not a file; migrations are single .sql files in {shown_dir}"));
            continue;
        }
        match parse_file_name(&file_name) {
            Ok((version, name)) => {
                // sqlx's own description: the name with `_` read as spaces, so `_sqlx_migrations`
                // rows look exactly as if sqlx-cli had applied them.
                let description = name.replace('_', " ");
                by_version.entry(version).or_default().push((file_name, path, description));
            }
            Err(problem) => problems.push(format!("{shown}: {problem}")),
        }
    }
    let mut unique = Vec::with_capacity(by_version.len());
    for (version, same_version) in by_version {
        if same_version.len() > 1 {
            let names: Vec<_> = same_version.iter().map(|(name, ..)| name.as_str()).collect();
            problems.push(format!(
                "{shown_dir}: {} files share version {version} ({}); give the newer one a fresh version: \
                 `cargo xtask db-new <name>` makes one, then move its SQL there",
                names.len(),
                names.join(", ")
            ));
            continue;
        }
        let (file_name, path, description) = same_version.into_iter().next().expect("one file per version");
        unique.push((version, format!("{shown_dir}/{file_name}"), path, description));
    }
    // Reading and hashing a thousand files is most of a no-op command's work: shared out over
    // the cores, in order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let chunks: Vec<Vec<Result<MigrationFile, String>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = unique
            .chunks(unique.len().div_ceil(threads).max(1))
            .map(|chunk| scope.spawn(move || chunk.iter().map(read_migration).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut files = Vec::with_capacity(unique.len());
    for result in chunks.into_iter().flatten() {
        match result {
            Ok(file) => files.push(file),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        bail!("{shown_dir} has {} problem(s), nothing was changed:\n  {}", problems.len(), problems.join("\n  "));
    }
    Ok(files)
}

/// One migration file read and hashed, or what is wrong with it.
fn read_migration(
    (version, shown, path, description): &(i64, String, PathBuf, String),
) -> Result<MigrationFile, String> {
    match read(path).with_context(|| format!("read {shown}")) {
        Ok(Ok(text)) => {
            Ok(MigrationFile { shown: shown.clone(), migration: migration(*version, description.clone(), text) })
        }
        Ok(Err(problem)) => Err(format!("{shown}: {problem}")),
        Err(err) => Err(format!("{err:#}")),
    }
}

/// One file or folder in `db/migrations` or `db/seeds`.
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    /// A regular file, or a link to one.
    pub is_file: bool,
}

/// The folder's entries by name, skipping hidden files such as `.gitkeep`.
pub fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let read_dir = match std::fs::read_dir(dir) {
        Ok(read_dir) => read_dir,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("read folder {}", dir.display())),
    };
    let mut entries = Vec::new();
    for entry in read_dir {
        let entry = entry.with_context(|| format!("read folder {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // The directory listing already says what each entry is; only links need a stat
        // (a thousand migrations would otherwise cost a thousand of them).
        let path = entry.path();
        let is_file = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => path.is_file(),
            Ok(kind) => kind.is_file(),
            Err(_) => path.is_file(),
        };
        entries.push(Entry { name, path, is_file });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// `20261125150000_create_gateways.sql` → `(20261125150000, "create_gateways")`, or what is
/// wrong with the name and how to fix it.
pub fn parse_file_name(file_name: &str) -> Result<(i64, &str), String> {
    const HOW: &str = "`cargo xtask db-new <name>` creates a correctly named file";
    if file_name.ends_with(".up.sql") || file_name.ends_with(".down.sql") {
        return Err(format!(
            "reversible (.up.sql/.down.sql) migrations are not used here: migrations are append-only, \
             a mistake is fixed by a new migration; keep the up part as a plain .sql file and delete the down file ({HOW})"
        ));
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Err(format!("not a .sql file; only migrations belong in this folder ({HOW})"));
    };
    let (digits, name) = stem.split_at(stem.find('_').unwrap_or(stem.len()));
    let name = name.strip_prefix('_').unwrap_or("");
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("does not start with a 14-digit UTC timestamp YYYYMMDDHHMMSS and `_` ({HOW})"));
    }
    let version: i64 = digits.parse().map_err(|_| "version is not a number".to_owned())?;
    if timestamp::from_version(version).is_none() {
        return Err(format!("{digits} is not a real date and time YYYYMMDDHHMMSS ({HOW})"));
    }
    if let Err(problem) = check_name(name) {
        return Err(format!("{problem} ({HOW})"));
    }
    Ok((version, name))
}

/// Names are lower snake_case ASCII, 1 to 64 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("has no name after the timestamp, as in 20261125150000_create_gateways.sql".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("name is {} characters long; the limit is {MAX_NAME_LEN}", name.len()));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return Err(format!("name {name:?} contains {bad:?}; use lower-case letters, digits and `_`"));
    }
    Ok(())
}

/// The file's SQL as it will run, or what is wrong with its content. A UTF-8 byte-order mark is
/// dropped (PostgreSQL would reject it) and CRLF line endings become LF, so a file that only
/// changed line endings (an editor or `git config core.autocrlf`) keeps its checksum. For files
/// that are already LF without a BOM, which is what `.gitattributes` ensures, the text and so the
/// checksum are byte-for-byte what sqlx computes.
fn read(path: &Path) -> Result<Result<String, String>> {
    let bytes = std::fs::read(path)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Err("is not valid UTF-8; save it as UTF-8".to_owned()));
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.replace("\r\n", "\n"),
        None if text.contains('\r') => text.replace("\r\n", "\n"),
        None => text,
    };
    if text.trim().is_empty() {
        return Ok(Err("is empty; write its SQL, or delete the file if it is not needed".to_owned()));
    }
    Ok(Ok(text))
}

fn migration(version: i64, description: String, sql: String) -> Migration {
    let no_tx = sql.starts_with(NO_TRANSACTION);
    let checksum = Cow::Owned(checksum(&sql));
    let sql = AssertSqlSafe(sql).into_sql_str();
    Migration {
        version,
        description: Cow::Owned(description),
        migration_type: MigrationType::Simple,
        sql,
        checksum,
        no_tx,
    }
}

/// SHA-384 of the SQL, as sqlx's `Migration::new` computes it. sqlx's own hashing is generic code
/// that `cargo xtask`'s unoptimised build runs slowly (several milliseconds for a thousand
/// migrations); ring, which sqlx's TLS already builds, hashes in assembly.
fn checksum(sql: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA384, sql.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_sqlx_checksums() {
        for sql in ["", "SELECT 1;\n", &"CREATE TABLE t (id bigint);\n".repeat(10_000)] {
            let sqlx = Migration::new(
                1,
                "x".into(),
                MigrationType::Simple,
                AssertSqlSafe(sql.to_owned()).into_sql_str(),
                false,
            );
            assert_eq!(checksum(sql), *sqlx.checksum, "{} bytes", sql.len());
        }
    }

    #[test]
    fn accepts_only_well_formed_names() {
        assert_eq!(parse_file_name("20261125150000_create_gateways.sql"), Ok((20261125150000, "create_gateways")));
        for bad in [
            "20261125150000_create_gateways.up.sql",
            "20261125150000_x.down.sql",
            "2026112515000_short.sql",
            "20261125150000.sql",
            "20261125150000_.sql",
            "20261125150000_Create.sql",
            "20261125150000_with space.sql",
            "20261325150000_bad_month.sql",
            "99999999999999999999_too_big.sql",
            "notes.txt",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad}");
        }
    }
}

//! Reads `db/migrations` exactly as sqlx reads it, so any history sqlx applies works here
//! unchanged: `<VERSION>_<DESCRIPTION>.sql` with any 64-bit version (`1_setup.sql`,
//! `20240614104159_idx-cache.sql`), `.up.sql` files as migrations, `.down.sql` files never run.
//!
//! sqlx skips what does not look like a migration (a README, `notes.txt`) without a word; here
//! those files are listed once, with a count, so a typo cannot silently drop a table. What sqlx
//! refuses (a version that is not a number, two files with one version) is refused too, every
//! problem at once, grouped by kind. The project's own convention, `YYYYMMDDHHMMSS_snake_name.sql`
//! from `db-new`, is checked for new files by `db-check`, never imposed on an adopted history.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use sqlx::migrate::{Migration, MigrationType};
use sqlx::{AssertSqlSafe, SqlSafeStr};

pub use dbfiles::folder::{Entry, entries};

use crate::background::Background;
use crate::output::note;

/// sqlx's marker for a migration that must run outside a transaction.
pub const NO_TRANSACTION: &str = "-- no-transaction";

pub const MAX_NAME_LEN: usize = 64;

/// How many files a list of problems or skipped files shows before it gives a count.
const SHOWN: usize = 20;

pub struct MigrationFile {
    /// As shown to the user: `db/migrations/20261125150000_create_gateways.sql`.
    pub shown: String,
    pub migration: Migration,
    /// True when the file is, byte for byte, the header `db-new` wrote for it; found once, when
    /// it is read.
    untouched: bool,
}

impl MigrationFile {
    pub fn version(&self) -> i64 {
        self.migration.version
    }

    /// True when the file is exactly what `db-new` wrote, its header and nothing else: applied,
    /// it would stay in the history as a no-op for good, when its SQL was simply not written yet.
    /// Any other file is applied as sqlx applies it, even one that holds only comments (real
    /// histories have such files, and sqlx-cli applies them).
    pub fn is_untouched(&self) -> bool {
        self.untouched
    }
}

/// The header `db-new` writes into a new migration, and all it writes: a file that is still
/// exactly this is refused until its SQL is written.
pub fn new_file_header(version: i64, name: &str) -> String {
    format!(
        "-- Migration {version}: {name}\n\
         -- Created {created}.\n\
         --\n\
         -- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.\n\
         -- Runs in one transaction. To run outside one (e.g. CREATE INDEX CONCURRENTLY), make the\n\
         -- first line of the file exactly: -- no-transaction\n\n",
        created = crate::timestamp::display(version)
    )
}

/// `load`, on a thread of its own, so the files are read while the command connects.
pub fn load_in_background(dir: PathBuf) -> Background<Result<Vec<MigrationFile>>> {
    Background::spawn(move || load(&dir, "db/migrations"))
}

/// What sqlx makes of a file name.
#[derive(Debug, PartialEq, Eq)]
pub enum Name<'a> {
    /// A migration: its version, sqlx's description (`_` read as spaces) and kind.
    Migration { version: i64, description: String, kind: MigrationType },
    /// Not a migration to sqlx (no `_`, or not ending in `.sql`): skipped.
    Skipped,
    /// sqlx refuses it: the part before the first `_` is not a 64-bit number.
    BadVersion(&'a str),
}

/// Reads a file name as sqlx's `resolve_blocking` does.
pub fn parse_name(file_name: &str) -> Name<'_> {
    let Some((version, rest)) = file_name.split_once('_') else { return Name::Skipped };
    if !rest.ends_with(".sql") {
        return Name::Skipped;
    }
    let Ok(version) = version.parse::<i64>() else { return Name::BadVersion(version) };
    let kind = MigrationType::from_filename(rest);
    let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
    Name::Migration { version, description, kind }
}

/// Problems found in a folder, grouped by kind: one explanation per kind, then its files.
#[derive(Default)]
pub struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    pub fn add(&mut self, explanation: impl Into<String>, file: impl Into<String>) {
        self.0.entry(explanation.into()).or_default().push(file.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn count(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// `  <explanation>:\n    file\n    file\n    … and 280 more` for each kind.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (explanation, files) in &self.0 {
            text += &format!("\n  {explanation}:");
            text += &list(files);
        }
        text
    }

    /// Each problem: its explanation and the file (or `old → new` for a rename).
    pub fn each(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|(explanation, files)| files.iter().map(move |file| (explanation.as_str(), file.as_str())))
    }

    pub fn merge(&mut self, other: Problems) {
        for (explanation, files) in other.0 {
            self.0.entry(explanation).or_default().extend(files);
        }
    }

    /// Fails with every problem, or does nothing when there are none.
    pub fn refuse(&self, what: &str) -> Result<()> {
        if !self.is_empty() {
            bail!("{what} has {} problem(s), nothing was changed:{}", self.count(), self.render());
        }
        Ok(())
    }
}

/// At most `SHOWN` files, one per line, then how many more.
fn list(files: &[String]) -> String {
    let mut text = String::new();
    for file in files.iter().take(SHOWN) {
        text += &format!("\n    {file}");
    }
    if files.len() > SHOWN {
        text += &format!("\n    … and {} more", files.len() - SHOWN);
    }
    text
}

/// All migrations in version order, or one error listing every problem in the folder. Files sqlx
/// skips, and `.down.sql` files, are noted once on stderr.
pub fn load(dir: &Path, shown_dir: &str) -> Result<Vec<MigrationFile>> {
    let (files, problems) = scan(dir, shown_dir)?;
    problems.refuse(shown_dir)?;
    Ok(files)
}

/// The migrations that could be read, and the problems of the others; `Err` only when the
/// folder itself cannot be read.
pub fn scan(dir: &Path, shown_dir: &str) -> Result<(Vec<MigrationFile>, Problems)> {
    let mut problems = Problems::default();
    let (mut skipped, mut down) = (Vec::new(), 0usize);
    // Per version: file name, path, sqlx's description and kind.
    let mut by_version: BTreeMap<i64, Vec<(String, PathBuf, String, MigrationType)>> = BTreeMap::new();
    for Entry { name: file_name, path, is_file } in entries(dir)? {
        let shown = format!("{shown_dir}/{file_name}");
        if !is_file {
            skipped.push(shown);
            continue;
        }
        match parse_name(&file_name) {
            Name::Migration { kind: MigrationType::ReversibleDown, .. } => down += 1,
            Name::Migration { version, description, kind } => {
                by_version.entry(version).or_default().push((file_name, path, description, kind));
            }
            Name::Skipped => skipped.push(shown),
            Name::BadVersion(_) => problems.add(
                "the part before the first `_` is not a version number (sqlx refuses these files too); name \
                 migrations VERSION_name.sql, as `cargo xtask db-new <name>` does, or move the file out of the folder",
                shown,
            ),
        }
    }
    if !skipped.is_empty() {
        note!(
            "Skipped {} entr{} of {shown_dir} that are not migrations (sqlx skips them too; a migration is \
             VERSION_name.sql):{}",
            skipped.len(),
            if skipped.len() == 1 { "y" } else { "ies" },
            list(&skipped)
        );
    }
    if down > 0 {
        note!(
            "{down} .down.sql file(s) in {shown_dir} are never run: migrations here are append-only, and a mistake \
             is fixed by a new migration"
        );
    }
    let mut unique = Vec::with_capacity(by_version.len());
    for (version, same_version) in by_version {
        if same_version.len() > 1 {
            let names: Vec<_> = same_version.iter().map(|(name, ..)| format!("{shown_dir}/{name}")).collect();
            problems.add(
                "files share a version; give the newer one a fresh version (`cargo xtask db-new <name>` makes one, \
                 then move its SQL there)",
                format!("{version}: {}", names.join(", ")),
            );
            continue;
        }
        let (file_name, path, description, kind) = same_version.into_iter().next().expect("one file per version");
        unique.push((version, format!("{shown_dir}/{file_name}"), path, description, kind));
    }
    // Reading and hashing a thousand files is most of a no-op command's work: shared out over
    // the cores, in order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let chunks: Vec<Vec<Result<MigrationFile, (String, String)>>> = std::thread::scope(|scope| {
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
            Err((explanation, file)) => problems.add(explanation, file),
        }
    }
    Ok((files, problems))
}

/// One migration file read and hashed, or what is wrong with it (explanation, file).
fn read_migration(
    (version, shown, path, description, kind): &(i64, String, PathBuf, String, MigrationType),
) -> Result<MigrationFile, (String, String)> {
    match read(path) {
        Ok(Some(text)) => {
            let untouched = *kind == MigrationType::Simple && is_new_file_header(&text, *version, shown);
            Ok(MigrationFile {
                shown: shown.clone(),
                migration: migration(*version, description.clone(), *kind, text),
                untouched,
            })
        }
        Ok(None) => Err(("not valid UTF-8; save it as UTF-8".to_owned(), shown.clone())),
        Err(err) => Err((format!("cannot be read ({err})"), shown.clone())),
    }
}

/// True when `text` is the header `db-new` wrote for this file, byte for byte. Only a short file
/// that starts like one is compared, so a thousand real migrations cost nothing here.
fn is_new_file_header(text: &str, version: i64, shown: &str) -> bool {
    if text.len() > 1024 || !text.starts_with("-- Migration ") {
        return false;
    }
    let file_name = shown.rsplit('/').next().unwrap_or_default();
    let Some(name) = file_name.strip_suffix(".sql").and_then(|stem| stem.split_once('_')).map(|(_, name)| name) else {
        return false;
    };
    text == new_file_header(version, name)
}

/// Lower snake_case ASCII, 1 to 64 characters: the convention `db-new` follows and `db-check`
/// holds new files to.
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
fn read(path: &Path) -> std::io::Result<Option<String>> {
    let bytes = std::fs::read(path)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(None);
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.replace("\r\n", "\n"),
        None if text.contains('\r') => text.replace("\r\n", "\n"),
        None => text,
    };
    Ok(Some(text))
}

fn migration(version: i64, description: String, migration_type: MigrationType, sql: String) -> Migration {
    let no_tx = sql.starts_with(NO_TRANSACTION);
    let checksum = Cow::Owned(checksum(&sql));
    let sql = AssertSqlSafe(sql).into_sql_str();
    Migration { version, description: Cow::Owned(description), migration_type, sql, checksum, no_tx }
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
    fn reads_names_as_sqlx_does() {
        let migration =
            |version, description: &str, kind| Name::Migration { version, description: description.into(), kind };
        assert_eq!(
            parse_name("20261125150000_create_gateways.sql"),
            migration(20261125150000, "create gateways", MigrationType::Simple)
        );
        assert_eq!(
            parse_name("20240614104159_idx-cache.sql"),
            migration(20240614104159, "idx-cache", MigrationType::Simple)
        );
        assert_eq!(parse_name("1_setup.sql"), migration(1, "setup", MigrationType::Simple));
        assert_eq!(parse_name("3_column_set_via_IDs.sql"), migration(3, "column set via IDs", MigrationType::Simple));
        assert_eq!(parse_name("2_x.up.sql"), migration(2, "x", MigrationType::ReversibleUp));
        assert_eq!(parse_name("2_x.down.sql"), migration(2, "x", MigrationType::ReversibleDown));
        for skipped in ["README.md", "notes.txt", "20261125150000.sql", "1_x.sql.bak", "1_x.SQL"] {
            assert_eq!(parse_name(skipped), Name::Skipped, "{skipped}");
        }
        assert_eq!(parse_name("v1_x.sql"), Name::BadVersion("v1"));
        assert_eq!(parse_name("99999999999999999999_too_big.sql"), Name::BadVersion("99999999999999999999"));
    }

    #[test]
    fn lists_at_most_twenty_files_then_a_count() {
        let mut problems = Problems::default();
        for n in 0..300 {
            problems.add("bad", format!("f{n}"));
        }
        let text = problems.render();
        assert_eq!(text.trim_start().lines().count(), 1 + SHOWN + 1, "{text}");
        assert!(text.ends_with("… and 280 more"));
    }
}

//! The schema the migrations add up to, made visible: `db/schema.sql` and the ER diagram in
//! `db/schema.md`, refreshed by `db-migrate` and `db-reset`, checked by `db-check`, and compared
//! with the dev database by `db-status` (drift).
//!
//! One model serves all three: `catalog.rs` reads it from a database, `sql.rs` (in the order
//! `order.rs` finds) and `mermaid.rs` render it, `drift.rs` compares two of them (`session.rs`
//! finds the migrations whose session state can explain a difference), `digest.rs` hashes what
//! `catalog.rs` reads for drift's fast path, `uncovered.rs` lists what the model leaves out,
//! `spelling.rs` accepts a file another major spelled, and `scratch.rs` builds the database the
//! files produce to read it from (or replays a schema.sql). Nothing here writes SQL
//! that changes a schema.

pub mod catalog;
pub mod digest;
pub mod drift;
mod ident;
pub mod mermaid;
pub mod model;
mod order;
pub mod scratch;
pub mod session;
pub mod session_left;
mod spelling;
pub mod sql;
mod stamp;
pub mod uncovered;

use std::path::Path;

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};

use crate::migrations::history::AppliedMigration;
use crate::migrations::plan::{Plan, State};
use crate::migrations::{MigrationFile, history};
use crate::output::note;
use crate::postgres::{Database, Target, connect};
use crate::project::Project;
use dbfiles::fingerprint::Fingerprint;
use model::Schema;
use stamp::Stamp;

/// What a schema built from `files` on a server of `server_version` is known by: the same
/// migrations on the same server build the same schema.
pub fn built_from<'a>(files: impl IntoIterator<Item = &'a MigrationFile>, server_version: &str) -> u64 {
    Fingerprint::new().field(server_version.as_bytes()).migrations(files.into_iter().map(|f| &f.migration)).finish()
}

/// What is known of the dev database's schema when the schema files are refreshed from it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Provenance {
    /// What the migrations produce: built from the files just now (a reset, a database
    /// `db-migrate` created), or migrated from a state the xtask had found free of hand changes
    /// (its schema's digest was the one remembered for those migrations).
    FromTheFiles,
    /// It may hold changes made by hand: it is compared with the schema the migrations produce,
    /// and the files are written from the migrations' schema, never from the database's.
    Unverified,
}

/// True when `refresh` has nothing to do: the files on disk were rendered from these migrations.
pub fn is_current(project: &Project, files: &[MigrationFile]) -> bool {
    Stamp::of(project, files).is_current(project, &[SQL_FILE, DIAGRAM_FILE])
}

/// Whether the database `conn` is in is known to be what its applied migrations produce: its
/// schema's digest is the one remembered for them (by a reset, a `db-status` that found no
/// drift, or the last `db-migrate`). One query; anything that cannot be read means `Unverified`.
pub async fn provenance(
    conn: &mut PgConnection,
    project: &Project,
    files: &[MigrationFile],
    applied: &[AppliedMigration],
) -> Provenance {
    let plan = Plan::new(files, applied);
    if plan.problems().next().is_some() {
        return Provenance::Unverified;
    }
    // Migrations applied in a session an earlier run left changed may differ from one run's.
    if applied.iter().map(|row| row.version).max().is_some_and(|newest| session_left::before(project, newest)) {
        return Provenance::Unverified;
    }
    let applied_files = plan.entries.iter().filter(|e| e.state == State::Applied).filter_map(|e| e.file);
    let known = async {
        let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut *conn).await?;
        let known_good = digest::KnownGood::new(project, applied_files, &version);
        anyhow::Ok(known_good.is(&digest::of(conn).await?))
    };
    if known.await.unwrap_or(false) { Provenance::FromTheFiles } else { Provenance::Unverified }
}

/// Remembers `digest` as the schema these migrations produce on the server `conn` is connected
/// to (the fast path of drift, and what `provenance` checks). Only a speed-up: failures are
/// ignored.
pub async fn remember_known_good(conn: &mut PgConnection, project: &Project, files: &[MigrationFile], digest: &str) {
    if let Ok(version) = sqlx::query_scalar::<_, String>("SELECT version()").fetch_one(conn).await {
        digest::KnownGood::new(project, files, &version).remember(digest);
    }
}

/// The generated files, relative to the checkout's root.
pub const SQL_FILE: &str = "db/schema.sql";
pub const DIAGRAM_FILE: &str = "db/schema.md";

/// Both files' contents for a schema, with their paths.
pub fn render(schema: &Schema) -> [(&'static str, String); 2] {
    [(SQL_FILE, sql::render(schema)), (DIAGRAM_FILE, mermaid::render(schema))]
}

/// True when `file`, a `db/schema.sql` that is not this server's rendering of `expected`, is
/// one by a server of another major (`spelling.rs`): the same but for the definitions the
/// server spells, and, replayed on this server (`admin` is a session on it, `target` the dev
/// database beside which it is replayed), the same schema, with nothing beside it that the model
/// does not cover but what the migrations' schema has (`uncovered`).
pub async fn is_other_spelling(
    admin: &mut PgConnection,
    target: &Target,
    file: &str,
    expected: &Schema,
    uncovered: &[String],
) -> Result<bool> {
    if !spelling::differs_only_in_spelling(file, expected) {
        return Ok(false);
    }
    let replayed = scratch::replayed(admin, target, file).await?;
    Ok(drift::compare(expected, &replayed.schema).is_empty() && replayed.uncovered == uncovered)
}

/// The server's major version, for messages: `15`.
pub async fn server_major(conn: &mut PgConnection) -> Result<String> {
    let version: String = sqlx::query_scalar("SELECT current_setting('server_version_num')").fetch_one(conn).await?;
    Ok(version.get(..version.len().saturating_sub(4)).unwrap_or(&version).to_owned())
}

/// Rewrites `db/schema.sql` and `db/schema.md` when the dev database is at the newest migration
/// (every file applied, nothing changed or missing), so they show what the files produce. A file
/// is written only when its content changed, so its modification time says when the schema last
/// changed, with one note per file written. A schema.sql that a server of another major wrote
/// for this same schema is kept as it is (`is_other_spelling`), so a team on two majors does not
/// rewrite it back and forth.
///
/// The files must show what the migrations produce, never a change made by hand in the dev
/// database. From a database that is not known to be what they produce (`Unverified`), the
/// migrations' schema is read as `db-status` reads it (the reset cache, else a scratch build),
/// the files are written from it, and every difference the dev database has is said loudly. When
/// that schema cannot be had (no right to create a database), the files are written from the dev
/// database with a warning, and no stamp: the next reset renders them again.
pub async fn refresh(
    db: &mut Database,
    project: &Project,
    files: &[MigrationFile],
    provenance: Provenance,
) -> Result<()> {
    let stamp = Stamp::of(project, files);
    if stamp.is_current(project, &[SQL_FILE, DIAGRAM_FILE]) {
        return Ok(());
    }
    let database = db.name().to_owned();
    let target = db.target().clone();
    let dev = db.dev().await?;
    let applied = history::read(dev).await?;
    let plan = Plan::new(files, &applied);
    if plan.pending().next().is_some() || plan.problems().next().is_some() {
        return Ok(());
    }
    let read_error = "the database is migrated, but its schema could not be read to refresh db/schema.sql";
    let actual = catalog::read(dev).await.context(read_error)?;
    let (schema, written_from) = match provenance {
        Provenance::FromTheFiles => (actual, WrittenFrom::DevDatabaseKnownGood),
        Provenance::Unverified => {
            let expected = async { scratch::expected(db.maintenance().await?, &target, project, files).await };
            match expected.await {
                Ok(expected) => {
                    let differences = drift::compare(&expected.schema, &actual);
                    if !differences.is_empty() {
                        let shown: Vec<String> = differences.iter().take(5).map(|d| format!("\n  {d}")).collect();
                        note!(
                            "warning: {database} differs from the schema db/migrations produce ({} difference(s), \
                             changed by hand?):{}{}\n{} and {} are written from the migrations, not from {database}: \
                             `cargo xtask db-status` lists every difference, `cargo xtask db-reset` rebuilds the \
                             database from the files",
                            differences.len(),
                            shown.concat(),
                            if differences.len() > 5 { "\n  …" } else { "" },
                            SQL_FILE,
                            DIAGRAM_FILE
                        );
                    }
                    let written_from = match differences.is_empty() {
                        true => WrittenFrom::DevDatabaseKnownGood,
                        false => WrittenFrom::MigrationsNotDevDatabase,
                    };
                    (expected.schema, written_from)
                }
                Err(err) => {
                    note!(
                        "warning: {SQL_FILE} and {DIAGRAM_FILE} are written from {database}, which could not be \
                         compared with the schema db/migrations produce ({}): a change made there by hand would show \
                         in them; `cargo xtask db-check` compares them",
                        crate::output::describe_error(&err)
                    );
                    (actual, WrittenFrom::DevDatabaseUnchecked)
                }
            }
        }
    };
    let dev = db.dev().await?;
    for (path, content) in render(&schema) {
        if path == SQL_FILE && kept_as_spelled(dev, &target, &project.root, &content, &schema).await {
            continue;
        }
        if write_if_changed(&project.root, path, &content)
            .with_context(|| format!("the database is migrated, but {path} could not be written"))?
        {
            note!("Wrote {path}: the schema changed; commit it with the migration");
        }
    }
    if written_from != WrittenFrom::DevDatabaseUnchecked {
        stamp.save(project, &[SQL_FILE, DIAGRAM_FILE]);
    }
    if written_from == WrittenFrom::DevDatabaseKnownGood
        && let Ok(digest) = digest::of(dev).await
    {
        remember_known_good(dev, project, files, &digest).await;
    }
    Ok(())
}

/// What `refresh` wrote the schema files from, which decides what it may remember.
#[derive(PartialEq, Eq)]
enum WrittenFrom {
    /// The dev database, known to be exactly what the migrations produce: the files are stamped,
    /// and its digest is remembered as known good (drift's fast path).
    DevDatabaseKnownGood,
    /// The migrations' schema, because the dev database differs from it: the files are stamped,
    /// the dev database is not remembered.
    MigrationsNotDevDatabase,
    /// The dev database, which could not be compared with the migrations' schema: nothing is
    /// remembered, so the next reset renders the files again.
    DevDatabaseUnchecked,
}

/// True when db/schema.sql is not `content` but says the same in another major's spelling, and
/// is kept (with a note). Anything that cannot be checked means writing the file.
async fn kept_as_spelled(
    conn: &mut PgConnection,
    target: &Target,
    root: &Path,
    content: &str,
    schema: &Schema,
) -> bool {
    let Ok(file) = std::fs::read_to_string(root.join(SQL_FILE)) else { return false };
    if file == content || !spelling::differs_only_in_spelling(&file, schema) {
        return false;
    }
    let check = async {
        let uncovered = uncovered::read(conn).await?;
        let mut admin = connect::connect(&target.maintenance()).await?;
        let same = is_other_spelling(&mut admin, target, &file, schema, &uncovered).await;
        admin.close().await.ok();
        anyhow::Ok((same?, server_major(conn).await?))
    };
    match check.await {
        Ok((true, major)) => {
            note!(
                "Kept {SQL_FILE}: another PostgreSQL major spelled its definitions, and replayed here on {major} it \
                 builds exactly this schema"
            );
            true
        }
        _ => false,
    }
}

/// True when the file was written: it did not exist or held something else.
fn write_if_changed(root: &Path, path: &str, content: &str) -> Result<bool> {
    let full = root.join(path);
    if std::fs::read(&full).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    if let Some(dir) = full.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // Written beside and renamed into place: an interrupted write never leaves half a file, and
    // concurrent runs (eight db-migrates at once) each rename a whole file of their own.
    let file_name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = full.with_file_name(format!(".{file_name}.{}.partial", std::process::id()));
    std::fs::write(&partial, content).with_context(|| format!("write {}", partial.display()))?;
    std::fs::rename(&partial, &full).with_context(|| format!("replace {}", full.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::write_if_changed(dir.path(), "db/schema.sql", "one\n").unwrap());
        let path = dir.path().join("db/schema.sql");
        let written = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
        assert!(!super::write_if_changed(dir.path(), "db/schema.sql", "one\n").unwrap());
        assert_eq!(std::fs::metadata(&path).and_then(|m| m.modified()).unwrap(), written);
        assert!(super::write_if_changed(dir.path(), "db/schema.sql", "two\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("db")).unwrap().collect();
        assert_eq!(left.len(), 1, "a partial file was left behind");
    }
}

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
mod spelling;
pub mod sql;
mod stamp;
pub mod uncovered;

use std::path::Path;

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};

use crate::migrations::plan::Plan;
use crate::migrations::{MigrationFile, history};
use crate::output::note;
use crate::postgres::{Target, connect};
use crate::project::Project;
use dbfiles::fingerprint::Fingerprint;
use model::Schema;
use stamp::Stamp;

/// What a schema built from `files` on a server of `server_version` is known by: the same
/// migrations on the same server build the same schema.
pub fn built_from(files: &[MigrationFile], server_version: &str) -> u64 {
    Fingerprint::new().field(server_version.as_bytes()).migrations(files.iter().map(|f| &f.migration)).finish()
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

/// Rewrites `db/schema.sql` and `db/schema.md` from the database `conn` is in, when it is at the
/// newest migration (every file applied, nothing changed or missing): then it is what the files
/// produce. A file is written only when its content changed, so its modification time says when
/// the schema last changed, with one note per file written. A schema.sql that a server of another
/// major wrote for this same schema is kept as it is (`is_other_spelling`), so a team on two
/// majors does not rewrite it back and forth.
pub async fn refresh(
    conn: &mut PgConnection,
    target: &Target,
    project: &Project,
    files: &[MigrationFile],
) -> Result<()> {
    let stamp = Stamp::of(project, files);
    if stamp.is_current(project, &[SQL_FILE, DIAGRAM_FILE]) {
        return Ok(());
    }
    let applied = history::read(conn).await?;
    let plan = Plan::new(files, &applied);
    if plan.pending().next().is_some() || plan.problems().next().is_some() {
        return Ok(());
    }
    let schema = catalog::read(conn)
        .await
        .context("the database is migrated, but its schema could not be read to refresh db/schema.sql")?;
    for (path, content) in render(&schema) {
        if path == SQL_FILE && kept_as_spelled(conn, target, &project.root, &content, &schema).await {
            continue;
        }
        if write_if_changed(&project.root, path, &content)
            .with_context(|| format!("the database is migrated, but {path} could not be written"))?
        {
            note!("Wrote {path}: the schema changed; commit it with the migration");
        }
    }
    stamp.save(project, &[SQL_FILE, DIAGRAM_FILE]);
    Ok(())
}

/// `refresh` on a session of its own, for a command that has none in the dev database (a reset
/// just swapped it in).
pub async fn refresh_at(target: &Target, project: &Project, files: &[MigrationFile]) -> Result<()> {
    if Stamp::of(project, files).is_current(project, &[SQL_FILE, DIAGRAM_FILE]) {
        return Ok(());
    }
    let mut conn = connect::connect(target).await?;
    refresh(&mut conn, target, project, files).await
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

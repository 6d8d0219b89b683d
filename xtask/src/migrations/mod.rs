//! `db/migrations`: reading the folder, comparing it with what a database has applied, and
//! applying what is pending with sqlx's migrator.

pub mod apply;
pub mod folder;
pub mod history;
pub mod lock;
pub mod plan;

pub use folder::MigrationFile;

use anyhow::Result;

use crate::background::Background;
use crate::postgres::Database;
use history::AppliedMigration;

/// The two sides db-migrate and db-status compare: the files, and what the dev database has
/// applied (`None` when it does not exist yet).
pub struct Sides {
    pub files: Vec<MigrationFile>,
    pub applied: Option<Vec<AppliedMigration>>,
    /// The history is exactly the files, every one applied successfully (a no-op), as the
    /// history's summary proved without reading its rows.
    pub all_applied: bool,
}

/// Reads the dev database's history while the files finish loading on their own thread. A
/// problem in the files is reported before a problem with the server.
///
/// The history is first asked for in one short row (`history::summary`): when it is exactly the
/// files, every one applied (a no-op), nothing more is read. Anything else, the rows are read.
pub async fn read_sides(
    loading: Background<Result<Vec<MigrationFile>>>,
    database: Result<Database>,
    detail: history::Detail,
) -> Result<(Database, Sides)> {
    let mut database = database;
    let summary = match &mut database {
        Ok(database) => match database.open_dev() {
            Some(dev) => history::summary(dev, detail).await.map(Some),
            None => Ok(None),
        },
        Err(_) => Ok(None),
    };
    let files = loading.join()?;
    let mut database = database?;
    let (applied, all_applied) = match summary? {
        // The dev database does not exist.
        None => (None, false),
        // No `_sqlx_migrations` yet.
        Some(None) => (Some(Vec::new()), false),
        Some(Some(summary)) => match summary.agrees_with(&files) {
            Some(applied) => (Some(applied), true),
            None => (history::of(&mut database).await?, false),
        },
    };
    Ok((database, Sides { files, applied, all_applied }))
}

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
}

/// Reads the dev database's history while the files finish loading on their own thread. A
/// problem in the files is reported before a problem with the server.
pub async fn read_sides(
    loading: Background<Result<Vec<MigrationFile>>>,
    database: Result<Database>,
) -> Result<(Database, Sides)> {
    let mut database = database;
    let applied = match &mut database {
        Ok(database) => history::of(database).await,
        Err(_) => Ok(None),
    };
    let files = loading.join()?;
    Ok((database?, Sides { files, applied: applied? }))
}

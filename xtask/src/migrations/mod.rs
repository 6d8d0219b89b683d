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
use crate::postgres::connect::Session;
use crate::server::Running;
use history::AppliedMigration;

/// Where db-migrate and db-status start from: the files, the running server, and what the dev
/// database has applied (`None` when it does not exist yet).
pub struct Start {
    pub files: Vec<MigrationFile>,
    pub running: Running,
    pub applied: Option<Vec<AppliedMigration>>,
}

/// Waits for the files, which load on their own thread while the server is reached, and
/// meanwhile reads the dev database's history. A problem in the files is reported before a
/// problem with the server.
pub async fn start(loading: Background<Result<Vec<MigrationFile>>>, running: Result<Running>) -> Result<Start> {
    let mut running = running;
    let applied = match &mut running {
        Ok(Running { session: Session::Dev(conn), .. }) => Some(history::read(conn).await),
        _ => None,
    };
    let files = loading.join()?;
    Ok(Start { files, running: running?, applied: applied.transpose()? })
}

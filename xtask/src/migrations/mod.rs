//! `db/migrations`: reading the folder, comparing it with what a database has applied, and
//! applying what is pending with sqlx's migrator.

pub mod apply;
pub mod folder;
pub mod history;
pub mod lock;
pub mod plan;

pub use folder::MigrationFile;

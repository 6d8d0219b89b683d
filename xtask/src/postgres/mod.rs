//! Talking to a PostgreSQL server: where it is, connecting, and the statements that manage
//! whole databases.

pub mod admin;
pub mod beside;
pub mod connect;
pub mod database;
pub mod install;
pub mod named_lock;
pub mod sql_error;
pub mod target;
pub mod waits;

pub use database::Database;
pub use target::{StatementTimeout, Target};

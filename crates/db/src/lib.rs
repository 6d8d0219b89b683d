//! The fleet's database as the application sees it: the migrations (embedded at compile time)
//! and the domain types that map to the tables.
//!
//! Organizations own factories; factories own gateways. The schema, its constraints and the
//! delete rules are described in the README; the SQL is in `db/migrations`.

mod constraint;
mod gateway_status;
mod index;
mod rows;

pub use constraint::{Constraint, ConstraintKind};
pub use gateway_status::GatewayStatus;
pub use index::Index;
pub use rows::{Factory, Gateway, Organization};

/// Every migration in `db/migrations`, embedded: `MIGRATOR.run(&pool).await` brings a database
/// up to date, taking the same advisory lock as `cargo xtask db-migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../db/migrations");

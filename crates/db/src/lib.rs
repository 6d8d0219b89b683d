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

/// The column types the rows hold, re-exported: a consumer names them through `db` without
/// adding sqlx's `uuid`, `time`, `json` and `mac_address` features (or those crates) itself.
pub mod types {
    pub use sqlx::types::mac_address::MacAddress;
    pub use sqlx::types::time::OffsetDateTime;
    pub use sqlx::types::{JsonValue, Uuid};
    pub use std::net::IpAddr;
}

/// Every migration in `db/migrations`, embedded: `MIGRATOR.run(&pool).await` brings a database
/// up to date, taking the same advisory lock as `cargo xtask db-migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../db/migrations");

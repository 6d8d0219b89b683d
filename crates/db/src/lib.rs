//! The fleet's database as the application sees it: the migrations (embedded at compile time),
//! the domain types that map to the tables, and the names of the schema's constraints and
//! indexes. No queries: the repository layer is the API's.
//!
//! Organizations own factories; factories own gateways. The tables, their rules and the delete
//! rules are described in crates/db/README.md; the SQL is in `db/migrations`.
//!
//! # Errors
//!
//! [`Constraint::of`] tells which constraint a refused write violated, so an API maps it to a
//! typed error without spelling names that only the catalog shows.
//!
//! # Sort order
//!
//! Every text column names its collation, so `ORDER BY` gives the same rows in the same order on
//! every server whatever its default locale: names, cities and addresses by ICU's root
//! collation (`"und-x-icu"`: accents beside their letter, case as a tie-breaker), identifiers
//! (slug, serial number, firmware version, country code, time zone) by `"C"`, byte order. A
//! bound parameter compared with a column (`WHERE name > $1`) takes the column's collation.
//!
//! # Queries that use the partial index
//!
//! [`Index::GatewaysLastSeenIdx`] covers only gateways that are not decommissioned. Write the
//! status condition literally and bind only the time, or the generic plan that a cached
//! statement switches to after five executions scans the whole table:
//!
//! ```sql
//! -- Uses the index:
//! SELECT * FROM gateways WHERE status <> 'decommissioned' AND last_seen_at < $1
//! UPDATE gateways SET status = 'offline' WHERE status = 'online' AND last_seen_at < $1
//! -- Does not, once the plan is generic:
//! SELECT * FROM gateways WHERE status <> $1 AND last_seen_at < $2
//! ```
//!
//! # Features
//!
//! `serde`: `Serialize` and `Deserialize` for the rows and [`GatewayStatus`] (its snake_case
//! label), with times as RFC 3339 strings.

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

/// `db/seeds`, where `cargo xtask db-reset` reads the seeds: for test databases seeded the same
/// way (`testdb::Setup::seeded(&db::MIGRATOR, db::SEEDS_DIR)`).
pub const SEEDS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../db/seeds");

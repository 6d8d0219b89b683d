//! The schema against a real PostgreSQL: each test gets a transaction on a shared database
//! migrated by `db::MIGRATOR` (seeded or not), rolled back at its end, or a copy of its own where
//! it must commit or alter tables (`crates/testdb`; the server from DATABASE_URL, which
//! `cargo xtask test` sets).

mod collation;
mod constraints;
mod docker;
mod gateway_status;
mod indexes;
mod json;
mod names;
mod seeds;
mod support;

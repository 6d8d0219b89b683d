//! The schema against a real PostgreSQL: each test gets a fresh database migrated by
//! `db::MIGRATOR` (`#[sqlx::test]`, with the server from DATABASE_URL, which `cargo xtask test`
//! sets).

mod collation;
mod constraints;
mod docker;
mod gateway_status;
mod indexes;
mod json;
mod names;
mod seeds;
mod support;

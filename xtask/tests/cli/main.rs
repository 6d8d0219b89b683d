//! The xtask binary, run in throwaway projects against a real PostgreSQL server; each test then
//! looks at the database itself, not only at what the command printed.

mod support;

mod check;
mod db_new;
mod docker;
mod equivalence;
mod faults;
mod migrate;
mod native;
mod project;
mod readme;
mod refusals;
mod replay;
mod reset;
mod safety;
mod schema;
mod secrets;
mod sqlx_compat;
mod status;
mod tls;
mod trust;
mod workspace;

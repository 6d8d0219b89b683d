//! `db/migrations` and `db/seeds` as two programs use them: the xtask (`db-reset`, `db-migrate`)
//! and the test databases (`testdb`). What both must agree on lives here once, so it cannot
//! drift: which seed files run and how (every file in name order, in one transaction, each sent
//! whole or, with COPY data, statement by statement), and the fingerprint that names a build of
//! the migrations and seeds (the reset cache's template, the tests' template).
//!
//! It knows nothing of servers, backends or output: callers connect, and say what happened.

pub mod fingerprint;
pub mod folder;
pub mod names;
pub mod script;
pub mod seeds;
pub mod statements;
pub mod template;

//! What a reset adds around `db-migrate`'s own path, and nothing else: where the new database is
//! built unseen (`names`), one reset at a time (`lock`), the cached template that replaces the
//! build when no file changed (`cache`), and the swap that puts the result in place (`swap`).
//!
//! The rule this module keeps: a reset builds exactly what `db-migrate` builds on an empty
//! database. It never merges migrations' transactions or changes how their SQL runs; the build
//! itself is `migrations::apply::migrate`, and the cache copies a database that path built,
//! per-database settings included.

pub mod cache;
pub mod lock;
pub mod names;
pub mod swap;

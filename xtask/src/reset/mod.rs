//! What a reset adds around `db-migrate`'s own path, and nothing else: the cached template that
//! replaces the build when no file changed (`cache`), and the swap that puts the result in place
//! (`swap`). Where the new database is built unseen (`postgres::beside`) and one reset at a time
//! (`postgres::named_lock`) are named below, with the other databases kept beside a dev database.
//!
//! The rule this module keeps: a reset builds exactly what `db-migrate` builds on an empty
//! database. It never merges migrations' transactions or changes how their SQL runs; the build
//! itself is `migrations::apply::migrate`, and the cache copies a database that path built,
//! per-database settings included.

pub mod cache;
pub mod swap;

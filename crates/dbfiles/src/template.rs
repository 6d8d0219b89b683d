//! The key of a template database: what a build of the migrations and seeds depends on. The
//! reset cache (`cargo xtask db-reset`) and the test databases (`testdb`) both name their
//! templates with it, so a change to any migration or seed gives both a new template and neither
//! ever uses a stale one.

use sqlx::migrate::Migration;

use crate::fingerprint::Fingerprint;
use crate::seeds::SeedFile;

/// A template older than this is built again: seeds that compute timestamps from `now()` ("last
/// seen five minutes ago") stay recent.
pub const MAX_AGE_SECS: i64 = 3600;

/// The server's version as the key takes it (`version()`: the major, minor and build).
pub const SERVER_VERSION_QUERY: &str = "SELECT version()";

/// The hash of everything that shapes a build: the database it is for, the server's version
/// ([`SERVER_VERSION_QUERY`]),
/// every migration's version and checksum, whether seeds were applied and every seed's name and
/// text.
pub fn key<'a>(
    database: &str,
    server_version: &str,
    migrations: impl IntoIterator<Item = &'a Migration>,
    seeds: Option<&[SeedFile]>,
) -> u64 {
    let mut hash = Fingerprint::new();
    hash.field(database.as_bytes()).field(server_version.as_bytes()).migrations(migrations);
    hash.field(if seeds.is_some() { b"seeded" } else { b"unseeded" });
    for seed in seeds.unwrap_or_default() {
        hash.field(seed.shown.as_bytes()).field(seed.sql.as_bytes());
    }
    hash.finish()
}

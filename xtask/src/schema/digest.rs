//! A database's schema in one hash, computed by the server in one query: the fast path of drift.
//!
//! Reading a whole schema into the model and comparing it with the files' costs a few hundred
//! milliseconds for a thousand tables in the unoptimised build. But drift is rare: once a full
//! comparison found none, the dev database's digest is remembered (`.xtask/schema-digest`, with
//! the migrations and server version it holds for), and the next `db-status` only asks the server
//! for the digest again. The digest hashes the very rows the model is read from
//! (`catalog::queries`), so it changes whenever what the full comparison compares changes, and
//! never for what the model does not cover. A change that the comparison does not count as drift
//! (the order storage parameters were set in) only sends `db-status` down the full comparison
//! once, which has the last word.

use anyhow::{Context, Result};
use sqlx::PgConnection;

use super::catalog;
use crate::migrations::MigrationFile;
use crate::project::Project;
use dbfiles::fingerprint::Fingerprint;

/// One query for the whole schema: the rows of each query the model is read with
/// (`catalog::queries`), sorted as text and hashed, then the hashes hashed. The rows are the
/// model's inputs and hold no OID, so the digest changes whenever the model does, and
/// identical schemas in two databases share it.
fn query() -> String {
    let parts: Vec<String> = catalog::queries()
        .iter()
        .map(|q| {
            format!(
                "(SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE \"C\"), '')) FROM ({q}) r)"
            )
        })
        .collect();
    format!("SELECT md5(concat_ws(' ', {}))", parts.join(", "))
}

/// The digest of the schema of the database `conn` is in.
pub async fn of(conn: &mut PgConnection) -> Result<String> {
    let mut tx = catalog::snapshot(conn).await.context("compute the schema's digest")?;
    let digest: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query()))
        .fetch_one(&mut *tx)
        .await
        .context("compute the schema's digest")?;
    tx.rollback().await.ok();
    Ok(digest)
}

/// Where a digest known to be drift-free is kept, with what it holds for.
pub struct KnownGood {
    key: String,
    path: std::path::PathBuf,
}

impl KnownGood {
    /// For these migrations on a server of this version.
    pub fn new<'a>(
        project: &Project,
        files: impl IntoIterator<Item = &'a MigrationFile>,
        server_version: &str,
    ) -> KnownGood {
        KnownGood {
            // The queries too: a digest remembered by an xtask that read other rows says nothing.
            key: format!(
                "{:016x}{:016x}",
                super::built_from(files, server_version),
                Fingerprint::new().field(query().as_bytes()).finish()
            ),
            path: project.state_dir().join("schema-digest"),
        }
    }

    /// True when `digest` is the one a full comparison found drift-free for these migrations.
    pub fn is(&self, digest: &str) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|line| line == format!("{} {digest}\n", self.key))
    }

    /// Remembers `digest` as drift-free. Only a speed-up: a failure to write is ignored.
    pub fn remember(&self, digest: &str) {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(&self.path, format!("{} {digest}\n", self.key)).ok();
    }
}

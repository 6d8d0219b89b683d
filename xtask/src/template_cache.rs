//! The reset cache: a template database built from the migrations and seeds, so the next reset
//! is one `CREATE DATABASE … TEMPLATE` instead of running every file again.
//!
//! The template's name carries a hash of everything that shapes the result: every migration's
//! version and checksum, every seed's name and text, whether seeds were applied, and the server's
//! version. Any change to any file gives another name, so a stale template is never used; it is
//! simply not found, and the reset builds and caches a new one (removing the old). Templates older
//! than an hour are rebuilt too, so seeds that compute timestamps from `now()` stay recent.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use crate::fingerprint::Fingerprint;
use crate::migrations::MigrationFile;
use crate::postgres::admin::{self, quote_ident};
use crate::seeds::SeedFile;
use crate::timestamp;

const MARKER: &str = "__xtask_tpl_";
const MAX_AGE_SECS: i64 = 3600;

pub struct TemplateCache {
    pub name: String,
    prefix: String,
}

impl TemplateCache {
    pub fn new(
        database: &str,
        server_version: &str,
        files: &[MigrationFile],
        seeds: Option<&[SeedFile]>,
    ) -> TemplateCache {
        let mut hash = Fingerprint::new();
        hash.field(server_version.as_bytes());
        for file in files {
            hash.field(&file.version().to_le_bytes()).field(&file.migration.checksum);
        }
        hash.field(if seeds.is_some() { b"seeded" } else { b"unseeded" });
        for seed in seeds.unwrap_or_default() {
            hash.field(seed.shown.as_bytes()).field(seed.sql.as_bytes());
        }
        let prefix = prefix(database);
        TemplateCache { name: format!("{prefix}{:016x}", hash.finish()), prefix }
    }

    /// True when the template exists and is recent enough to use.
    pub async fn is_fresh(&self, admin: &mut PgConnection) -> Result<bool> {
        let comment: Option<Option<String>> =
            sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
                .bind(&self.name)
                .fetch_optional(admin)
                .await
                .context("look up the reset cache")?;
        let built =
            comment.flatten().and_then(|c| c.strip_prefix("cargo xtask reset cache, built ")?.parse::<i64>().ok());
        Ok(built.is_some_and(|built| timestamp::now() - built < MAX_AGE_SECS))
    }

    /// Creates `database` as a copy of the template.
    pub async fn copy_to(&self, admin: &mut PgConnection, database: &str) -> Result<()> {
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {} STRATEGY = FILE_COPY",
            quote_ident(database),
            quote_ident(&self.name)
        );
        admin
            .execute(AssertSqlSafe(sql))
            .await
            .with_context(|| format!("create {database} from the cached template"))?;
        Ok(())
    }

    /// Makes the template a copy of `database` (which no session may be using), replacing any
    /// older template of this dev database.
    pub async fn save_from(&self, admin: &mut PgConnection, database: &str) -> Result<()> {
        remove_all(admin, &self.prefix).await?;
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&self.name), quote_ident(database));
        admin.execute(AssertSqlSafe(sql)).await.context("save the reset cache")?;
        let comment = format!("cargo xtask reset cache, built {}", timestamp::now());
        let sql = format!("COMMENT ON DATABASE {} IS '{comment}'", quote_ident(&self.name));
        admin.execute(AssertSqlSafe(sql)).await.context("label the reset cache")?;
        Ok(())
    }
}

/// `<database>__xtask_tpl_`, shortened to leave room for the hash within 63 bytes.
pub fn prefix(database: &str) -> String {
    format!("{}{MARKER}", admin::fit_identifier(database, MARKER.len() + 16))
}

/// Drops every cached template of a dev database; returns their names.
pub async fn remove_all(admin: &mut PgConnection, prefix: &str) -> Result<Vec<String>> {
    let templates = admin::with_prefix(admin, prefix).await?;
    for template in &templates {
        admin::drop_force(admin, template).await?;
    }
    Ok(templates)
}

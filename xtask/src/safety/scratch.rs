//! The database a trace runs in: the base's migrations with the base's seeds loaded (real rows,
//! so a scan or a rewrite is real), as `<db>__xtask_trace`, a copy made for this trace and
//! dropped after it. Never the dev database, never any other.
//!
//! The copy comes from the first of:
//! 1. the reset cache, when a reset already built exactly these migrations and seeds (its
//!    template's name is a hash of them and the server's version);
//! 2. `<db>__xtask_tracebase`, kept from an earlier trace of the same base (labelled with a
//!    hash of what it was built from, and closed to connections so nobody changes it);
//! 3. a build of that kept base by `migrations::apply` (db-migrate's own path) and the seeds,
//!    which the next trace of the same base then copies.

use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::elapsed::since;
use crate::fingerprint::Fingerprint;
use crate::migrations::{MigrationFile, apply};
use crate::postgres::admin::{self, quote_ident};
use crate::postgres::{Target, connect};
use crate::reset::{self, cache::TemplateCache};
use crate::seeds::{self, SeedFile};

/// Where the trace's copy came from, for the note that says so.
pub enum Source {
    ResetCache(String),
    KeptBase(String),
    Built { database: String, took: String },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::ResetCache(name) => format!("copied from the reset cache {name}"),
            Source::KeptBase(name) => format!("copied from {name}, built from this base before"),
            Source::Built { database, took } => format!("built the base in {database} ({took}), kept for the next run"),
        }
    }
}

/// Creates `<db>__xtask_trace` as a copy of the base with its seeds. One trace at a time per dev
/// database (a second waits here), so the one that holds the lock may drop what an interrupted
/// run left behind. The caller drops it (`drop`) when done.
pub async fn create(
    admin: &mut PgConnection,
    target: &Target,
    files: &[MigrationFile],
    seeds: &[SeedFile],
) -> Result<(String, Source)> {
    let database = target.database();
    let trace = reset::names::trace(database);
    reset::lock::acquire(admin, &trace).await?;
    admin::drop_force(admin, &trace).await?;
    let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut *admin).await?;

    let cache = TemplateCache::new(database, &version, files, Some(seeds));
    // A template that cannot be copied just now (a reset reading it) means the next way.
    if admin::exists(admin, &cache.name).await? && cache.copy_to(admin, &trace).await.is_ok() {
        return Ok((trace, Source::ResetCache(cache.name)));
    }

    let kept = reset::names::trace_base(database);
    let label = format!(
        "xtask: a trace's base, {} migration(s) and {} seed(s), {:016x}",
        files.len(),
        seeds.len(),
        fingerprint(&version, files, seeds)
    );
    if admin::label_if_closed(admin, &kept).await.as_deref() == Some(label.as_str()) {
        copy(admin, &kept, &trace).await?;
        return Ok((trace, Source::KeptBase(kept)));
    }

    let start = Instant::now();
    admin::drop_force(admin, &kept).await?;
    admin::create(admin, &kept).await?;
    if let Err(err) = build(&target.with_database(&kept).with_unflushed_commits(), files, seeds).await {
        let err = err.context(format!("build the base (its migrations, then its seeds) in {kept} to trace on"));
        return Err(match admin::drop_force(admin, &kept).await {
            Ok(()) => err,
            Err(cleanup) => err.context(format!("and {kept} could not be removed ({cleanup:#})")),
        });
    }
    // Closed, then labelled: a database without the label, or open, is never copied as built.
    admin::allow_connections(admin, &kept, false).await?;
    admin::label(admin, &kept, &label).await?;
    copy(admin, &kept, &trace).await?;
    Ok((trace, Source::Built { database: kept, took: since(start) }))
}

/// Drops the trace's copy.
pub async fn drop(admin: &mut PgConnection, trace: &str) -> Result<()> {
    admin::drop_force(admin, trace).await
}

/// What the base is: the server, every migration's version and checksum, every seed.
fn fingerprint(version: &str, files: &[MigrationFile], seeds: &[SeedFile]) -> u64 {
    let mut hash = Fingerprint::new();
    hash.field(version.as_bytes()).migrations(files);
    for seed in seeds {
        hash.field(seed.shown.as_bytes()).field(seed.sql.as_bytes());
    }
    hash.finish()
}

async fn copy(admin: &mut PgConnection, from: &str, to: &str) -> Result<()> {
    let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(to), quote_ident(from));
    admin.execute(AssertSqlSafe(sql)).await.with_context(|| format!("create {to} as a copy of {from}"))?;
    Ok(())
}

/// The base exactly as db-migrate builds it, then the seeds, as db-reset loads them.
async fn build(base: &Target, files: &[MigrationFile], seeds: &[SeedFile]) -> Result<()> {
    let mut conn = connect::connect(base).await?;
    apply::build_silently(&mut conn, base.database(), files).await?;
    if !seeds.is_empty() {
        seeds::apply_silently(&mut conn, base.database(), seeds).await?;
    }
    conn.close().await.ok();
    Ok(())
}

//! The databases a trace runs in, beside the dev database and never the dev database itself:
//!
//! - `<db>__xtask_tracebase`: the base's migrations with the base's seeds loaded (real rows, so
//!   a scan or a rewrite is real). Kept between runs, labelled with a hash of what it was built
//!   from and closed to connections, so nobody changes it; made anew when the base changes, as a
//!   copy of the reset cache's template when a reset already built exactly these migrations and
//!   seeds, else built by `migrations::apply` (db-migrate's own path) and the seeds.
//! - `<db>__xtask_trace`: a copy of it, for a trace whose migrations must commit (several new
//!   migrations, a `-- no-transaction` file), dropped right after.
//!
//! One new migration that runs in one transaction, the common case, needs no copy: it is traced
//! in the kept base and rolled back.

use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::elapsed::since;
use crate::migrations::{MigrationFile, apply};
use crate::postgres::admin::{self, quote_ident};
use crate::postgres::{Target, beside, connect, named_lock};
use crate::reset::{self, cache::TemplateCache};
use crate::seeds::{self, SeedFile};
use dbfiles::fingerprint::Fingerprint;

/// The kept base, ready to trace on or copy.
pub struct Base {
    pub name: String,
    pub made: Made,
}

/// How this run got the kept base, for the note that says so.
pub enum Made {
    /// Labelled as built from this base by an earlier run.
    Kept,
    /// Copied from the reset cache's template of these migrations and seeds.
    FromResetCache(String),
    /// Built from the files; how long that took.
    Built(String),
}

impl Base {
    pub fn describe(&self) -> String {
        match &self.made {
            Made::Kept => format!("the base kept in {}", self.name),
            Made::FromResetCache(template) => {
                format!("the base copied from the reset cache {template} into {}", self.name)
            }
            Made::Built(took) => format!("the base built in {} ({took})", self.name),
        }
    }
}

/// Makes sure `<db>__xtask_tracebase` holds `files` and `seeds`. One trace at a time per dev
/// database (a second waits here, on `admin`'s session), so the one that holds the lock may drop
/// what an interrupted run left behind.
pub async fn base(
    admin: &mut PgConnection,
    target: &Target,
    files: &[MigrationFile],
    seeds: &[SeedFile],
) -> Result<Base> {
    let database = target.database();
    let name = beside::trace_base(database);
    named_lock::acquire(admin, &beside::trace(database)).await?;
    admin::drop_force(admin, &beside::trace(database)).await?;
    let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut *admin).await?;
    let label = format!(
        "xtask: a trace's base, {} migration(s) and {} seed(s), {:016x}",
        files.len(),
        seeds.len(),
        fingerprint(&version, files, seeds)
    );
    if admin::label_if_closed(admin, &name).await.as_deref() == Some(label.as_str()) {
        return Ok(Base { name, made: Made::Kept });
    }

    admin::drop_force(admin, &name).await?;
    let start = Instant::now();
    let cache = TemplateCache::new(database, &version, files, Some(seeds));
    // A template that cannot be copied just now (a reset copying it) means building.
    let mut made = None;
    if admin::exists(admin, &cache.name).await? {
        match copy(admin, &cache.name, &name).await {
            Ok(()) => made = Some(Made::FromResetCache(cache.name)),
            Err(_) => admin::drop_force(admin, &name).await?,
        }
    }
    let made = match made {
        Some(made) => made,
        None => {
            admin::create(admin, &name).await?;
            if let Err(err) = build(&target.with_database(&name).with_unflushed_commits(), files, seeds).await {
                let err = err.context(format!("build the base (its migrations, then its seeds) in {name} to trace on"));
                return Err(match admin::drop_force(admin, &name).await {
                    Ok(()) => err,
                    Err(cleanup) => err.context(format!("and {name} could not be removed ({cleanup:#})")),
                });
            }
            Made::Built(since(start))
        }
    };
    // Closed, then labelled: a database without the label, or open, is never taken as built.
    admin::close_to_connections(admin, &name).await?;
    admin::label(admin, &name, &label).await?;
    Ok(Base { name, made })
}

/// `<db>__xtask_trace`, a copy of the kept base. The caller drops it (`drop`) when done.
pub async fn copy_of(admin: &mut PgConnection, target: &Target, base: &Base) -> Result<String> {
    let trace = beside::trace(target.database());
    copy(admin, &base.name, &trace).await?;
    Ok(trace)
}

pub async fn drop(admin: &mut PgConnection, trace: &str) -> Result<()> {
    admin::drop_force(admin, trace).await
}

/// What the base is: the server, every migration's version and checksum, every seed.
fn fingerprint(version: &str, files: &[MigrationFile], seeds: &[SeedFile]) -> u64 {
    let mut hash = Fingerprint::new();
    hash.field(version.as_bytes()).migrations(files.iter().map(|f| &f.migration));
    for seed in seeds {
        hash.field(seed.shown.as_bytes()).field(seed.sql.as_bytes());
    }
    hash.finish()
}

/// A copy of `from`, its per-database settings included (a copy of the contents alone would lose
/// what a migration set with `ALTER DATABASE … SET`). FILE_COPY, as the reset copies its cache:
/// the server's default since PostgreSQL 15 writes every block through the write-ahead log,
/// which for a base of a thousand small tables took 7 to 10 s where FILE_COPY took 0.4 s (its
/// cost is a checkpoint, small when little is dirty). PostgreSQL 14 knows only the file copy.
async fn copy(admin: &mut PgConnection, from: &str, to: &str) -> Result<()> {
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *admin)
        .await
        .context("read the server's version")?;
    let strategy = if version >= 150_000 { " STRATEGY = FILE_COPY" } else { "" };
    let sql = format!("CREATE DATABASE {} TEMPLATE {}{strategy}", quote_ident(to), quote_ident(from));
    admin.execute(AssertSqlSafe(sql)).await.with_context(|| format!("create {to} as a copy of {from}"))?;
    reset::cache::copy_settings(admin, from, to).await
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

//! The schema the files produce, for `db-check` and `db-status`. When the reset cache holds a
//! template built from exactly these migrations (its name is a hash of their versions and
//! checksums, the seeds and the server's version), it is read as it is: a reset already built
//! them. Otherwise the migrations are built by `migrations::apply` (db-migrate's own path) in a
//! scratch database beside the dev database, `<db>__xtask_schema`, read, and dropped again, also
//! when the build fails.

use std::time::Instant;

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::catalog;
use super::model::Schema;
use crate::elapsed::since;
use crate::migrations::{MigrationFile, apply};
use crate::output::note;
use crate::postgres::{Target, admin, connect};
use crate::project::Project;
use crate::reset::{self, cache::TemplateCache};
use crate::seeds;

/// The schema `files` produce for `target`'s dev database, from the reset cache or built, with
/// one note saying which (a build takes a while).
pub async fn expected(
    admin: &mut PgConnection,
    target: &Target,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Schema> {
    if let Some(schema) = from_reset_cache(admin, target, project, files).await {
        return Ok(schema);
    }
    build_and_read(admin, target, files).await
}

/// The schema of the reset cache's template for these migrations (with the seeds as they are,
/// or without), if there is one. Anything in the way (no template, a reset dropping it just now)
/// means building instead, so it is never an error. The session stays in the template for the
/// few queries of one read: a reset that wants to copy it at that very moment builds from the
/// files instead, as it does whenever the template is busy. Seeds rarely change a schema; one
/// that does is seen here as the migrations' own.
async fn from_reset_cache(
    admin: &mut PgConnection,
    target: &Target,
    project: &Project,
    files: &[MigrationFile],
) -> Option<Schema> {
    let database = target.database();
    let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut *admin).await.ok()?;
    let seeds = seeds::load(&project.seeds_dir(), "db/seeds").ok();
    let caches = [
        seeds.as_deref().map(|seeds| TemplateCache::new(database, &version, files, Some(seeds))),
        Some(TemplateCache::new(database, &version, files, None)),
    ];
    for cache in caches.into_iter().flatten() {
        if !admin::exists(admin, &cache.name).await.unwrap_or(false) {
            continue;
        }
        let Ok(mut conn) = connect::connect(&target.with_database(&cache.name)).await else { continue };
        let schema = catalog::read(&mut conn).await;
        conn.close().await.ok();
        if let Ok(schema) = schema {
            note!("Compared with {}, the reset cache of these migrations", cache.name);
            return Some(schema);
        }
    }
    None
}

/// Builds `files` in the scratch database of `target`'s dev database, from the maintenance
/// session `admin`, and reads its schema.
async fn build_and_read(admin: &mut PgConnection, target: &Target, files: &[MigrationFile]) -> Result<Schema> {
    let start = Instant::now();
    let scratch = reset::names::schema(target.database());
    // One build at a time per dev database (a second db-check waits here), so the one that holds
    // the lock may drop what an interrupted run left behind.
    reset::lock::acquire(admin, &scratch).await?;
    admin::drop_force(admin, &scratch).await?;
    admin::create(admin, &scratch).await?;
    let built = build(&target.with_database(&scratch).with_unflushed_commits(), files).await;
    let dropped = admin::drop_force(admin, &scratch).await;
    let schema = match (built, dropped) {
        (Ok(schema), Ok(())) => schema,
        (Err(err), Ok(())) => return Err(err.context("build the migrations in a scratch database")),
        (Ok(_), Err(err)) => return Err(err),
        (Err(err), Err(cleanup)) => {
            return Err(err.context(format!(
                "build the migrations in a scratch database, which could not be removed ({cleanup:#}); \
                 the next db-check or db-status removes it"
            )));
        }
    };
    note!("Built {} migration(s) in {scratch} to compare with ({})", files.len(), since(start));
    Ok(schema)
}

async fn build(scratch: &Target, files: &[MigrationFile]) -> Result<Schema> {
    let mut conn = connect::connect(scratch).await?;
    apply::build_silently(&mut conn, scratch.database(), files).await?;
    let schema = catalog::read(&mut conn).await;
    conn.close().await.ok();
    schema
}

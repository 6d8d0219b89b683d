//! The schema the files produce, for `db-check` and `db-status`. When the reset cache holds a
//! template built from exactly these migrations (its name is a hash of their versions and
//! checksums, the seeds and the server's version), it is read as it is: a reset already built
//! them. Otherwise the migrations are built by `migrations::apply` (db-migrate's own path) in a
//! scratch database beside the dev database, `<db>__xtask_schema`, and read; it is kept, labelled
//! with what it was built from, so the next run with the same files only reads it (a failed build
//! is dropped).

use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::model::Schema;
use super::{catalog, uncovered};
use crate::elapsed::since;
use crate::migrations::{MigrationFile, apply};
use crate::output::note;
use crate::postgres::{Target, admin, beside, connect, named_lock};
use crate::project::Project;
use crate::reset::{self, cache::TemplateCache};
use crate::seeds;

/// The schema the files produce, and what in it the model does not cover.
pub struct Expected {
    pub schema: Schema,
    /// `uncovered::read`: what schema.sql neither writes nor drift compares.
    pub uncovered: Vec<String>,
}

/// The schema `files` produce for `target`'s dev database, from the reset cache or built, with
/// one note saying which (a build takes a while).
pub async fn expected(
    admin: &mut PgConnection,
    target: &Target,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Expected> {
    if let Some(schema) = from_reset_cache(admin, target, project, files).await {
        return Ok(schema);
    }
    let expected = build_and_read(admin, target, files).await;
    // The build's lock is released here, not when the session ends: the caller may go on to
    // replay a schema.sql in the same scratch database from another session (db-migrate's
    // refresh), which would otherwise wait for this one.
    named_lock::release(admin, &beside::schema(target.database())).await.ok();
    expected
}

/// The schema of the reset cache's template for these migrations (with the seeds as they are,
/// or without), if there is one built today and closed to connections. Anything in the way (no
/// template, a reset running just now) means building instead, so it is never an error. The
/// template is opened for the few queries of one read while this session holds the reset lock,
/// so no reset finds it open (which would make it build a new one), then closed again. Seeds
/// never change a schema (`seeds.rs` refuses those that do), so a seeded template's schema is
/// the migrations'.
async fn from_reset_cache(
    admin: &mut PgConnection,
    target: &Target,
    project: &Project,
    files: &[MigrationFile],
) -> Option<Expected> {
    let database = target.database();
    let version: String =
        sqlx::query_scalar(dbfiles::template::SERVER_VERSION_QUERY).fetch_one(&mut *admin).await.ok()?;
    let seeds = seeds::load(&project.seeds_dir(), "db/seeds").ok();
    let caches = [
        seeds.as_deref().map(|seeds| TemplateCache::new(database, &version, files, Some(seeds))),
        Some(TemplateCache::new(database, &version, files, None)),
    ];
    if !named_lock::try_acquire(admin, database).await.ok()? {
        return None;
    }
    let mut found = None;
    for cache in caches.into_iter().flatten() {
        if !matches!(cache.built_today(admin).await, Ok(Some(_))) || cache.open_to_connections(admin).await.is_err() {
            continue;
        }
        let read = async {
            let mut conn = connect::connect(&target.with_database(&cache.name)).await?;
            let schema = read(&mut conn).await;
            conn.close().await.ok();
            schema
        };
        let schema = read.await;
        let closed = cache.close_to_connections(admin).await;
        if let (Ok(schema), Ok(())) = (schema, closed) {
            note!("Compared with {}, the reset cache of these migrations", cache.name);
            found = Some(schema);
            break;
        }
    }
    named_lock::release(admin, database).await.ok();
    found
}

/// The schema `files` produce, from `<db>__xtask_schema`: read as it is when it was built from
/// exactly these migrations on this server (its comment says which), else built there anew. It
/// is kept after a build, so the next `db-status` or `db-check` with the same files reads it
/// instead of building again; one whose build failed is dropped.
async fn build_and_read(admin: &mut PgConnection, target: &Target, files: &[MigrationFile]) -> Result<Expected> {
    let start = Instant::now();
    let scratch = beside::schema(target.database());
    // One build at a time per dev database (a second db-check waits here), so the one that holds
    // the lock may drop what an interrupted run left behind.
    named_lock::acquire(admin, &scratch).await?;
    let version: String = sqlx::query_scalar(dbfiles::template::SERVER_VERSION_QUERY).fetch_one(&mut *admin).await?;
    // Labelled with the UTC day too: like the reset cache, a build stands for the files only on
    // the day it was made (a history may name partitions after the date).
    let day = crate::timestamp::now().div_euclid(86_400);
    let built_from = format!(
        "xtask: the schema of {} migration(s), {:016x}, day {day}",
        files.len(),
        super::built_from(files, &version)
    );
    // Kept closed to connections between runs, so no one changes it by hand (a GUI lists every
    // database): one that was opened since is built anew.
    if admin::label_if_closed(admin, &scratch).await.as_deref() == Some(built_from.as_str())
        && admin::open_to_connections(admin, &scratch).await.is_ok()
    {
        let read = async {
            let mut conn = connect::connect(&target.with_database(&scratch)).await?;
            let schema = read(&mut conn).await;
            conn.close().await.ok();
            schema
        };
        let schema = read.await;
        admin::close_to_connections(admin, &scratch).await?;
        if let Ok(schema) = schema {
            note!("Compared with {scratch}, built from these migrations before");
            return Ok(schema);
        }
    }
    admin::drop_force(admin, &scratch).await?;
    admin::create(admin, &scratch).await?;
    let built = build(&target.with_database(&scratch).with_unflushed_commits(), files).await;
    let (schema, dated) = match built {
        Ok(built) => built,
        Err(err) => {
            let err = err.context("build the migrations in a scratch database");
            return Err(match admin::drop_force(admin, &scratch).await {
                Ok(()) => err,
                Err(cleanup) => err.context(format!(
                    "and {scratch} could not be removed ({cleanup:#}); the next db-check or db-status removes it"
                )),
            });
        }
    };
    if let Some(object) = dated {
        // A schema that names the date would be wrong on another day: not kept.
        admin::drop_force(admin, &scratch).await?;
        note!(
            "Built {} migration(s) in {scratch} to compare with ({}); not kept: the schema names the date ({object})",
            files.len(),
            since(start)
        );
        return Ok(schema);
    }
    // Closed, then labelled: a database without the label, or open, is never read as built.
    admin::close_to_connections(admin, &scratch).await?;
    admin::label(admin, &scratch, &built_from).await?;
    note!("Built {} migration(s) in {scratch} to compare with ({})", files.len(), since(start));
    Ok(schema)
}

/// Builds the migrations as db-migrate does, then reads the schema, and whether it names the
/// date (see `cache::names_the_date`).
async fn build(scratch: &Target, files: &[MigrationFile]) -> Result<(Expected, Option<String>)> {
    let mut conn = connect::connect(scratch).await?;
    apply::build_silently(&mut conn, scratch.database(), files).await?;
    let schema = read(&mut conn).await;
    let dated = reset::cache::names_the_date(&mut conn).await;
    conn.close().await.ok();
    Ok((schema?, dated?))
}

async fn read(conn: &mut PgConnection) -> Result<Expected> {
    Ok(Expected { schema: catalog::read(conn).await?, uncovered: uncovered::read(conn).await? })
}

/// The schema `files` produce when each migration is applied in a run of its own, on a session
/// of its own, so no session state one sets reaches the next: built in `<db>__xtask_schema`
/// (under the same lock as `build_and_read`) and dropped after, so the next comparison builds
/// the one-run schema there again. Drift asks for it only to tell session state from a hand.
pub async fn in_separate_runs(admin: &mut PgConnection, target: &Target, files: &[MigrationFile]) -> Result<Schema> {
    let start = Instant::now();
    let scratch = beside::schema(target.database());
    named_lock::acquire(admin, &scratch).await?;
    admin::drop_force(admin, &scratch).await?;
    admin::create(admin, &scratch).await?;
    let scratch_target = target.with_database(&scratch).with_unflushed_commits();
    let built = async {
        for applied in 1..=files.len() {
            let mut conn = connect::connect(&scratch_target).await?;
            apply::build_silently(&mut conn, &scratch, &files[..applied]).await?;
            conn.close().await.ok();
        }
        let mut conn = connect::connect(&scratch_target).await?;
        let schema = catalog::read(&mut conn).await;
        conn.close().await.ok();
        schema
    };
    let schema = built.await.context("build the migrations one run each in a scratch database");
    admin::drop_force(admin, &scratch).await?;
    note!(
        "Built {} migration(s) one run each in {scratch} to tell session state from hand changes ({})",
        files.len(),
        since(start)
    );
    schema
}

/// The schema `sql` (a `db/schema.sql`) builds on this server: replayed in `<db>__xtask_schema`
/// (under the same lock as `build_and_read`) and dropped after, so the next comparison builds
/// the migrations there again. A file that fails to replay is an error.
pub async fn replayed(admin: &mut PgConnection, target: &Target, sql: &str) -> Result<Expected> {
    let scratch = beside::schema(target.database());
    named_lock::acquire(admin, &scratch).await?;
    admin::drop_force(admin, &scratch).await?;
    admin::create(admin, &scratch).await?;
    let replay = async {
        let mut conn = connect::connect(&target.with_database(&scratch).with_unflushed_commits()).await?;
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.context("replay db/schema.sql")?;
        let schema = read(&mut conn).await;
        conn.close().await.ok();
        schema
    };
    let schema = replay.await;
    admin::drop_force(admin, &scratch).await?;
    schema
}

//! The schema the files produce, for `db-check` and `db-status`: the migrations built by
//! `migrations::apply` (db-migrate's own path) in a scratch database beside the dev database,
//! `<db>__xtask_schema`, read, and dropped again, also when the build fails.

use std::time::Instant;

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::catalog;
use super::model::Schema;
use crate::elapsed::since;
use crate::migrations::{MigrationFile, apply};
use crate::output::note;
use crate::postgres::{Target, admin, connect};
use crate::reset;

/// Builds `files` in the scratch database of `target`'s dev database, from the maintenance
/// session `admin`, and reads its schema.
pub async fn build_and_read(
    admin: &mut PgConnection,
    target: &Target,
    files: &[MigrationFile],
    purpose: &str,
) -> Result<Schema> {
    let start = Instant::now();
    let scratch = reset::names::schema(target.database());
    // One build at a time per dev database (a second db-check waits here), so the one that holds
    // the lock may drop what an interrupted run left behind.
    reset::lock::acquire(admin, &scratch).await?;
    admin::drop_force(admin, &scratch).await?;
    admin::create(admin, &scratch).await?;
    let built = build(&target.with_database(&scratch).with_unflushed_commits(), files, purpose).await;
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

async fn build(scratch: &Target, files: &[MigrationFile], purpose: &str) -> Result<Schema> {
    let mut conn = connect::connect(scratch, purpose).await?;
    apply::build_silently(&mut conn, scratch, files).await?;
    let schema = catalog::read(&mut conn).await;
    conn.close().await.ok();
    schema
}

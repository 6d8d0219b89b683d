//! What db-check's trace adds for one new migration, timed by where its base comes from.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};

use crate::migrations::{MigrationFile, folder};
use crate::postgres::admin;
use crate::postgres::{Target, beside, connect};
use crate::{safety, seeds};

/// The workload's largest table (the first by name among equals), which the traced migration
/// alters.
pub async fn largest_table(target: &Target) -> Result<Option<String>> {
    let mut conn = connect::connect(target).await?;
    let table = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY pg_relation_size(c.oid) DESC, c.relname LIMIT 1",
    )
    .fetch_optional(&mut conn)
    .await
    .context("find the workload's largest table")?;
    conn.close().await.ok();
    Ok(table)
}

/// Times `safety::trace_files` (db-check's trace, without git) for one new migration on the
/// workload in `dir`, whose database is `target`'s: with the base kept from an earlier run (every
/// run but the first), made from the reset cache the workload's resets left (the first run after
/// a reset), and built from the files (CI's first run: the reset cache removed); then one
/// `-- no-transaction` migration, which is traced on a copy of the kept base.
pub async fn time_trace(
    admin: &mut PgConnection,
    target: &Target,
    dir: &Path,
    table: &str,
    runs: u32,
) -> Result<Vec<(&'static str, Vec<Duration>)>> {
    let files = folder::load(&dir.join("db/migrations"), "db/migrations")?;
    let seeds = seeds::load(&dir.join("db/seeds"), "db/seeds")?;
    let new_dir = dir.join("trace/db/migrations");
    std::fs::create_dir_all(&new_dir)?;
    let alter = format!("ALTER TABLE {table} ADD COLUMN bench_note text;\n");
    std::fs::write(new_dir.join("29991231000000_bench_trace.sql"), format!("SET LOCAL lock_timeout = '2s';\n{alter}"))?;
    let new = folder::load(&new_dir, "db/migrations")?;
    std::fs::write(
        new_dir.join("29991231000000_bench_trace.sql"),
        format!("-- no-transaction\nSET lock_timeout = '2s';\n{alter}"),
    )?;
    let alone = folder::load(&new_dir, "db/migrations")?;
    let kept = beside::trace_base(target.database());
    let trace = async |admin: &mut PgConnection, new: &MigrationFile| -> Result<Duration> {
        admin::checkpoint(admin).await?;
        let start = Instant::now();
        safety::trace_files(admin, target, &files, &seeds, &[new]).await?;
        Ok(start.elapsed())
    };
    let (mut cached, mut kept_runs, mut copied, mut built) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        admin::drop_force(admin, &kept).await?;
        cached.push(trace(admin, &new[0]).await?);
    }
    for _ in 0..runs {
        kept_runs.push(trace(admin, &new[0]).await?);
    }
    for _ in 0..runs {
        copied.push(trace(admin, &alone[0]).await?);
    }
    admin::drop_all_with_prefix(admin, &beside::template_prefix(target.database())).await?;
    for _ in 0..runs {
        admin::drop_force(admin, &kept).await?;
        built.push(trace(admin, &new[0]).await?);
    }
    Ok(vec![
        ("db-check trace, base kept (later runs)", kept_runs),
        ("db-check trace, base from the reset cache", cached),
        ("db-check trace, base built (CI's first run)", built),
        ("db-check trace, no-transaction file (a copy)", copied),
    ])
}

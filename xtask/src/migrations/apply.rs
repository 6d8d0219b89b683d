//! Applying pending migrations with sqlx's own migration machinery.
//!
//! This is what `Migrator::run` does (take sqlx's advisory lock, create `_sqlx_migrations`, apply
//! each pending migration in its own transaction unless it opts out with `-- no-transaction`),
//! spelled out step by step so that each migration prints a line with its duration and a failure
//! names its file, line and column.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::{Connection, Executor, PgConnection};

use super::MigrationFile;
use super::history::{self, TABLE};
use super::lock;
use super::plan::Plan;
use crate::postgres::{Target, sql_error};

/// Applies what is pending. With `dry_run`, only says what would run.
pub async fn migrate(conn: &mut PgConnection, target: &Target, files: &[MigrationFile], dry_run: bool) -> Result<()> {
    let database = target.database();
    // A dry run, and the common case of nothing to do, are answered from one read without the
    // lock: another migrator can only add rows, so what is applied now stays applied.
    let applied = history::read(conn).await?;
    let plan = Plan::new(files, &applied);
    if dry_run {
        plan.refuse_problems(database)?;
        let mut pending = plan.pending().peekable();
        if pending.peek().is_none() {
            report_up_to_date(database, applied.len());
        }
        for file in pending {
            println!("Can apply {}/migrate {}", file.version(), file.migration.description);
        }
        return Ok(());
    }
    if !applied.is_empty() && plan.pending().next().is_none() && plan.problems().next().is_none() {
        report_up_to_date(database, applied.len());
        return Ok(());
    }

    // The lock is sqlx's (keyed on the database name), so sqlx-cli, `Migrator::run` in the
    // application and other xtask runs all wait for each other. Everything is read again once it
    // is held: another process may have applied migrations while we waited.
    lock::acquire(conn, target).await?;
    conn.ensure_migrations_table(TABLE).await.with_context(|| format!("create {TABLE} in {database}"))?;
    let applied = history::read(conn).await?;
    let plan = Plan::new(files, &applied);
    plan.refuse_problems(database)?;

    if plan.pending().next().is_none() {
        report_up_to_date(database, applied.len());
    }
    for file in plan.pending() {
        let elapsed = match conn.apply(TABLE, &file.migration).await {
            Ok(elapsed) => elapsed,
            Err(err) => return Err(failure(conn, err, file, database).await),
        };
        report_applied(file, elapsed);
    }
    conn.unlock().await.with_context(|| format!("release the migration lock on {database}"))?;
    Ok(())
}

/// Applies every migration to a new, empty database that no one else uses (a reset's scratch
/// copy). Consecutive migrations share one transaction and are recorded in `_sqlx_migrations`
/// with one `INSERT`, instead of a commit per migration; `-- no-transaction` files still run on
/// their own. The rows are the same as `migrate` writes.
pub async fn migrate_fresh(conn: &mut PgConnection, target: &Target, files: &[MigrationFile]) -> Result<()> {
    let database = target.database();
    conn.ensure_migrations_table(TABLE).await.with_context(|| format!("create {TABLE} in {database}"))?;
    for group in files.chunk_by(|a, b| !a.migration.no_tx && !b.migration.no_tx) {
        if let [file] = group
            && file.migration.no_tx
        {
            let elapsed = match conn.apply(TABLE, &file.migration).await {
                Ok(elapsed) => elapsed,
                Err(err) => return Err(failure(conn, err, file, database).await),
            };
            report_applied(file, elapsed);
            continue;
        }
        let mut tx = conn.begin().await.with_context(|| format!("begin a transaction on {database}"))?;
        let mut nanos = Vec::with_capacity(group.len());
        for (index, file) in group.iter().enumerate() {
            let start = Instant::now();
            if let Err(err) = tx.execute(sqlx::raw_sql(file.migration.sql.clone())).await {
                tx.rollback().await.ok();
                // To locate the error, the migrations before it in this transaction run again first.
                let earlier: Vec<&str> = group[..index].iter().map(|f| f.migration.sql.as_str()).collect();
                let context = format!("migration {} failed on database {database}; it was rolled back", file.version());
                let sql = file.migration.sql.as_str();
                return Err(sql_error::explain(conn, &err, &file.shown, sql, Some(&earlier)).await.context(context));
            }
            let elapsed = start.elapsed();
            nanos.push(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX));
            report_applied(file, elapsed);
        }
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::bytea[], $5::bigint[])",
        )
        .bind(group.iter().map(MigrationFile::version).collect::<Vec<_>>())
        .bind(group.iter().map(|f| f.migration.description.to_string()).collect::<Vec<_>>())
        .bind(vec![true; group.len()])
        .bind(group.iter().map(|f| f.migration.checksum.to_vec()).collect::<Vec<_>>())
        .bind(nanos)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("record the migrations in {TABLE} of {database}"))?;
        tx.commit().await.with_context(|| format!("commit the migrations on {database}"))?;
    }
    Ok(())
}

/// sqlx-cli's line: `Applied 20261125150000/migrate create gateways (12.3ms)`.
fn report_applied(file: &MigrationFile, elapsed: Duration) {
    println!("Applied {}/migrate {} ({})", file.version(), file.migration.description, duration(elapsed));
}

fn report_up_to_date(database: &str, applied: usize) {
    println!("Database {database} is up to date ({applied} migration(s) applied)");
}

async fn failure(conn: &mut PgConnection, err: MigrateError, file: &MigrationFile, database: &str) -> anyhow::Error {
    let outcome = if file.migration.no_tx {
        "it ran outside a transaction (-- no-transaction), so statements before the failing one stay applied; \
         undo them by hand before running it again"
    } else {
        "it was rolled back, nothing of it stays applied"
    };
    let context = format!("migration {} failed on database {database}; {outcome}", file.version());
    match &err {
        MigrateError::ExecuteMigration(sql_err, _) | MigrateError::Execute(sql_err) => {
            // Re-running statements to locate the error is only safe inside a transaction.
            let rerun = (!file.migration.no_tx).then_some(&[][..]);
            sql_error::explain(conn, sql_err, &file.shown, file.migration.sql.as_str(), rerun).await.context(context)
        }
        _ => anyhow!("{}: {err}", file.shown).context(context),
    }
}

/// `12.3ms`, `1.24s`: short enough to line up, precise enough to compare.
pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 { format!("{ms:.1}ms") } else { format!("{:.2}s", ms / 1000.0) }
}

/// Time since `start`, formatted as [`duration`].
pub fn since(start: Instant) -> String {
    duration(start.elapsed())
}

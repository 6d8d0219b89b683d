//! Applying pending migrations with sqlx's own migration machinery.
//!
//! This is what `Migrator::run` does (take sqlx's advisory lock, create `_sqlx_migrations`, apply
//! each pending migration in its own transaction unless it opts out with `-- no-transaction`),
//! spelled out step by step so that each migration prints a line with its duration and a failure
//! names its file, line and column.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::{AssertSqlSafe, Column, Connection, Executor, PgConnection, Row};

use super::MigrationFile;
use super::history::{self, AppliedMigration, TABLE};
use super::lock;
use super::plan::Plan;
use crate::postgres::{Target, sql_error};

/// Applies what is pending. With `dry_run`, only says what would run. `applied` is the
/// database's history when the caller has already read it.
pub async fn migrate(
    conn: &mut PgConnection,
    target: &Target,
    files: &[MigrationFile],
    applied: Option<Vec<AppliedMigration>>,
    dry_run: bool,
) -> Result<()> {
    let database = target.database();
    // A dry run, and the common case of nothing to do, are answered from one read without the
    // lock: another migrator can only add rows, so what is applied now stays applied.
    let applied = match applied {
        Some(applied) => applied,
        None => history::read(conn).await?,
    };
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
/// with one `INSERT`, instead of a commit per migration, and go to the server together, in one
/// round trip; `-- no-transaction` files still run on their own. The rows are the same as
/// `migrate` writes.
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
        if !apply_together(conn, group, database).await? {
            // Something failed, or a file ran into the next one: file by file, which says which
            // one failed and where.
            apply_one_by_one(conn, group, database).await?;
        }
    }
    Ok(())
}

/// Column of the marker row that follows each migration in a batch.
const MARKER: &str = "xtask_migration_done";

/// Runs a group of migrations as one simple query, each followed by a marker row that says when
/// it finished by the server's clock, so each still gets its own duration. Returns false, having
/// rolled back, when anything failed, or when a marker is missing: a file that ends inside a quote
/// or comment would swallow what follows it, which alone it could not have done.
async fn apply_together(conn: &mut PgConnection, group: &[MigrationFile], database: &str) -> Result<bool> {
    let marker = |index: usize| {
        format!("\n;SELECT {index}::int8 AS {MARKER}, (extract(epoch FROM clock_timestamp()) * 1e6)::int8;\n")
    };
    let mut batch = marker(0);
    for (index, file) in group.iter().enumerate() {
        batch += file.migration.sql.as_str();
        batch += &marker(index + 1);
    }
    let mut tx = conn.begin().await.with_context(|| format!("begin a transaction on {database}"))?;
    let Ok(rows) = tx.fetch_all(sqlx::raw_sql(AssertSqlSafe(batch))).await else {
        tx.rollback().await.ok();
        return Ok(false);
    };
    let markers: Vec<(i64, i64)> = rows
        .iter()
        .filter(|row| row.columns().first().is_some_and(|column| column.name() == MARKER))
        .filter_map(|row| Some((row.try_get(0).ok()?, row.try_get(1).ok()?)))
        .collect();
    let in_order = markers.len() == group.len() + 1 && markers.iter().zip(0..).all(|(&(index, _), n)| index == n);
    if !in_order {
        tx.rollback().await.ok();
        return Ok(false);
    }
    let elapsed: Vec<Duration> = markers
        .windows(2)
        .map(|pair| Duration::from_micros(u64::try_from(pair[1].1 - pair[0].1).unwrap_or(0)))
        .collect();
    record(&mut tx, group, &elapsed, database).await?;
    tx.commit().await.with_context(|| format!("commit the migrations on {database}"))?;
    for (file, elapsed) in group.iter().zip(elapsed) {
        report_applied(file, elapsed);
    }
    Ok(true)
}

/// Runs a group of migrations one query each, in one transaction; a failure names its file,
/// line and column.
async fn apply_one_by_one(conn: &mut PgConnection, group: &[MigrationFile], database: &str) -> Result<()> {
    let mut tx = conn.begin().await.with_context(|| format!("begin a transaction on {database}"))?;
    let mut elapsed = Vec::with_capacity(group.len());
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
        elapsed.push(start.elapsed());
        report_applied(file, elapsed[index]);
    }
    record(&mut tx, group, &elapsed, database).await?;
    tx.commit().await.with_context(|| format!("commit the migrations on {database}"))?;
    Ok(())
}

/// One `INSERT` of the group's rows into `_sqlx_migrations`, as sqlx would have written them.
async fn record(conn: &mut PgConnection, group: &[MigrationFile], elapsed: &[Duration], database: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::bytea[], $5::bigint[])",
    )
    .bind(group.iter().map(MigrationFile::version).collect::<Vec<_>>())
    .bind(group.iter().map(|f| f.migration.description.to_string()).collect::<Vec<_>>())
    .bind(vec![true; group.len()])
    .bind(group.iter().map(|f| f.migration.checksum.to_vec()).collect::<Vec<_>>())
    .bind(elapsed.iter().map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)).collect::<Vec<_>>())
    .execute(conn)
    .await
    .with_context(|| format!("record the migrations in {TABLE} of {database}"))?;
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

//! Applying pending migrations as sqlx's migrator does.
//!
//! This is what `Migrator::run` does (take sqlx's advisory lock, create `_sqlx_migrations`, apply
//! each pending migration in its own transaction unless it opts out with `-- no-transaction`),
//! spelled out step by step so that each migration's duration is known and a failure names its
//! file, line and column. `db-migrate` and `db-reset` both build through `migrate`, so a reset
//! means exactly what a migration run means: same transactions, same session, same errors.
//!
//! Nothing here prints: `migrate` hands each applied migration to the caller as it is committed
//! (a long history shows its progress, and what a failure leaves applied was already said) and
//! returns what the run came to; the commands word it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::migrate::Migrate;
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use super::MigrationFile;
use super::history::{self, AppliedMigration, TABLE};
use super::lock;
use super::plan::Plan;
use crate::postgres::sql_error::{self, Rerun};
use dbfiles::script::{self, Failure, Pace};
use dbfiles::statements;

/// Whether a run changes the database.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Only find what would run.
    DryRun,
}

/// What a run came to.
pub enum Outcome<'a> {
    /// Nothing was pending: `applied` migrations are in the history.
    UpToDate { applied: usize },
    /// A dry run: these would run, in this order (none when nothing is pending).
    WouldApply(Vec<&'a MigrationFile>),
    /// Migrations were applied (each handed to the caller as it was committed). `session_left`
    /// names the session settings they left changed (`name = value`), which sqlx keeps for the
    /// migrations after them and this run did too; the session was reset after the run.
    Applied { session_left: Vec<String> },
}

/// One migration applied and committed, and how long its SQL took.
pub struct Applied<'a> {
    pub file: &'a MigrationFile,
    pub elapsed: Duration,
}

/// Applies what is pending (or, as a `Mode::DryRun`, finds it), calling `on_applied` after each
/// migration is committed. `applied` is the database's history when the caller has already read
/// it.
pub async fn migrate<'a>(
    conn: &mut PgConnection,
    database: &str,
    files: &'a [MigrationFile],
    applied: Option<Vec<AppliedMigration>>,
    mode: Mode,
    mut on_applied: impl FnMut(Applied<'a>),
) -> Result<Outcome<'a>> {
    // A dry run, and the common case of nothing to do, are answered from one read without the
    // lock: another migrator can only add rows, so what is applied now stays applied.
    let applied = match applied {
        Some(applied) => applied,
        None => history::read(conn).await?,
    };
    let plan = Plan::new(files, &applied);
    if mode == Mode::DryRun {
        plan.refuse_problems(database)?;
        let pending = pending_files(files, &plan);
        return Ok(if pending.is_empty() {
            Outcome::UpToDate { applied: applied.len() }
        } else {
            Outcome::WouldApply(pending)
        });
    }
    if !applied.is_empty() && plan.pending().next().is_none() && plan.problems().next().is_none() {
        return Ok(Outcome::UpToDate { applied: applied.len() });
    }

    // The lock is sqlx's (keyed on the database name), so sqlx-cli, `Migrator::run` in the
    // application and other xtask runs all wait for each other. Everything is read again once it
    // is held: another process may have applied migrations while we waited.
    lock::acquire(conn, database).await?;
    conn.ensure_migrations_table(TABLE).await.with_context(|| format!("create {TABLE} in {database}"))?;
    let applied = history::read(conn).await?;
    let plan = Plan::new(files, &applied);
    plan.refuse_problems(database)?;

    let mut outcome = Outcome::UpToDate { applied: applied.len() };
    let pending = pending_files(files, &plan);
    if !pending.is_empty() {
        for file in pending {
            let elapsed = apply(conn, file, database).await?;
            on_applied(Applied { file, elapsed });
        }
        let session_left = restore_session(conn).await.with_context(|| format!("reset the session on {database}"))?;
        outcome = Outcome::Applied { session_left };
    }
    conn.unlock().await.with_context(|| format!("release the migration lock on {database}"))?;
    Ok(outcome)
}

/// The files `plan` finds pending, borrowed from `files` (the plan borrows the history too).
fn pending_files<'a>(files: &'a [MigrationFile], plan: &Plan) -> Vec<&'a MigrationFile> {
    let pending: std::collections::BTreeSet<i64> = plan.pending().map(MigrationFile::version).collect();
    files.iter().filter(|file| pending.contains(&file.version())).collect()
}

/// Builds a scratch database exactly as `migrate` does, saying nothing: the schema `db-check`
/// and `db-status` compare with is what `db-migrate` would build.
pub async fn build_silently(conn: &mut PgConnection, database: &str, files: &[MigrationFile]) -> Result<()> {
    migrate(conn, database, files, None, Mode::Apply, |_| {}).await.map(drop)
}

/// Puts the session back as it was opened, after the migrations ran on it: sqlx applies a whole
/// history on one connection, so a `SET` (without `LOCAL`) in one migration holds for the ones
/// after it, and did here too; but it must not reach what the xtask does next on this session
/// (read the history and the schema, run the seeds), which would then time out under a
/// migration's `statement_timeout`, or read its rows under its `standard_conforming_strings`.
/// Returns what the migrations had left changed, as `name = value`.
async fn restore_session(conn: &mut PgConnection) -> Result<Vec<String>> {
    // Read first (a failure here only costs the note), then reset: RESET ALL goes back to the
    // values the session was opened with (our connection options included), SET SESSION
    // AUTHORIZATION DEFAULT undoes a SET ROLE, DISCARD TEMP drops the temporary tables.
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s = %s', name, current_setting(name)) FROM pg_catalog.pg_settings WHERE source = 'session' \
         UNION ALL SELECT format('role %s', current_user) WHERE current_user <> session_user \
         UNION ALL SELECT 'temporary tables' WHERE EXISTS \
           (SELECT FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()) \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_else(|_| vec!["some of them".to_owned()]);
    if !left.is_empty() {
        conn.execute("RESET ALL; SET SESSION AUTHORIZATION DEFAULT; DISCARD TEMP").await?;
    }
    Ok(left)
}

/// Applies one migration and records it in `_sqlx_migrations`, in the steps of sqlx's
/// `Migrate::apply`: in a transaction, the file's SQL, then its row, then the commit. The steps go
/// to the server in two queries (`BEGIN` with the file, the row with `COMMIT`) instead of sqlx's
/// five; the row is the one sqlx writes, with the duration filled in at once. A `-- no-transaction`
/// file runs statement by statement, as psql runs it, and its row is written after it.
async fn apply(conn: &mut PgConnection, file: &MigrationFile, database: &str) -> Result<Duration> {
    let start = Instant::now();
    let sql = file.migration.sql.as_str();
    let version = file.version();
    if file.migration.no_tx {
        if let Err(failure) = script::run(conn, sql, "", Pace::EachStatement).await {
            // What stayed applied is on record, as a failed row: db-status shows it and
            // db-migrate refuses to go on until it is cleaned up (sqlx-cli too: a dirty version).
            if !failure.completed().is_empty() {
                let row = record(file, false, start.elapsed());
                conn.execute(sqlx::raw_sql(AssertSqlSafe(row))).await.ok();
            }
            let context = format!("migration {version} failed on database {database}; {}", what_stayed(&failure, sql));
            return Err(sql_error::explain(conn, &failure, &file.shown, sql, Rerun::Never).await.context(context));
        }
        let row = record(file, true, start.elapsed());
        conn.execute(sqlx::raw_sql(AssertSqlSafe(row)))
            .await
            .with_context(|| format!("record migration {version} in {TABLE} of {database}"))?;
        return Ok(start.elapsed());
    }
    if let Err(failure) = script::run(conn, sql, "BEGIN;", Pace::Whole).await {
        rollback(conn).await;
        // A file that ends its own transaction committed (or dropped) what came before that
        // statement; running it again to find the line would commit that a second time.
        let (outcome, rerun) = match statements::transaction_end(sql) {
            Some(offset) => (
                format!(
                    "it ends its own transaction (line {} `{}`), so what ran before that statement may stay \
                     applied, and what ran after it was rolled back",
                    line_of(sql, offset),
                    script::excerpt(sql, offset)
                ),
                Rerun::Never,
            ),
            None => ("it was rolled back, nothing of it stays applied".to_owned(), Rerun::After(&[])),
        };
        let context = format!("migration {version} failed on database {database}; {outcome}");
        return Err(sql_error::explain(conn, &failure, &file.shown, sql, rerun).await.context(context));
    }
    let elapsed = start.elapsed();
    let row_and_commit = record(file, true, elapsed) + ";COMMIT";
    if let Err(err) = conn.execute(sqlx::raw_sql(AssertSqlSafe(row_and_commit))).await {
        rollback(conn).await;
        return Err(anyhow::anyhow!("{}: {}", file.shown, sql_error::describe(&err)).context(format!(
            "migration {version} failed on database {database} when it was recorded and committed (a deferred \
             constraint is checked then); it was rolled back, nothing of it stays applied"
        )));
    }
    Ok(elapsed)
}

/// Ends a failed transaction. A connection the server closed has nothing left to roll back.
async fn rollback(conn: &mut PgConnection) {
    conn.execute("ROLLBACK").await.ok();
}

/// The `INSERT` of the migration's row, as sqlx writes it. Its values are spelled in hex, so no
/// setting a migration may leave behind (`standard_conforming_strings`) changes how they read.
fn record(file: &MigrationFile, success: bool, elapsed: Duration) -> String {
    // A table rather than `write!` per byte: a thousand rows are built in the unoptimised build.
    let hex = |bytes: &[u8]| {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(bytes.len() * 2);
        for byte in bytes {
            hex.push(DIGITS[usize::from(byte >> 4)] as char);
            hex.push(DIGITS[usize::from(byte & 15)] as char);
        }
        hex
    };
    format!(
        "INSERT INTO {TABLE} (version, description, success, checksum, execution_time) \
         VALUES ({}, convert_from(decode('{}', 'hex'), 'UTF8'), {success}, decode('{}', 'hex'), {})",
        file.version(),
        hex(file.migration.description.as_bytes()),
        hex(&file.migration.checksum),
        i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
    )
}

/// What a `-- no-transaction` file left applied when it failed: each statement before the failing
/// one committed on its own.
fn what_stayed(failure: &Failure, sql: &str) -> String {
    let completed = failure.completed();
    if completed.is_empty() {
        return "it ran outside a transaction (-- no-transaction), but nothing of it was applied: \
                its first statement failed"
            .to_owned();
    }
    let listed: Vec<String> = completed
        .iter()
        .map(|&offset| format!("line {} `{}`", line_of(sql, offset), script::excerpt(sql, offset)))
        .collect();
    format!(
        "it ran outside a transaction (-- no-transaction), statement by statement, so {} statement(s) before \
         the failing one stay applied ({}); undo them by hand before running it again",
        completed.len(),
        listed.join("; ")
    )
}

/// The 1-based line of byte `offset`.
fn line_of(sql: &str, offset: usize) -> usize {
    sql[..offset].matches('\n').count() + 1
}

//! The trace: runs each new migration on the trace's scratch database as the real run would,
//! statement by statement, and reads the server's facts after each one.
//!
//! A migration runs in its own transaction (`BEGIN`, its statements, `COMMIT`), so the locks each
//! statement takes are still held when the next one starts, exactly as in production. A
//! `-- no-transaction` file runs statement by statement, each committed on its own: here each
//! one is wrapped in a transaction of its own so its locks can be read before the commit, which
//! changes nothing about what it does; one the server refuses to run in a transaction block
//! (`CREATE INDEX CONCURRENTLY`, `VACUUM`) runs bare, as in production, and its locks are
//! unobservable (`Run::Unobservable`), which the rules know.
//!
//! The session starts with `lock_timeout = 0`, what an application's migrator has unless the
//! migration sets one, so a `SET LOCAL lock_timeout` in the file is what the rules see. (The
//! xtask's other sessions always have one: nobody else can hold a lock in the trace's own
//! database, so this one cannot wait on anyone.)

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgRow;
use sqlx::{Executor, PgConnection, Row};

use super::facts::{
    Activity, Base, Column, Constraint, ConstraintKind, Effects, Index, Location, LockMode, Oid, Relation,
    RelationKind, Run, Snapshot,
};
use crate::migrations::MigrationFile;
use crate::postgres::sql_error::{self, Rerun};
use dbfiles::script::{self, Failure};
use dbfiles::statements::{self, Statement};

/// SQLSTATE 25001: the statement cannot run inside a transaction block.
const ACTIVE_SQL_TRANSACTION: &str = "25001";

/// Every new migration, traced.
pub struct Trace<'a> {
    pub migrations: Vec<MigrationTrace<'a>>,
    /// The database once every new migration ran (a later migration may index an earlier
    /// migration's foreign key).
    pub end: Snapshot,
}

pub struct MigrationTrace<'a> {
    pub file: &'a MigrationFile,
    /// What each statement did, in order.
    pub statements: Vec<Effects>,
    pub elapsed: Duration,
}

/// How a traced transactional migration ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// As in production: the next migration builds on it.
    Commit,
    /// Deferred constraints checked (what COMMIT would check), then rolled back: the database
    /// stays as it was. Only for a migration that does not end its own transaction.
    RollBack,
}

/// Traces `files` in order on `conn`, a session in the trace's database.
pub async fn run<'a>(conn: &mut PgConnection, files: &[&'a MigrationFile], ending: Ending) -> Result<Trace<'a>> {
    prepare_session(conn).await?;
    let mut running = read(conn, Scope::All).await.context("read the base's catalog")?;
    let base = Base::of(&running);
    let mut migrations = Vec::new();
    for file in files {
        let begun = Instant::now();
        let statements = if file.migration.no_tx {
            trace_alone(conn, file, &base, &mut running).await?
        } else {
            trace_in_transaction(conn, file, &base, &mut running, ending).await?
        };
        migrations.push(MigrationTrace { file, statements, elapsed: begun.elapsed() });
    }
    Ok(Trace { migrations, end: running })
}

/// The session as an application's migrator has it: no lock_timeout unless the migration sets
/// one, and the row counters on (they are, unless a superuser turned them off).
async fn prepare_session(conn: &mut PgConnection) -> Result<()> {
    conn.execute("SET lock_timeout = 0").await.context("prepare the trace's session")?;
    let counting: String = sqlx::query_scalar("SELECT current_setting('track_counts')").fetch_one(&mut *conn).await?;
    if counting != "on" && conn.execute("SET track_counts = on").await.is_err() {
        bail!(
            "the server does not count rows read (track_counts is off, and only a superuser may turn it on), so \
             the trace cannot see a validating scan; turn track_counts on for this server"
        );
    }
    Ok(())
}

/// Opens a transaction and reads what may have changed since the last one: the row counters,
/// which the server may flush to zero between transactions, and the session's locks and
/// lock_timeout.
async fn begin(conn: &mut PgConnection, running: &mut Snapshot, file: &MigrationFile) -> Result<()> {
    conn.execute("BEGIN").await.with_context(|| format!("begin a transaction for {}", file.shown))?;
    let timeout = Timeout::set_aside(conn, Within::Transaction).await?;
    read_session(conn, running).await?;
    running.activity.clear();
    read_catalog(conn, Scope::All, Catalog::Activity, running).await?;
    timeout.put_back(conn).await
}

/// A statement_timeout a migration set is the migration's: the trace's own reads between its
/// statements run without it (a migration's `SET statement_timeout = 1` would cancel them), and
/// it is put back before the next statement, as it was.
struct Timeout {
    /// What the session had (`1ms`), when it was not 0.
    had: Option<String>,
    within: Within,
}

#[derive(Clone, Copy)]
enum Within {
    /// Set aside for the transaction (`set_config(…, true)`): at its end the session has what
    /// the migration left it, as in the real run.
    Transaction,
    /// Outside a transaction (after a statement that refuses one), for the session.
    Session,
}

impl Timeout {
    async fn set_aside(conn: &mut PgConnection, within: Within) -> Result<Timeout> {
        let local = matches!(within, Within::Transaction);
        // One statement, the only one of the trace's that runs under the migration's timeout:
        // the target list is evaluated in order, so it reads the value before setting it.
        let (had, _): (String, String) =
            sqlx::query_as("SELECT current_setting('statement_timeout'), set_config('statement_timeout', '0', $1)")
                .bind(local)
                .fetch_one(&mut *conn)
                .await
                .context("set the migration's statement_timeout aside while the trace reads the catalog")?;
        Ok(Timeout { had: (had != "0").then_some(had), within })
    }

    async fn put_back(self, conn: &mut PgConnection) -> Result<()> {
        let Some(had) = self.had else { return Ok(()) };
        sqlx::query("SELECT set_config('statement_timeout', $1, $2)")
            .bind(&had)
            .bind(matches!(self.within, Within::Transaction))
            .execute(conn)
            .await
            .context("put the migration's statement_timeout back")?;
        Ok(())
    }
}

/// The database after a statement, from `running` (before it): a statement inside a
/// transaction changes or reads only relations it locks, and keeps those locks until the
/// transaction ends, so only the relations the session holds a lock on are read anew.
/// Everything is read when the statement's locks could not be seen.
async fn after(conn: &mut PgConnection, running: &Snapshot, run: Run) -> Result<Snapshot> {
    if run == Run::Unobservable {
        let timeout = Timeout::set_aside(conn, Within::Session).await?;
        let after = read(conn, Scope::All).await?;
        timeout.put_back(conn).await?;
        return Ok(after);
    }
    let timeout = Timeout::set_aside(conn, Within::Transaction).await?;
    let mut after = running.clone();
    read_session(conn, &mut after).await?;
    let scope: BTreeSet<Oid> = after.locks.keys().copied().collect();
    after.forget(&scope);
    let scope: Vec<Oid> = scope.into_iter().collect();
    read_catalog(conn, Scope::Only(&scope), Catalog::Everything, &mut after).await?;
    timeout.put_back(conn).await?;
    Ok(after)
}

/// A migration in its own transaction, as the real run applies it.
async fn trace_in_transaction(
    conn: &mut PgConnection,
    file: &MigrationFile,
    base: &Base,
    running: &mut Snapshot,
    ending: Ending,
) -> Result<Vec<Effects>> {
    let sql = file.migration.sql.as_str();
    let statements = split(conn, file).await?;
    begin(conn, running, file).await?;
    let mut taken_at: BTreeMap<Oid, usize> = BTreeMap::new();
    let mut traced = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        if let Err(error) = script::run_statement(conn, statement).await {
            let failure = failure(error, statement, &statements[..index]);
            let err = sql_error::explain(conn, &failure, &file.shown, sql, Rerun::Never).await;
            conn.execute("ROLLBACK").await.ok();
            return Err(err.context(fails(file)));
        }
        let now = after(conn, running, Run::InMigration).await?;
        let mut effects = Effects::between(base, running, &now, &taken_at);
        describe(&mut effects, sql, statement, Run::InMigration);
        let line = effects.location.map_or(0, |l| l.line);
        for held in &effects.taken {
            taken_at.insert(held.table.oid, line);
        }
        traced.push(effects);
        *running = now;
    }
    let end = match ending {
        Ending::Commit => "COMMIT",
        Ending::RollBack => "SET CONSTRAINTS ALL IMMEDIATE",
    };
    if let Err(error) = conn.execute(end).await {
        conn.execute("ROLLBACK").await.ok();
        return Err(anyhow::anyhow!("{}: {}", file.shown, sql_error::describe(&error))
            .context(format!("{} (when it committed: a deferred constraint is checked then)", fails(file))));
    }
    if ending == Ending::RollBack {
        conn.execute("ROLLBACK").await.with_context(|| format!("roll back the trace of {}", file.shown))?;
    }
    running.locks.clear();
    Ok(traced)
}

/// A `-- no-transaction` migration: each statement committed on its own.
async fn trace_alone(
    conn: &mut PgConnection,
    file: &MigrationFile,
    base: &Base,
    running: &mut Snapshot,
) -> Result<Vec<Effects>> {
    let sql = file.migration.sql.as_str();
    let statements = split(conn, file).await?;
    let mut traced = Vec::new();
    // A file that opens a transaction itself (`BEGIN` … `COMMIT`) runs as written in between.
    let mut own_transaction = false;
    let mut taken_at: BTreeMap<Oid, usize> = BTreeMap::new();
    for (index, statement) in statements.iter().enumerate() {
        let control = transaction_control(statement.text);
        let wrap = !own_transaction && control.is_none();
        if wrap {
            begin(conn, running, file).await?;
        }
        let mut run = if wrap { Run::Alone } else { Run::InMigration };
        let mut result = script::run_statement(conn, statement).await;
        if wrap && result.as_ref().is_err_and(is_refused_in_a_transaction) {
            conn.execute("ROLLBACK").await.ok();
            run = Run::Unobservable;
            result = script::run_statement(conn, statement).await;
        }
        if let Err(error) = result {
            let failure = failure(error, statement, &statements[..index]);
            let err = sql_error::explain(conn, &failure, &file.shown, sql, Rerun::Never).await;
            conn.execute("ROLLBACK").await.ok();
            return Err(err.context(fails(file)));
        }
        let now = after(conn, running, run).await?;
        if run == Run::Alone {
            conn.execute("COMMIT").await.with_context(|| format!("{}: commit a statement", file.shown))?;
        }
        match control {
            Some(Control::Begin) => own_transaction = true,
            Some(Control::End) => own_transaction = false,
            None => {}
        }
        let mut effects = Effects::between(base, running, &now, &taken_at);
        describe(&mut effects, sql, statement, run);
        let line = effects.location.map_or(0, |l| l.line);
        for held in &effects.taken {
            taken_at.insert(held.table.oid, line);
        }
        traced.push(effects);
        *running = now;
        if !own_transaction {
            running.locks.clear();
            taken_at.clear();
        }
    }
    Ok(traced)
}

async fn split<'s>(conn: &mut PgConnection, file: &'s MigrationFile) -> Result<Vec<Statement<'s>>> {
    let sql = file.migration.sql.as_str();
    match statements::split(sql) {
        Ok(statements) => Ok(statements),
        Err(meta) => {
            let failure = Failure::MetaCommand { offset: meta.offset, text: meta.text.to_owned(), completed: vec![] };
            Err(sql_error::explain(conn, &failure, &file.shown, sql, Rerun::Never).await.context(fails(file)))
        }
    }
}

fn fails(file: &MigrationFile) -> String {
    format!(
        "{} fails when traced on the base with its seeds loaded (as it would on a database with these rows); \
         fix it, then run db-check again",
        file.shown
    )
}

fn failure(error: sqlx::Error, statement: &Statement, earlier: &[Statement]) -> Failure {
    Failure::Sql {
        error,
        sent_at: statement.offset,
        prefix_chars: 0,
        statement: true,
        completed: earlier.iter().map(|s| s.offset).collect(),
    }
}

fn is_refused_in_a_transaction(error: &sqlx::Error) -> bool {
    crate::postgres::admin::sql_state(error).as_deref() == Some(ACTIVE_SQL_TRANSACTION)
}

fn describe(effects: &mut Effects, sql: &str, statement: &Statement, run: Run) {
    effects.location = Some(Location::of(sql, statement.offset));
    effects.excerpt = script::excerpt(sql, statement.offset);
    effects.run = Some(run);
}

enum Control {
    Begin,
    End,
}

/// `BEGIN`/`START TRANSACTION`, or `COMMIT`/`END`/`ROLLBACK`/`ABORT` (not `ROLLBACK TO`).
fn transaction_control(statement: &str) -> Option<Control> {
    let mut words = statement.split(|c: char| c.is_whitespace() || c == ';').filter(|w| !w.is_empty());
    let first = words.next()?.to_ascii_lowercase();
    let second = words.next().map(str::to_ascii_lowercase);
    match first.as_str() {
        "begin" => Some(Control::Begin),
        "start" if second.as_deref() == Some("transaction") => Some(Control::Begin),
        "commit" | "end" | "abort" => Some(Control::End),
        "rollback" if second.as_deref() != Some("to") => Some(Control::End),
        _ => None,
    }
}

/// The schemas a migration's objects may live in: all but the server's own.
const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// Which relations a read covers.
#[derive(Clone, Copy)]
enum Scope<'a> {
    All,
    /// These relations, and the indexes of the tables among them.
    Only(&'a [Oid]),
}

/// What a read covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Catalog {
    Everything,
    /// The row counters only.
    Activity,
}

/// Everything the rules compare, read in the session's current transaction (so a statement's
/// own uncommitted changes show).
async fn read(conn: &mut PgConnection, scope: Scope<'_>) -> Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    read_session(conn, &mut snapshot).await?;
    read_catalog(conn, scope, Catalog::Everything, &mut snapshot).await?;
    Ok(snapshot)
}

/// The session's lock_timeout and the locks it holds.
async fn read_session(conn: &mut PgConnection, snapshot: &mut Snapshot) -> Result<()> {
    snapshot.lock_timeout_ms = sqlx::query_scalar("SELECT setting::int8 FROM pg_settings WHERE name = 'lock_timeout'")
        .fetch_one(&mut *conn)
        .await?;
    snapshot.locks.clear();
    let locks = sqlx::query(
        "SELECT relation::int8, mode FROM pg_locks \
         WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in locks {
        let (oid, mode): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(mode) = LockMode::from_pg(&mode) {
            let strongest = snapshot.locks.entry(oid).or_insert(mode);
            *strongest = (*strongest).max(mode);
        }
    }
    Ok(())
}

/// Runs a catalog query of `read_catalog`, whose `$1` is the scope's oids and `$2` says whether
/// the scope is everything (see its `filter`).
async fn in_scope(conn: &mut PgConnection, oids: &[Oid], all: bool, sql: String) -> Result<Vec<PgRow>> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(oids).bind(all).fetch_all(conn).await?)
}

/// Reads the catalog's relations, columns, constraints and indexes, and the row counters, of
/// `scope` into `snapshot` (which holds none of them yet).
async fn read_catalog(conn: &mut PgConnection, scope: Scope<'_>, what: Catalog, snapshot: &mut Snapshot) -> Result<()> {
    let oids: Vec<Oid> = match scope {
        Scope::All => Vec::new(),
        Scope::Only(oids) => oids.to_vec(),
    };
    let all = matches!(scope, Scope::All);
    // `$1` is the scope (ignored for everything); `$2` says which.
    let filter = |columns: &[&str]| {
        let any: Vec<String> = columns.iter().map(|column| format!("{column} = ANY($1::oid[])")).collect();
        format!("($2 OR {})", any.join(" OR "))
    };

    let activity = in_scope(
        conn,
        &oids,
        all,
        format!(
            "SELECT relid::int8, seq_scan + COALESCE(idx_scan, 0), seq_tup_read + COALESCE(idx_tup_fetch, 0), \
                n_tup_ins + n_tup_upd + n_tup_del \
         FROM pg_stat_xact_user_tables WHERE {}",
            filter(&["relid"])
        ),
    )
    .await?;
    for row in activity {
        snapshot.activity.insert(
            row.try_get(0)?,
            Activity { scans: row.try_get(1)?, rows_read: row.try_get(2)?, rows_written: row.try_get(3)? },
        );
    }
    if what == Catalog::Activity {
        return Ok(());
    }

    let relations = in_scope(
        conn,
        &oids,
        all,
        format!(
            "SELECT c.oid::int8, c.relkind::text, c.relfilenode::int8, c.oid::regclass::text, \
                COALESCE(i.indrelid, c.oid)::int8, format('%I.%I', n.nspname, c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_index i ON i.indexrelid = c.oid \
         WHERE c.relkind IN ('r', 'p', 'm', 'f', 'v', 'i', 'I') AND {USER_SCHEMAS} AND {}",
            filter(&["c.oid", "i.indrelid"])
        ),
    )
    .await?;
    for row in relations {
        let kind = match row.try_get::<String, _>(1)?.as_str() {
            "v" => RelationKind::View,
            "i" | "I" => RelationKind::Index,
            _ => RelationKind::Table,
        };
        snapshot.relations.insert(
            row.try_get(0)?,
            Relation {
                name: row.try_get(3)?,
                identity: row.try_get(5)?,
                kind,
                table: row.try_get(4)?,
                filenode: row.try_get(2)?,
            },
        );
    }

    let columns = in_scope(
        conn,
        &oids,
        all,
        format!(
            "SELECT a.attrelid::int8, a.attnum, a.attname::text, \
                format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attcollation <> t.typcollation \
                    THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END, \
                a.attnotnull, a.atttypid::int8, a.atttypmod, a.attcollation::int8 \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f', 'v') AND {USER_SCHEMAS} \
           AND {}",
            filter(&["a.attrelid"])
        ),
    )
    .await?;
    for row in columns {
        snapshot.columns.insert(
            (row.try_get(0)?, row.try_get(1)?),
            Column {
                name: row.try_get(2)?,
                type_name: row.try_get(3)?,
                type_id: (row.try_get(5)?, row.try_get(6)?, row.try_get(7)?),
                not_null: row.try_get(4)?,
            },
        );
    }

    let constraints = in_scope(
        conn,
        &oids,
        all,
        format!(
            "SELECT con.oid::int8, con.conrelid::int8, con.conname::text, con.contype::text, con.convalidated, \
                con.conindid::int8, con.confrelid::int8, COALESCE(con.conkey, '{{}}')::int2[] \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS} AND {}",
            filter(&["con.conrelid"])
        ),
    )
    .await?;
    for row in constraints {
        snapshot.constraints.insert(
            row.try_get(0)?,
            Constraint {
                table: row.try_get(1)?,
                name: row.try_get(2)?,
                kind: ConstraintKind::from_pg(&row.try_get::<String, _>(3)?),
                validated: row.try_get(4)?,
                index: row.try_get(5)?,
                references: row.try_get(6)?,
                columns: row.try_get(7)?,
            },
        );
    }

    // `indkey` is an int2vector, whose array form starts at index 0: spelled out as text, it
    // reads as an ordinary array.
    let indexes = in_scope(
        conn,
        &oids,
        all,
        format!(
            "SELECT i.indexrelid::int8, i.indrelid::int8, i.indisvalid, i.indpred IS NOT NULL, \
                string_to_array(i.indkey::text, ' ')::int2[] \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_SCHEMAS} AND {}",
            filter(&["i.indrelid", "i.indexrelid"])
        ),
    )
    .await?;
    for row in indexes {
        snapshot.indexes.insert(
            row.try_get(0)?,
            Index { table: row.try_get(1)?, valid: row.try_get(2)?, partial: row.try_get(3)?, keys: row.try_get(4)? },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_transaction_control() {
        use super::{Control, transaction_control};
        assert!(matches!(transaction_control("BEGIN;"), Some(Control::Begin)));
        assert!(matches!(transaction_control("start transaction isolation level serializable;"), Some(Control::Begin)));
        assert!(matches!(transaction_control("COMMIT;"), Some(Control::End)));
        assert!(transaction_control("ROLLBACK TO SAVEPOINT a;").is_none());
        assert!(transaction_control("CREATE INDEX CONCURRENTLY i ON t (a);").is_none());
    }
}

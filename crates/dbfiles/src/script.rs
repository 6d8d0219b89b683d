//! Runs the text of a migration or seed file on a connection.
//!
//! A file goes to the server whole, as one simple query, exactly as sqlx runs a migration, unless
//! it holds `COPY … FROM stdin` data, which travels through the COPY protocol (a simple query
//! cannot carry it), or must run statement by statement (`-- no-transaction` files, as psql runs
//! them: the server runs a multi-statement query as one implicit transaction, which
//! `CREATE INDEX CONCURRENTLY` refuses). psql's backslash commands are refused with their line.

use sqlx::{AssertSqlSafe, Executor, PgConnection};

use super::statements;

/// How a file's statements go to the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// As few queries as possible: the whole file, or the runs of statements between its COPYs.
    Whole,
    /// One query per statement, each committed on its own.
    EachStatement,
}

/// Why a file stopped.
pub enum Failure {
    /// The server refused a query. `sent_at` is the byte offset in the file where the text sent
    /// starts, after `prefix_chars` characters the caller put before it (`BEGIN;`); `statement`
    /// is true when that text was a single statement, so an error without a position is there.
    Sql { error: sqlx::Error, sent_at: usize, prefix_chars: usize, statement: bool, completed: Vec<usize> },
    /// A psql meta-command at byte `offset`.
    MetaCommand { offset: usize, text: String, completed: Vec<usize> },
}

impl Failure {
    /// The byte offsets of the statements that ran before the failure (with `EachStatement`, each
    /// committed and staying applied).
    pub fn completed(&self) -> &[usize] {
        match self {
            Failure::Sql { completed, .. } | Failure::MetaCommand { completed, .. } => completed,
        }
    }
}

/// Runs `sql` after `prefix` (e.g. `BEGIN;`, sent in the same query when the file goes whole).
pub async fn run(conn: &mut PgConnection, sql: &str, prefix: &str, pace: Pace) -> Result<(), Failure> {
    if pace == Pace::Whole && !needs_splitting(sql) {
        let text = format!("{prefix}{sql}");
        return conn.execute(sqlx::raw_sql(AssertSqlSafe(text))).await.map(drop).map_err(|error| Failure::Sql {
            error,
            sent_at: 0,
            prefix_chars: prefix.chars().count(),
            statement: false,
            completed: Vec::new(),
        });
    }
    let statements = statements::split(sql).map_err(|meta| Failure::MetaCommand {
        offset: meta.offset,
        text: meta.text.to_owned(),
        completed: Vec::new(),
    })?;
    if !prefix.is_empty() {
        conn.execute(sqlx::raw_sql(AssertSqlSafe(prefix.to_owned()))).await.map_err(|error| Failure::Sql {
            error,
            sent_at: 0,
            prefix_chars: 0,
            statement: false,
            completed: Vec::new(),
        })?;
    }
    let mut completed = Vec::new();
    let mut rest = &statements[..];
    while let Some(first) = rest.first() {
        // A COPY on its own; else the statements up to the next COPY (or just one).
        let take = match (first.copy_data, pace) {
            (Some(_), _) | (None, Pace::EachStatement) => 1,
            (None, Pace::Whole) => rest.iter().position(|s| s.copy_data.is_some()).unwrap_or(rest.len()),
        };
        let (batch, after) = rest.split_at(take);
        let result = match first.copy_data {
            Some(data) => copy_in(conn, first.text, data).await,
            None => {
                let last = &batch[batch.len() - 1];
                let text = &sql[first.offset..last.offset + last.text.len()];
                conn.execute(sqlx::raw_sql(AssertSqlSafe(text.to_owned()))).await.map(drop)
            }
        };
        if let Err(error) = result {
            return Err(Failure::Sql {
                error,
                sent_at: first.offset,
                prefix_chars: 0,
                statement: take == 1,
                completed,
            });
        }
        completed.extend(batch.iter().map(|s| s.offset));
        rest = after;
    }
    Ok(())
}

/// Runs one statement of a file by itself (its COPY data through the COPY protocol): for a
/// caller that looks at the server between statements.
pub async fn run_statement(conn: &mut PgConnection, statement: &statements::Statement<'_>) -> Result<(), sqlx::Error> {
    match statement.copy_data {
        Some(data) => copy_in(conn, statement.text, data).await,
        None => conn.execute(sqlx::raw_sql(AssertSqlSafe(statement.text.to_owned()))).await.map(drop),
    }
}

/// `COPY … FROM stdin` with its rows, through the COPY protocol.
async fn copy_in(conn: &mut PgConnection, statement: &str, data: &str) -> Result<(), sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(err) = copy.send(data.as_bytes()).await {
        copy.abort("the xtask could not send the rows").await.ok();
        return Err(err);
    }
    copy.finish().await.map(drop)
}

/// Only a file with COPY data or a psql command needs to be read statement by statement; the
/// check is a plain substring search, cheap even for a 50 MB file.
fn needs_splitting(sql: &str) -> bool {
    sql.contains('\\') || sql.to_ascii_lowercase().contains("stdin")
}

/// A statement's first line, shortened: how a statement is named in a message.
pub fn excerpt(sql: &str, offset: usize) -> String {
    let line = sql[offset..].lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

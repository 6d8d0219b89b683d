//! A failing statement in a migration or seed, reported the way a compiler reports an error:
//! `file:line:column`, then the server's message, detail and hint.

use std::fmt;

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};
use sqlx::{Connection, PgConnection};

use dbfiles::script::{self, Failure, Pace};

/// SQLSTATE of `CREATE` of an object that exists (a role another build made, say).
const DUPLICATE_OBJECT: &str = "42710";

/// SQLSTATE of a statement cancelled by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

pub struct SqlFileError {
    pub file: String,
    /// 1-based line and column, when the server said where the error is.
    pub location: Option<(usize, usize)>,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub constraint: Option<String>,
    /// For errors inside a function body: the statement that failed there.
    pub internal_query: Option<String>,
}

/// Whether a failed file may be run again, statement by statement in a transaction that is then
/// rolled back, to find the line of an error the server gave without a position. `prelude` is the
/// text that ran before it in the same transaction (earlier seeds). Never for a file that ran
/// outside a transaction: what it did stays.
pub enum Rerun<'a> {
    Never,
    After(&'a [&'a str]),
}

/// The error of a failed file: located at its line and column when the server's error says where
/// or, when it doesn't and `rerun` allows, by running the file again once, statement by statement.
pub async fn explain(
    conn: &mut PgConnection,
    failure: &Failure,
    file: &str,
    sql: &str,
    rerun: Rerun<'_>,
) -> anyhow::Error {
    let (err, sent) = match failure {
        Failure::MetaCommand { offset, text, .. } => {
            let (line, column) = line_and_column(sql, sql[..*offset].chars().count() + 1);
            return anyhow::anyhow!(
                "{file}:{line}:{column}: `{text}` is a psql meta-command, not SQL, and the server cannot run it; \
                 delete the line (pg_dump writes `\\restrict`/`\\unrestrict` lines for psql alone), or run \
                 the file with psql instead"
            );
        }
        Failure::Sql { error, sent_at, prefix_chars, statement, .. } => {
            (error, Sent { at: *sent_at, prefix_chars: *prefix_chars, statement: *statement })
        }
    };
    let Some(reported) = SqlFileError::from_sqlx(err, file, sql, &sent) else {
        return anyhow::anyhow!("{file}: {}", describe(err));
    };
    if reported.location.is_some() {
        return reported.into();
    }
    let located = match rerun {
        Rerun::After(prelude) => locate(conn, file, sql, prelude).await,
        Rerun::Never => None,
    };
    // The rerun must fail the same way; otherwise (a non-deterministic file) keep what we know.
    match located {
        Some(located) if located.code == reported.code => located.into(),
        _ => reported.into(),
    }
}

/// Where the text that failed was in the file.
struct Sent {
    /// Byte offset in the file where the text sent starts.
    at: usize,
    /// Characters sent before it (`BEGIN;`), which the server's positions count.
    prefix_chars: usize,
    /// True when the text was one statement, so an error without a position is there.
    statement: bool,
}

async fn locate(conn: &mut PgConnection, file: &str, sql: &str, prelude: &[&str]) -> Option<SqlFileError> {
    let mut tx = conn.begin().await.ok()?;
    for earlier in prelude {
        if script::run(&mut tx, earlier, "", Pace::Whole).await.is_err() {
            return None;
        }
    }
    let failure = script::run(&mut tx, sql, "", Pace::EachStatement).await.err()?;
    match &failure {
        Failure::Sql { error, sent_at, .. } => {
            SqlFileError::from_sqlx(error, file, sql, &Sent { at: *sent_at, prefix_chars: 0, statement: true })
        }
        Failure::MetaCommand { .. } => None,
    }
}

/// A driver error in plain words: the server's message without sqlx's `at line N` (a line of
/// PostgreSQL's own source code, which would read as a line of the file), and a lost connection
/// said as such.
pub fn describe(err: &sqlx::Error) -> String {
    if let Some(pg) = err.as_database_error().and_then(|db| db.try_downcast_ref::<PgDatabaseError>()) {
        return format!("{} (SQLSTATE {})", pg.message(), pg.code());
    }
    if is_connection_lost(err) {
        return "the server closed the connection (it stopped or restarted, or an administrator ended this \
                session)"
            .to_owned();
    }
    err.to_string()
}

/// True when the server went away mid-conversation.
pub fn is_connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        ),
        sqlx::Error::Protocol(message) => message.contains("bytes at EOF"),
        _ => false,
    }
}

impl SqlFileError {
    /// Reads the server's error, if `err` is one, placed by where the text sent was in the file.
    fn from_sqlx(err: &sqlx::Error, file: &str, sql: &str, sent: &Sent) -> Option<SqlFileError> {
        let pg = err.as_database_error()?.try_downcast_ref::<PgDatabaseError>()?;
        let base = sql[..sent.at].chars().count();
        let statement_start = sent.statement.then(|| line_and_column(sql, base + 1));
        let (location, internal_query) = match pg.position() {
            Some(PgErrorPosition::Original(position)) if position > sent.prefix_chars => {
                (Some(line_and_column(sql, base + position - sent.prefix_chars)), None)
            }
            Some(PgErrorPosition::Internal { query, .. }) => (statement_start, Some(query.to_owned())),
            _ => (copy_data_line(sql, sent.at, pg.r#where()).or(statement_start), None),
        };
        Some(SqlFileError {
            file: file.to_owned(),
            location,
            code: pg.code().to_owned(),
            message: pg.message().to_owned(),
            detail: pg.detail().map(str::to_owned),
            hint: pg.hint().map(str::to_owned),
            constraint: pg.constraint().map(str::to_owned),
            internal_query,
        })
    }
}

/// For a failed `COPY … FROM stdin`, the file line of the row the server names
/// (`COPY t, line 2, column b: …`).
fn copy_data_line(sql: &str, copy_at: usize, context: Option<&str>) -> Option<(usize, usize)> {
    let copy = &sql[copy_at..];
    if !copy.get(..4).is_some_and(|word| word.eq_ignore_ascii_case("copy")) {
        return None;
    }
    let row: usize = context?.split(", line ").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    // The rows start on the line after the statement's `;`, however many lines it spans.
    let statement_end = copy_at + dbfiles::statements::split(copy).ok()?.first()?.text.len();
    let data_start = statement_end + sql[statement_end..].find('\n')? + 1;
    let (line, _) = line_and_column(sql, sql[..data_start].chars().count() + 1);
    Some((line + row - 1, 1))
}

/// PostgreSQL reports a 1-based position in characters (not bytes) from the start of the text.
fn line_and_column(sql: &str, position: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for ch in sql.chars().take(position.saturating_sub(1)) {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

impl fmt::Display for SqlFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((line, column)) => write!(f, "{}:{line}:{column}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} (SQLSTATE {})", self.message, self.code)?;
        if let Some(constraint) = &self.constraint {
            write!(f, "\n  constraint: {constraint}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        } else if self.code == DUPLICATE_OBJECT && self.message.starts_with("role ") {
            write!(
                f,
                "\n  hint: a role belongs to the whole server, not to one database: the dev database and the builds \
                 db-reset, db-status and db-check make beside it share it, so a migration that creates one must accept \
                 that it exists: `DO $$ BEGIN CREATE ROLE …; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`"
            )?;
        } else if self.code == QUERY_CANCELED {
            write!(
                f,
                "\n  hint: the statement ran longer than statement_timeout allows (--statement-timeout, a `SET \
                 statement_timeout` in an earlier migration, or the database's or role's settings); raise it, or make \
                 the statement faster"
            )?;
        }
        if let Some(query) = &self.internal_query {
            write!(f, "\n  in: {query}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SqlFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SqlFileError {}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lost_server_reads_as_one() {
        let eof = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "expected to read 5 bytes"));
        assert!(super::describe(&eof).starts_with("the server closed the connection"));
        let protocol = sqlx::Error::Protocol("expected to read 5 bytes, got 0 bytes at EOF".into());
        assert!(super::describe(&protocol).starts_with("the server closed the connection"));
    }

    #[test]
    fn finds_the_line_of_a_bad_copy_row() {
        let sql = "-- rows\nCOPY t FROM stdin;\n1\nx\n\\.\n";
        let copy_at = sql.find("COPY").unwrap();
        assert_eq!(super::copy_data_line(sql, copy_at, Some("COPY t, line 2, column a: \"x\"")), Some((4, 1)));
        assert_eq!(super::copy_data_line(sql, 0, Some("COPY t, line 2")), None);
        let spread = "COPY t (\n  a\n) FROM stdin;\n1\nx\n\\.\n";
        assert_eq!(super::copy_data_line(spread, 0, Some("COPY t, line 2, column a")), Some((5, 1)));
    }

    #[test]
    fn counts_lines_and_characters() {
        let sql = "SELECT 1;\n-- é\nSELEC 2;";
        assert_eq!(super::line_and_column(sql, 1), (1, 1));
        assert_eq!(super::line_and_column(sql, 16), (3, 1));
        assert_eq!(super::line_and_column(sql, 8), (1, 8));
    }
}

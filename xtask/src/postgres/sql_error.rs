//! A failing statement in a migration or seed, reported the way a compiler reports an error:
//! `file:line:column`, then the server's message, detail and hint.

use std::fmt;

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use super::statements;

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

/// The error of a failed file: located at its line and column when the server's error says where
/// or, when it doesn't and `rerun` allows, by running the file's statements one by one (after
/// `prelude`, the files that ran before it in the same transaction) in a transaction that is then
/// rolled back.
pub async fn explain(
    conn: &mut PgConnection,
    err: &sqlx::Error,
    file: &str,
    sql: &str,
    rerun: Option<&[&str]>,
) -> anyhow::Error {
    let Some(reported) = SqlFileError::from_sqlx(err, file, sql, None) else {
        return anyhow::anyhow!("{file}: {err}");
    };
    if reported.location.is_some() {
        return reported.into();
    }
    let located = match rerun {
        Some(prelude) => locate(conn, file, sql, prelude).await,
        None => None,
    };
    // The rerun must fail the same way; otherwise (a non-deterministic file) keep what we know.
    match located {
        Some(located) if located.code == reported.code => located.into(),
        _ => reported.into(),
    }
}

async fn locate(conn: &mut PgConnection, file: &str, sql: &str, prelude: &[&str]) -> Option<SqlFileError> {
    let mut tx = conn.begin().await.ok()?;
    for earlier in prelude {
        tx.execute(sqlx::raw_sql(AssertSqlSafe(earlier.to_string()))).await.ok()?;
    }
    for (offset, statement) in statements::split(sql) {
        if let Err(err) = tx.execute(sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))).await {
            return SqlFileError::from_sqlx(&err, file, sql, Some(offset));
        }
    }
    None
}

impl SqlFileError {
    /// Reads the server's error, if `err` is one. Its position counts from the start of the text
    /// that was sent: all of `sql`, or the statement starting at byte `statement` of it.
    fn from_sqlx(err: &sqlx::Error, file: &str, sql: &str, statement: Option<usize>) -> Option<SqlFileError> {
        let pg = err.as_database_error()?.try_downcast_ref::<PgDatabaseError>()?;
        let base = statement.map_or(0, |offset| sql[..offset].chars().count());
        let (location, internal_query) = match pg.position() {
            Some(PgErrorPosition::Original(position)) => (Some(line_and_column(sql, base + position)), None),
            Some(PgErrorPosition::Internal { query, .. }) => {
                (statement.map(|_| line_and_column(sql, base + 1)), Some(query.to_owned()))
            }
            None => (statement.map(|_| line_and_column(sql, base + 1)), None),
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
        } else if self.code == QUERY_CANCELED {
            write!(
                f,
                "\n  hint: the statement ran longer than --statement-timeout allows; raise it, or make the statement faster"
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
    fn counts_lines_and_characters() {
        let sql = "SELECT 1;\n-- é\nSELEC 2;";
        assert_eq!(super::line_and_column(sql, 1), (1, 1));
        assert_eq!(super::line_and_column(sql, 16), (3, 1));
        assert_eq!(super::line_and_column(sql, 8), (1, 8));
    }
}

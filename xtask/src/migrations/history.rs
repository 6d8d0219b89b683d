//! What a database has applied: the rows of sqlx's `_sqlx_migrations` table.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::MigrationFile;
use crate::postgres::Database;

pub const TABLE: &str = "_sqlx_migrations";

pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
    pub checksum: Vec<u8>,
    pub success: bool,
    /// `2026-11-25 15:00:00 UTC`, formatted by the server so the xtask needs no date crate;
    /// `None` when not read (`Detail::Decision`).
    pub installed_on: Option<String>,
    /// How long the migration took; sqlx stores nanoseconds, and -1 when unknown.
    pub execution_nanos: i64,
}

/// PostgreSQL's SQLSTATE for a table that does not exist.
const UNDEFINED_TABLE: &str = "42P01";

/// The applied migrations in version order; none when the table doesn't exist yet. One round
/// trip: a no-op `db-migrate` or `db-status` is mostly this query.
pub async fn read(conn: &mut PgConnection) -> Result<Vec<AppliedMigration>> {
    let rows: Vec<(i64, String, Vec<u8>, bool, String, i64)> = match sqlx::query_as(
        // sqlx's own columns are NOT NULL, but a table altered by hand may hold NULLs, and
        // `infinity` has no date to print: each is read as a value that names the problem (a
        // missing checksum differs from the file's; a missing success is a failure) rather than
        // failing to decode, so db-reset can still rebuild and db-status show the row.
        "SELECT version, coalesce(description, ''), coalesce(checksum, ''::bytea), coalesce(success, false), \
                coalesce(to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), \
                         installed_on::text, 'an unknown time'), \
                coalesce(execution_time, -1) \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(conn)
    .await
    {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some(UNDEFINED_TABLE) => return Ok(Vec::new()),
        Err(err) => return Err(err).context("read _sqlx_migrations"),
    };
    Ok(rows
        .into_iter()
        .map(|(version, description, checksum, success, installed_on, execution_nanos)| AppliedMigration {
            version,
            description,
            checksum,
            success,
            installed_on: Some(installed_on),
            execution_nanos,
        })
        .collect())
}

/// What the dev database of `database` has applied, read on its open session; `None` when it does
/// not exist.
pub async fn of(database: &mut Database) -> Result<Option<Vec<AppliedMigration>>> {
    match database.open_dev() {
        Some(dev) => Ok(Some(read(dev).await?)),
        None => Ok(None),
    }
}

/// How much of each row a caller needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Whether anything is to do (`db-migrate`): versions, checksums and success only.
    Decision,
    /// Also when each migration was applied and how long it took (`db-status`'s listing).
    Listing,
}

/// The history in one short row, whatever its length: how many rows, and a SHA-256 over each
/// row's version, success and checksum in version order (the same bytes `digest_of` hashes for
/// the files); with `Detail::Listing`, when each was applied and how long it took, as one text.
/// Sent as a simple query (one round trip, no statement to prepare), its values as text.
fn summary_query(detail: Detail) -> String {
    let times = match detail {
        Detail::Decision => "NULL::text",
        Detail::Listing => {
            "string_agg(coalesce(to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), \
             installed_on::text, 'an unknown time') || ' ' || coalesce(execution_time, -1), E'\\n' ORDER BY version)"
        }
    };
    format!(
        "SELECT count(*), encode(sha256(string_agg(int8send(version) || boolsend(success) \
         || int4send(length(checksum)) || checksum, ''::bytea ORDER BY version)), 'hex'), {times} \
         FROM _sqlx_migrations"
    )
}

/// A history summed up by the server (`summary_query`), so the common case (every file applied,
/// as it is, and nothing else) costs no decoding of a thousand rows in the unoptimised build.
pub struct Summary {
    count: usize,
    digest: Option<String>,
    /// `installed_on execution_time` per row in version order, one line each (`Detail::Listing`).
    times: Option<String>,
}

/// The summary of the history on `conn`'s database; `None` when `_sqlx_migrations` does not exist.
pub async fn summary(conn: &mut PgConnection, detail: Detail) -> Result<Option<Summary>> {
    let query = summary_query(detail);
    let row = match sqlx::raw_sql(AssertSqlSafe(query)).fetch_one(conn).await {
        Ok(row) => row,
        Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some(UNDEFINED_TABLE) => return Ok(None),
        Err(err) => return Err(err).context("read a summary of _sqlx_migrations"),
    };
    let context = "read a summary of _sqlx_migrations";
    let count: i64 = row.try_get(0).context(context)?;
    Ok(Some(Summary {
        count: usize::try_from(count).unwrap_or(0),
        digest: row.try_get(1).context(context)?,
        times: row.try_get(2).context(context)?,
    }))
}

impl Summary {
    /// The history as `read` returns it, when it is exactly `files` (sorted by version, as the
    /// folder gives them): one successful row per file, with the file's version and checksum, and
    /// no other row. The digest covers everything `Plan` compares, so these rows make the same
    /// plan (all applied) as the ones `read` decodes; each row's description is the file's, which
    /// is what `Plan` shows for a version with a file. `None` for anything else (a pending,
    /// changed, missing or failed migration): the caller reads the rows.
    pub fn agrees_with(&self, files: &[MigrationFile]) -> Option<Vec<AppliedMigration>> {
        if self.count == 0 || self.count != files.len() || self.digest.as_deref() != Some(&digest_of(files)) {
            return None;
        }
        let mut times = self.times.as_deref().map(|times| times.split('\n'));
        files
            .iter()
            .map(|file| {
                let (installed_on, execution_nanos) = match &mut times {
                    Some(times) => {
                        let (installed_on, nanos) = times.next()?.rsplit_once(' ')?;
                        (Some(installed_on.to_owned()), nanos.parse().ok()?)
                    }
                    None => (None, -1),
                };
                Some(AppliedMigration {
                    version: file.version(),
                    description: file.migration.description.to_string(),
                    checksum: file.migration.checksum.to_vec(),
                    success: true,
                    installed_on,
                    execution_nanos,
                })
            })
            .collect()
    }
}

/// `summary_query`'s digest for a history that is exactly `files`, all applied successfully.
/// The bytes are gathered first and hashed in one call: ring's own buffering is unoptimised in
/// the debug build, and a thousand small updates cost more than the hash.
fn digest_of(files: &[MigrationFile]) -> String {
    let mut bytes = Vec::with_capacity(files.len() * 64);
    for file in files {
        let checksum: &[u8] = &file.migration.checksum;
        bytes.extend_from_slice(&file.version().to_be_bytes());
        bytes.push(1);
        bytes.extend_from_slice(&i32::try_from(checksum.len()).unwrap_or(i32::MAX).to_be_bytes());
        bytes.extend_from_slice(checksum);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

//! `db/seeds`: SQL files run in file-name order after the migrations, all in one transaction, so a
//! failing seed leaves nothing of the seed run behind. `db-reset` and the test databases both
//! load them through here.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::{Executor, PgConnection};

use crate::folder;
use crate::script::{self, Failure, Pace};

pub struct SeedFile {
    /// As shown to the user: `db/seeds/001_organizations.sql`.
    pub shown: String,
    pub sql: String,
}

/// Every seed in `dir` in name order (`shown_dir` is how messages name the folder), or one error
/// listing every problem in the folder.
pub fn load(dir: &Path, shown_dir: &str) -> Result<Vec<SeedFile>> {
    let mut seeds = Vec::new();
    let mut problems = Vec::new();
    for folder::Entry { name: file_name, path, is_file } in folder::entries(dir)? {
        let shown = format!("{shown_dir}/{file_name}");
        let Some(stem) = file_name.strip_suffix(".sql").filter(|_| is_file) else {
            problems.push(format!("{shown}: not a .sql file; only seed files belong in {shown_dir}"));
            continue;
        };
        if let Some(bad) = stem.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
            problems.push(format!(
                "{shown}: name contains {bad:?}; name seeds NNN_snake_name.sql, e.g. 001_organizations.sql, \
                 so their order is plain to see"
            ));
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("read {shown}"))?;
        match String::from_utf8(bytes) {
            Ok(text) => {
                let sql = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
                seeds.push(SeedFile { shown, sql });
            }
            Err(_) => problems.push(format!("{shown}: is not valid UTF-8; save it as UTF-8")),
        }
    }
    if !problems.is_empty() {
        bail!("{shown_dir} has {} problem(s), nothing was changed:\n  {}", problems.len(), problems.join("\n  "));
    }
    Ok(seeds)
}

/// Why a seed run stopped. The transaction is rolled back in every case.
pub enum SeedError {
    /// The seed transaction could not begin, be checked or commit.
    Session(sqlx::Error),
    /// `seeds[index]` failed on the server (or holds a psql command).
    Failed { index: usize, failure: Failure },
    /// `seeds[index]` ended the seed transaction itself (`COMMIT`, `ROLLBACK`, `END`).
    EndsTransaction { index: usize },
}

/// Runs every seed inside one transaction, calling `seeded` after each with its duration. Each
/// file goes to the server as one simple-protocol query (its COPY data through the COPY
/// protocol), so a seed of thousands of rows costs one round trip, not one per statement. A seed
/// that ends that transaction itself (`COMMIT`, `ROLLBACK`) is refused: its rows would be lost or
/// half kept while the caller reports success. Returns the seed transaction's id (what the
/// xtask asks the catalog about, to name what a seed changed).
pub async fn apply(
    conn: &mut PgConnection,
    seeds: &[SeedFile],
    mut seeded: impl FnMut(&SeedFile, Duration),
) -> Result<String, SeedError> {
    conn.execute("BEGIN").await.map_err(SeedError::Session)?;
    let transaction: String = match sqlx::query_scalar("SELECT pg_current_xact_id()::text").fetch_one(&mut *conn).await
    {
        Ok(transaction) => transaction,
        Err(err) => return Err(rolled_back(conn, SeedError::Session(err)).await),
    };
    for (index, seed) in seeds.iter().enumerate() {
        let start = Instant::now();
        if let Err(failure) = script::run(conn, &seed.sql, "", Pace::Whole).await {
            return Err(rolled_back(conn, SeedError::Failed { index, failure }).await);
        }
        let still: Option<String> =
            match sqlx::query_scalar("SELECT pg_current_xact_id_if_assigned()::text").fetch_one(&mut *conn).await {
                Ok(still) => still,
                Err(err) => return Err(rolled_back(conn, SeedError::Session(err)).await),
            };
        if still.as_deref() != Some(transaction.as_str()) {
            return Err(rolled_back(conn, SeedError::EndsTransaction { index }).await);
        }
        seeded(seed, start.elapsed());
    }
    conn.execute("COMMIT").await.map_err(SeedError::Session)?;
    Ok(transaction)
}

async fn rolled_back(conn: &mut PgConnection, err: SeedError) -> SeedError {
    conn.execute("ROLLBACK").await.ok();
    err
}

/// What to do about a seed that ends the seed transaction itself, for both callers' messages.
pub fn ends_transaction_message(seed: &SeedFile) -> String {
    format!(
        "{}: the seed ends the seed transaction itself (COMMIT, ROLLBACK or END); seeds run in one \
         transaction that is committed only when every seed succeeded, so remove those statements \
         from the file",
        seed.shown
    )
}

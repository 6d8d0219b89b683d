//! `db/seeds` in a reset: read and run by `dbfiles::seeds` (which the test databases share), with
//! the xtask's output: one line per seed, and a failure explained at its file and line.

use anyhow::{Context, Result, bail};
use sqlx::PgConnection;

use dbfiles::seeds::{self, SeedError};
pub use dbfiles::seeds::{SeedFile, load};

use crate::elapsed::duration;
use crate::output::out;
use crate::postgres::sql_error::{self, Rerun};

/// Runs every seed inside one transaction on `database` (see `dbfiles::seeds::apply`), one line
/// per seed.
pub async fn apply(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    let result = seeds::apply(conn, seeds, |seed, took| out!("Seeded {} ({})", seed.shown, duration(took))).await;
    explained(conn, database, seeds, result).await
}

/// `apply` without a line per seed: for a scratch database a command builds on the side.
pub async fn apply_silently(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    let result = seeds::apply(conn, seeds, |_, _| ()).await;
    explained(conn, database, seeds, result).await
}

/// A failed seed run as the xtask reports it: at the seed's file and line.
async fn explained(
    conn: &mut PgConnection,
    database: &str,
    seeds: &[SeedFile],
    result: Result<(), SeedError>,
) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(SeedError::Session(err)) => {
            Err(err).with_context(|| format!("run the seed transaction on {database}; it was rolled back"))
        }
        Err(SeedError::Failed { index, failure }) => {
            let seed = &seeds[index];
            let earlier: Vec<&str> = seeds[..index].iter().map(|s| s.sql.as_str()).collect();
            let context = format!("seed {} failed on database {database}; the seed run was rolled back", seed.shown);
            let err = sql_error::explain(conn, &failure, &seed.shown, &seed.sql, Rerun::After(&earlier)).await;
            Err(err.context(context))
        }
        Err(SeedError::EndsTransaction { index }) => bail!("{}", seeds::ends_transaction_message(&seeds[index])),
    }
}

//! `db/seeds`: SQL files run in file-name order after the migrations, all in one transaction, so a
//! failing seed leaves nothing of the seed run behind.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sqlx::{Executor, PgConnection};

use crate::elapsed::since;
use crate::migrations::folder;
use crate::output::out;
use crate::postgres::script::{self, Pace};
use crate::postgres::sql_error::{self, Rerun};

pub struct SeedFile {
    pub shown: String,
    pub sql: String,
}

/// Every seed in order, or one error listing every problem in the folder.
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

/// Runs every seed inside one transaction. Each file goes to the server as one simple-protocol
/// query (its COPY data through the COPY protocol), so a seed of thousands of rows costs one
/// round trip, not one per statement. A seed that ends that transaction itself (`COMMIT`,
/// `ROLLBACK`) is refused: its rows would be lost or half kept while the reset reports success.
pub async fn apply(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    run(conn, database, seeds, true).await
}

/// `apply` without a line per seed: for a scratch database a command builds on the side.
pub async fn apply_silently(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    run(conn, database, seeds, false).await
}

async fn run(conn: &mut PgConnection, database: &str, seeds: &[SeedFile], report: bool) -> Result<()> {
    conn.execute("BEGIN").await.with_context(|| format!("begin the seed transaction on {database}"))?;
    let transaction: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("begin the seed transaction on {database}"))?;
    for (index, seed) in seeds.iter().enumerate() {
        let start = Instant::now();
        if let Err(failure) = script::run(conn, &seed.sql, "", Pace::Whole).await {
            conn.execute("ROLLBACK").await.ok();
            let earlier: Vec<&str> = seeds[..index].iter().map(|s| s.sql.as_str()).collect();
            let context = format!("seed {} failed on database {database}; the seed run was rolled back", seed.shown);
            let err = sql_error::explain(conn, &failure, &seed.shown, &seed.sql, Rerun::After(&earlier)).await;
            return Err(err.context(context));
        }
        let still: Option<String> = sqlx::query_scalar("SELECT pg_current_xact_id_if_assigned()::text")
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("check the seed transaction on {database}"))?;
        if still.as_deref() != Some(transaction.as_str()) {
            conn.execute("ROLLBACK").await.ok();
            bail!(
                "{}: the seed ends the seed transaction itself (COMMIT, ROLLBACK or END); seeds run in one \
                 transaction that db-reset commits only when every seed succeeded, so remove those statements \
                 from the file",
                seed.shown
            );
        }
        if report {
            out!("Seeded {} ({})", seed.shown, since(start));
        }
    }
    conn.execute("COMMIT").await.with_context(|| format!("commit the seeds on {database}"))?;
    Ok(())
}

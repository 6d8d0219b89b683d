//! `db/seeds`: SQL files run in file-name order after the migrations, all in one transaction, so a
//! failing seed leaves nothing of the seed run behind.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::migrations::apply::since;
use crate::migrations::folder;
use crate::postgres::sql_error;

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
/// query, so a seed of thousands of rows costs one round trip, not one per statement.
pub async fn apply(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    let mut tx = conn.begin().await.with_context(|| format!("begin the seed transaction on {database}"))?;
    for (index, seed) in seeds.iter().enumerate() {
        let start = Instant::now();
        if let Err(err) = tx.execute(sqlx::raw_sql(AssertSqlSafe(seed.sql.clone()))).await {
            tx.rollback().await.ok();
            let earlier: Vec<&str> = seeds[..index].iter().map(|s| s.sql.as_str()).collect();
            let context = format!("seed {} failed on database {database}; the seed run was rolled back", seed.shown);
            return Err(sql_error::explain(conn, &err, &seed.shown, &seed.sql, Some(&earlier)).await.context(context));
        }
        println!("Seeded {} ({})", seed.shown, since(start));
    }
    tx.commit().await.with_context(|| format!("commit the seeds on {database}"))?;
    Ok(())
}

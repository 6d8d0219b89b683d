//! `db/seeds` in a reset: SQL files run in file-name order after the migrations, all in one
//! transaction, so a failing seed leaves nothing of the seed run behind. Read and run by
//! `dbfiles::seeds` (which the test databases share); here, the xtask's output (one line per
//! seed, a failure explained at its file and line) and the rule below.
//!
//! Seeds load data, and only data. A seed that creates, changes or drops a schema object (a
//! table, a function, an index, a comment…) is refused, naming what it changed: the schema is
//! what the migrations produce, and only they run everywhere. A seed's function would be in the
//! reset cache that `db-check` reads locally but not in CI's build, and `db-status` would call it
//! "removed by hand" after the next `db-migrate`. The rule is checked from the server's facts: the
//! schema's digest (`schema::digest`, what drift compares) before the seeds, and after them when
//! they wrote or removed any catalog row.

use anyhow::{Context, Result, bail};
use sqlx::PgConnection;

use dbfiles::seeds::{self, SeedError};
pub use dbfiles::seeds::{SeedFile, load};

use crate::elapsed::duration;
use crate::output::out;
use crate::postgres::sql_error::{self, Rerun};
use crate::schema::digest;

/// Runs every seed inside one transaction (see `dbfiles::seeds::apply`) and refuses them, after that transaction
/// committed, when they changed the schema: for a reset's scratch database, which nobody sees and
/// the reset drops when this fails. Returns the schema's digest, which the reset keeps.
pub async fn apply(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<String> {
    let before = digest::of(conn).await.with_context(|| format!("read the schema of {database} before the seeds"))?;
    let tuples_before = catalog_tuples(conn).await.with_context(|| format!("read the catalog of {database}"))?;
    let result = seeds::apply(conn, seeds, |seed, took| out!("Seeded {} ({})", seed.shown, duration(took))).await;
    let transaction = explained(conn, database, seeds, result).await?;
    // The common case in one cheap query: no catalog row was written or removed, so the schema
    // is the same. Otherwise (TRUNCATE, a trigger disabled and enabled again, or a real change)
    // the digests decide.
    if catalog_tuples(conn).await.with_context(|| format!("read the catalog of {database}"))? == tuples_before {
        return Ok(before);
    }
    let after = digest::of(conn).await.with_context(|| format!("read the schema of {database} after the seeds"))?;
    if before == after {
        return Ok(after);
    }
    let changed = changed_by(conn, &transaction).await.unwrap_or_default();
    let changed = if changed.is_empty() { String::new() } else { format!(" ({})", changed.join(", ")) };
    bail!(
        "db/seeds changed the schema{changed}: seeds load data only; move what creates, changes or drops a table, \
         function, index or any other schema object into a migration (`cargo xtask db-new <name>`), where \
         db-migrate, db-check and db-status see it too"
    )
}

/// The seeds without a line per seed, and without the check: for a scratch database a command
/// builds on the side (the reset, which every seeded database comes from, checks them).
pub async fn apply_silently(conn: &mut PgConnection, database: &str, seeds: &[SeedFile]) -> Result<()> {
    let result = seeds::apply(conn, seeds, |_, _| ()).await;
    explained(conn, database, seeds, result).await.map(drop)
}

/// Which versions of the rows of the catalogs that hold a schema are visible: a hash of every
/// row's place and the transaction that wrote it. Any row written or removed changes it (a
/// schema change always writes or removes catalog rows; what the server updates in place are
/// statistics, which no schema comparison reads), at the cost of a scan of the catalogs, far
/// cheaper than the digest, which spells every definition.
async fn catalog_tuples(conn: &mut PgConnection) -> Result<String> {
    const CATALOGS: [&str; 17] = [
        "pg_namespace",
        "pg_extension",
        "pg_class",
        "pg_attribute",
        "pg_attrdef",
        "pg_constraint",
        "pg_index",
        "pg_trigger",
        "pg_proc",
        "pg_type",
        "pg_enum",
        "pg_sequence",
        "pg_description",
        "pg_rewrite",
        "pg_collation",
        "pg_inherits",
        "pg_depend",
    ];
    let rows: Vec<String> = CATALOGS
        .iter()
        .map(|catalog| {
            format!(
                "SELECT hashtextextended(ctid::text || ':' || xmin::text, {}) AS h FROM pg_catalog.{catalog}",
                catalog.len()
            )
        })
        .collect();
    let sql =
        format!("SELECT count(*)::text || ':' || coalesce(sum(h), 0)::text FROM ({}) rows", rows.join(" UNION ALL "));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(conn).await?)
}

/// The schema objects whose catalog rows transaction `xid` wrote: what a seed created or changed,
/// as far as the catalog tells (what it dropped left no row).
async fn changed_by(conn: &mut PgConnection, xid: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT what FROM ( \
           SELECT format('%s %s', CASE WHEN c.relkind IN ('i', 'I') THEN 'index' WHEN c.relkind = 'S' THEN 'sequence' \
               WHEN c.relkind IN ('v', 'm') THEN 'view' WHEN c.relkind = 'c' THEN 'type' ELSE 'table' END, \
               c.oid::regclass) AS what FROM pg_catalog.pg_class c \
             WHERE c.xmin = $1::xid8::xid AND c.relkind <> 't' AND c.relnamespace <> pg_catalog.pg_my_temp_schema() \
           UNION SELECT format('function %s', p.oid::regprocedure) FROM pg_catalog.pg_proc p WHERE p.xmin = $1::xid8::xid \
           UNION SELECT format('type %s', t.oid::regtype) FROM pg_catalog.pg_type t \
             WHERE t.xmin = $1::xid8::xid AND t.typrelid = 0 AND t.typcategory <> 'A' \
           UNION SELECT format('schema %s', n.nspname) FROM pg_catalog.pg_namespace n WHERE n.xmin = $1::xid8::xid \
           UNION SELECT format('trigger %s on %s', t.tgname, t.tgrelid::regclass) FROM pg_catalog.pg_trigger t \
             WHERE t.xmin = $1::xid8::xid AND NOT t.tgisinternal \
           UNION SELECT format('constraint %s', co.conname) FROM pg_catalog.pg_constraint co WHERE co.xmin = $1::xid8::xid \
         ) objects ORDER BY what LIMIT 10",
    )
    .bind(xid)
    .fetch_all(conn)
    .await?)
}

/// The seed transaction's id, or the failed seed run as the xtask reports it: at the seed's file
/// and line.
async fn explained(
    conn: &mut PgConnection,
    database: &str,
    seeds: &[SeedFile],
    result: Result<String, SeedError>,
) -> Result<String> {
    match result {
        Ok(transaction) => Ok(transaction),
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

//! The template the test databases are copied from, and the shared database transactional tests
//! use: built by the first test that needs them, under an advisory lock so test binaries running
//! in parallel (nextest, two terminals) build each once, and kept for the next run while the
//! migrations and seeds stay the same.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use dbfiles::names;
use dbfiles::seeds::{self, SeedError, SeedFile};
use dbfiles::template;
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::admin::quote_ident;
use crate::server::Server;

/// What the tests ask for: these migrations, and these seeds or none.
#[derive(Clone, Copy)]
pub struct Spec {
    pub migrator: &'static Migrator,
    pub seeds: Option<&'static str>,
}

// One spec per distinct migrator and seeds folder: the migrator is a static, compared by address.
impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        std::ptr::eq(self.migrator, other.migrator) && self.seeds == other.seeds
    }
}
impl Eq for Spec {}
impl std::hash::Hash for Spec {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.migrator, state);
        self.seeds.hash(state);
    }
}

/// The names of a spec's template and shared database, both ready.
#[derive(Clone)]
pub struct Prepared {
    pub template: String,
    pub shared: String,
}

/// The advisory lock's first key, "test" in ASCII; the second is a hash of the dev database's
/// name: the test databases of one dev database are built one at a time (seeded or not, any
/// files), those of two dev databases on one server side by side.
const LOCK_CLASS: i32 = 0x7465_7374;

fn lock_key(database: &str) -> i32 {
    dbfiles::fingerprint::Fingerprint::new().field(database.as_bytes()).finish() as i32
}

pub async fn prepare(conn: &mut PgConnection, server: &Server, spec: Spec) -> Result<Prepared> {
    let seeds = match spec.seeds {
        Some(dir) => Some(seeds::load(Path::new(dir), &shown_dir(Path::new(dir)))?),
        None => None,
    };
    let version: String = sqlx::query_scalar(template::SERVER_VERSION_QUERY).fetch_one(&mut *conn).await?;
    let migrations = spec.migrator.iter().filter(|m| m.migration_type.is_up_migration());
    let key = template::key(&server.database, &version, migrations, seeds.as_deref());
    let prepared = Prepared {
        template: names::test_template(&server.database, key),
        shared: names::test_shared(&server.database, key),
    };
    if ages(conn, &prepared).await?.fresh() {
        return Ok(prepared);
    }
    let lock = lock_key(&server.database);
    sqlx::query("SELECT pg_advisory_lock($1, $2)").bind(LOCK_CLASS).bind(lock).execute(&mut *conn).await?;
    let built = build_if_stale(conn, server, spec.migrator, seeds.as_deref(), &prepared).await;
    sqlx::query("SELECT pg_advisory_unlock($1, $2)").bind(LOCK_CLASS).bind(lock).execute(&mut *conn).await?;
    built?;
    Ok(prepared)
}

/// How the seeds folder is named in messages and in the template key: its last two parts
/// (`db/seeds`), as `cargo xtask db-reset` names it, so the key does not depend on where the
/// checkout is.
pub fn shown_dir(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts[parts.len().saturating_sub(2)..].join("/")
}

/// How old the template and the shared database are, in seconds (`None`: missing).
struct Ages {
    template: Option<i64>,
    shared: Option<i64>,
}

/// A template older than this is built again. Shorter than the reset cache's hour
/// (`dbfiles::template::MAX_AGE_SECS`): tests check the seeds' `now()`-relative times to the
/// minute (a gateway "silent for ten minutes" is one seeded five minutes before its last report).
const MAX_AGE_SECS: i64 = 180;

impl Ages {
    fn fresh(&self) -> bool {
        let fresh = |age: Option<i64>| age.is_some_and(|age| age < MAX_AGE_SECS);
        fresh(self.template) && fresh(self.shared)
    }
}

const LABEL: &str = names::TEST_TEMPLATE_LABEL;

async fn ages(conn: &mut PgConnection, prepared: &Prepared) -> Result<Ages> {
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database'), extract(epoch FROM now())::bigint \
         FROM pg_database WHERE datname IN ($1, $2)",
    )
    .bind(&prepared.template)
    .bind(&prepared.shared)
    .fetch_all(&mut *conn)
    .await
    .context("look up the test templates")?;
    let age = |name: &str| {
        rows.iter().find(|(datname, ..)| datname == name).map(|(_, comment, now)| {
            let built = names::test_template_built(comment.as_deref());
            // A database without the label was not finished by testdb: as good as missing.
            built.map_or(i64::MAX, |built| now - built)
        })
    };
    Ok(Ages { template: age(&prepared.template), shared: age(&prepared.shared) })
}

async fn build_if_stale(
    conn: &mut PgConnection,
    server: &Server,
    migrator: &Migrator,
    seeds: Option<&[SeedFile]>,
    prepared: &Prepared,
) -> Result<()> {
    // Another test binary may have built them while this one waited for the lock.
    let ages = ages(conn, prepared).await?;
    if ages.fresh() {
        return Ok(());
    }
    drop_trash(conn, server).await?;
    let stale = |age: Option<i64>| age.is_none_or(|age| age >= MAX_AGE_SECS);
    if stale(ages.template) {
        let replaces = ages.template.is_some();
        build_template(conn, server, migrator, seeds, &prepared.template, replaces).await?;
        remove_older(conn, server, prepared).await?;
    }
    // The shared database is replaced only when no test is in it (tests of another binary may
    // be): a stale one in use is kept, its rows just older than an hour.
    let replace = format!("{}_new", prepared.shared);
    drop_database(conn, &replace).await?;
    create_from(conn, &replace, &prepared.template).await?;
    let old = format!("{}_old", prepared.shared);
    // A rename fails while a test is in the database.
    if let Err(err) = swap_in(conn, &replace, &prepared.shared, ages.shared.is_some().then_some(old.as_str())).await {
        drop_database(conn, &replace).await?;
        if ages.shared.is_some() {
            return Ok(());
        }
        return Err(err).with_context(|| format!("create {}", prepared.shared));
    }
    drop_database(conn, &old).await?;
    label(conn, &prepared.shared).await
}

/// Builds the template under a scratch name and renames it into place once migrated and seeded:
/// a failed build leaves no template that looks finished.
async fn build_template(
    conn: &mut PgConnection,
    server: &Server,
    migrator: &Migrator,
    seeds: Option<&[SeedFile]>,
    template: &str,
    replaces: bool,
) -> Result<()> {
    let scratch = format!("{template}_build");
    drop_database(conn, &scratch).await?;
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {}", quote_ident(&scratch))))
        .await
        .with_context(|| format!("create {scratch}"))?;
    let mut build = PgConnection::connect_with(&server.database(&scratch)).await.context("connect to the template")?;
    migrator.run(&mut build).await.with_context(|| format!("migrate the test template {scratch}"))?;
    if let Some(seeds) = seeds {
        seeds::apply(&mut build, seeds, |_, _| ()).await.map_err(|err| anyhow!(seed_error(seeds, err)))?;
    }
    build.close().await.ok();
    label(conn, &scratch).await?;
    // Swapped in, as the shared database is: a test binary still copying the old template (a
    // rebuild after its three minutes, or another branch's files) never finds the name
    // missing; a rename waits for a copy being made from it.
    let old = format!("{template}_old");
    drop_database(conn, &old).await?;
    swap_in(conn, &scratch, template, replaces.then_some(old.as_str()))
        .await
        .with_context(|| format!("put {scratch} in place of {template}"))?;
    drop_database(conn, &old).await
}

/// Puts the database `new` in place of `name` by two renames in one transaction (DROP DATABASE
/// cannot run in one), so the name never points at nothing: the one it replaces, if any, is
/// renamed to `old`, for the caller to drop. Changes nothing when either rename fails.
async fn swap_in(conn: &mut PgConnection, new: &str, name: &str, old: Option<&str>) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    if let Some(old) = old {
        tx.execute(AssertSqlSafe(format!("ALTER DATABASE {} RENAME TO {}", quote_ident(name), quote_ident(old))))
            .await?;
    }
    tx.execute(AssertSqlSafe(format!("ALTER DATABASE {} RENAME TO {}", quote_ident(new), quote_ident(name)))).await?;
    tx.commit().await
}

/// A failed seed run in words: the seed, and the server's error.
pub fn seed_error(seeds: &[SeedFile], err: SeedError) -> String {
    match err {
        SeedError::Session(err) => format!("the seed transaction failed: {err}"),
        SeedError::Failed { index, failure } => format!(
            "seed {} failed: {} (`cargo xtask db-reset` shows the line)",
            seeds[index].shown,
            failure_message(&failure)
        ),
        SeedError::EndsTransaction { index } => seeds::ends_transaction_message(&seeds[index]),
    }
}

fn failure_message(failure: &dbfiles::script::Failure) -> String {
    match failure {
        dbfiles::script::Failure::Sql { error, .. } => error.to_string(),
        dbfiles::script::Failure::MetaCommand { text, .. } => format!("`{text}` is a psql command, not SQL"),
    }
}

/// Templates and shared databases of this dev database that nobody refreshed for an hour (the
/// reset cache's age: long past this module's own): built
/// from files that have changed since (a fresh one may be the other variant's, seeded or not, or
/// another branch's). One in use stays.
async fn remove_older(conn: &mut PgConnection, server: &Server, prepared: &Prepared) -> Result<()> {
    let prefix = names::test_prefix(&server.database);
    let all: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database'), extract(epoch FROM now())::bigint \
         FROM pg_database WHERE left(datname, length($1)) = $1",
    )
    .bind(&prefix)
    .fetch_all(&mut *conn)
    .await?;
    for (name, comment, now) in all {
        let built = names::test_template_built(comment.as_deref());
        let stale = built.is_none_or(|built| now - built >= template::MAX_AGE_SECS);
        let cache = names::test_database_kind(&server.database, &name) == Some(names::TestDatabase::Cache);
        if cache && stale && name != prepared.template && name != prepared.shared {
            let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&name));
            conn.execute(AssertSqlSafe(sql)).await.ok();
        }
    }
    Ok(())
}

/// Drops the copies of passed tests (`names::test_trash`) that processes no longer running put
/// aside: what a run outside `cargo xtask test` (which drops them after its run) left, so it does
/// not pile up. Done only when a template is built (under the lock, at most every three minutes),
/// not at every test binary's start: the binaries that ran before this one in the same run have
/// ended too, and their trash is better dropped after the run, when no test waits for a copy.
/// One in use (a user's session) stays for the next time.
async fn drop_trash(conn: &mut PgConnection, server: &Server) -> Result<()> {
    let prefix = names::test_prefix(&server.database);
    let all: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE left(datname, length($1)) = $1")
            .bind(&prefix)
            .fetch_all(&mut *conn)
            .await
            .context("list the test databases")?;
    for name in all {
        let trash = names::test_database_kind(&server.database, &name) == Some(names::TestDatabase::Trash);
        let process = names::test_database_process(&server.database, &name);
        if trash && !process.is_some_and(is_running) {
            let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&name));
            conn.execute(AssertSqlSafe(sql)).await.ok();
        }
    }
    Ok(())
}

/// Whether the process `id` runs on this machine (this one included). Where `/proc` is missing,
/// only this process is known to run.
fn is_running(id: u32) -> bool {
    id == std::process::id() || Path::new("/proc").join(id.to_string()).exists()
}

async fn create_from(conn: &mut PgConnection, name: &str, template: &str) -> Result<()> {
    let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(name), quote_ident(template));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("create {name} from {template}"))?;
    Ok(())
}

async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<()> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("drop {name}"))?;
    Ok(())
}

async fn label(conn: &mut PgConnection, name: &str) -> Result<()> {
    let now: i64 = sqlx::query_scalar("SELECT extract(epoch FROM now())::bigint").fetch_one(&mut *conn).await?;
    let sql = format!("COMMENT ON DATABASE {} IS '{LABEL}{now}'", quote_ident(name));
    conn.execute(AssertSqlSafe(sql)).await.with_context(|| format!("label {name}"))?;
    Ok(())
}

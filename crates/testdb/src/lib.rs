//! Cheap, seeded, isolated test databases, in two modes a test chooses:
//!
//! - [`Setup::copy`]: the test's own database, a copy of a template that was migrated and seeded
//!   once (per change of the migrations or seeds: the reset cache's key). Put aside as trash when
//!   the test passes, and dropped after the run (by `cargo xtask test`, else by the next run that
//!   rebuilds the template); kept when it fails (its name is printed). For tests that commit, run
//!   DDL, or need several connections.
//! - [`Setup::transaction`]: one connection to a database shared by the tests, itself a copy of
//!   the template, inside a transaction that is never committed: it is rolled back when the test
//!   ends, as Rails' transactional tests are. One login, nothing created: the common case.
//!
//! ```ignore
//! static DB: testdb::Setup = testdb::Setup::seeded(&db::MIGRATOR, db::SEEDS_DIR);
//!
//! #[tokio::test]
//! async fn slugs_are_unique() {
//!     let mut tx = DB.transaction().await;
//!     sqlx::query("INSERT …").execute(&mut *tx).await.unwrap();
//! }
//! ```
//!
//! The server is `DATABASE_URL`'s (the dev database, as `cargo xtask test` sets it and `cargo
//! xtask db-url` prints it); the test databases are made beside the dev database and named after
//! it (`<dev>__test_…`). The template is migrated by the `Migrator` given (sqlx's, as the
//! application and `#[sqlx::test]` migrate) and seeded by the code `cargo xtask db-reset` seeds
//! with (`dbfiles`): every file in `db/seeds` in name order, in one transaction.
//!
//! Tests in transaction mode run at the same time on one database: two that insert the same
//! unique key wait for each other (each sees the other's row only once it is rolled back), so
//! give each test keys of its own. A test that commits (`COMMIT` on its connection) would leave
//! its rows for every later test: such a test belongs in copy mode.

mod admin;
mod prepare;
mod server;

use std::ops::{Deref, DerefMut};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

use prepare::{Prepared, Spec};
use server::Server;

/// What the tests of a crate work on: migrations, and seeds or none. Meant for a `static`.
pub struct Setup {
    spec: Spec,
}

impl Setup {
    /// The migrations, then every seed in `seeds_dir` (e.g. `db/seeds`), as `db-reset` builds.
    pub const fn seeded(migrator: &'static Migrator, seeds_dir: &'static str) -> Setup {
        Setup { spec: Spec { migrator, seeds: Some(seeds_dir) } }
    }

    /// The migrations only: empty tables.
    pub const fn unseeded(migrator: &'static Migrator) -> Setup {
        Setup { spec: Spec { migrator, seeds: None } }
    }

    async fn prepared(&self) -> Prepared {
        admin::prepare(self.spec).await
    }

    /// A database of the test's own, copied from the template.
    pub async fn copy(&self) -> TestDatabase {
        let prepared = self.prepared().await;
        let name = admin::copy(&prepared.template).await;
        let options = Server::get().database(&name);
        // Lazy: the first query logs in, and a test that uses one connection at a time logs in
        // once.
        let pool = PgPoolOptions::new().max_connections(5).connect_lazy_with(options.clone());
        TestDatabase { name, template: prepared.template, options, pool }
    }

    /// A connection to the shared database inside a transaction that is rolled back when it is
    /// dropped.
    pub async fn transaction(&self) -> Transaction {
        let prepared = self.prepared().await;
        let options = Server::get().database(&prepared.shared);
        let mut conn = PgConnection::connect_with(&options)
            .await
            .unwrap_or_else(|err| panic!("testdb: connect to {}: {err}", prepared.shared));
        conn.execute("BEGIN").await.unwrap_or_else(|err| panic!("testdb: begin the test's transaction: {err}"));
        Transaction { conn }
    }

    /// The same as [`Setup::transaction`] for tokio-postgres: a client inside a transaction that
    /// the server rolls back when the client is dropped.
    #[cfg(feature = "tokio-postgres")]
    pub async fn transaction_tokio_postgres(&self) -> TokioPostgresTransaction {
        let prepared = self.prepared().await;
        let client = tokio_postgres_client(&prepared.shared).await;
        client.batch_execute("BEGIN").await.unwrap_or_else(|err| panic!("testdb: begin the test's transaction: {err}"));
        TokioPostgresTransaction { client }
    }
}

/// Runs every seed in `seeds_dir` on `conn`, in name order and in one transaction, as `cargo
/// xtask db-reset` does (the same code, `dbfiles::seeds`): for a database a test made itself
/// (another collation, another server). Panics, naming the seed, when one fails.
pub async fn seed(conn: &mut PgConnection, seeds_dir: &str) {
    let dir = std::path::Path::new(seeds_dir);
    let seeds = dbfiles::seeds::load(dir, &prepare::shown_dir(dir)).unwrap_or_else(|err| panic!("testdb: {err:#}"));
    if let Err(err) = dbfiles::seeds::apply(conn, &seeds, |_, _| ()).await {
        panic!("testdb: {}", prepare::seed_error(&seeds, err));
    }
}

/// A test's own database: renamed to trash when the test passes (`<dev>__test_trash_…`, dropped
/// after the run, see [`crate`]), kept (and named on stderr) when it panics, for a look with
/// `cargo xtask db-psql -- -d <name>`.
pub struct TestDatabase {
    name: String,
    template: String,
    options: PgConnectOptions,
    pool: PgPool,
}

impl TestDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template it was copied from.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// A pool of connections to it (at most five).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Its address, for sqlx's own connections.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// A tokio-postgres client on it (its connection runs on the test's runtime).
    #[cfg(feature = "tokio-postgres")]
    pub async fn tokio_postgres(&self) -> tokio_postgres::Client {
        tokio_postgres_client(&self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "testdb: kept the failed test's database {} (`cargo xtask test --leftovers` lists such \
                 databases, `--drop-leftovers` removes them)",
                self.name
            );
            return;
        }
        if let Err(err) = admin::trash(&self.name) {
            eprintln!("{err}");
        }
    }
}

/// One connection inside a transaction that is never committed: dropping it closes the
/// connection, and the server rolls the transaction back. Use it where a `&mut PgConnection`
/// goes (`&mut *tx`).
pub struct Transaction {
    conn: PgConnection,
}

impl Deref for Transaction {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A tokio-postgres client inside a transaction that is never committed (see [`Transaction`]).
#[cfg(feature = "tokio-postgres")]
pub struct TokioPostgresTransaction {
    client: tokio_postgres::Client,
}

#[cfg(feature = "tokio-postgres")]
impl Deref for TokioPostgresTransaction {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

#[cfg(feature = "tokio-postgres")]
async fn tokio_postgres_client(database: &str) -> tokio_postgres::Client {
    use std::str::FromStr;
    let mut config = tokio_postgres::Config::from_str(&Server::get().url)
        .unwrap_or_else(|err| panic!("testdb: DATABASE_URL for tokio-postgres: {err}"));
    config.dbname(database).application_name("testdb");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("testdb: connect to {database} with tokio-postgres: {err}"));
    tokio::spawn(connection);
    client
}

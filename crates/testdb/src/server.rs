//! The test server, from `DATABASE_URL` (the environment, else `.env`, as sqlx reads it): the
//! dev database's address, which `cargo xtask test` sets and `cargo xtask db-url` prints. The
//! test databases are made beside the dev database, from the server's maintenance database.

use std::io::Write;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use sqlx::postgres::PgConnectOptions;

/// Where the test databases are made.
pub struct Server {
    /// The dev database's address, as given.
    pub url: String,
    pub options: PgConnectOptions,
    /// The dev database's name: every test database is named after it.
    pub database: String,
}

/// The maintenance database: test databases are created and dropped from a session there, since
/// no session may sit in a database it drops.
const MAINTENANCE_DATABASE: &str = "postgres";

impl Server {
    /// The server of this process, read once.
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| {
            let url = match dotenvy::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => url,
                _ => fatal(
                    "DATABASE_URL is not set: run the tests with `cargo xtask test` (it starts the dev server \
                     and sets it), or set it to the address `cargo xtask db-url --show-password` prints",
                ),
            };
            let options = PgConnectOptions::from_str(&url)
                .unwrap_or_else(|err| fatal(&format!("DATABASE_URL is not a PostgreSQL URL ({err})")))
                .application_name("testdb");
            let database = options.get_database().unwrap_or(MAINTENANCE_DATABASE).to_owned();
            Server { url, options, database }
        })
    }

    /// Another database on this server.
    pub fn database(&self, name: &str) -> PgConnectOptions {
        self.options.clone().database(name)
    }

    pub fn maintenance(&self) -> PgConnectOptions {
        self.database(MAINTENANCE_DATABASE)
    }
}

/// Ends the test process with one line on stderr, instead of a panic (and its backtrace hint) in
/// every test that runs: the cause is the same for all of them. Written to stderr directly, past
/// the test harness's capture, and only once however many tests reach it.
pub fn fatal(message: &str) -> ! {
    static ONCE: Mutex<()> = Mutex::new(());
    let _only_one = ONCE.lock();
    let _ = writeln!(std::io::stderr(), "error: {message}");
    std::process::exit(2)
}

//! Opening connections, and turning the ways that fails into messages that say what to do.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use anyhow::Result;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use super::{Target, waits};

/// How long one connection attempt may take before we give up on the host: long enough for a
/// slow remote server, short enough that a firewalled port doesn't hang a terminal.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// PostgreSQL's SQLSTATE codes that we explain in plain words.
const CANNOT_CONNECT_NOW: &str = "57P03";
const INVALID_PASSWORD: &str = "28P01";
const INVALID_AUTHORIZATION: &str = "28000";
pub(super) const UNKNOWN_DATABASE: &str = "3D000";

pub async fn connect(target: &Target) -> Result<PgConnection> {
    attempt(target).await.map_err(|err| explain(err, target))
}

/// Connects, retrying while the server is still starting (connection refused or reset, or
/// PostgreSQL's own "starting up" answer) until `timeout` has passed. Any other error, such as
/// a wrong password, fails at once: waiting would not fix it.
pub async fn wait_until_ready(target: &Target, timeout: Duration) -> Result<PgConnection> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(25);
    loop {
        match attempt(target).await {
            Ok(conn) => return Ok(conn),
            Err(err) if is_starting_up(&err) && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(err) if is_starting_up(&err) => {
                return Err(explain(err, target)
                    .context(format!("the server did not accept connections within {}s", timeout.as_secs())));
            }
            Err(err) => return Err(explain(err, target)),
        }
    }
}

/// One connection attempt. Through a private socket the server trusts the operating system's
/// word for who connects (peer authentication); when it does not know this account (a checkout
/// shared between users, a cluster made before sockets were used), the password over TCP still
/// works.
pub(super) async fn attempt(target: &Target) -> Result<PgConnection, sqlx::Error> {
    let result = attempt_with(target.options()).await;
    if result.is_ok() {
        waits::register(target);
    }
    match result {
        Err(sqlx::Error::Database(db))
            if target.has_socket() && db.code().as_deref() == Some(INVALID_AUTHORIZATION) =>
        {
            attempt_with(target.over_tcp().options()).await
        }
        result => result,
    }
}

async fn attempt_with(options: PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, options.connect()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            ErrorKind::TimedOut,
            format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()),
        ))),
    }
}

fn is_starting_up(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                // A socket file that is not there yet.
                | ErrorKind::NotFound
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::UnexpectedEof
        ),
        sqlx::Error::Database(db) => db.code().as_deref() == Some(CANNOT_CONNECT_NOW),
        _ => false,
    }
}

pub(super) fn explain(err: sqlx::Error, target: &Target) -> anyhow::Error {
    let what_to_do = match &err {
        sqlx::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            "nothing listens there: start the dev server with `cargo xtask db-up`, or check the host and port in DATABASE_URL"
        }
        sqlx::Error::Io(io) if io.kind() == ErrorKind::TimedOut => {
            "the host does not answer: check the host and port in DATABASE_URL, and any firewall or VPN in between"
        }
        sqlx::Error::Io(io) if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
            "the host name does not resolve: check the host in DATABASE_URL"
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(INVALID_PASSWORD) => {
                "the password was refused: check DATABASE_URL, or POSTGRES_PASSWORD in .env, or .xtask/password \
                 (the password generated for this checkout; the local cluster and the Docker volume keep the \
                 password they were created with; only if it is lost, `cargo xtask db-down --purge` deletes them \
                 with their data, and the next command makes them anew)"
            }
            Some(INVALID_AUTHORIZATION) => {
                "the server refused this user: check the user name in DATABASE_URL or POSTGRES_USER"
            }
            Some(UNKNOWN_DATABASE) => "the database does not exist yet: `cargo xtask db-migrate` creates it",
            Some(CANNOT_CONNECT_NOW) => "the server is still starting or shutting down: try again in a moment",
            _ => "check DATABASE_URL",
        },
        sqlx::Error::Tls(_) => "the TLS handshake failed: check sslmode and sslrootcert in DATABASE_URL",
        _ => "check DATABASE_URL",
    };
    anyhow::Error::new(err).context(format!("cannot connect to {target}; {what_to_do}"))
}

/// True when the server refused the user or the password: waiting would not change its mind.
pub fn is_refused_login(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|cause| cause.downcast_ref::<sqlx::Error>()).any(|err| {
        let code = err.as_database_error().and_then(|db| db.code());
        matches!(code.as_deref(), Some(INVALID_PASSWORD | INVALID_AUTHORIZATION))
    })
}

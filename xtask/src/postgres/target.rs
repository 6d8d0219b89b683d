//! A database on a server: how to connect, and how to name it without showing its password.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgConnectOptions;

use crate::secrets;

/// The maintenance database every PostgreSQL server has: databases are created, dropped and
/// renamed from a connection to it, since no session may sit in the database it drops.
pub const MAINTENANCE_DATABASE: &str = "postgres";

#[derive(Clone, Debug)]
pub struct Target {
    options: PgConnectOptions,
    password: Option<String>,
    /// PostgreSQL's `statement_timeout` for every session, e.g. `30s`; `None` waits forever.
    statement_timeout: Option<String>,
    /// `synchronous_commit = off` for the session: for a database nobody sees until a later,
    /// durable commit publishes it (a reset's scratch copy, which the swap makes durable).
    unflushed_commits: bool,
    /// Whose `lock_timeout` a session starts with: the xtask's (every session gives up in the
    /// end), or the server's, as an application's migrator would have it (db-check's trace, which
    /// reads the lock_timeout a migration sets, `RESET` included).
    lock_timeout: LockTimeout,
    /// The folder of the server's private Unix socket, when the xtask started the server itself
    /// (the local cluster): connections go there instead of over TCP and skip the password
    /// handshake. Messages and child processes still get the TCP address.
    socket: Option<PathBuf>,
}

impl Target {
    pub fn new(host: &str, port: u16, user: &str, password: &str, database: &str) -> Target {
        secrets::register(password);
        let options = PgConnectOptions::new_without_pgpass()
            .host(host)
            .port(port)
            .username(user)
            .password(password)
            .database(database);
        Target {
            options,
            password: Some(password.to_owned()),
            statement_timeout: None,
            unflushed_commits: false,
            lock_timeout: LockTimeout::Xtasks,
            socket: None,
        }
    }

    /// Reads a `postgres://` URL. The password is registered as a secret before anything else
    /// happens, so not even a parse error can print it.
    pub fn from_url(url: &str) -> Result<Target> {
        let url = &with_placeholder_host(url);
        let parsed = url::Url::parse(url).map_err(|err| {
            anyhow::anyhow!(
                "DATABASE_URL is not a valid URL ({err}); expected \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE, with any of @ : / % # ? in the \
                 password percent-encoded (@ is %40)"
            )
        })?;
        let password = parsed.password().map(|p| {
            let decoded = percent_decode(p);
            secrets::register(p);
            secrets::register(&decoded);
            decoded
        });
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            bail!(
                "DATABASE_URL has scheme `{}:`; this project needs a PostgreSQL URL \
                 (postgres://USER:PASSWORD@HOST:PORT/DATABASE)",
                parsed.scheme()
            );
        }
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|err| anyhow::anyhow!("{}", secrets::redact(&err.to_string())))
            .context("read DATABASE_URL")?;
        if options.get_database().is_none_or(str::is_empty) {
            bail!(
                "DATABASE_URL names no database; add one after the host, as in \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            );
        }
        let database = options.get_database().unwrap_or_default().to_owned();
        options = options.database(&database);
        secrets::register_public(options.get_username());
        secrets::register_public(&database);
        Ok(Target {
            options,
            password,
            statement_timeout: None,
            unflushed_commits: false,
            lock_timeout: LockTimeout::Xtasks,
            socket: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.options.get_port()
    }

    pub fn database(&self) -> &str {
        self.options.get_database().unwrap_or_default()
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> Target {
        Target { options: self.options.clone().database(database), ..self.clone() }
    }

    /// The same target with a limit on how long any one statement may run.
    pub fn with_statement_timeout(&self, timeout: Option<&StatementTimeout>) -> Target {
        Target { statement_timeout: timeout.map(|t| t.0.clone()), ..self.clone() }
    }

    /// The same target, whose sessions do not wait for their commits to reach the disk.
    pub fn with_unflushed_commits(&self) -> Target {
        Target { unflushed_commits: true, ..self.clone() }
    }

    /// The same target, whose sessions start with the server's own lock_timeout.
    pub fn with_servers_lock_timeout(&self) -> Target {
        Target { lock_timeout: LockTimeout::Servers, ..self.clone() }
    }

    pub fn maintenance(&self) -> Target {
        self.with_database(MAINTENANCE_DATABASE)
    }

    /// The same target, reached through the server's Unix socket in `dir`.
    pub fn with_socket(&self, dir: &Path) -> Target {
        Target { socket: Some(dir.to_owned()), ..self.clone() }
    }

    /// The same target over TCP with the password, as the application reaches it.
    pub fn over_tcp(&self) -> Target {
        Target { socket: None, ..self.clone() }
    }

    pub fn has_socket(&self) -> bool {
        self.socket.is_some()
    }

    /// Connection options with `application_name` set, so `pg_stat_activity` shows which
    /// command holds a session or a lock.
    pub fn options(&self) -> PgConnectOptions {
        // If the xtask dies (SIGKILL, a closed laptop), the server notices within a second and
        // rolls back, instead of finishing a long migration for nobody while holding the lock.
        let options = self
            .options
            .clone()
            .application_name(&super::waits::application_name())
            .options([("client_connection_check_interval", "1s")]);
        let options = match self.lock_timeout {
            LockTimeout::Xtasks => options.options([("lock_timeout", super::waits::LOCK_TIMEOUT)]),
            LockTimeout::Servers => options,
        };
        let options = match &self.statement_timeout {
            Some(timeout) => options.options([("statement_timeout", timeout.as_str())]),
            None => options,
        };
        let options = if self.unflushed_commits { options.options([("synchronous_commit", "off")]) } else { options };
        match &self.socket {
            Some(dir) => options.socket(dir),
            None => options,
        }
    }

    /// libpq's environment for this target (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
    /// `PGSSLMODE`, and `PGPASSWORD` unless the private socket makes it unneeded): how psql gets
    /// the address without a password on its command line, which `ps` would show.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        use sqlx::postgres::PgSslMode;
        let o = &self.options;
        let host = match (&self.socket, o.get_socket()) {
            (Some(dir), _) | (None, Some(dir)) => dir.display().to_string(),
            (None, None) => o.get_host().to_owned(),
        };
        let mut env = vec![
            ("PGHOST", host),
            ("PGPORT", o.get_port().to_string()),
            ("PGUSER", o.get_username().to_owned()),
            ("PGDATABASE", self.database().to_owned()),
        ];
        let ssl_mode = match o.get_ssl_mode() {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        };
        env.push(("PGSSLMODE", ssl_mode.to_owned()));
        // `?options=-c search_path=…` in DATABASE_URL: psql sees what the migrations saw.
        if let Some(options) = o.get_options() {
            env.push(("PGOPTIONS", options.to_owned()));
        }
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.clone()));
        }
        env
    }

    /// True for loopback addresses and local sockets: the servers that are safe to wipe.
    pub fn is_on_this_machine(&self) -> bool {
        let host = self.options.get_host();
        self.options.get_socket().is_some()
            || host.starts_with('/')
            || host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The URL with its password, for the one place that needs it: the environment of a child
    /// process (`cargo test`). Never print it.
    pub fn url_with_password(&self) -> String {
        self.url(self.password.as_deref().map(secrets::percent_encode).as_deref(), None)
    }

    /// Like `url_with_password`, but through the private socket when there is one: the fastest
    /// way for another local tool (the benchmark's psql and timed commands) to connect.
    pub fn local_url_with_password(&self) -> String {
        let socket = self.socket.as_deref().and_then(Path::to_str);
        self.url(self.password.as_deref().map(secrets::percent_encode).as_deref(), socket)
    }

    fn url(&self, password: Option<&str>, socket: Option<&str>) -> String {
        let o = &self.options;
        let user = secrets::percent_encode(o.get_username());
        let credentials = match password {
            Some(password) => format!("{user}:{password}@"),
            None => format!("{user}@"),
        };
        let host = socket.or_else(|| o.get_socket().and_then(|dir| dir.to_str())).unwrap_or(o.get_host());
        let database = secrets::percent_encode(self.database());
        if host.starts_with('/') {
            // A socket folder as the percent-encoded host, which libpq and sqlx both read (the
            // `?host=` form needs an empty host, which URL parsers refuse after a user name).
            format!("postgres://{credentials}{}:{}/{database}", secrets::percent_encode(host), o.get_port())
        } else if host.contains(':') && !host.starts_with('[') {
            format!("postgres://{credentials}[{host}]:{}/{database}", o.get_port())
        } else {
            format!("postgres://{credentials}{host}:{}/{database}", o.get_port())
        }
    }
}

/// The URL with the password masked: how a target appears in every message.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url(self.password.as_ref().map(|_| "***"), None))
    }
}

/// `--statement-timeout`: a number with one of PostgreSQL's units (`500ms`, `30s`, `5min`, `1h`),
/// checked here so a typo is a clear error instead of a failed connection.
#[derive(Clone, Debug)]
pub struct StatementTimeout(String);

#[derive(Clone, Copy, Debug)]
enum LockTimeout {
    Xtasks,
    Servers,
}

impl FromStr for StatementTimeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // 0 is PostgreSQL's own "no limit".
        if text == "0" {
            return Ok(StatementTimeout(text.to_owned()));
        }
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let valid = digits > 0
            && matches!(&text[digits..], "ms" | "s" | "min" | "h" | "d")
            && text[..digits].parse::<u32>().is_ok();
        if valid {
            Ok(StatementTimeout(text.to_owned()))
        } else {
            Err(format!("{text:?} is not a duration; write a number with a unit: 500ms, 30s, 5min, 1h"))
        }
    }
}

/// libpq reads `postgres://user:password@/db?host=/run/postgresql` as a socket connection; URL
/// parsers (sqlx's included) refuse a user name without a host. Giving them `localhost` changes
/// nothing: the `host` parameter wins in both.
fn with_placeholder_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let has_empty_host = rest[..authority_end].ends_with('@');
    let names_socket = rest.contains("?host=%2F") || rest.contains("?host=/") || rest.contains("&host=/");
    if has_empty_host && names_socket {
        format!("{scheme}://{}localhost{}", &rest[..authority_end], &rest[authority_end..])
    } else {
        url.to_owned()
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_timeout_is_a_duration_with_its_unit_or_zero() {
        for good in ["0", "500ms", "30s", "5min", "1h", "2d"] {
            assert!(good.parse::<StatementTimeout>().is_ok(), "{good}");
        }
        for bad in ["30", "0s0", "-1s", "1.5s", "abc", "", "5 min"] {
            assert!(bad.parse::<StatementTimeout>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shows_urls_without_passwords() {
        let target = Target::from_url("postgres://app:s%40cret@db.example.invalid:6543/shop").unwrap();
        assert_eq!(target.to_string(), "postgres://app:***@db.example.invalid:6543/shop");
        assert!(!target.is_on_this_machine());
        assert_eq!(target.url_with_password(), "postgres://app:s%40cret@db.example.invalid:6543/shop");
        let local = Target::new("127.0.0.1", 5432, "app", "pw", "dev");
        assert!(local.is_on_this_machine());
        assert_eq!(local.maintenance().database(), "postgres");
    }

    #[test]
    fn reads_and_writes_socket_urls() {
        for url in ["postgres://app:pw@/dev?host=/run/postgresql", "postgres://app:pw@%2Frun%2Fpostgresql/dev"] {
            let target = Target::from_url(url).unwrap();
            assert!(target.is_on_this_machine(), "{url}");
            assert_eq!(target.to_string(), "postgres://app:***@%2Frun%2Fpostgresql:5432/dev", "{url}");
            let again = Target::from_url(&target.url_with_password()).unwrap();
            assert_eq!(again.url_with_password(), target.url_with_password());
        }
        let native = Target::new("127.0.0.1", 5433, "app", "pw", "dev").with_socket(Path::new("/tmp/x/socket"));
        assert_eq!(native.to_string(), "postgres://app:***@127.0.0.1:5433/dev");
        assert_eq!(native.local_url_with_password(), "postgres://app:pw@%2Ftmp%2Fx%2Fsocket:5433/dev");
        assert_eq!(native.over_tcp().local_url_with_password(), native.url_with_password());
    }

    #[test]
    fn refuses_urls_without_a_database_or_of_another_kind() {
        assert!(Target::from_url("postgres://app:pw@localhost:5432").is_err());
        assert!(Target::from_url("mysql://app:pw@localhost/x").is_err());
        assert!(Target::from_url("not a url").is_err());
    }
}

//! A throwaway project for one test: its own `db/migrations`, `db/seeds` and database, and a way
//! to run the real xtask binary in it and look at the database afterwards.
//!
//! The server comes from `DATABASE_URL`, which `cargo xtask test` sets; a test run without it
//! fails and says so, rather than skipping.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, PgConnection};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The test server's address (its maintenance database), from `DATABASE_URL` (the dev
/// database, as `cargo xtask test` sets it).
pub fn server_url() -> url::Url {
    let raw = std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: these tests need a real PostgreSQL server; run them with \
         `cargo xtask test`, which starts one and sets DATABASE_URL",
    );
    let mut url = url::Url::parse(&raw).expect("DATABASE_URL is not a valid URL");
    url.set_path("/postgres");
    url
}

pub struct Fixture {
    dir: tempfile::TempDir,
    pub database: String,
}

impl Fixture {
    /// A project folder with empty `db/migrations` and `db/seeds`, and a database name of its own
    /// (which does not exist until a command creates it).
    pub fn new(test: &str) -> Fixture {
        let dir = tempfile::Builder::new().prefix("xtask-fixture-").tempdir().expect("create a temp folder");
        std::fs::create_dir_all(dir.path().join("db/migrations")).unwrap();
        std::fs::create_dir_all(dir.path().join("db/seeds")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let database = format!("xt_{test}_{}_{n}", std::process::id());
        Fixture { dir, database }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.root().join("db/migrations")
    }

    /// Writes `db/migrations/<version>_<name>.sql`.
    pub fn migration(&self, version: u64, name: &str, sql: &str) -> PathBuf {
        let path = self.migrations().join(format!("{version}_{name}.sql"));
        std::fs::write(&path, sql).unwrap();
        path
    }

    pub fn seed(&self, file_name: &str, sql: &str) -> PathBuf {
        let path = self.root().join("db/seeds").join(file_name);
        std::fs::write(&path, sql).unwrap();
        path
    }

    /// This fixture's database on the test server, with the password.
    pub fn url(&self) -> String {
        self.url_for(&self.database)
    }

    pub fn url_for(&self, database: &str) -> String {
        let mut url = server_url();
        url.set_path(&format!("/{database}"));
        url.to_string()
    }

    /// Runs the xtask binary in this fixture against this fixture's database.
    pub fn xtask(&self, args: &[&str]) -> Run {
        self.xtask_with(args, &[("DATABASE_URL", &self.url())])
    }

    /// Runs the xtask binary in this fixture with exactly these project settings in the
    /// environment (the caller's DATABASE_URL and friends are removed first).
    pub fn xtask_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.command(args, env).output().expect("run the xtask binary"), args)
    }

    /// Starts the xtask binary against this fixture's database without waiting for it, with its
    /// output captured.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_with(args, &[("DATABASE_URL", &self.url())])
    }

    /// Like `spawn`, with exactly these project settings in the environment (see `xtask_with`).
    pub fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut command = self.command(args, env);
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the xtask binary")
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command.args(args).current_dir(self.root());
        for key in [
            "CARGO_MANIFEST_DIR",
            "DATABASE_URL",
            "XTASK_DB_BACKEND",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_DB",
            "POSTGRES_PORT",
            // A test run inside GitHub Actions must not annotate its own job with the findings
            // of throwaway migrations.
            "GITHUB_ACTIONS",
            "GITHUB_STEP_SUMMARY",
        ] {
            command.env_remove(key);
        }
        command.envs(env.iter().copied());
        command
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url()).await.unwrap_or_else(|e| panic!("connect to {}: {e}", self.database))
    }

    pub async fn admin(&self) -> PgConnection {
        PgConnection::connect(server_url().as_str()).await.expect("connect to the test server")
    }

    pub async fn database_exists(&self, database: &str) -> bool {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut self.admin().await)
            .await
            .unwrap()
    }

    /// The versions recorded in `_sqlx_migrations`, in order.
    pub async fn applied_versions(&self) -> Vec<i64> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut self.connect().await)
            .await
            .unwrap()
    }

    pub async fn table_exists(&self, table: &str) -> bool {
        sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut self.connect().await)
            .await
            .unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut self.connect().await).await.unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // A local cluster the test made (the native backend's tests) is stopped and removed even
        // when the test failed before its own `db-down --purge`: a server left running would
        // outlive the test run, and its folder under the temp directory with it.
        let state = self.root().join(".xtask");
        if state.join("postgres").exists() || state.join("native-home").exists() {
            // Any password will do (a purge logs in nowhere), but one must be known: without it
            // a checkout made with POSTGRES_PASSWORD has no .xtask/password, and db-down stops
            // at that.
            let _ = self
                .command(&["db-down", "--purge", "--backend", "native"], &[("POSTGRES_PASSWORD", "fixture-teardown")])
                .output();
        }
        // Each database dropped on its own, so one that fails does not keep the rest, and the
        // connection retried: on a loaded machine a first attempt can time out, and a database
        // left here stays in the dev server (`cargo xtask test` names what it finds after a run).
        let url = server_url();
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let mut conn = None;
                for _ in 0..5 {
                    match PgConnection::connect(url.as_str()).await {
                        Ok(c) => {
                            conn = Some(c);
                            break;
                        }
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                    }
                }
                let mut conn = conn?;
                // The database, its reset's scratch copy and its reset cache.
                let databases: Vec<String> =
                    sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname = $1 OR left(datname, length($1) + 8) = $1 || '__xtask_'")
                        .bind(&database)
                        .fetch_all(&mut conn)
                        .await
                        .ok()?;
                for database in databases {
                    // A corpus migration may have made it a template, which DROP refuses. (Two
                    // queries: DROP DATABASE cannot run in the transaction a multi-statement
                    // query is.)
                    let unmark = format!("ALTER DATABASE \"{database}\" IS_TEMPLATE false");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(unmark)).execute(&mut conn).await.ok();
                    let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.ok();
                }
                Some(())
            })
        })
        .join();
    }
}

/// The port in the line `db-up` prints: `PostgreSQL is up: postgres://user:***@127.0.0.1:PORT/db`.
pub fn up_port(stdout: &str) -> u16 {
    let line = stdout.lines().find(|l| l.starts_with("PostgreSQL is up: ")).expect("db-up prints the address");
    let after = line.split("@127.0.0.1:").nth(1).expect("a loopback address");
    after.split('/').next().and_then(|port| port.parse().ok()).expect("a port number")
}

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl Run {
    pub fn from(output: Output, args: &[&str]) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            command: format!("xtask {}", args.join(" ")),
        }
    }

    /// A check that ran and found something: exit status 1, no panic.
    #[track_caller]
    pub fn found(self) -> Run {
        assert_eq!(self.code, Some(1), "`{}` should exit with status 1:\n{}", self.command, self.all());
        assert!(!self.all().contains("panicked"), "`{}` panicked:\n{}", self.command, self.all());
        self
    }

    /// Both streams, for matching messages wherever they were printed.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "`{}` failed:\n{}", self.command, self.all());
        self
    }

    /// A clean failure: exit status 2 ("could not run"), an `error:` line, and no panic or
    /// backtrace.
    #[track_caller]
    pub fn failure(self) -> Run {
        assert_eq!(self.code, Some(2), "`{}` should fail with status 2:\n{}", self.command, self.all());
        assert!(self.stderr.contains("error: "), "no error message from `{}`:\n{}", self.command, self.all());
        assert!(!self.all().contains("panicked"), "`{}` panicked:\n{}", self.command, self.all());
        self
    }

    #[track_caller]
    pub fn says(self, text: &str) -> Run {
        assert!(self.all().contains(text), "`{}` should mention {text:?}:\n{}", self.command, self.all());
        self
    }

    #[track_caller]
    pub fn never_says(self, text: &str) -> Run {
        assert!(!self.all().contains(text), "`{}` should not mention {text:?}:\n{}", self.command, self.all());
        self
    }
}

/// The processes whose process group is `group` (field 5 of /proc/<pid>/stat).
fn processes_in_group(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // The command name in parentheses may hold spaces: the fields after it are fixed.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let pgrp = after_name.split_whitespace().nth(2).and_then(|field| field.parse::<u32>().ok());
        if pgrp == Some(group) && pid > 1 {
            members.push(pid);
        }
    }
    assert!(!members.is_empty(), "no process in group {group}");
    members
}

/// Ctrl-C as a terminal sends it: SIGINT to every process of `group`, one by one (a negative pid
/// given to the `kill` program can be taken as -1: every process on the machine).
fn interrupt_group(group: u32) {
    for member in processes_in_group(group) {
        Command::new("kill").args(["-s", "INT", &member.to_string()]).status().unwrap();
    }
}

/// True when some process's command line holds every one of `parts`.
pub fn a_process_runs(parts: &[&str]) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        parts.iter().all(|part| cmdline.contains(part))
    })
}

/// Runs `command` as a terminal runs a foreground job (in a process group of its own), and once
/// a process whose command line holds every one of `parts` has run for `settle`, presses Ctrl-C.
/// Asserts the command ended as an interrupted one must: exit 130, `interrupted`, and none of
/// `noise` (nor a panic) on the terminal.
pub fn interrupt_while(mut command: Command, parts: &[&str], settle: std::time::Duration, noise: &[&str]) {
    use std::os::unix::process::CommandExt;
    let child = command.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !a_process_runs(parts) {
        assert!(std::time::Instant::now() < deadline, "{parts:?} never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(settle);
    interrupt_group(child.id());
    let output = child.wait_with_output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(130), "{all}");
    assert!(all.contains("interrupted"), "{all}");
    for noise in noise.iter().chain(&["panicked"]) {
        assert!(!all.contains(noise), "{noise:?} reached the terminal:\n{all}");
    }
}

/// The lock-wait watcher's patience for a test of a wait (`XTASK_LOCK_WAIT_PATIENCE_MS`): the
/// line comes after 200 ms instead of 3 s, so the test waits for it rather than sleeping.
pub const SHORT_PATIENCE: (&str, &str) = ("XTASK_LOCK_WAIT_PATIENCE_MS", "200");

/// What a spawned command writes to stderr, read while it runs.
pub struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl StderrLines {
    /// Takes `child`'s stderr (spawned with it piped) and reads it on a thread of its own.
    pub fn of(child: &mut Child) -> StderrLines {
        use std::io::BufRead;
        let stderr = child.stderr.take().expect("the child's stderr is piped");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        StderrLines { lines, seen: Vec::new() }
    }

    /// Waits (at most a minute) until a line holding `needle` has been written.
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.seen.iter().any(|line| line.contains(needle)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line with {needle:?} within a minute; stderr so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Everything written, once the command has ended (its stderr closed).
    pub fn all(mut self) -> String {
        self.seen.extend(self.lines.iter());
        self.seen.join("\n")
    }
}

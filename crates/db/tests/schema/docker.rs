//! A throwaway PostgreSQL container from the shared test image (`fleet-test-postgres:15`, built
//! by `.ci/build-postgres-image` with the official image's default locale, en_US.utf8), for the
//! tests that compare the local cluster with the Docker backend. Where no engine answers or the
//! image is missing, a test says it was skipped and why; with XTASK_REQUIRE_DOCKER=1, as in CI,
//! that is a failure.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use xshell::{Shell, cmd};

const PASSWORD: &str = "db-crate-test-pw";

/// A running container, removed with its volume when dropped.
pub struct Container {
    sh: Shell,
    name: String,
    pub image: String,
    port: u16,
}

impl Container {
    /// Starts a container for `test`, or returns `None` after saying why Docker is unusable
    /// (a panic when XTASK_REQUIRE_DOCKER=1).
    pub fn start(test: &str) -> Option<Container> {
        let sh = Shell::new().unwrap();
        let image = std::env::var("XTASK_TEST_POSTGRES_IMAGE").unwrap_or_else(|_| "fleet-test-postgres:15".to_owned());
        let problem = if cmd!(sh, "docker info --format json").quiet().ignore_stdout().run().is_err() {
            Some("no Docker engine answers".to_owned())
        } else if cmd!(sh, "docker image inspect {image}").quiet().ignore_stdout().ignore_stderr().run().is_err() {
            Some(format!("the image {image} is missing; build it with .ci/build-postgres-image"))
        } else {
            None
        };
        if let Some(why) = problem {
            if std::env::var("XTASK_REQUIRE_DOCKER").as_deref() == Ok("1") {
                panic!("{test} needs Docker (XTASK_REQUIRE_DOCKER=1): {why}");
            }
            // Straight to stderr, past the test harness's capture, so a skip is seen.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why} (XTASK_REQUIRE_DOCKER=1 makes this an error)");
            return None;
        }
        // Named after the checkout and the process, so neighbours' containers are never touched
        // and a leftover says where it came from.
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
        let checkout: String = checkout
            .file_name()
            .map(|name| {
                name.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
            })
            .unwrap_or_default();
        let name = format!("fleet-db-test-{checkout}-{test}-{}", std::process::id()).replace('_', "-");
        cmd!(
            sh,
            "docker run --detach --name {name} --env POSTGRES_PASSWORD={PASSWORD} --env POSTGRES_USER=fleet --publish 127.0.0.1::5432 {image}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .unwrap();
        let mut container = Container { sh, name, image, port: 0 };
        let name = &container.name;
        let published = cmd!(container.sh, "docker port {name} 5432/tcp").quiet().read().unwrap();
        container.port = published
            .lines()
            .find_map(|line| line.strip_prefix("127.0.0.1:"))
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("docker port {}: {published:?}", container.name));
        Some(container)
    }

    /// A pool on the container's `fleet` database once the server accepts connections (the
    /// image's first start initialises the cluster before it listens on TCP).
    pub async fn pool(&self) -> PgPool {
        let options = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("fleet")
            .password(PASSWORD)
            .database("fleet");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await {
                Ok(pool) => return pool,
                Err(err) if Instant::now() > deadline => {
                    let name = &self.name;
                    let logs = cmd!(self.sh, "docker logs {name}").quiet().ignore_status().output().unwrap();
                    let logs = String::from_utf8_lossy(&logs.stderr);
                    panic!("the container {} did not accept connections in 120 s: {err}\n{logs}", self.name)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let name = &self.name;
        let _ = cmd!(self.sh, "docker rm --force --volumes {name}").quiet().ignore_stdout().ignore_stderr().run();
    }
}

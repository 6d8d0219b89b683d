//! The Docker Compose backend against the real engine, with the registry-free test images that
//! `.ci/build-postgres-image` builds (`fleet-test-postgres:15`, `:17`, `:18`, each in the official
//! image's layout for its major; `XTASK_TEST_POSTGRES_IMAGE` picks the one most tests use, 18 by
//! default, as `docker-compose.yml`). Where no engine answers (or an image is missing) these
//! tests fail and say why: leave them out with `--skip docker::`, never a silent pass.
//! They run with whichever Compose the machine offers; `XTASK_TEST_COMPOSE=v1` or `v2` (as CI
//! sets it) makes running another one a failure.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;

use sqlx::{Connection, PgConnection};

use crate::support::{Fixture, Run, interrupt_while, up_port};

const PASSWORD: &str = "docker-test-pw";

/// The test image, which Docker must be able to run: without an engine or the image the test
/// fails, saying why and how to leave the Docker tests out (never a silent pass).
fn docker_image(test: &str) -> String {
    let image = std::env::var("XTASK_TEST_POSTGRES_IMAGE").unwrap_or_else(|_| "fleet-test-postgres:18".to_owned());
    usable_image(test, image)
}

/// The test image of one PostgreSQL major (its official layout), like `docker_image`.
fn image_of_major(test: &str, major: u32) -> String {
    usable_image(test, format!("fleet-test-postgres:{major}"))
}

fn usable_image(test: &str, image: String) -> String {
    let engine = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
    let problem = match engine {
        Err(err) => Some(format!("no docker command ({err})")),
        Ok(out) if !out.status.success() => Some("no Docker engine answers".to_owned()),
        Ok(_) => {
            let inspect = Command::new("docker").args(["image", "inspect", &image]).output().expect("docker runs");
            (!inspect.status.success())
                .then(|| format!("the image {image} is missing; build it with .ci/build-postgres-image"))
        }
    };
    if let Some(why) = problem {
        panic!(
            "docker::{test} needs Docker: {why} (to leave the Docker tests out: `cargo xtask test -- -- --skip docker::`)"
        );
    }
    image
}

/// A checkout using the Docker backend; its container and volume go away with it.
struct DockerCheckout {
    fx: Fixture,
    env: Vec<(&'static str, String)>,
}

impl DockerCheckout {
    fn new(name: &str, image: &str) -> DockerCheckout {
        let fx = Fixture::new(name);
        let compose = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
        std::fs::copy(compose, fx.root().join("docker-compose.yml")).unwrap();
        fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);\n");
        fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme'), (2, 'Globex');\n");
        let env = vec![
            ("XTASK_DB_BACKEND", "docker".to_owned()),
            ("POSTGRES_IMAGE", image.to_owned()),
            ("POSTGRES_PASSWORD", PASSWORD.to_owned()),
            ("XTASK_READY_TIMEOUT", "90".to_owned()),
        ];
        DockerCheckout { fx, env }
    }

    fn xtask(&self, args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.fx.xtask_with(args, &env)
    }

    /// Starts (or reuses) the container; returns its Compose project name and port.
    fn up(&self) -> (String, u16, Run) {
        let run = self.xtask(&["db-up"]).success();
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("PostgreSQL is up: "))
            .expect("db-up prints the address")
            .to_owned();
        let port = up_port(&run.stdout);
        let project =
            line.split("Docker Compose project ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
        (project, port, run)
    }

    async fn connect(&self, port: u16) -> PgConnection {
        PgConnection::connect(&format!("postgres://fleet:{PASSWORD}@127.0.0.1:{port}/fleet_dev")).await.unwrap()
    }

    async fn names(&self, port: u16) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM orgs ORDER BY id").fetch_all(&mut self.connect(port).await).await.unwrap()
    }
}

impl Drop for DockerCheckout {
    fn drop(&mut self) {
        let _ = self.xtask(&["db-down", "--purge"]);
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("run docker");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn container_of(project: &str) -> String {
    docker(&["ps", "--all", "--quiet", "--filter", &format!("label=com.docker.compose.project={project}")])
}

/// `<type> <name> <destination>` of each of the container's mounts.
fn mounts_of(container: &str) -> Vec<String> {
    let format = "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}\n{{end}}";
    docker(&["inspect", "--format", format, container]).lines().map(str::to_owned).collect()
}

/// A row written in the container of `major`'s test image survives `db-down` and `db-up`, the
/// server's data directory is in the checkout's named volume, and the container mounts nothing
/// else: no anonymous volume holds the data, or is left behind by `db-down` (issue 19).
async fn keeps_its_data_in_the_named_volume(test: &str, major: u32, mounted_at: &str) {
    let image = image_of_major(test, major);
    let checkout = DockerCheckout::new(test, &image);
    checkout.xtask(&["db-reset"]).success();
    let (project, port, _) = checkout.up();
    let mut conn = checkout.connect(port).await;
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int / 10000")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(version, major as i32, "{image} runs another major");
    let data_directory: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&mut conn).await.unwrap();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Kept')").execute(&mut conn).await.unwrap();
    drop(conn);

    let volume = format!("{project}_db-data");
    assert_eq!(mounts_of(&container_of(&project)), [format!("volume {volume} {mounted_at}")]);
    assert!(
        data_directory == mounted_at || data_directory.starts_with(&format!("{mounted_at}/")),
        "the data directory {data_directory} is outside the named volume ({mounted_at})"
    );

    checkout.xtask(&["db-down"]).success().says(&volume);
    let (_, port, _) = checkout.up();
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Kept"], "{image}: the data was lost");
}

/// A container an earlier xtask made for an image of 17 or older (the named volume mounted at
/// `/var/lib/postgresql`, whatever the image) kept its data in an anonymous volume: `db-down`
/// names that volume and the command that moves the data into the named one, and after it the
/// next `db-up` has the data, in the named volume.
#[tokio::test]
async fn data_an_earlier_xtask_left_in_an_anonymous_volume_is_named_with_how_to_keep_it() {
    let test = "data_an_earlier_xtask_left_in_an_anonymous_volume_is_named_with_how_to_keep_it";
    let image = image_of_major(test, 17);
    let mut checkout = DockerCheckout::new("docker_stranded", &image);
    let project = format!("xt-stranded-{}", std::process::id());
    checkout.env.push(("COMPOSE_PROJECT_NAME", project.clone()));
    // The container as an earlier xtask made it.
    let v2 = Command::new("docker").args(["compose", "version"]).output().is_ok_and(|out| out.status.success());
    let mut compose = if v2 {
        let mut docker = Command::new("docker");
        docker.arg("compose");
        docker
    } else {
        Command::new("docker-compose")
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let file = checkout.fx.root().join("docker-compose.yml");
    let made = compose
        .args(["--file", &file.to_string_lossy(), "--project-name", &project, "up", "--detach", "db"])
        .envs([("POSTGRES_IMAGE", image.as_str()), ("POSTGRES_PASSWORD", PASSWORD)])
        .envs([("POSTGRES_PORT", port.to_string()), ("POSTGRES_DATA_MOUNT", "/var/lib/postgresql".to_owned())])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    checkout.xtask(&["db-reset"]).success();
    let (_, port, _) = checkout.up();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Kept')").execute(&mut checkout.connect(port).await).await.unwrap();
    let anonymous = mounts_of(&container_of(&project))
        .iter()
        .find_map(|line| line.strip_suffix(" /var/lib/postgresql/data").and_then(|l| l.strip_prefix("volume ")))
        .map(|volume| RemovedAtEnd(volume.to_owned()))
        .expect("the earlier layout puts the data in an anonymous volume");
    let anonymous = &anonymous.0;

    let down = checkout.xtask(&["db-down"]).success().says(&format!("the anonymous volume {anonymous}"));
    let advice = "before the next db-up: ";
    let command =
        down.all().lines().find_map(|line| line.split(advice).nth(1).map(str::to_owned)).unwrap_or_else(|| {
            panic!("db-down gives no command to keep the data:\n{}", down.all());
        });
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "docker", "{command}");
    let moved = Command::new("docker").args(&words[1..]).output().unwrap();
    assert!(moved.status.success(), "{command}: {}", String::from_utf8_lossy(&moved.stderr));

    let (_, port, _) = checkout.up();
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Kept"]);
    assert_eq!(mounts_of(&container_of(&project)), [format!("volume {project}_db-data /var/lib/postgresql/data")]);
}

/// A volume the test made outside the checkout's project, removed when the test ends however.
struct RemovedAtEnd(String);

impl Drop for RemovedAtEnd {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["volume", "rm", "--force", &self.0]).output();
    }
}

/// A team that pins another major after its volume was made (`POSTGRES_IMAGE=postgres:17` on a
/// volume of 18): the container refuses the volume, the error shows why from its log and says
/// what to do, and the data is still there when the image is put back.
#[tokio::test]
async fn a_volume_made_by_another_major_is_refused_with_the_containers_reason() {
    let test = "a_volume_made_by_another_major_is_refused_with_the_containers_reason";
    let (made_by, pinned) = (image_of_major(test, 18), image_of_major(test, 17));
    let mut checkout = DockerCheckout::new("docker_other_major", &made_by);
    checkout.xtask(&["db-reset"]).success();
    checkout.xtask(&["db-down"]).success();

    checkout.env.retain(|(key, _)| *key != "POSTGRES_IMAGE");
    checkout.env.push(("POSTGRES_IMAGE", pinned));
    checkout
        .xtask(&["db-up"])
        .failure()
        .says("the container stopped")
        .says("exists but is not empty")
        .says("POSTGRES_IMAGE changed")
        .says("db-down --purge");

    checkout.env.retain(|(key, _)| *key != "POSTGRES_IMAGE");
    checkout.env.push(("POSTGRES_IMAGE", made_by));
    let (_, port, _) = checkout.up();
    assert_eq!(checkout.names(port).await, ["Acme", "Globex"]);
}

#[tokio::test]
async fn the_layout_of_17_and_older_keeps_its_data_in_the_named_volume() {
    keeps_its_data_in_the_named_volume("docker_layout_17", 17, "/var/lib/postgresql/data").await;
}

#[tokio::test]
async fn the_layout_of_18_keeps_its_data_in_the_named_volume() {
    keeps_its_data_in_the_named_volume("docker_layout_18", 18, "/var/lib/postgresql").await;
}

/// A process left behind in the container (a healthcheck's `pg_isready` whose shell Docker
/// killed at its timeout, a child of a `docker exec`) is reaped by the container's init, not by
/// the server: PostgreSQL 18's postmaster takes an unknown child that dies of a signal for a
/// crashed backend and restarts, ending every session (seen under load as "the database system is
/// in recovery mode" in the middle of the test suite).
#[tokio::test]
async fn a_process_orphaned_in_the_container_does_not_restart_the_server() {
    let image = docker_image("a_process_orphaned_in_the_container_does_not_restart_the_server");
    let checkout = DockerCheckout::new("docker_orphan", &image);
    let (project, port, _) = checkout.up();
    let container = container_of(&project);
    let mut held = checkout.connect(port).await;
    let started: String =
        sqlx::query_scalar("SELECT pg_postmaster_start_time()::text").fetch_one(&mut held).await.unwrap();

    // An orphan that dies of SIGPIPE, as a pg_isready writing to a pipe Docker closed does.
    let orphan = docker(&["exec", &container, "sh", "-c", "sh -c 'sleep 1; kill -PIPE $$' >/dev/null 2>&1 & echo $!"]);
    let mut gone = false;
    for _ in 0..100 {
        let proc_dir = format!("/proc/{orphan}");
        let alive = Command::new("docker").args(["exec", &container, "test", "-d", &proc_dir]).output().unwrap();
        if !alive.status.success() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "the orphan {orphan} never ended");

    let still: String = sqlx::query_scalar("SELECT pg_postmaster_start_time()::text")
        .fetch_one(&mut held)
        .await
        .expect("the session opened before the orphan died was ended");
    assert_eq!(still, started, "the server restarted");
}

/// A team moving from the legacy docker-compose v1 to Compose v2 keeps its container's data:
/// v2 takes over the stopped container v1 made (it names containers differently) and the named
/// volume with it. Needs both, so an ordinary run counts it as ignored; v1 alone is what remains
/// when the v2 plugin is hidden, which a private DOCKER_CONFIG does (CI installs the plugin there).
#[tokio::test]
#[ignore = "needs docker-compose v1 and the Compose v2 plugin, as CI has: `cargo xtask test -- -p xtask --test cli -- --ignored`"]
async fn a_container_made_by_compose_v1_is_taken_over_by_v2_with_its_data() {
    let test = "a_container_made_by_compose_v1_is_taken_over_by_v2_with_its_data";
    let image = docker_image(test);
    let no_plugins = tempfile::tempdir().unwrap();
    let hidden = |program: &[&str]| {
        Command::new(program[0])
            .args(&program[1..])
            .env("DOCKER_CONFIG", no_plugins.path())
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let both = hidden(&["docker-compose", "version"])
        && !hidden(&["docker", "compose", "version"])
        && Command::new("docker").args(["compose", "version"]).output().is_ok_and(|out| out.status.success());
    assert!(
        both,
        "docker::{test} needs docker-compose v1 and the Compose v2 plugin in DOCKER_CONFIG (.ci/install-compose-v2)"
    );
    let mut checkout = DockerCheckout::new("docker_v1_to_v2", &image);
    checkout.env.push(("DOCKER_CONFIG", no_plugins.path().to_string_lossy().into_owned()));
    checkout.xtask(&["db-reset"]).success();
    let (project, port, _) = checkout.up();
    let label = "{{index .Config.Labels \"com.docker.compose.version\"}}";
    assert!(docker(&["inspect", "--format", label, &container_of(&project)]).starts_with("1."));
    sqlx::query("INSERT INTO orgs VALUES (3, 'Made by v1')").execute(&mut checkout.connect(port).await).await.unwrap();
    docker(&["stop", &container_of(&project)]);

    checkout.env.retain(|(key, _)| *key != "DOCKER_CONFIG");
    let (again, port, run) = checkout.up();
    assert_eq!(again, project, "{}", run.all());
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Made by v1"]);
    let containers = container_of(&project);
    assert_eq!(containers.lines().count(), 1, "v2 left v1's container beside its own: {containers}");
    assert!(docker(&["inspect", "--format", label, &containers]).starts_with("2."));
}

/// The container was made by the Compose this machine offers: v2 (`docker compose`) when it is
/// installed, else the legacy v1; and by the one the run expects, when `XTASK_TEST_COMPOSE` says.
#[test]
fn runs_compose_v2_when_installed_else_v1() {
    let image = docker_image("runs_compose_v2_when_installed_else_v1");
    let checkout = DockerCheckout::new("docker_compose_version", &image);
    let (project, _, _) = checkout.up();
    let label = "{{index .Config.Labels \"com.docker.compose.version\"}}";
    let made_by = docker(&["inspect", "--format", label, &container_of(&project)]);
    let v2_installed = Command::new("docker").args(["compose", "version"]).output().unwrap().status.success();
    let expected = if v2_installed { "2." } else { "1." };
    assert!(made_by.starts_with(expected), "made by Compose {made_by}, expected {expected}x");
    if let Ok(wanted) = std::env::var("XTASK_TEST_COMPOSE") {
        let wanted_prefix = match wanted.as_str() {
            "v1" => "1.",
            "v2" => "2.",
            other => panic!("XTASK_TEST_COMPOSE is {other:?}; use v1 or v2"),
        };
        assert!(made_by.starts_with(wanted_prefix), "XTASK_TEST_COMPOSE={wanted}, but Compose {made_by} ran");
    }
}

#[tokio::test]
async fn resets_through_the_container_and_reuses_it() {
    let image = docker_image("resets_through_the_container_and_reuses_it");
    let checkout = DockerCheckout::new("docker_reset", &image);
    checkout.xtask(&["db-reset"]).success().says("Seeded db/seeds/001_orgs.sql").says("Reset fleet_dev");
    let (project, port, _) = checkout.up();
    assert_eq!(checkout.names(port).await, ["Acme", "Globex"]);
    let published = docker(&["port", &container_of(&project), "5432"]);
    assert_eq!(published, format!("127.0.0.1:{port}"), "the port must be published on loopback only");
}

#[tokio::test]
async fn a_stopped_container_is_started_again_with_its_data() {
    let image = docker_image("a_stopped_container_is_started_again_with_its_data");
    let checkout = DockerCheckout::new("docker_restart", &image);
    checkout.xtask(&["db-reset"]).success();
    let (project, port, _) = checkout.up();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Initech')").execute(&mut checkout.connect(port).await).await.unwrap();
    docker(&["stop", &container_of(&project)]);

    let (_, again, run) = checkout.up();
    assert!(!run.stdout.contains("Reusing"), "a stopped container is not running:\n{}", run.all());
    assert_eq!(again, port);
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Initech"]);
}

#[tokio::test]
async fn two_checkouts_get_their_own_containers() {
    let image = docker_image("two_checkouts_get_their_own_containers");
    let (a, b) = (DockerCheckout::new("docker_a", &image), DockerCheckout::new("docker_b", &image));
    a.xtask(&["db-reset"]).success();
    b.xtask(&["db-reset"]).success();
    let ((project_a, port_a, _), (project_b, port_b, _)) = (a.up(), b.up());
    assert_ne!(project_a, project_b);
    assert_ne!(port_a, port_b);
    for project in [&project_a, &project_b] {
        assert!(
            project.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
            "{project}"
        );
    }
    sqlx::query("INSERT INTO orgs VALUES (3, 'Only in B')").execute(&mut b.connect(port_b).await).await.unwrap();
    a.xtask(&["db-reset"]).success();
    assert_eq!(b.names(port_b).await, ["Acme", "Globex", "Only in B"], "a reset in one checkout touched the other");
}

#[tokio::test]
async fn data_survives_down_and_up_and_purge_removes_it() {
    let image = docker_image("data_survives_down_and_up_and_purge_removes_it");
    let checkout = DockerCheckout::new("docker_purge", &image);
    checkout.xtask(&["db-reset"]).success();
    let (project, port, _) = checkout.up();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Kept')").execute(&mut checkout.connect(port).await).await.unwrap();
    let volume = format!("{project}_db-data");

    checkout.xtask(&["db-down"]).success().says("Stopped").says(&volume);
    assert_eq!(container_of(&project), "", "db-down should remove the container");
    docker(&["volume", "inspect", &volume]);
    let (_, port, _) = checkout.up();
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Kept"]);

    checkout.xtask(&["db-down", "--purge"]).success().says(&format!("its volume {volume}"));
    assert!(Command::new("docker").args(["volume", "inspect", &volume]).output().unwrap().status.code() != Some(0));
    let (_, port, _) = checkout.up();
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'orgs'")
        .fetch_one(&mut checkout.connect(port).await)
        .await
        .unwrap();
    assert_eq!(tables, 0, "--purge left the data behind");
}

#[test]
fn a_server_that_never_starts_times_out_with_its_log() {
    let image = docker_image("a_server_that_never_starts_times_out_with_its_log");
    let broken = "fleet-test-postgres-never-starts:latest";
    let dockerfile =
        format!("FROM {image}\nENTRYPOINT [\"sh\", \"-c\", \"echo pretending to start; exec sleep 3600\"]\n");
    let mut build = Command::new("docker")
        .args(["build", "--quiet", "--tag", broken, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    build.stdin.take().unwrap().write_all(dockerfile.as_bytes()).unwrap();
    let built = build.wait_with_output().unwrap();
    assert!(built.status.success(), "docker build of the broken image: {}", String::from_utf8_lossy(&built.stderr));

    let mut checkout = DockerCheckout::new("docker_timeout", broken);
    checkout.env.retain(|(k, _)| *k != "XTASK_READY_TIMEOUT");
    checkout.env.push(("XTASK_READY_TIMEOUT", "5".to_owned()));
    checkout
        .xtask(&["db-up"])
        .failure()
        .says("did not accept connections within 5s")
        .says("last lines of the container's log")
        .says("pretending to start")
        .says("logs db");
}

#[test]
fn a_taken_host_port_is_explained_or_avoided() {
    let image = docker_image("a_taken_host_port_is_explained_or_avoided");
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap().port().to_string();

    let mut pinned = DockerCheckout::new("docker_port_pinned", &image);
    pinned.env.push(("POSTGRES_PORT", taken.clone()));
    pinned.xtask(&["db-up"]).failure().says(&format!("port {taken} (POSTGRES_PORT) is in use by another program"));

    // Unpinned, a remembered port that another program took since is given up for a free one.
    let moved = DockerCheckout::new("docker_port_moved", &image);
    std::fs::create_dir_all(moved.fx.root().join(".xtask")).unwrap();
    std::fs::write(moved.fx.root().join(".xtask/docker-port"), format!("{taken}\n")).unwrap();
    let (_, port, run) = moved.up();
    run.says(&format!("Port {taken} is taken by another program now"));
    assert_ne!(port.to_string(), taken);
}

#[test]
fn auto_picks_docker_when_the_image_is_here() {
    let image = docker_image("auto_picks_docker_when_the_image_is_here");
    let mut checkout = DockerCheckout::new("docker_auto", &image);
    checkout.env.retain(|(key, _)| *key != "XTASK_DB_BACKEND");
    checkout.xtask(&["db-up"]).success().says("Docker Compose project").never_says("Using the local cluster");
}

#[test]
fn says_clearly_when_no_engine_answers() {
    let fx = Fixture::new("docker_no_engine");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml"), fx.root().join("docker-compose.yml"))
        .unwrap();
    let nowhere = format!("unix://{}/no-docker.sock", fx.root().display());
    let run = fx.xtask_with(&["db-up"], &[("XTASK_DB_BACKEND", "docker"), ("DOCKER_HOST", &nowhere)]).failure();
    assert!(
        run.stderr.contains("no Docker engine answers") || run.stderr.contains("Docker is not installed"),
        "{}",
        run.all()
    );
}

#[test]
fn compose_project_name_overrides_the_per_checkout_name() {
    let image = docker_image("compose_project_name_overrides_the_per_checkout_name");
    let mut checkout = DockerCheckout::new("docker_named", &image);
    let name = format!("xt-custom-{}", std::process::id());
    checkout.env.push(("COMPOSE_PROJECT_NAME", name.clone()));
    let (project, _, _) = checkout.up();
    assert_eq!(project, name);
    assert_ne!(container_of(&name), "", "the container should carry the chosen project name");
}

/// A log of every docker and docker-compose process a command starts: wrappers first on `PATH`
/// that write their arguments to a file, then run the real program.
pub struct DockerSpy {
    dir: tempfile::TempDir,
}

impl DockerSpy {
    pub fn new() -> DockerSpy {
        let dir = tempfile::tempdir().unwrap();
        for program in ["docker", "docker-compose"] {
            let real =
                Command::new("sh").args(["-c", &format!("command -v {program} || echo /bin/false")]).output().unwrap();
            let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
            let script = format!(
                "#!/bin/sh\necho \"{program} $*\" >> '{}'\nexec '{real}' \"$@\"\n",
                dir.path().join("log").display()
            );
            let path = dir.path().join(program);
            std::fs::write(&path, script).unwrap();
            std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&path).unwrap().permissions(), 0o755);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        DockerSpy { dir }
    }

    /// `PATH` with the wrappers first.
    pub fn path(&self) -> String {
        format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default())
    }

    /// The commands started so far, one per line.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

/// With the container running, a command connects to the address remembered with the server's
/// identity: no docker or compose process at all (issue 11).
#[test]
fn a_running_container_is_reached_without_any_docker_process() {
    let image = docker_image("a_running_container_is_reached_without_any_docker_process");
    let mut checkout = DockerCheckout::new("docker_fast", &image);
    checkout.xtask(&["db-reset"]).success();
    let spy = DockerSpy::new();
    checkout.env.push(("PATH", spy.path()));
    checkout.xtask(&["db-status"]).success().says("1 applied");
    checkout.xtask(&["db-migrate"]).success().says("up to date");
    assert_eq!(spy.log(), "", "commands on a running container started docker processes");
    // Stopped behind the xtask's back: the remembered address no longer answers, Compose starts it.
    let (project, _, _) = checkout.up();
    docker(&["stop", &container_of(&project)]);
    checkout.xtask(&["db-status"]).success().says("1 applied");
    assert!(spy.log().contains("up --detach"), "{}", spy.log());
}

/// Compose lower-cases a project name: the xtask names the same project, so `--purge` removes
/// the volume it says it removes (issue 14).
#[test]
fn a_capitalised_compose_project_name_is_the_one_compose_uses() {
    let image = docker_image("a_capitalised_compose_project_name_is_the_one_compose_uses");
    let mut checkout = DockerCheckout::new("docker_upper", &image);
    let name = format!("XT-Upper-{}", std::process::id());
    checkout.env.push(("COMPOSE_PROJECT_NAME", name.clone()));
    let (project, _, _) = checkout.up();
    assert_eq!(project, name.to_lowercase());
    checkout.xtask(&["db-down", "--purge"]).success().says(&format!("its volume {}_db-data", name.to_lowercase()));
}

/// With no image and no registry, `--backend docker` says what to do, and leaves no container,
/// network or volume behind (issue 11).
#[test]
fn a_missing_image_is_explained_and_leaves_nothing_behind() {
    let image = docker_image("a_missing_image_is_explained_and_leaves_nothing_behind");
    let mut checkout = DockerCheckout::new("docker_noimage", &image);
    checkout.env.retain(|(key, _)| *key != "POSTGRES_IMAGE");
    checkout.env.push(("POSTGRES_IMAGE", "xtask-no-such-image:1".to_owned()));
    let project = format!("xt-noimage-{}", std::process::id());
    checkout.env.push(("COMPOSE_PROJECT_NAME", project.clone()));
    checkout
        .xtask(&["db-up"])
        .failure()
        .says("the image xtask-no-such-image:1 is not here and cannot be pulled")
        .says("POSTGRES_IMAGE")
        .says("--backend native");
    for (kind, name) in [("volume", format!("{project}_db-data")), ("network", format!("{project}_default"))] {
        let found = Command::new("docker").args([kind, "inspect", &name]).output().unwrap().status.success();
        assert!(!found, "a failed start left the {kind} {name}");
    }
    assert_eq!(container_of(&project), "", "a failed start left a container");
}

/// A password changed after the volume was made: a clear error within seconds, naming the Docker
/// volume and `db-down --purge`, not a minute of retries (issue 14).
#[test]
fn a_changed_password_fails_at_once_naming_the_volume() {
    let image = docker_image("a_changed_password_fails_at_once_naming_the_volume");
    let mut checkout = DockerCheckout::new("docker_repass", &image);
    checkout.up();
    checkout.xtask(&["db-down"]).success();
    checkout.env.retain(|(key, _)| *key != "POSTGRES_PASSWORD");
    checkout.env.push(("POSTGRES_PASSWORD", "another-password".to_owned()));
    let started = std::time::Instant::now();
    checkout.xtask(&["db-up"]).failure().says("Docker volume").says("db-down --purge").never_says("another-password");
    assert!(started.elapsed() < std::time::Duration::from_secs(45), "took {:?}", started.elapsed());
    checkout.env.retain(|(key, _)| *key != "POSTGRES_PASSWORD");
    checkout.env.push(("POSTGRES_PASSWORD", PASSWORD.to_owned()));
}

/// Three first commands at once: one starts the container, the others wait and use it (issue 14).
#[test]
fn first_starts_together_share_one_container() {
    let image = docker_image("first_starts_together_share_one_container");
    let checkout = DockerCheckout::new("docker_race", &image);
    let env: Vec<(&str, &str)> = checkout.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let children: Vec<_> = (0..3).map(|_| checkout.fx.spawn_with(&["db-migrate"], &env)).collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn a_moved_checkout_keeps_its_container_and_data() {
    let image = docker_image("a_moved_checkout_keeps_its_container_and_data");
    let checkout = DockerCheckout::new("docker_moved", &image);
    checkout.xtask(&["db-reset"]).success();
    let (project, port, _) = checkout.up();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Moved along')").execute(&mut checkout.connect(port).await).await.unwrap();

    let root = checkout.fx.root().to_path_buf();
    let moved = root.with_file_name(format!("{}-renamed", root.file_name().unwrap().to_string_lossy()));
    std::fs::rename(&root, &moved).unwrap();
    let env: Vec<(&str, &str)> = checkout.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = checkout.fx.command(&["db-up"], &env).current_dir(&moved).output().unwrap();
    std::fs::rename(&moved, &root).unwrap();
    let run = Run::from(output, &["db-up"]).success().says("This checkout moved");
    assert_eq!(up_port(&run.stdout), port, "the moved checkout must reach its own container:\n{}", run.all());
    assert!(run.stdout.contains(&project), "{}", run.all());
    assert_eq!(checkout.names(port).await, ["Acme", "Globex", "Moved along"]);

    // Moved back, to the same container, which the record now says again.
    checkout.xtask(&["db-status"]).success();

    // A copy is not a move: while the original still holds its record, the copy gets its own.
    let copy = DockerCheckout::new("docker_copy", &image);
    std::fs::create_dir_all(copy.fx.root().join(".xtask")).unwrap();
    std::fs::copy(root.join(".xtask/compose-project"), copy.fx.root().join(".xtask/compose-project")).unwrap();
    let (copy_project, _, _) = copy.up();
    assert_ne!(copy_project, project, "a copied checkout must not share the original's container");

    // Copied, then the original moved too: both records name a folder that is gone. The first to
    // come back keeps the container; the other gets one of its own.
    let twin = DockerCheckout::new("docker_twin", &image);
    std::fs::create_dir_all(twin.fx.root().join(".xtask")).unwrap();
    std::fs::copy(root.join(".xtask/compose-project"), twin.fx.root().join(".xtask/compose-project")).unwrap();
    std::fs::rename(&root, &moved).unwrap();
    let output = checkout.fx.command(&["db-up"], &env).current_dir(&moved).output().unwrap();
    let (twin_project, _, _) = twin.up();
    std::fs::rename(&moved, &root).unwrap();
    let run = Run::from(output, &["db-up"]).success().says("This checkout moved");
    assert!(run.stdout.contains(&project), "{}", run.all());
    assert_ne!(twin_project, project, "a copy whose original moved too must not share its container");
}

#[tokio::test]
async fn a_changed_postgres_port_moves_the_running_container_to_it() {
    let image = docker_image("a_changed_postgres_port_moves_the_running_container_to_it");
    let mut checkout = DockerCheckout::new("docker_new_port", &image);
    checkout.xtask(&["db-reset"]).success();
    let (_, port, _) = checkout.up();
    sqlx::query("INSERT INTO orgs VALUES (3, 'Kept')").execute(&mut checkout.connect(port).await).await.unwrap();

    let new_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    checkout.env.push(("POSTGRES_PORT", new_port.to_string()));
    let (_, now, run) = checkout.up();
    assert_eq!(now, new_port, "{}", run.all());
    run.says(&format!("POSTGRES_PORT is now {new_port}"));
    assert_eq!(checkout.names(new_port).await, ["Acme", "Globex", "Kept"]);
}

#[tokio::test]
async fn ctrl_c_during_a_first_start_ends_cleanly_without_a_traceback() {
    let image = docker_image("ctrl_c_during_a_first_start_ends_cleanly_without_a_traceback");
    let checkout = DockerCheckout::new("docker_ctrl_c", &image);
    let env: Vec<(&str, &str)> = checkout.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Interrupted while Compose itself runs: its process carries the checkout's compose file.
    let root = checkout.fx.root().to_string_lossy().into_owned();
    interrupt_while(
        checkout.fx.command(&["db-up"], &env),
        &["compose", " up ", &root],
        std::time::Duration::from_millis(300),
        &["Traceback", "KeyboardInterrupt"],
    );
}

/// `db-status` never pulls (README): with the remembered backend Docker and the image missing, it
/// says so and names the command that pulls, without running `docker pull`.
#[test]
fn db_status_never_pulls_a_missing_image() {
    docker_image("db_status_never_pulls_a_missing_image");
    let checkout = DockerCheckout::new("docker_h_state_no_pull", "fleet-test-absent-h-state:none");
    std::fs::create_dir_all(checkout.fx.root().join(".xtask")).unwrap();
    std::fs::write(checkout.fx.root().join(".xtask/backend"), "docker\n").unwrap();
    let env: Vec<(&str, &str)> =
        checkout.env.iter().filter(|(k, _)| *k != "XTASK_DB_BACKEND").map(|(k, v)| (*k, v.as_str())).collect();
    checkout
        .fx
        .xtask_with(&["db-status"], &env)
        .failure()
        .says("the image fleet-test-absent-h-state:none is not here, and this command never pulls one")
        .says("`cargo xtask db-up` pulls it")
        .never_says("$ docker pull");
}

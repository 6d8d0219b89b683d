//! The local cluster: made with this machine's PostgreSQL binaries, inside the project's own
//! `target/`, kept across db-down/db-up and removed by --purge. (As root, as in CI, this also
//! proves the server runs as the unprivileged `postgres` account.)

use sqlx::{Connection, PgConnection};

use crate::support::{Fixture, a_process_runs, interrupt_while, up_port};

const PASSWORD: &str = "native-test-pw";

fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("XTASK_DB_BACKEND", "native"),
        ("POSTGRES_USER", "tester"),
        ("POSTGRES_PASSWORD", PASSWORD),
        ("POSTGRES_DB", "native_dev"),
    ]
}

/// A project with one table and one seeded row: what the cluster's life-cycle tests reset.
fn orgs_project(name: &str) -> Fixture {
    let fx = Fixture::new(name);
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY, name text);\n");
    fx.seed("001_orgs.sql", "INSERT INTO orgs VALUES (1, 'Acme');\n");
    fx
}

/// True when the tests run as root, as CI does: then the server runs as the `postgres` account.
fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().unwrap().stdout.starts_with(b"0\n")
}

/// The tests that need root are ignored in an ordinary run (most developers are not root); CI
/// runs them as root (`.ci/run`). Run as anyone else, they fail saying so.
#[track_caller]
fn assert_root(test: &str) {
    assert!(is_root(), "native::{test} needs root (it checks what root does for the postgres account); run it as root");
}

async fn connect(port: u16) -> PgConnection {
    PgConnection::connect(&format!("postgres://tester:{PASSWORD}@127.0.0.1:{port}/native_dev")).await.unwrap()
}

#[tokio::test]
async fn lifecycle_of_the_local_cluster() {
    let fx = orgs_project("native");
    let env = settings();
    let cluster = fx.root().join(".xtask/postgres");

    fx.xtask_with(&["db-reset"], &env).success().says("Created a local PostgreSQL cluster").says("Reset native_dev");
    assert!(cluster.join("data/PG_VERSION").is_file(), "the cluster should live in the project's target/");
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);

    let mut conn = connect(port).await;
    let listen: String = sqlx::query_scalar("SHOW listen_addresses").fetch_one(&mut conn).await.unwrap();
    assert_eq!(listen, "127.0.0.1");
    sqlx::query("INSERT INTO orgs VALUES (2, 'Kept across restarts')").execute(&mut conn).await.unwrap();
    drop(conn);

    fx.xtask_with(&["db-down"], &env).success().says("Stopped the local cluster");
    assert!(PgConnection::connect(&format!("postgres://tester:{PASSWORD}@127.0.0.1:{port}/native_dev")).await.is_err());
    fx.xtask_with(&["db-down"], &env).success().says("not running");

    let again = up_port(&fx.xtask_with(&["db-up"], &env).success().says("Started the local cluster").stdout);
    assert_eq!(again, port, "the port should stay the same for a checkout");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs").fetch_one(&mut connect(port).await).await.unwrap();
    assert_eq!(count, 2, "db-down/db-up lost data");

    fx.xtask_with(&["db-down", "--purge"], &env).success().says("Removed the local cluster in");
    assert!(!cluster.exists(), "--purge left the cluster behind");
    fx.xtask_with(&["db-down", "--purge"], &env).success().says("Nothing to remove");
}

#[test]
fn a_server_that_cannot_start_shows_its_log() {
    let fx = Fixture::new("native_broken");
    let env = settings();
    fx.xtask_with(&["db-up"], &env).success();
    fx.xtask_with(&["db-down"], &env).success();
    let conf = fx.root().join(".xtask/postgres/data/postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nshared_buffers = 'lots'\n");
    std::fs::write(&conf, text).unwrap();

    fx.xtask_with(&["db-up"], &env)
        .failure()
        .says("start the local cluster (pg_ctl start) failed")
        .says("last lines of")
        .says("shared_buffers");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

#[test]
fn auto_falls_back_to_the_local_cluster_and_says_why() {
    let fx = Fixture::new("native_auto");
    let compose = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
    std::fs::copy(compose, fx.root().join("docker-compose.yml")).unwrap();
    let mut env = settings();
    env.retain(|(key, _)| *key != "XTASK_DB_BACKEND");
    env.push(("POSTGRES_IMAGE", "fleet-no-such-image:0"));
    let run = fx
        .xtask_with(&["db-up"], &env)
        .success()
        .says("Using the local cluster: ")
        .says("the local cluster in .xtask/postgres");
    // With an engine, the reason is the missing image; without one, that no engine answers.
    let engine = std::process::Command::new("docker").arg("info").output().is_ok_and(|out| out.status.success());
    run.says(if engine { "the image fleet-no-such-image:0 is not here and cannot be pulled" } else { "Docker" });
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

#[tokio::test]
async fn the_xtask_connects_through_the_private_socket() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new("native_socket");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY);\n");
    let env = settings();
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    let home = fx.root().join(".xtask/postgres");
    let socket = home.join("socket");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "only the cluster's owner may enter the socket's folder");

    let maintenance = format!("postgres://tester:{PASSWORD}@127.0.0.1:{port}/postgres");
    let mut tcp = PgConnection::connect(&maintenance).await.unwrap();
    sqlx::query("ALTER SYSTEM SET log_connections = on").execute(&mut tcp).await.unwrap();
    sqlx::query("SELECT pg_reload_conf()").execute(&mut tcp).await.unwrap();
    let log = || std::fs::read_to_string(home.join("server.log")).unwrap();

    fx.xtask_with(&["db-migrate"], &env).success().says("Applied 20260101000000/migrate create orgs");
    assert!(log().contains("method=peer"), "the xtask should come in through the socket:\n{}", log());

    // The socket is an address like any other: a URL can name it, with no password.
    let socket_url = format!("postgres://tester@/native_dev?host={}&port={port}", socket.display());
    fx.xtask_with(&["db-status", "--backend", "url"], &[("DATABASE_URL", socket_url.as_str())])
        .success()
        .says("1 applied, 0 pending");

    // An account the cluster does not know (a checkout shared between users) still gets in,
    // with the password over TCP.
    std::fs::write(home.join("data/pg_ident.conf"), "xtask \"someone-else\" \"tester\"\n").unwrap();
    sqlx::query("SELECT pg_reload_conf()").execute(&mut tcp).await.unwrap();
    fx.xtask_with(&["db-status"], &env).success().says("1 applied, 0 pending");
    assert!(log().contains("method=scram-sha-256"), "the xtask should fall back to the password:\n{}", log());

    // The address db-up prints is for everything else, so it checks the password even though
    // the xtask itself needs none.
    let mut wrong = env.clone();
    wrong.retain(|(key, _)| *key != "POSTGRES_PASSWORD");
    wrong.push(("POSTGRES_PASSWORD", "not-the-password"));
    fx.xtask_with(&["db-up"], &wrong).failure().says("the password was refused");
    drop(tcp);
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// Several first commands in a fresh checkout: one creates and starts the cluster, the others
/// wait for it and use it (issue 10, case 9).
#[test]
fn first_resets_started_together_share_one_new_cluster() {
    let fx = orgs_project("native_race");
    let env = settings();
    let children: Vec<_> = (0..3).map(|_| fx.spawn_with(&["db-reset"], &env)).collect();
    let outputs: Vec<_> = children.into_iter().map(|child| child.wait_with_output().unwrap()).collect();
    let all: String = outputs
        .iter()
        .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        .collect();
    for output in &outputs {
        assert!(output.status.success(), "a concurrent first reset failed:\n{all}");
    }
    assert_eq!(all.matches("Created a local PostgreSQL cluster").count(), 1, "{all}");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// `auto` decides once per checkout and remembers it: later commands never probe Docker or pull
/// an image, and a read-only first command never pulls (issue 11).
#[test]
fn auto_decides_once_and_never_pulls_again() {
    let fx = Fixture::new("auto_once");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml"), fx.root().join("docker-compose.yml"))
        .unwrap();
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY, name text);\n");
    let spy = crate::docker::DockerSpy::new();
    let path = spy.path();
    let mut env = settings();
    env.retain(|(key, _)| *key != "XTASK_DB_BACKEND");
    env.push(("POSTGRES_IMAGE", "xtask-no-such-image:1"));
    env.push(("PATH", &path));

    // A read-only command in a checkout with no choice yet: no pull, and nothing remembered.
    let _ = fx.xtask_with(&["db-status"], &env);
    assert!(!spy.log().contains("pull"), "db-status pulled:\n{}", spy.log());
    assert!(!fx.root().join(".xtask/backend").exists());

    fx.xtask_with(&["db-up"], &env).success().says("Using the local cluster");
    assert_eq!(std::fs::read_to_string(fx.root().join(".xtask/backend")).unwrap().trim(), "native");
    let before = spy.log();
    fx.xtask_with(&["db-migrate"], &env).success().never_says("Using the local cluster");
    fx.xtask_with(&["db-status"], &env).success();
    fx.xtask_with(&["db-down"], &env).success();
    assert_eq!(spy.log(), before, "commands after the first choice started docker processes");

    // Asking for another backend by name says where the old data stays.
    let mut docker_env = env.clone();
    docker_env.push(("XTASK_DB_BACKEND", "docker"));
    fx.xtask_with(&["db-down"], &docker_env).says("the native backend's databases stay in the local cluster's folder");
    fx.xtask_with(&["db-down", "--purge", "--backend", "native"], &env).success();
}

/// The local cluster lives in `.xtask/`, so `cargo clean` (which deletes `target/`) keeps the dev
/// database (issue 11).
#[tokio::test]
async fn the_dev_database_outlives_cargo_clean() {
    let fx = orgs_project("native_clean");
    let env = settings();
    fx.xtask_with(&["db-reset"], &env).success();
    std::fs::create_dir_all(fx.root().join("target/debug")).unwrap();
    std::fs::remove_dir_all(fx.root().join("target")).unwrap();
    fx.xtask_with(&["db-status"], &env).success().says("1 applied").never_says("Created a local PostgreSQL cluster");
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs").fetch_one(&mut connect(port).await).await.unwrap();
    assert_eq!(count, 1);

    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// With no POSTGRES_PASSWORD, a new cluster gets a password of its own, readable by its owner
/// only; the password once printed in the README opens nothing (issue 14).
#[tokio::test]
async fn a_new_cluster_gets_a_generated_password() {
    let fx = Fixture::new("native_password");
    let mut env = settings();
    env.retain(|(key, _)| *key != "POSTGRES_PASSWORD");
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    let file = fx.root().join(".xtask/password");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(password.len() >= 32 && password != "fleet-dev-password", "{password}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "the password file is readable by others: {mode:o}");
    let url = |pw: &str| format!("postgres://tester:{pw}@127.0.0.1:{port}/postgres");
    assert!(PgConnection::connect(&url(&password)).await.is_ok());
    assert!(PgConnection::connect(&url("fleet-dev-password")).await.is_err());
    fx.xtask_with(&["db-status"], &env).success();

    // Deleted while the server lives: the file is named, never a well-known password tried.
    std::fs::rename(&file, fx.root().join("password.kept")).unwrap();
    fx.xtask_with(&["db-status"], &env)
        .failure()
        .says(".xtask/password is missing")
        .says("Put the password back in it")
        .never_says("the password was refused");
    assert!(!file.exists(), "a new password was written over the lost one");
    std::fs::rename(fx.root().join("password.kept"), &file).unwrap();
    fx.xtask_with(&["db-status"], &env).success();

    // Purged, the server and its password go together: the next server gets a new one.
    fx.xtask_with(&["db-down", "--purge"], &env).success();
    assert!(!file.exists(), "db-down --purge kept the password of a server that is gone");
    fx.xtask_with(&["db-up"], &env).success();
    let renewed = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(renewed.len() >= 32 && renewed != password, "{renewed}");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// A `postmaster.pid` left by a server that died, naming a process that now is something else
/// (as after a reboot): not believed, removed, and that process is never signalled (issue 14).
#[test]
fn a_stale_pid_file_naming_a_live_process_is_not_believed() {
    let fx = Fixture::new("native_stale");
    let env = settings();
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    fx.xtask_with(&["db-down"], &env).success();
    let mut bystander = std::process::Command::new("sleep").arg("120").spawn().unwrap();
    let data = fx.root().join(".xtask/postgres/data");
    std::fs::write(
        data.join("postmaster.pid"),
        format!("{}\n{}\n1700000000\n{port}\n\n127.0.0.1\n  0 0\nready   \n", bystander.id(), data.display()),
    )
    .unwrap();
    let started = std::time::Instant::now();
    fx.xtask_with(&["db-up"], &env).success().says("Removed a stale postmaster.pid");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "db-up waited for a server that was never there");
    fx.xtask_with(&["db-down"], &env).success().says("Stopped the local cluster");
    assert!(bystander.try_wait().unwrap().is_none(), "the unrelated process was signalled");
    bystander.kill().ok();
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// FNV-1a of the checkout's path: how the folder name was once derived (`fingerprint.rs`).
fn old_fingerprint(path: &std::path::Path) -> u64 {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash: u64, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// As root, in a checkout the `postgres` account cannot enter, the cluster goes to a folder with
/// a name nobody can guess, made exclusively and kept private; a folder planted at the name it
/// once had (with a pid file naming a fake server) is never consulted, and no connection goes
/// there (issue 14). As another user the server runs as that user, inside the checkout.
#[test]
#[ignore = "needs root; CI runs it: `cargo xtask test -- -p xtask --test cli -- --ignored` as root"]
fn a_private_checkout_gets_an_unpredictable_cluster_folder() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_root("a_private_checkout_gets_an_unpredictable_cluster_folder");
    let fx = Fixture::new("native_private");
    let env = settings();
    std::fs::set_permissions(fx.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let fake_server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    fake_server.set_nonblocking(true).unwrap();
    let planted = std::env::temp_dir().join(format!("xtask-postgres-{:016x}", old_fingerprint(fx.root())));
    std::fs::create_dir_all(planted.join("data")).unwrap();
    std::fs::write(planted.join("data/PG_VERSION"), "15\n").unwrap();
    std::fs::write(
        planted.join("data/postmaster.pid"),
        format!("1\n/x\n0\n{}\n\n127.0.0.1\n", fake_server.local_addr().unwrap().port()),
    )
    .unwrap();

    fx.xtask_with(&["db-up"], &env).success().says("cannot reach");
    let folder = std::fs::read_to_string(fx.root().join(".xtask/native-home")).unwrap().trim().to_owned();
    assert_ne!(std::path::Path::new(&folder), planted, "the predictable folder was used");
    // Root keeps the folder, so the server's account can neither rename nor replace what is in it.
    let outer = std::fs::symlink_metadata(&folder).unwrap();
    assert_eq!(outer.uid(), 0, "the folder under the temp dir belongs to root");
    assert_eq!(outer.mode() & 0o777, 0o711);
    let home = format!("{folder}/cluster");
    let meta = std::fs::symlink_metadata(&home).unwrap();
    let postgres_uid =
        String::from_utf8(std::process::Command::new("id").args(["-u", "postgres"]).output().unwrap().stdout).unwrap();
    assert_eq!(meta.uid().to_string(), postgres_uid.trim(), "the folder belongs to the server's account");
    assert_eq!(meta.mode() & 0o077, 0, "the folder is private");
    fx.xtask_with(&["db-status"], &env).success();
    assert!(fake_server.accept().is_err(), "a command connected to the server a planted pid file named");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
    assert!(!std::path::Path::new(&folder).exists());
    std::fs::remove_dir_all(&planted).ok();
}

/// A checkout moved or renamed while its local cluster runs: the server, still bound to the old
/// path, is stopped through the new one before anything touches it, then started where the
/// checkout is now; the data is intact (issue 14).
#[tokio::test]
async fn a_checkout_moved_while_its_cluster_runs_is_restarted_in_its_new_place() {
    let fx = orgs_project("native_moved");
    let env = settings();
    fx.xtask_with(&["db-reset"], &env).success();
    let moved = fx.root().with_file_name(format!("{}-moved", fx.root().file_name().unwrap().to_string_lossy()));
    std::fs::rename(fx.root(), &moved).unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(&moved)
            .env_remove("CARGO_MANIFEST_DIR")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            output.status.code(),
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        )
    };
    let (code, all) = run(&["db-reset"]);
    std::fs::rename(&moved, fx.root()).ok();
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("This checkout moved while its local cluster ran"), "{all}");
    assert!(all.contains("Reset native_dev"), "{all}");
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs").fetch_one(&mut connect(port).await).await.unwrap();
    assert_eq!(count, 1);
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// As root, files the server's account planted in the cluster's folder are never followed by
/// root: a `server.log` linked to a root-only file is not printed, and a `data` folder replaced by
/// a link to a root-owned one loses nothing (issue 14).
#[test]
#[ignore = "needs root; CI runs it: `cargo xtask test -- -p xtask --test cli -- --ignored` as root"]
fn root_never_follows_links_the_server_account_planted() {
    use std::os::unix::fs::PermissionsExt;
    assert_root("root_never_follows_links_the_server_account_planted");
    let fx = Fixture::new("native_links");
    let env = settings();
    fx.xtask_with(&["db-up"], &env).success();
    fx.xtask_with(&["db-down"], &env).success();
    let home = fx.root().join(".xtask/postgres");
    let canary = std::env::temp_dir().join(format!("xtask-canary-{}", std::process::id()));
    std::fs::create_dir_all(&canary).unwrap();
    std::fs::set_permissions(&canary, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(canary.join("secret"), "canary-SECRET-line\n").unwrap();
    std::fs::write(canary.join("postmaster.pid"), "1\n/x\n0\n5432\n").unwrap();
    std::fs::write(canary.join("PG_VERSION"), "15\n").unwrap();
    let as_postgres = |args: &[&str]| {
        let status = std::process::Command::new("runuser").args(["-u", "postgres", "--"]).args(args).status().unwrap();
        assert!(status.success(), "{args:?}");
    };
    // server.log → a root-only file: a failing start must not print it.
    as_postgres(&["mv", home.join("data").to_str().unwrap(), home.join("data.real").to_str().unwrap()]);
    as_postgres(&["ln", "-s", canary.to_str().unwrap(), home.join("data").to_str().unwrap()]);
    as_postgres(&["ln", "-sf", canary.join("secret").to_str().unwrap(), home.join("server.log").to_str().unwrap()]);
    let run = fx.xtask_with(&["db-up"], &env);
    assert_ne!(run.code, Some(0));
    run.never_says("canary-SECRET-line");
    assert!(canary.join("postmaster.pid").exists(), "root removed a file through the planted data link");
    assert!(canary.join("secret").exists());
    std::fs::remove_dir_all(&canary).ok();
    as_postgres(&["rm", "-f", home.join("data").to_str().unwrap(), home.join("server.log").to_str().unwrap()]);
    as_postgres(&["mv", home.join("data.real").to_str().unwrap(), home.join("data").to_str().unwrap()]);
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// A second local account, made by the test and removed after, tries what issue 14 found: it
/// plants the folder a checkout's cluster once went to (a pid file naming its own fake server,
/// links to root's files), then tries to read the checkout's password, to log in with the
/// password the README once printed, and to use the private socket. Root's commands use none of
/// what it planted, and it gets nothing. Needs root (to make the account), as CI runs.
#[test]
#[ignore = "needs root; CI runs it: `cargo xtask test -- -p xtask --test cli -- --ignored` as root"]
fn a_second_local_account_gets_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    assert_root("a_second_local_account_gets_nothing");
    let account = format!("xtintruder{}", std::process::id() % 100_000);
    let made = Command::new("useradd").args(["--create-home", "--shell", "/bin/sh", &account]).status().unwrap();
    assert!(made.success(), "useradd {account}");
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = Command::new("pkill").args(["-u", &self.0]).status();
            let _ = Command::new("userdel").args(["--remove", &self.0]).status();
        }
    }
    let _remove = Remove(account.clone());
    let as_intruder = |args: &[&str]| Command::new("runuser").args(["-u", &account, "--"]).args(args).output().unwrap();

    let fx = Fixture::new("second_account");
    // No POSTGRES_PASSWORD: the checkout's server gets a generated one.
    let env: Vec<_> = settings().into_iter().filter(|(key, _)| *key != "POSTGRES_PASSWORD").collect();
    // A checkout the server's account cannot enter: its cluster goes under the temp directory.
    std::fs::set_permissions(fx.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
    // The intruder's fake server, and the predictable folder planted as the intruder.
    let fake_server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    fake_server.set_nonblocking(true).unwrap();
    let planted = std::env::temp_dir().join(format!("xtask-postgres-{:016x}", old_fingerprint(fx.root())));
    let planted_str = planted.to_string_lossy().into_owned();
    let canary = fx.root().join("root-only.txt");
    std::fs::write(&canary, "root's\n").unwrap();
    std::fs::set_permissions(&canary, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pid_file = format!("1\n/x\n0\n{}\n\n127.0.0.1\n", fake_server.local_addr().unwrap().port());
    let script = format!(
        "mkdir -p {planted_str}/data && echo 15 > {planted_str}/data/PG_VERSION && printf '{}' > {planted_str}/data/postmaster.pid \
         && ln -s {} {planted_str}/socket && ln -s {} {planted_str}/initial-password && ln -s {} {planted_str}/port",
        pid_file.replace('\n', "\\n"),
        canary.display(),
        canary.display(),
        canary.display()
    );
    assert!(as_intruder(&["sh", "-c", &script]).status.success(), "the intruder plants its folder");

    fx.xtask_with(&["db-up"], &env).success();
    fx.xtask_with(&["db-status"], &env).success();
    assert!(fake_server.accept().is_err(), "a command connected to the server the intruder's pid file named");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "root's\n", "root wrote through a planted link");
    let canary_mode = std::fs::metadata(&canary).unwrap().permissions().mode();
    assert_eq!(canary_mode & 0o777, 0o600, "root changed a file through a planted link");

    // The checkout's state: the generated password is root's alone.
    let password_file = fx.root().join(".xtask/password");
    let mode = std::fs::metadata(&password_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the password file is its owner's alone");
    assert!(
        !as_intruder(&["cat", &password_file.to_string_lossy()]).status.success(),
        "the intruder read the password"
    );
    // The password the README once printed opens nothing, and the private socket is closed to it.
    let url = format!("postgresql://tester:fleet-dev-password@127.0.0.1:{}/postgres", native_port(&fx));
    let login = as_intruder(&["psql", "-X", "-w", "-c", "SELECT 1", &url]);
    assert!(!login.status.success(), "the intruder logged in with the old well-known password");
    // The checkout is private (a temp folder), so the cluster lives in the unpredictable folder.
    let home = std::fs::read_to_string(fx.root().join(".xtask/native-home")).unwrap();
    let socket_dir = std::path::Path::new(home.trim()).join("cluster/socket");
    assert!(socket_dir.is_dir(), "{} is where the socket is", socket_dir.display());
    let socket = as_intruder(&[
        "psql",
        "-X",
        "-w",
        "-h",
        &socket_dir.to_string_lossy(),
        "-U",
        "tester",
        "-c",
        "SELECT 1",
        "postgres",
    ]);
    assert!(!socket.status.success(), "the intruder came in through the private socket");

    fx.xtask_with(&["db-down", "--purge"], &env).success();
    std::fs::remove_dir_all(&planted).ok();
}

/// The port this fixture's local cluster listens on.
fn native_port(fx: &Fixture) -> u16 {
    std::fs::read_to_string(fx.root().join(".xtask/native-port")).unwrap().trim().parse().unwrap()
}

/// No password on any command line: `ps` (every account can read it) is sampled while a fresh
/// cluster is made and reset, and while `bench` runs its psql floor against it.
#[test]
fn no_password_appears_on_any_command_line() {
    let fx = orgs_project("no_password_in_ps");
    let env = settings();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut samples = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
                    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    if cmdline.contains(PASSWORD) && !seen.contains(&cmdline) {
                        seen.push(cmdline);
                    }
                }
                samples += 1;
            }
            (samples, seen)
        })
    };
    fx.xtask_with(&["db-reset"], &env).success();
    fx.xtask_with(&["db-reset", "--no-cache"], &env).success();
    fx.xtask_with(&["bench", "--quick"], &env).success();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let (samples, seen) = sampler.join().unwrap();
    assert!(samples > 10, "ps was sampled only {samples} times");
    assert!(seen.is_empty(), "the password was on these command lines:\n{}", seen.join("\n"));
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// Ctrl-C while the first command makes the cluster (initdb runs): `interrupted`, exit 130, none
/// of initdb's own output, and the next command makes the cluster as if nothing had happened.
#[test]
fn ctrl_c_during_initdb_ends_cleanly_and_the_next_command_recovers() {
    let fx = orgs_project("native_ctrl_c");
    let env = settings();
    let root = fx.root().to_string_lossy().into_owned();
    interrupt_while(
        fx.command(&["db-reset"], &env),
        &["initdb", &root],
        std::time::Duration::from_millis(100),
        &["removing data directory", "terminated by signal"],
    );
    fx.xtask_with(&["db-reset"], &env).success().says("Reset native_dev");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// The cluster's data folder for a fixture: inside the checkout, or in the private folder under
/// the temp directory that `.xtask/native-home` names (a checkout the server account cannot enter).
fn data_dir(fx: &Fixture) -> std::path::PathBuf {
    match std::fs::read_to_string(fx.root().join(".xtask/native-home")) {
        Ok(home) => std::path::Path::new(home.trim()).join("cluster/data"),
        Err(_) => fx.root().join(".xtask/postgres/data"),
    }
}

/// Kills the cluster's postmaster with SIGKILL, as a crash or the OOM killer would.
fn kill_postmaster(fx: &Fixture) {
    let pid_file = std::fs::read_to_string(data_dir(fx).join("postmaster.pid")).unwrap();
    let pid: u32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    assert!(pid > 1);
    assert!(std::process::Command::new("kill").args(["-s", "KILL", &pid.to_string()]).status().unwrap().success());
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < gone {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The server killed (SIGKILL) right after a reset was reported: the reset's database is there
/// when the next command brings the cluster back (the swap's commit waits for the write-ahead
/// log), and that command does not wait out the readiness timeout for a server that is gone: it
/// notices at once and starts it (issue 14, cases 6 and 7).
#[tokio::test]
async fn a_reset_survives_the_server_killed_right_after_it() {
    let fx = orgs_project("native_killed");
    let mut env = settings();
    env.push(("XTASK_READY_TIMEOUT", "10"));
    fx.xtask_with(&["db-reset"], &env).success().says("Reset native_dev");
    kill_postmaster(&fx);
    let run = fx.xtask_with(&["db-up"], &env).success();
    let port = up_port(&run.stdout);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM orgs").fetch_all(&mut connect(port).await).await.unwrap();
    assert_eq!(names, ["Acme"], "the reset's database was lost with the server");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// The server gone mid-run without a word (its postmaster killed, as by a crash or the OOM
/// killer, takes the migration's session with it): a clean error that says the server closed the
/// connection, never the driver's I/O error or PostgreSQL's own source line.
#[tokio::test]
async fn a_server_gone_mid_run_is_said_to_have_closed_the_connection() {
    let fx = orgs_project("native_gone");
    let env = settings();
    fx.xtask_with(&["db-migrate"], &env).success();
    let port = up_port(&fx.xtask_with(&["db-up"], &env).success().stdout);
    fx.migration(20260102000000, "long", "SELECT pg_sleep(60);\n");
    let mut child = fx.spawn_with(&["db-migrate"], &env);
    let mut watcher = connect(port).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND position('pg_sleep(60)' in query) > 0 AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if running > 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            kill_postmaster(&fx);
            panic!("the migration never started");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    kill_postmaster(&fx);
    let output = child.wait_with_output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(all.contains("error: ") && all.contains("the server closed the connection"), "{all}");
    assert!(!all.contains(" at line ") && !all.contains("panicked"), "{all}");
    fx.xtask_with(&["db-up"], &env).success();
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// A checkout whose path is not UTF-8 (a Latin-1 folder name) cannot be handed to initdb and
/// pg_ctl unchanged: refused with what to do, before any cluster is made.
#[test]
fn a_checkout_path_that_is_not_utf8_is_refused_clearly() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new("native_latin1");
    // Reachable by the server's account when the tests run as root, so the cluster would go there.
    std::fs::set_permissions(fx.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = fx.root().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(root.join("db/migrations")).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
    let mut command = fx.command(&["db-up"], &settings());
    command.current_dir(&root);
    crate::support::Run::from(command.output().unwrap(), &["db-up"])
        .failure()
        .says("is not valid UTF-8")
        .says("move the checkout to a path of UTF-8 characters");
    assert!(!root.join(".xtask/postgres/data").exists(), "a cluster was made");
}

/// `db-url` prints the address other tools use (the password only when asked), and a
/// DATABASE_URL set to it, as one would for rust-analyzer or plain `cargo test`, leaves the
/// xtask on the checkout's own local cluster instead of switching it to the url backend.
#[test]
fn db_url_prints_the_address_and_a_database_url_naming_it_keeps_the_local_cluster() {
    let fx = orgs_project("db_url");
    let env = settings();
    fx.xtask_with(&["db-reset"], &env).success();
    let masked = fx.xtask_with(&["db-url"], &env).success().never_says(PASSWORD).stdout.trim().to_owned();
    let port = native_port(&fx);
    assert_eq!(masked, format!("postgres://tester:***@127.0.0.1:{port}/native_dev"));
    let url = fx.xtask_with(&["db-url", "--show-password"], &env).success().stdout.trim().to_owned();
    assert_eq!(url, format!("postgres://tester:{PASSWORD}@127.0.0.1:{port}/native_dev"));

    let mut with_url: Vec<(&str, &str)> = env.iter().copied().filter(|(key, _)| *key != "XTASK_DB_BACKEND").collect();
    with_url.push(("DATABASE_URL", &url));
    fx.xtask_with(&["db-up"], &with_url).success().says("the local cluster").never_says("DATABASE_URL");
    // Another server's address still means the url backend.
    let other = format!("postgres://tester:{PASSWORD}@127.0.0.1:1/native_dev");
    with_url.retain(|(key, _)| *key != "DATABASE_URL");
    with_url.push(("DATABASE_URL", &other));
    fx.xtask_with(&["db-up"], &with_url).failure().says("DATABASE_URL");
    fx.xtask_with(&["db-down", "--purge"], &env).success();
}

/// A test that fails with its cluster running leaves no server behind: the fixture's `Drop`
/// stops and purges it (the test's panic is caught here, as the harness would catch it).
#[test]
fn a_failed_tests_cluster_is_stopped_by_its_fixture() {
    let data = std::sync::Mutex::new(String::new());
    let failed = std::panic::catch_unwind(|| {
        let fx = Fixture::new("native_guard");
        fx.xtask_with(&["db-up"], &settings()).success();
        *data.lock().unwrap() = data_dir(&fx).to_string_lossy().into_owned();
        assert!(a_process_runs(&["postgres", &data.lock().unwrap()]), "the cluster should run before the failure");
        panic!("a test failing with its cluster running");
    });
    assert!(failed.is_err());
    let data = data.into_inner().unwrap();
    assert!(!data.is_empty());
    assert!(!a_process_runs(&["postgres", &data]), "the failed test's server still runs ({data})");
}

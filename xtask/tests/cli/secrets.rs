//! Passwords never appear in output, and destructive commands stay on this machine.

use crate::support::{Fixture, server_url};

const PASSWORD: &str = "s3cret-P@ss:w/rd";

fn url_with(password: &str, host: &str, database: &str) -> String {
    url_at(password, host, server_url().port().unwrap_or(5432), database)
}

fn url_at(password: &str, host: &str, port: u16, database: &str) -> String {
    let encoded: String = password
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("postgres://{}:{encoded}@{host}:{port}/{database}", server_url().username())
}

#[test]
fn a_refused_password_is_explained_and_never_printed() {
    let fx = Fixture::new("secret_bad_password");
    let url = url_with(PASSWORD, "127.0.0.1", &fx.database);
    for command in ["db-migrate", "db-status", "db-up"] {
        fx.xtask_with(&[command], &[("DATABASE_URL", &url)])
            .failure()
            .says("password authentication failed")
            .says("postgres://")
            .says(":***@127.0.0.1")
            .never_says(PASSWORD)
            .never_says("s3cret");
    }
}

#[test]
fn the_working_password_is_never_printed_either() {
    let fx = Fixture::new("secret_ok");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    let password = server_url().password().unwrap_or_default().to_owned();
    assert!(!password.is_empty(), "the test server should use a password");
    for args in [&["db-up"][..], &["db-migrate"], &["db-status"], &["db-reset"], &["db-down"]] {
        fx.xtask(args).success().never_says(&password);
    }
}

#[test]
fn unknown_hosts_and_closed_ports_get_a_clear_error() {
    let fx = Fixture::new("secret_unreachable");
    fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", &url_with(PASSWORD, "db.example.invalid", "x"))])
        .failure()
        .says("cannot connect to postgres://")
        .says("@db.example.invalid:")
        .never_says("s3cret");
    // Port 1 on loopback: nothing listens there.
    fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", &url_at(PASSWORD, "127.0.0.1", 1, "x"))])
        .failure()
        .says("nothing listens there")
        .says("cargo xtask db-up")
        .never_says("s3cret");
}

#[test]
fn malformed_urls_are_refused_without_echoing_them() {
    let fx = Fixture::new("secret_malformed");
    for url in ["postgres://u:s3cret@", "mysql://u:s3cret@localhost/x", "postgres://u:s3cret@localhost:5432"] {
        fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", url)]).failure().says("DATABASE_URL").never_says("s3cret");
    }
}

#[test]
fn destructive_commands_refuse_other_machines_unless_allowed() {
    let fx = Fixture::new("secret_remote");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    let remote = url_with(PASSWORD, "db.example.invalid", "shared");
    for args in [&["db-reset"][..], &["db-down", "--purge"]] {
        fx.xtask_with(args, &[("DATABASE_URL", &remote)])
            .failure()
            .says("is not on this machine")
            .says("--allow-remote")
            .never_says("s3cret");
    }
    // With --allow-remote the command goes on (and here fails to connect, since .invalid never resolves).
    fx.xtask_with(&["db-reset", "--allow-remote"], &[("DATABASE_URL", &remote)])
        .failure()
        .says("cannot connect")
        .never_says("is not on this machine");
}

#[tokio::test]
async fn passwords_with_url_characters_work_when_percent_encoded() {
    let fx = Fixture::new("secret_special");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    let role = format!("xt_special_{}", std::process::id());
    let password = "p@ss:w/rd%#?x";
    let mut admin = fx.admin().await;
    let create = format!("CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.unwrap();

    let port = server_url().port().unwrap_or(5432);
    let encoded = "p%40ss%3Aw%2Frd%25%23%3Fx";
    let url = format!("postgres://{role}:{encoded}@127.0.0.1:{port}/{}", fx.database);
    let outcome = fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", &url)]);
    let raw = format!("postgres://{role}:{password}@127.0.0.1:{port}/{}", fx.database);
    let unencoded = fx.xtask_with(&["db-migrate"], &[("DATABASE_URL", &raw)]);

    let drop_db = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", fx.database);
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop_db)).execute(&mut admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE {role}"))).execute(&mut admin).await.unwrap();

    outcome.success().says("Applied 20260101000000/migrate create orgs").never_says(encoded).never_says(password);
    unencoded
        .failure()
        .says("DATABASE_URL is not a valid URL")
        .says("percent-encoded (@ is %40)")
        .never_says("w/rd")
        .never_says(encoded);
}

/// A password equal to the user or database name is no secret: masking it must not hide the
/// names in messages (issue 14).
#[test]
fn a_password_equal_to_a_name_does_not_mask_the_name() {
    let fx = Fixture::new("secret_name");
    let run = fx.xtask_with(&["db-status"], &[("DATABASE_URL", "postgres://fleet:fleet@127.0.0.1:1/fleet")]).failure();
    run.says("postgres://fleet:***@127.0.0.1:1/fleet");
}

/// An emptied `.xtask/password` is the problem, and is named as such: never the advice to purge
/// the server, which deletes the data.
#[test]
fn an_emptied_password_file_is_named_and_purging_is_not_the_first_advice() {
    let fx = Fixture::new("password_emptied");
    let state = fx.root().join(".xtask");
    std::fs::create_dir_all(state.join("postgres/data")).unwrap();
    std::fs::write(state.join("postgres/data/PG_VERSION"), "15\n").unwrap();
    std::fs::write(state.join("password"), "\n").unwrap();
    fx.xtask_with(&["db-status"], &[("XTASK_DB_BACKEND", "native")])
        .failure()
        .says(".xtask/password is empty")
        .says("Put the password back in it")
        .says("only if it is lost")
        .never_says("the password was refused");
}

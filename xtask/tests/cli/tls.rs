//! TLS: `sslmode=require` and `sslmode=verify-full` with `sslrootcert` against a local server with
//! a self-signed CA, so the same commands can migrate a managed or remote PostgreSQL.

use std::path::Path;
use std::process::Command;

use crate::support::{Fixture, up_port};

const PASSWORD: &str = "tls-test-pw";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed certificate authority: `<name>.key` and `<name>.pem`.
#[rustfmt::skip]
fn certificate_authority(dir: &Path, name: &str, subject: &str) {
    let (key, pem, subject) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={subject}"));
    openssl(dir, &[
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", &key, "-out", &pem,
    ]);
}

/// A CA, a server certificate it signed for localhost and 127.0.0.1, and another CA that did not
/// sign it.
#[rustfmt::skip]
fn certificates(dir: &Path) {
    certificate_authority(dir, "ca", "xtask test CA");
    certificate_authority(dir, "other", "stranger CA");
    let extensions = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
    std::fs::write(dir.join("server.ext"), extensions).unwrap();
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]);
    openssl(dir, &[
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "server.ext", "-out", "server.crt",
    ]);
}

#[test]
fn migrates_over_tls_with_and_without_certificate_checks() {
    let server = Fixture::new("tls_server");
    let env = [("XTASK_DB_BACKEND", "native"), ("POSTGRES_USER", "tester"), ("POSTGRES_PASSWORD", PASSWORD)];
    server.xtask_with(&["db-up"], &env).success();
    server.xtask_with(&["db-down"], &env).success();

    // Turn TLS on and refuse every connection without it.
    let data = server.root().join(".xtask/postgres/data");
    certificates(&data);
    for file in ["server.key", "server.crt"] {
        let status =
            Command::new("chown").arg("--reference").arg(data.join("PG_VERSION")).arg(data.join(file)).status();
        assert!(status.unwrap().success());
    }
    let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    conf.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
    std::fs::write(data.join("postgresql.conf"), conf).unwrap();
    let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
    let hba: String = hba
        .lines()
        .map(|l| if l.starts_with("host ") { format!("hostssl{}\n", &l[4..]) } else { format!("{l}\n") })
        .collect();
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    let up = server.xtask_with(&["db-up"], &env).success();
    let port = up_port(&up.stdout);

    let project = Fixture::new("tls_client");
    project.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int PRIMARY KEY);\n");
    let ca = data.join("ca.pem");
    let other = data.join("other.pem");
    let url = |database: &str, query: &str| format!("postgres://tester:{PASSWORD}@localhost:{port}/{database}?{query}");
    let run = |database: &str, query: &str| {
        project.xtask_with(&["db-migrate"], &[("XTASK_DB_BACKEND", "url"), ("DATABASE_URL", &url(database, query))])
    };

    run("plain", "sslmode=disable").failure().says("cannot connect").says("no encryption").never_says(PASSWORD);
    run("required", "sslmode=require").success().says("Applied 20260101000000/migrate create orgs");
    let verified = format!("sslmode=verify-full&sslrootcert={}", ca.display());
    run("verified", &verified).success().says("Applied 20260101000000/migrate create orgs");
    let wrong_ca = format!("sslmode=verify-full&sslrootcert={}", other.display());
    run("wrong_ca", &wrong_ca).failure().says("cannot connect").never_says(PASSWORD);

    server.xtask_with(&["db-down", "--purge"], &env).success();
}

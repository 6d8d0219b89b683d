//! The xtask works on the checkout it was invoked from, found at run time: never a path compiled
//! into the binary, so one binary (a shared CARGO_TARGET_DIR, git worktrees) serves each checkout.

use std::process::Command;

use crate::support::Fixture;

fn db_new(cwd: &std::path::Path, manifest_dir: Option<&std::path::Path>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(["db-new", "marker"]).current_dir(cwd).env_remove("CARGO_MANIFEST_DIR");
    if let Some(dir) = manifest_dir {
        command.env("CARGO_MANIFEST_DIR", dir);
    }
    command.output().unwrap()
}

fn count(fx: &Fixture) -> usize {
    std::fs::read_dir(fx.migrations()).unwrap().count()
}

#[test]
fn cargo_run_points_at_the_invoking_checkout() {
    let (a, b) = (Fixture::new("checkout_a"), Fixture::new("checkout_b"));
    std::fs::create_dir_all(b.root().join("xtask")).unwrap();
    // `cargo xtask` in checkout B sets CARGO_MANIFEST_DIR to B's xtask/, wherever the binary lives.
    let out = db_new(a.root(), Some(&b.root().join("xtask")));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!((count(&a), count(&b)), (0, 1), "the file must go to the checkout cargo ran in");
}

#[test]
fn run_by_hand_it_finds_the_checkout_above_the_current_folder() {
    let fx = Fixture::new("checkout_cwd");
    let out = db_new(&fx.root().join("db/seeds"), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&fx), 1);

    let outside = tempfile::tempdir().unwrap();
    let out = db_new(outside.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no project found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `.env` is read as Docker Compose reads it: an inline comment is not part of the value.
#[tokio::test]
async fn dotenv_inline_comments_and_variables_read_as_compose_reads_them() {
    let fx = Fixture::new("dotenv");
    fx.migration(20260101000000, "t", "CREATE TABLE t (id int);\n");
    let url = fx.url();
    let (base, database) = url.rsplit_once('/').unwrap();
    std::fs::write(
        fx.root().join(".env"),
        format!("BASE={base}\nDATABASE_URL=${{BASE}}/{database} # the test database\n"),
    )
    .unwrap();
    fx.xtask_with(&["db-migrate"], &[]).success().says(&format!("Created database {}", fx.database));
    assert!(fx.table_exists("t").await);
    assert!(!fx.root().join(".xtask/password").exists(), "a DATABASE_URL checkout needs no password of its own");
}

/// `test --drop-leftovers` drops what tests left on the server (a CLI fixture made a template by
/// its migration included, which DROP refuses as it is) and keeps what a running process made.
#[tokio::test]
async fn drop_leftovers_drops_what_finished_tests_left_and_keeps_what_running_ones_use() {
    use sqlx::Executor;
    let fx = Fixture::new("leftovers");
    // Process ids beyond Linux's limit (2^22) belong to no running process.
    let gone = ["xt_leftover_4999999_0", "xt_leftover_4999999_0__xtask_old"];
    let running = format!("xt_leftover_{}_1", std::process::id());
    let mut admin = fx.admin().await;
    for database in gone.iter().copied().chain([running.as_str()]) {
        admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{database}\""))).await.unwrap();
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{database}\""))).await.unwrap();
    }
    admin.execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{}\" IS_TEMPLATE true", gone[0]))).await.unwrap();

    let listed = fx.xtask(&["test", "--leftovers"]).success().stdout;
    assert!(gone.iter().all(|name| listed.contains(name)), "{listed}");
    assert!(!listed.contains(&running), "a running process's database is no leftover:\n{listed}");
    fx.xtask(&["test", "--drop-leftovers"]).success().says(&format!("Dropped {}", gone[0]));
    for database in gone {
        assert!(!fx.database_exists(database).await, "{database} should be dropped");
    }
    assert!(fx.database_exists(&running).await, "{running} belongs to a running process");
    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{running}\""))).await.unwrap();
}

//! `db-status`: every migration's state, and an exit code CI can use.

use crate::support::Fixture;

#[tokio::test]
async fn shows_applied_and_pending_and_succeeds() {
    let fx = Fixture::new("status_ok");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    fx.xtask(&["db-status"]).success().says("does not exist yet").says("20260101000000 create orgs  pending");

    fx.xtask(&["db-migrate"]).success();
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id int);\n");
    let run = fx.xtask(&["db-status"]).success();
    let applied = run.stdout.lines().find(|l| l.starts_with("20260101000000")).unwrap();
    assert!(applied.contains("applied 20") && applied.contains(" UTC (") && applied.ends_with("ms)"), "{applied}");
    run.says("20260102000000 create sites  pending")
        .says(&format!("{}: 1 applied, 1 pending, 0 problem(s)", fx.database));
}

#[tokio::test]
async fn fails_on_changed_missing_and_out_of_order_migrations() {
    let fx = Fixture::new("status_bad");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id int);\n");
    fx.migration(20260103000000, "create_gateways", "CREATE TABLE gateways (id int);\n");
    fx.xtask(&["db-migrate"]).success();

    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint);\n");
    std::fs::remove_file(fx.migrations().join("20260102000000_create_sites.sql")).unwrap();
    fx.migration(20251201000000, "late", "SELECT 1;\n");

    let run = fx.xtask(&["db-status"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    run.says("20251201000000 late             pending, out of order")
        .says("20260101000000 create orgs      changed since applied")
        .says("20260102000000 create sites     applied, file missing")
        .says("20260103000000 create gateways  applied")
        .says("1 applied, 0 pending, 3 problem(s)");
}

/// The output contract: results on stdout, notes on stderr, and a reader that goes away early
/// (`db-status | head -1`) ends the output quietly (issue 12).
#[tokio::test]
async fn a_closed_pipe_ends_the_output_quietly_and_notes_go_to_stderr() {
    let fx = Fixture::new("status_pipe");
    for n in 0..1500u64 {
        fx.migration(20260101000000 + n, &format!("m{n}"), "SELECT 1;\n");
    }
    std::fs::write(fx.migrations().join("README.md"), "notes\n").unwrap();
    fx.xtask(&["db-migrate"]).success();
    let run = fx.xtask(&["db-status"]).success();
    assert!(run.stderr.contains("Skipped 1 entry") && !run.stdout.contains("Skipped"), "a note went to stdout");
    assert!(run.stdout.contains("1500 applied"), "{}", run.stdout);

    let mut child = fx.spawn(&["db-status"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

//! `db-check`: append-only enforced against the git base, with no database.

use std::process::Command;

use crate::support::Fixture;

fn git(fx: &Fixture, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(fx.root())
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A repository whose main branch has two migrations.
fn repository() -> Fixture {
    let fx = Fixture::new("check");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id int);\n");
    git(&fx, &["init", "-q"]);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "base"]);
    fx
}

#[test]
fn a_clean_branch_with_new_migrations_passes() {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260103000000, "create_gateways", "CREATE TABLE gateways (id int);\n");
    fx.xtask_with(&["db-check"], &[]).success().says("3 migration(s), 1 new since main (merge base)");
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "gateways"]);
    fx.xtask_with(&["db-check"], &[]).success();
}

#[test]
fn a_shared_migration_modified_deleted_or_renamed_fails_named() {
    let fx = repository();
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint);\n");
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("modified though main (merge base) already has it")
        .says("db/migrations/20260101000000_create_orgs.sql")
        .says("cargo xtask db-new");
    git(&fx, &["checkout", "-q", "--", "."]);

    std::fs::remove_file(fx.migrations().join("20260102000000_create_sites.sql")).unwrap();
    fx.xtask_with(&["db-check"], &[]).found().says("deleted though").says("20260102000000_create_sites.sql");
    git(&fx, &["checkout", "-q", "--", "."]);

    git(&fx, &["mv", "db/migrations/20260102000000_create_sites.sql", "db/migrations/20260102000000_sites.sql"]);
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("renamed though")
        .says("20260102000000_create_sites.sql → db/migrations/20260102000000_sites.sql")
        .never_says("sorts before");
}

#[test]
fn a_new_migration_older_than_the_bases_newest_fails() {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "late"]);
    fx.migration(20260101120000, "late_arrival", "CREATE TABLE late (id int);\n");
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("sorts before 20260102000000_create_sites.sql")
        .says("db/migrations/20260101120000_late_arrival.sql");
}

#[test]
fn folder_problems_and_empty_new_files_fail_and_odd_names_warn() {
    let fx = repository();
    fx.migration(20260103000000, "todo", "-- nothing yet\n");
    std::fs::write(fx.migrations().join("v3_bad.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(fx.migrations().join("20260104000000_Add-Index.sql"), "SELECT 1;\n").unwrap();
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("holds no SQL statement")
        .says("is not a version number")
        .says("warning: 1 new migration(s) not named YYYYMMDDHHMMSS_snake_name.sql")
        .says("20260104000000_Add-Index.sql");
}

#[test]
fn it_says_when_it_cannot_run() {
    let fx = Fixture::new("check_nogit");
    let run = fx.xtask_with(&["db-check"], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    run.says("is not a git checkout");
    let fx = repository();
    let run = fx.xtask_with(&["db-check", "--base", "no-such-branch"], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    run.says("--base no-such-branch names no commit");
}

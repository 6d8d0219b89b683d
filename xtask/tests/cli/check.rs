//! `db-check`: append-only enforced against the git base, in real git repositories (a database
//! only where the schema files are compared).

use std::path::Path;
use std::process::Command;

use crate::support::Fixture;

pub fn git(fx: &Fixture, args: &[&str]) {
    git_in(fx.root(), args);
}

pub fn git_in(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Commits everything in the working tree.
fn commit(fx: &Fixture, message: &str) {
    git(fx, &["add", "-A"]);
    git(fx, &["commit", "-q", "-m", message]);
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
    fx.xtask_with(&["db-check"], &[]).success().says("3 migration(s), 1 new against main");
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
        .says("modified though main already has it")
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

/// The base moved on after the branch left it: a migration merged there since is newer than the
/// branch's own, which must get a fresh version; the merged one is not "deleted" by the branch.
#[test]
fn a_branch_behind_a_newer_merged_migration_fails_without_bogus_deletions() {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260103000000, "mine", "CREATE TABLE mine (id int);\n");
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "mine"]);
    git(&fx, &["checkout", "-q", "main"]);
    fx.migration(20260104000000, "other", "CREATE TABLE other (id int);\n");
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "other"]);
    git(&fx, &["checkout", "-q", "feature"]);
    for args in [&["db-check"][..], &["db-check", "--base", "main"][..]] {
        fx.xtask_with(args, &[])
            .found()
            .says("sorts before 20260104000000_other.sql")
            .says("db/migrations/20260103000000_mine.sql")
            .never_says("deleted");
    }
}

/// A project in a folder of a larger repository (a monorepo) is checked all the same.
#[test]
fn a_project_in_a_subfolder_of_the_repository_is_checked() {
    let repo = Fixture::new("check_mono");
    let project = repo.root().join("services/fleet");
    std::fs::create_dir_all(project.join("db/migrations")).unwrap();
    std::fs::write(project.join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(project.join("db/migrations/20260101000000_a.sql"), "CREATE TABLE a (id int);\n").unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    std::fs::write(project.join("db/migrations/20260101000000_a.sql"), "CREATE TABLE a (id bigint);\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("db-check")
        .current_dir(&project)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("modified though main already has it") && all.contains("20260101000000_a.sql"), "{all}");
}

/// `chmod +x` changes no checksum: not an edit.
#[test]
fn a_mode_change_is_not_an_edit() {
    let fx = repository();
    let path = fx.migrations().join("20260101000000_create_orgs.sql");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fx.xtask_with(&["db-check"], &[]).success();
}

/// db-check's advice for stale schema files after an edit of the branch's own, applied migration
/// must work: db-migrate refuses that database (changed since applied); db-reset rebuilds it.
#[test]
fn stale_schema_files_after_editing_an_applied_migration_get_advice_that_works() {
    let fx = Fixture::new("check_advice");
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id int);\n");
    fx.xtask(&["db-migrate"]).success();
    git(&fx, &["init", "-q"]);
    commit(&fx, "base");
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id int);\n");
    fx.xtask(&["db-migrate"]).success();
    commit(&fx, "sites");
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id bigint);\n");
    fx.xtask(&["db-check"])
        .found()
        .says("db/schema.sql")
        .says("`cargo xtask db-reset` rewrites it")
        .never_says("`cargo xtask db-migrate` rewrites it");
    fx.xtask(&["db-migrate"]).failure().says("changed since applied");
    fx.xtask(&["db-reset"]).success();
    fx.xtask(&["db-check"]).success();
}

//! `db-check`: append-only enforced against the git base, in real git repositories (a database
//! only where the schema files are compared, or a new migration is traced: `safety.rs`).

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
    // A new migration is traced on a server (safety.rs); a new table blocks nothing.
    fx.xtask(&["db-check"])
        .success()
        .says("3 migration(s), 1 new against main")
        .says("Traced 1 new migration(s) against main: 0 error(s)");
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "gateways"]);
    fx.xtask(&["db-check"]).success();
}

#[test]
fn a_shared_migration_modified_deleted_or_renamed_fails_named() {
    let fx = repository();
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint);\n");
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("modified though main already has it")
        .says("db/migrations/20260101000000_create_orgs.sql")
        .says("cargo xtask db-new")
        .never_says("::error");
    // In GitHub Actions the pull request shows it on the file, and the job's summary says it.
    let summary = fx.root().join("summary.md");
    let summary_path = summary.to_str().unwrap();
    fx.xtask_with(&["db-check"], &[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary_path)])
        .found()
        .says("::error file=db/migrations/20260101000000_create_orgs.sql,title=db-check append-only::modified though");
    let summary = std::fs::read_to_string(&summary).expect("the job summary is written");
    assert!(summary.contains("- `db/migrations/20260101000000_create_orgs.sql`: modified though"), "{summary}");
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
    let todo = fx.xtask_with(&["db-new", "todo"], &[]).success().stdout.trim().to_owned();
    // Comments only, written by hand: sqlx applies it, so db-check lets it be.
    fx.migration(29990101000000, "comments_only", "-- Nothing to do in this release.\n");
    std::fs::write(fx.migrations().join("v3_bad.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(fx.migrations().join("20260104000000_Add-Index.sql"), "SELECT 1;\n").unwrap();
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says(&format!(
            "new, and still only the header `cargo xtask db-new` wrote: write its SQL, or delete it:\n    {todo}"
        ))
        .never_says("comments_only")
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

/// A rebase or a cherry-pick that rewrote a migration main merged since the branch left it: the
/// branch's copy has the same name and other content. Compared by name only, it passed.
#[test]
fn a_branch_whose_copy_of_a_migration_on_the_base_differs_fails() {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260103000000, "gateways", "CREATE TABLE gateways (id int);\n");
    commit(&fx, "gateways, first draft");
    git(&fx, &["checkout", "-q", "main"]);
    fx.migration(20260103000000, "gateways", "CREATE TABLE gateways (id bigint);\n");
    commit(&fx, "gateways, as merged");
    git(&fx, &["checkout", "-q", "feature"]);
    for args in [&["db-check"][..], &["db-check", "--base", "main"][..]] {
        fx.xtask_with(args, &[])
            .found()
            .says("differs from main's copy")
            .says("db/migrations/20260103000000_gateways.sql")
            .never_says("append-only and in order");
    }

    // A cherry-pick of main's commit, then amended: the same.
    git(&fx, &["checkout", "-q", "-b", "picked", "main~1"]);
    git(&fx, &["cherry-pick", "main"]);
    fx.migration(20260103000000, "gateways", "CREATE TABLE gateways (id bigint, name text);\n");
    git(&fx, &["commit", "-q", "-a", "--amend", "-m", "gateways, amended"]);
    fx.xtask_with(&["db-check"], &[]).found().says("differs from main's copy").says("20260103000000_gateways.sql");

    // The same content as main's is not new and not a problem.
    git(&fx, &["checkout", "-q", "-f", "-B", "picked", "main~1"]);
    std::fs::write(fx.root().join("NOTES"), "a commit of the branch's own\n").unwrap();
    commit(&fx, "notes");
    git(&fx, &["cherry-pick", "main"]);
    fx.xtask_with(&["db-check"], &[]).success().says("3 migration(s), 0 new against main");
}

/// main merged a migration with the version the branch's new one has: after the merge, every
/// command refuses the folder (`files share a version`).
#[test]
fn a_new_migration_whose_version_the_base_took_fails() {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260103000000, "c", "CREATE TABLE c (id int);\n");
    commit(&fx, "c");
    git(&fx, &["checkout", "-q", "main"]);
    fx.migration(20260103000000, "d", "CREATE TABLE d (id int);\n");
    commit(&fx, "d");
    git(&fx, &["checkout", "-q", "feature"]);
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("version 20260103000000 is taken on main by 20260103000000_d.sql")
        .says("db/migrations/20260103000000_c.sql")
        .never_says("files share a version");

    // A reversible pair with that version: its .up.sql is the migration that clashes.
    git(&fx, &["checkout", "-q", "-b", "reversible", "main~1"]);
    std::fs::write(fx.migrations().join("20260103000000_c.up.sql"), "CREATE TABLE c (id int);\n").unwrap();
    std::fs::write(fx.migrations().join("20260103000000_c.down.sql"), "DROP TABLE c;\n").unwrap();
    commit(&fx, "c, reversible");
    fx.xtask_with(&["db-check"], &[])
        .found()
        .says("is taken on main by 20260103000000_d.sql")
        .says("db/migrations/20260103000000_c.up.sql")
        .never_says("20260103000000_c.down.sql\n");
}

/// An upstream repository, as a CI checkout sees it: main moved on by several commits after
/// `feature` left it, and `feature` edits a shared migration.
fn upstream() -> Fixture {
    let fx = repository();
    git(&fx, &["checkout", "-q", "-b", "feature"]);
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint);\n");
    commit(&fx, "edit a shared migration");
    git(&fx, &["checkout", "-q", "main"]);
    for n in 3..8 {
        fx.migration(20260100000000 + n * 1000000, &format!("m{n}"), "SELECT 1;\n");
        commit(&fx, &format!("m{n}"));
    }
    fx
}

/// A shallow clone as CI makes it: `branches` of `upstream` fetched with depth 1, HEAD detached
/// at the first.
fn shallow_clone(upstream: &Fixture, test: &str, branches: &[&str]) -> Fixture {
    let clone = Fixture::new(test);
    std::fs::remove_file(clone.root().join("Cargo.toml")).unwrap();
    let url = format!("file://{}", upstream.root().display());
    git(&clone, &["init", "-q"]);
    git(&clone, &["remote", "add", "origin", &url]);
    let refspecs: Vec<String> = branches.iter().map(|b| format!("+refs/heads/{b}:refs/remotes/origin/{b}")).collect();
    let mut fetch = vec!["fetch", "-q", "--depth=1", "origin"];
    fetch.extend(refspecs.iter().map(String::as_str));
    git(&clone, &fetch);
    git(&clone, &["checkout", "-q", "--detach", &format!("origin/{}", branches[0])]);
    clone
}

/// Shallow CI clones: the history is deepened from the remote until the merge base is found, and
/// the check then runs as on a full clone.
#[test]
fn a_shallow_clone_is_deepened_from_its_remote() {
    let up = upstream();
    let clone = shallow_clone(&up, "check_shallow", &["feature", "main"]);
    clone
        .xtask_with(&["db-check"], &[])
        .found()
        .says("shallow")
        .says("modified though origin/main already has it")
        .says("db/migrations/20260101000000_create_orgs.sql");

    // Only the branch fetched, as actions/checkout does: the remote's default branch is fetched.
    let clone = shallow_clone(&up, "check_shallow_alone", &["feature"]);
    clone
        .xtask_with(&["db-check"], &[])
        .found()
        .says("fetching origin's default branch, main")
        .says("modified though origin/main already has it");

    // A clean branch passes.
    git(&up, &["checkout", "-q", "-b", "clean", "main~5"]);
    up.migration(20260109000000, "clean", "CREATE TABLE clean (id int);\n");
    commit(&up, "clean");
    git(&up, &["checkout", "-q", "main"]);
    let clone = shallow_clone(&up, "check_shallow_clean", &["clean", "main"]);
    // Its new migration is traced (safety.rs): on the test server.
    clone.xtask(&["db-check"]).success().says("1 new against origin/main; append-only and in order");
}

/// Without a remote to deepen it from, a shallow clone's missing history is an error that says
/// how to get it.
#[test]
fn a_shallow_clone_without_a_remote_says_how_to_get_the_history() {
    let up = upstream();
    let clone = shallow_clone(&up, "check_shallow_no_remote", &["feature", "main"]);
    git(&clone, &["branch", "main", "origin/main"]);
    git(&clone, &["remote", "remove", "origin"]);
    clone
        .xtask_with(&["db-check"], &[])
        .failure()
        .says("shallow")
        .says("fetch-depth: 0")
        .never_says("command exited with non-zero code");
}

/// On the base itself (main with no remote, or main's tip in CI) there is nothing committed to
/// compare: a committed edit of a migration is not checked, and the output says so rather than
/// passing the append-only rule.
#[test]
fn on_the_base_itself_it_says_nothing_was_compared() {
    let fx = repository();
    fx.migration(20260101000000, "create_orgs", "CREATE TABLE orgs (id bigint);\n");
    commit(&fx, "edit a migration on main");
    fx.xtask_with(&["db-check"], &[])
        .success()
        .says("nothing to compare: HEAD is on main")
        .never_says("append-only and in order");
    fx.xtask_with(&["db-check", "--base", "HEAD"], &[])
        .success()
        .says("nothing to compare: the base is HEAD itself")
        .never_says("append-only and in order");
    // Uncommitted changes are still compared with HEAD.
    fx.migration(20260102000000, "create_sites", "CREATE TABLE sites (id bigint);\n");
    fx.xtask_with(&["db-check"], &[]).found().says("modified though main already has it");
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

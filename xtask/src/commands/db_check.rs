//! `db-check`: append-only enforced where sharing happens, in git, before a push and in CI.
//!
//! The dev database is disposable (`db-reset` rebuilds it from whatever the files say); what
//! must never change is a migration that others already have. "Others have it" means it is on
//! the base this branch will merge into, so the check compares the working tree with that base.
//! That part needs git only. Then, when the migrations pass, it checks that db/schema.sql and
//! db/schema.md are what the migrations produce: that needs a server, to build them in a scratch
//! database (the dev server, started as every command starts it).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::migrations::MigrationFile;
use crate::migrations::folder::{self, Name, Problems};
use crate::output::{self, note, out};
use crate::project::Project;
use crate::schema;
use crate::server::Server;

/// Check db/migrations against the git base: append-only, in order, well named
///
/// Fails (exit 1) when a migration that exists on the base was modified, renamed or deleted, when
/// a new migration sorts before the base's newest one, when a new migration holds no SQL, and when
/// the folder has files sqlx refuses (a version that is not a number, two files with one
/// version). New files that do not follow the project's naming (YYYYMMDDHHMMSS_snake_name.sql,
/// what db-new writes) get a warning. The base is the merge base of HEAD with the upstream main
/// branch (origin/HEAD, origin/main, origin/master, main or master, the first that exists), or
/// --base. Uncommitted and untracked files count: run it before you commit or push.
///
/// Then it fails when db/schema.sql or db/schema.md differs from what the migrations produce:
/// they are built in a scratch database beside the dev database (<name>__xtask_schema, dropped
/// after) on the dev server, which is started if needed, or read from the reset cache when a
/// reset already built the same migrations. A project that has neither file yet is
/// not checked for them.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-check\n  cargo xtask db-check --base origin/release-2.0\n\nExit status: 0 all good, 1 a rule is broken or a schema file is stale, 2 the check could not run."
)]
pub struct Args {
    /// The commit others already have (a branch, tag or commit); default: the merge base with the
    /// upstream main branch
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// What the check compares with: the upstream branch's tip and where this branch left it.
struct Base {
    /// The upstream branch (or `--base`), as named in messages.
    name: String,
    /// Its tip: the newest migration there is the one a new migration must sort after.
    tip: String,
    /// The merge base of HEAD with it: the migrations this branch started from, which it must not
    /// change.
    fork: String,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let inside = cmd!(sh, "git rev-parse --is-inside-work-tree").quiet().ignore_stderr().read();
        if !inside.is_ok_and(|answer| answer == "true") {
            bail!(
                "db-check compares db/migrations with the git history, but {} is not a git checkout",
                project.root.display()
            );
        }
        let base = self.resolve_base(sh)?;
        let dir = "db/migrations";
        let at_fork = migrations_at(sh, &base.fork)?;
        let at_tip = migrations_at(sh, &base.tip)?;
        let newest_at_tip = at_tip.iter().max_by_key(|(_, version)| **version);
        let fork_commit = &base.fork;
        let fork = cmd!(sh, "git rev-parse --short {fork_commit}").quiet().read().unwrap_or_else(|_| base.fork.clone());

        let mut problems = Problems::default();
        let mut rename_targets = Vec::new();
        // Migrations the branch started from, changed since (committed or not). Paths are taken
        // relative to the project, which may be a folder of a larger repository.
        let diff = cmd!(sh, "git diff --name-status --relative -z -M {fork_commit} -- {dir}")
            .quiet()
            .read()
            .context("compare with the base")?;
        let mut fields = diff.split('\0').filter(|f| !f.is_empty());
        while let Some(status) = fields.next() {
            let path = fields.next().unwrap_or_default();
            let renamed_to = if status.starts_with('R') || status.starts_with('C') { fields.next() } else { None };
            let Some(name) = path.strip_prefix("db/migrations/") else { continue };
            if !at_fork.contains_key(name) {
                continue;
            }
            let (what, fix) = match status.chars().next() {
                Some('M' | 'T') if !content_changed(sh, &base.fork, path) => continue,
                Some('M' | 'T') => (
                    "modified",
                    format!(
                        "restore it (`git checkout {fork} -- <file>`) and put the change in a new migration (`cargo xtask db-new <name>`)"
                    ),
                ),
                Some('D') => (
                    "deleted",
                    format!("restore it (`git checkout {fork} -- <file>`); to undo what it did, write a new migration"),
                ),
                Some('R') => {
                    ("renamed", "give it back its name: databases record migrations by version and checksum".to_owned())
                }
                _ => continue,
            };
            let file = match renamed_to {
                Some(to) => {
                    rename_targets.push(to.to_owned());
                    format!("db/migrations/{name} → {to}")
                }
                None => format!("db/migrations/{name}"),
            };
            problems.add(
                format!("{what} though {} already has it (migrations are append-only once shared): {fix}", base.name),
                file,
            );
        }

        // The folder as it is now: what sqlx refuses, and the branch's new files.
        let (files, folder_problems) = folder::scan(&project.migrations_dir(), dir)?;
        problems.merge(folder_problems);
        let mut unconventional = Vec::new();
        let mut new = 0;
        for file in &files {
            let name = file.shown.trim_start_matches("db/migrations/");
            if at_fork.contains_key(name) || at_tip.contains_key(name) || rename_targets.contains(&file.shown) {
                continue;
            }
            new += 1;
            if let Some((newest_name, &newest)) = newest_at_tip
                && file.version() < newest
            {
                problems.add(
                    format!(
                        "new, but sorts before {newest_name}, the newest migration on {}: databases that \
                         already applied that one would apply this one out of order; give it a fresh version \
                         (`cargo xtask db-new <name>`, then move the SQL there)",
                        base.name
                    ),
                    file.shown.clone(),
                );
            }
            if file.is_empty() {
                problems.add(
                    "new, and holds no SQL statement (only comments): write its SQL, or delete it",
                    file.shown.clone(),
                );
            }
            if !follows_convention(name) {
                unconventional.push(file.shown.clone());
            }
        }
        if !unconventional.is_empty() {
            note!(
                "warning: {} new migration(s) not named YYYYMMDDHHMMSS_snake_name.sql, as `cargo xtask db-new <name>` \
                 names them: {}",
                unconventional.len(),
                unconventional.join(", ")
            );
        }
        let migrations_ok = problems.is_empty();
        if migrations_ok {
            out!("{dir}: {} migration(s), {new} new against {}; append-only and in order", files.len(), base.name);
        } else {
            out!("{dir} has {} problem(s) against {}:{}", problems.count(), base.name, problems.render());
        }
        let schema_ok = if !schema_files_kept(sh, project, &base.fork) {
            note!(
                "Note: no {} or {} to compare: `cargo xtask db-migrate` writes them; commit them",
                schema::SQL_FILE,
                schema::DIAGRAM_FILE
            );
            true
        } else if !migrations_ok {
            note!(
                "Note: {} and {} were not compared with the migrations: fix db/migrations first",
                schema::SQL_FILE,
                schema::DIAGRAM_FILE
            );
            true
        } else {
            self.check_schema_files(sh, project, &files).await?
        };
        Ok(output::exit_code(if migrations_ok && schema_ok { output::OK } else { output::FOUND }))
    }

    /// Builds the migrations in a scratch database and compares db/schema.sql and db/schema.md
    /// with what they produce; false when either differs.
    async fn check_schema_files(&self, sh: &Shell, project: &Project, files: &[MigrationFile]) -> Result<bool> {
        let context = || {
            format!(
                "compare {} and {} with what the migrations produce (db-check builds them in a scratch database)",
                schema::SQL_FILE,
                schema::DIAGRAM_FILE
            )
        };
        let server = Server::select(&self.server, sh, project, true).with_context(context)?;
        let mut database = server.up(sh).await.with_context(context)?;
        database.close_dev().await;
        let target = database.target().clone();
        let admin = database.maintenance().await.with_context(context)?;
        let expected = schema::scratch::expected(admin, &target, project, files).await.with_context(context)?;
        let mut problems = Problems::default();
        for (path, content) in schema::render(&expected) {
            match std::fs::read(project.root.join(path)) {
                Ok(current) if current == content.as_bytes() => {}
                Ok(_) => problems.add(
                    "differs from what db/migrations produce: `cargo xtask db-reset` rewrites it, from a dev database \
                     rebuilt from the files (`cargo xtask db-migrate` is enough when the dev database only lacks \
                     migrations, and refuses one whose applied migrations changed); commit the result",
                    path,
                ),
                Err(_) => problems.add(
                    "missing: `cargo xtask db-reset` writes it (or `cargo xtask db-migrate`, when the dev database \
                          only lacks migrations); commit it",
                    path,
                ),
            }
        }
        if problems.is_empty() {
            out!("{} and {}: what the migrations produce", schema::SQL_FILE, schema::DIAGRAM_FILE);
            return Ok(true);
        }
        out!(
            "{} and {} have {} problem(s):{}",
            schema::SQL_FILE,
            schema::DIAGRAM_FILE,
            problems.count(),
            problems.render()
        );
        Ok(false)
    }

    /// The upstream tip and the merge base with it.
    fn resolve_base(&self, sh: &Shell) -> Result<Base> {
        const CANDIDATES: [&str; 5] = ["origin/HEAD", "origin/main", "origin/master", "main", "master"];
        let commit = |name: &str| {
            let spec = format!("{name}^{{commit}}");
            cmd!(sh, "git rev-parse --verify --quiet {spec}")
                .quiet()
                .ignore_stderr()
                .read()
                .ok()
                .filter(|c| !c.is_empty())
        };
        let (name, tip) = match &self.base {
            Some(base) => {
                let tip = commit(base).with_context(|| {
                    format!("--base {base} names no commit here; fetch it, or name a branch, tag or commit")
                })?;
                (base.clone(), tip)
            }
            None => CANDIDATES
                .iter()
                .find_map(|candidate| commit(candidate).map(|tip| (candidate.to_string(), tip)))
                .with_context(|| {
                format!(
                    "no upstream main branch to compare with (tried {}); fetch it, or name the base with --base <REF>",
                    CANDIDATES.join(", ")
                )
            })?,
        };
        if commit("HEAD").is_none() {
            bail!("this repository has no commit yet; commit first, then run db-check");
        }
        let fork = cmd!(sh, "git merge-base HEAD {tip}")
            .quiet()
            .read()
            .with_context(|| format!("find where HEAD left {name} (no common history?)"))?;
        Ok(Base { name, tip, fork })
    }
}

/// True when the checkout keeps the schema files: either is in the working tree, committed, or
/// on the base (so deleting both in a commit is caught). A project that never wrote them is not
/// failed for it (and needs no server for db-check).
fn schema_files_kept(sh: &Shell, project: &Project, base: &str) -> bool {
    let (sql, diagram) = (schema::SQL_FILE, schema::DIAGRAM_FILE);
    if project.root.join(sql).exists() || project.root.join(diagram).exists() {
        return true;
    }
    ["HEAD", base].iter().any(|commit| {
        cmd!(sh, "git ls-tree --name-only {commit} -- {sql} {diagram}")
            .quiet()
            .ignore_stderr()
            .read()
            .is_ok_and(|listed| !listed.trim().is_empty())
    })
}

/// The migrations directly in `db/migrations` at a commit: file name → version.
fn migrations_at(sh: &Shell, commit: &str) -> Result<BTreeMap<String, i64>> {
    let tree_dir = "db/migrations/";
    let listing = cmd!(sh, "git ls-tree --name-only -z {commit} -- {tree_dir}")
        .quiet()
        .read()
        .context("list the base's migrations")?;
    let mut migrations = BTreeMap::new();
    for path in listing.split('\0').filter(|p| !p.is_empty()) {
        let Some(name) = path.strip_prefix(tree_dir) else { continue };
        if let Name::Migration { version, kind, .. } = folder::parse_name(name)
            && kind != sqlx::migrate::MigrationType::ReversibleDown
        {
            migrations.insert(name.to_owned(), version);
        }
    }
    Ok(migrations)
}

/// False when only the file's mode changed (`chmod +x`): its checksum is the same.
fn content_changed(sh: &Shell, commit: &str, path: &str) -> bool {
    let spec = format!("{commit}:./{path}");
    let before = cmd!(sh, "git rev-parse {spec}").quiet().ignore_stderr().read();
    let now = cmd!(sh, "git hash-object -- {path}").quiet().ignore_stderr().read();
    !matches!((before, now), (Ok(before), Ok(now)) if before == now)
}

/// `YYYYMMDDHHMMSS_snake_name.sql`, what `db-new` writes.
fn follows_convention(file_name: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".sql") else { return false };
    let Some((digits, name)) = stem.split_once('_') else { return false };
    digits.len() == 14
        && digits.parse::<i64>().ok().and_then(crate::timestamp::from_version).is_some()
        && folder::check_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_the_projects_naming_convention() {
        assert!(super::follows_convention("20261125150000_create_gateways.sql"));
        for other in ["1_setup.sql", "20240614104159_idx-cache.sql", "20261325150000_x.sql", "20261125150000_X.sql"] {
            assert!(!super::follows_convention(other), "{other}");
        }
    }
}

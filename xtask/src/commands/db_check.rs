//! `db-check`: append-only enforced where sharing happens, in git, before a push and in CI.
//!
//! The dev database is disposable (`db-reset` rebuilds it from whatever the files say); what
//! must never change is a migration that others already have. "Others have it" means it is on
//! the base this branch will merge into, so the check compares the working tree with that base.
//! That part needs git only. Then, when the migrations pass, it checks that db/schema.sql and
//! db/schema.md are what the migrations produce: that needs a server, to build them in a scratch
//! database (the dev server, started as every command starts it).

use std::process::ExitCode;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::append_only::{self, Base};
use crate::cli::ServerArgs;
use crate::github;
use crate::migrations::MigrationFile;
use crate::migrations::folder::{self, Problems};
use crate::output::{self, note, out};
use crate::project::Project;
use crate::safety;
use crate::schema;
use crate::server::{Pull, Server};

const DIR: &str = "db/migrations";

/// Check db/migrations against the git base: append-only, in order, well named
///
/// Fails (exit 1) when a migration the branch started from was modified, renamed or deleted;
/// when a migration merged on the base since has other content here (a rebase or cherry-pick
/// that rewrote it); when a new migration takes a version the base already has, sorts before the
/// base's newest one, or is still only db-new's header; and when the folder has files sqlx refuses (a version that
/// is not a number, two files with one version). Content is compared as git stores it. New files
/// that do not follow the project's naming (YYYYMMDDHHMMSS_snake_name.sql, what db-new writes)
/// get a warning; .down.sql files are not checked (nothing runs them). The base is the upstream
/// main branch (origin/HEAD, origin/main, origin/master, main or master, the first that exists),
/// or --base: its tip, and its merge base with HEAD. In a CI checkout, the remote's default
/// branch is fetched when no upstream branch is here, and a shallow clone is deepened from its
/// remote until HEAD meets the base. Uncommitted and untracked files count: run it before you
/// commit or push. When HEAD is on the base itself and no migration changed, it says there was nothing to
/// compare.
///
/// Then it fails when db/schema.sql or db/schema.md differs from what the migrations produce:
/// they are built in a scratch database beside the dev database (<name>__xtask_schema, dropped
/// after) on the dev server, which is started if needed, or read from the reset cache when a
/// reset already built the same migrations. A project that has neither file yet is
/// not checked for them.
///
/// Then it traces each new migration on the base with its seeds loaded (<name>__xtask_tracebase,
/// kept until the base changes: one transactional migration is rolled back there, several run
/// on a copy), statement by statement as the real run goes, and fails when one would
/// block reads or writes of a table the base has for longer than a catalog update: a rewrite or
/// validating scan under a blocking lock, an index or unique constraint built without
/// CONCURRENTLY, more work after taking ACCESS EXCLUSIVE, a blocking lock without lock_timeout,
/// a foreign key without an index. DROP, RENAME and type changes are warnings. A reviewed
/// exception goes on the line above its statement: -- db-check allow(<rule>): <reason>. See
/// docs/safe-migrations.md.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-check\n  cargo xtask db-check --base origin/release-2.0\n\nExit status: 0 all good, 1 a rule is broken or a schema file is stale, 2 the check could not run."
)]
pub struct Args {
    /// What others already have (a branch, tag or commit), compared where HEAD left it and at its
    /// tip; default: the upstream main branch
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<ExitCode> {
        let base = Base::resolve(sh, self.base.as_deref())?;
        // The folder as it is now (what sqlx refuses), then the append-only rules against the base.
        let (files, folder_problems) = folder::scan(&project.migrations_dir(), DIR)?;
        let outcome = append_only::check(sh, &base, &project.migrations_dir(), &files)?;
        let new_migrations = outcome.new_files(&files);
        let migrations_ok = report_migrations(sh, &base, &files, folder_problems, &outcome, new_migrations.len());

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
        // What the branch's new migrations would lock in production, traced on the base with its
        // seeds; after the schema files, so a migration that does not build is reported there.
        let locks_ok = if migrations_ok {
            let against = safety::Against { name: &base.name, fork: &base.fork };
            safety::check(sh, project, &self.server, &files, &new_migrations, &against).await?
        } else {
            note!("Note: the new migrations were not traced: fix db/migrations first");
            true
        };
        Ok(output::exit_code(if migrations_ok && schema_ok && locks_ok { output::OK } else { output::FOUND }))
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
        let server = Server::select(&self.server, sh, project, Pull::IfMissing).with_context(context)?;
        let mut database = server.up(sh).await.with_context(context)?;
        database.close_dev().await;
        let target = database.target().clone();
        let admin = database.maintenance().await.with_context(context)?;
        let expected = schema::scratch::expected(admin, &target, project, files).await.with_context(context)?;
        // What the files leave out is said, not passed over: they neither write nor compare it.
        if !expected.uncovered.is_empty() {
            out!(
                "{} and {} do not cover {} thing(s) the migrations create, neither written nor compared (see \
                 docs/schema-files.md):\n    {}",
                schema::SQL_FILE,
                schema::DIAGRAM_FILE,
                expected.uncovered.len(),
                expected.uncovered.join("\n    ")
            );
        }
        let mut problems = Problems::default();
        for (path, content) in schema::render(&expected.schema) {
            match std::fs::read(project.root.join(path)) {
                Ok(current) if current == content.as_bytes() => {}
                // Another major spells some definitions otherwise: compared by replaying it here.
                Ok(current)
                    if path == schema::SQL_FILE
                        && schema::is_other_spelling(
                            admin,
                            &target,
                            &String::from_utf8_lossy(&current),
                            &expected.schema,
                            &expected.uncovered,
                        )
                        .await
                        .with_context(context)? =>
                {
                    out!(
                        "{path}: spelled as another PostgreSQL major spells its definitions; replayed on this server \
                         (PostgreSQL {}), it builds exactly the schema the migrations build",
                        schema::server_major(admin).await.with_context(context)?
                    );
                }
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
}

/// Prints what the folder check and the append-only rules found; true when nothing.
fn report_migrations(
    sh: &Shell,
    base: &Base,
    files: &[MigrationFile],
    mut problems: Problems,
    outcome: &append_only::Outcome,
    new_migrations: usize,
) -> bool {
    let fork = append_only::git::short(sh, &base.fork);
    problems.merge(append_only::problems(&outcome.verdict, base, &fork));
    let unconventional = &outcome.verdict.unconventional;
    if !unconventional.is_empty() {
        let names: Vec<String> = unconventional.iter().map(|name| format!("{DIR}/{name}")).collect();
        note!(
            "warning: {} new migration(s) not named YYYYMMDDHHMMSS_snake_name.sql, as `cargo xtask db-new <name>` \
             names them: {}",
            names.len(),
            names.join(", ")
        );
    }
    let (count, name) = (files.len(), &base.name);
    let head_on_base = if name == "HEAD" { "the base is HEAD itself".to_owned() } else { format!("HEAD is on {name}") };
    if !problems.is_empty() {
        out!("{DIR} has {} problem(s) against {name}:{}", problems.count(), problems.render());
        if github::is_actions() {
            report_to_github(sh, &problems, name);
        }
        return false;
    }
    if base.head_is_on_it() && outcome.unchanged_since_fork {
        // Not a pass: HEAD's commits are the base's own, and nothing else changed.
        out!(
            "{DIR}: {count} migration(s); nothing to compare: {head_on_base} ({fork}) and no migration changed since, \
             so the append-only rule checked nothing"
        );
        note!(
            "Note: db-check checks what a branch changes against the commit others have; run it on the branch before \
             it is merged, or name an older base with --base <REF>"
        );
    } else if base.head_is_on_it() {
        out!(
            "{DIR}: {count} migration(s), {new_migrations} new against {name} (uncommitted changes only: \
             {head_on_base}, {fork}, so its commits were not compared); append-only and in order"
        );
    } else {
        out!("{DIR}: {count} migration(s), {new_migrations} new against {name}; append-only and in order");
    }
    true
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

/// In GitHub Actions: an annotation on each file the folder check or the append-only rules
/// refuse (a rename on its new name), and the problems in the job summary. Best effort: the
/// verdict is already printed and decides the exit status.
fn report_to_github(sh: &Shell, problems: &Problems, base: &str) {
    let prefix = github::path_prefix(sh);
    let mut summary = format!("## db-check: {DIR} fails against `{base}`\n\n");
    for (explanation, file) in problems.each() {
        // `db/migrations/x.sql`, `old → new`, or `version: a.sql, b.sql`: the last file named.
        let path = file.split([' ', ',']).rfind(|word| word.ends_with(".sql")).unwrap_or(file);
        let at = github::At { file: &format!("{prefix}{path}"), line_and_column: None };
        out!("{}", github::annotation("error", &at, "db-check append-only", explanation));
        summary += &format!("- `{file}`: {}\n", explanation.replace('|', "\\|"));
    }
    summary += "\nThe schema files and the trace of new migrations were not checked: fix db/migrations first.\n";
    if let Err(err) = github::append_summary(&summary) {
        note!("warning: {err:#}");
    }
}

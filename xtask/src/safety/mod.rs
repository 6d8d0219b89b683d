//! Know before merging what a migration will lock in production: `db-check` traces each
//! migration that is new against the git base, on a copy of the base with its seeds loaded, and
//! fails on what would block the application's reads or writes of a table production already
//! has for longer than a catalog update.
//!
//! The parts, in the order data flows: `scratch.rs` makes the copy (`<db>__xtask_trace`, from
//! the reset cache or a kept build of the base); `trace.rs` runs each new migration there as the
//! real run does, statement by statement, and reads the server's facts after each one
//! (`facts.rs`: locks held, relations rewritten, constraints and indexes added, columns changed,
//! rows scanned); `rules.rs` judges those facts (pure functions); `exceptions.rs` reads the
//! reviewed exceptions written next to a statement; `report.rs` writes the findings for a
//! terminal, for GitHub Actions annotations and for the job's Markdown summary.
//!
//! Nothing here touches the dev database: the copy is the only database a trace changes, and
//! the kept base the only one it builds (see ARCHITECTURE.md, "What touches which database").

pub mod exceptions;
pub mod facts;
pub mod report;
pub mod rules;
pub mod scratch;
pub mod trace;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use sqlx::{Connection, PgConnection};
use xshell::{Shell, cmd};

use crate::cli::ServerArgs;
use crate::elapsed::since;
use crate::github;
use crate::migrations::MigrationFile;
use crate::output::{note, out};
use dbfiles::statements;

use crate::postgres::{Target, admin, connect};
use crate::project::Project;
use crate::seeds::SeedFile;
use crate::server::{Pull, Server};
use report::FileReport;
use rules::{Judged, Severity};

/// The git base db-check compares with.
pub struct Against<'a> {
    /// As named in messages (`origin/main`).
    pub name: &'a str,
    /// Where this branch left the base: its seeds are loaded into the base the trace starts from.
    pub fork: &'a str,
}

/// db-check's call: traces `new`, the migrations of `files` that are new against `base` (in
/// version order, after every other), and prints what it found. True when nothing is an error.
pub async fn check(
    sh: &Shell,
    project: &Project,
    server: &ServerArgs,
    files: &[MigrationFile],
    new: &[&MigrationFile],
    base: &Against<'_>,
) -> Result<bool> {
    if new.is_empty() {
        out!("No new migration to trace against {}", base.name);
        return Ok(true);
    }
    let base_files = before(files, new)?;
    let start = Instant::now();
    let context = || format!("trace the {} new migration(s) on the base with its seeds", new.len());
    let seeds = seeds_at(sh, base.fork).with_context(context)?;
    let server = Server::select(server, sh, project, Pull::IfMissing).with_context(context)?;
    let mut database = server.up(sh).await.with_context(context)?;
    database.close_dev().await;
    let target = database.target().clone();
    let admin = database.maintenance().await.with_context(context)?;
    let (reports, place) = trace_files(admin, &target, base_files, &seeds, new).await.with_context(context)?;

    for report in &reports {
        for finding in &report.findings {
            match finding.severity {
                Severity::Error => out!("{}", report::plain(&report.shown, finding)),
                Severity::Warning => note!("{}", report::plain(&report.shown, finding)),
            }
        }
        for allowed in &report.allowed {
            note!("{}", report::plain_allowed(&report.shown, allowed));
        }
    }
    let (errors, warnings) = (report::count(&reports, Severity::Error), report::count(&reports, Severity::Warning));
    let allowed: usize = reports.iter().map(|r| r.allowed.len()).sum();
    out!(
        "Traced {} new migration(s) against {}: {errors} error(s), {warnings} warning(s), {allowed} allowed ({place}; {})",
        reports.len(),
        base.name,
        since(start)
    );
    if errors > 0 {
        note!(
            "A finding reviewed and accepted is allowed on the line directly above its statement: \
             `-- {} allow(<rule>): <why it is acceptable here>` (docs/safe-migrations.md)",
            exceptions::MARKER
        );
    }
    if github::is_actions() {
        report_to_github(sh, &reports, base.name, &place)?;
    }
    Ok(errors == 0)
}

/// The trace without git: the base (`base_files` with `seeds`) kept or made, each of `new`
/// traced there and judged. One new migration that runs in one transaction is traced in the kept
/// base and rolled back; otherwise on a copy, dropped whatever happens. Also returns where it
/// was traced, for the note that says so.
pub async fn trace_files(
    admin: &mut PgConnection,
    target: &Target,
    base_files: &[MigrationFile],
    seeds: &[SeedFile],
    new: &[&MigrationFile],
) -> Result<(Vec<FileReport>, String)> {
    let base = scratch::base(admin, target, base_files, seeds).await?;
    let in_place = match new {
        [only] => !only.migration.no_tx && statements::transaction_end(only.migration.sql.as_str()).is_none(),
        _ => false,
    };
    let (traced, place) = if in_place {
        admin::open_to_connections(admin, &base.name).await?;
        let traced = trace_in(target, &base.name, new, trace::Ending::RollBack).await;
        // Closed again whatever happened: a base found open is never trusted, but rebuilt.
        let closed = admin::close_to_connections(admin, &base.name).await;
        (
            traced.and_then(|traced| closed.map(|()| traced)),
            format!("in a transaction on {}, rolled back", base.describe()),
        )
    } else {
        let copy = scratch::copy_of(admin, target, &base).await?;
        let traced = trace_in(target, &copy, new, trace::Ending::Commit).await;
        let dropped = scratch::drop(admin, &copy).await;
        (traced.and_then(|traced| dropped.map(|()| traced)), format!("on {copy}, a copy of {}", base.describe()))
    };
    Ok((judge(&traced?), place))
}

async fn trace_in<'a>(
    target: &Target,
    database: &str,
    new: &[&'a MigrationFile],
    ending: trace::Ending,
) -> Result<trace::Trace<'a>> {
    let mut conn =
        connect::connect(&target.with_database(database).with_unflushed_commits().with_servers_lock_timeout()).await?;
    let traced = trace::run(&mut conn, new, ending).await;
    conn.close().await.ok();
    traced
}

/// Every finding of every traced migration, exceptions applied.
fn judge(trace: &trace::Trace) -> Vec<FileReport> {
    trace
        .migrations
        .iter()
        .map(|migration| {
            let sql = migration.file.migration.sql.as_str();
            let judged: Vec<Judged> = migration
                .statements
                .iter()
                .enumerate()
                .map(|(statement, effects)| Judged {
                    statement,
                    location: effects.location.unwrap_or(facts::Location { line: 1, column: 1 }),
                    effects,
                })
                .collect();
            let mut findings: Vec<rules::Finding> = judged.iter().flat_map(rules::judge).collect();
            let keys: Vec<(Judged, &facts::ForeignKey)> = judged
                .iter()
                .flat_map(|j| {
                    j.effects.foreign_keys_added.iter().map(move |key| {
                        (Judged { statement: j.statement, location: j.location, effects: j.effects }, key)
                    })
                })
                .collect();
            findings.extend(rules::foreign_keys_without_index(&keys, &trace.end.indexes, |oid| {
                trace.end.constraints.contains_key(&oid)
            }));
            // The statements were split once already to run them; a file that cannot be split
            // never got this far.
            let statements = statements::split(sql).unwrap_or_default();
            let new_tables_only = |statement: usize| {
                migration.statements.get(statement).is_some_and(|effects| !effects.acts_on_the_base())
            };
            let applied = exceptions::read(sql, &statements).apply(findings, new_tables_only);
            FileReport {
                shown: migration.file.shown.clone(),
                statements: migration.statements.len(),
                no_transaction: migration.file.migration.no_tx,
                elapsed: migration.elapsed,
                findings: applied.findings,
                allowed: applied.allowed,
            }
        })
        .collect()
}

/// The migrations before the new ones: what the base builds. db-check refuses a new migration
/// that sorts before the base's newest, so the new ones are the folder's last.
fn before<'f>(files: &'f [MigrationFile], new: &[&MigrationFile]) -> Result<&'f [MigrationFile]> {
    let is_new = |file: &MigrationFile| new.iter().any(|n| n.shown == file.shown);
    let first_new = files.iter().position(is_new).unwrap_or(files.len());
    let (old, after) = files.split_at(first_new);
    if let Some(misplaced) = after.iter().find(|file| !is_new(file)) {
        bail!(
            "{} is on the base but sorts after a new migration: the trace needs the new migrations last",
            misplaced.shown
        );
    }
    Ok(old)
}

/// The seeds as the base has them: the rows production-like data had before this branch. (The
/// branch's own seeds may already use what its new migrations add.)
fn seeds_at(sh: &Shell, commit: &str) -> Result<Vec<SeedFile>> {
    let dir = "db/seeds/";
    let listing =
        cmd!(sh, "git ls-tree --name-only -z {commit} -- {dir}").quiet().read().context("list the base's seeds")?;
    let mut seeds = Vec::new();
    for path in listing.split('\0').filter(|path| path.ends_with(".sql")) {
        let spec = format!("{commit}:./{path}");
        // Read as bytes: `read()` would trim the file's last newline, and the seeds' text keys the
        // reset cache.
        let output = cmd!(sh, "git cat-file blob {spec}")
            .quiet()
            .output()
            .with_context(|| format!("read {path} at the base"))?;
        let text = String::from_utf8(output.stdout).with_context(|| format!("{path} at the base is not UTF-8"))?;
        let sql = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
        seeds.push(SeedFile { shown: path.to_owned(), sql });
    }
    Ok(seeds)
}

/// In GitHub Actions: an annotation on each finding's file and line, and the summary on the
/// job's page.
fn report_to_github(sh: &Shell, reports: &[FileReport], base: &str, place: &str) -> Result<()> {
    let annotations = report::github_annotations(reports, &github::path_prefix(sh));
    if !annotations.is_empty() {
        out!("{}", annotations.trim_end());
    }
    github::append_summary(&report::markdown(reports, base, place))
}

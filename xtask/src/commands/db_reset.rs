//! `db-reset`: rebuild the dev database from scratch, atomically.
//!
//! The new database is built under a scratch name; only when every migration and seed succeeded
//! is the old one dropped and the new one renamed into its place. Until then the old database is
//! untouched, so a broken migration costs nothing but the error message.

use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::Connection;
use xshell::Shell;

use crate::background::Background;
use crate::cli::ServerArgs;
use crate::migrations::apply::{self, since};
use crate::migrations::{folder, history, lock, plan::Plan};
use crate::postgres::{StatementTimeout, Target, admin, connect};
use crate::project::Project;
use crate::seeds;
use crate::server::{Running, Server, refuse_remote};
use crate::template_cache::TemplateCache;

/// Suffix of the scratch database a reset builds; a leftover one (from a reset that was killed)
/// is removed by the next reset.
const SCRATCH_SUFFIX: &str = "__xtask_reset";

/// Drop the dev database and rebuild it: create, migrate, seed
///
/// The new database is built under a scratch name and swapped in only when every migration and
/// seed succeeded: on failure the previous database stays exactly as it was. Sessions still
/// connected to the dev database are disconnected. The result is cached as a template database
/// keyed by the files' contents and the server's version, so the next reset with unchanged files
/// is a single copy (--no-cache builds from the files). Refuses servers on other machines unless
/// --allow-remote is given.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  cargo xtask db-reset\n  cargo xtask db-reset --no-seed")]
pub struct Args {
    /// Apply the migrations only, without db/seeds
    #[arg(long)]
    no_seed: bool,
    /// Rebuild even though the dev database's history disagrees with db/migrations (e.g. after
    /// switching branches on purpose)
    #[arg(long)]
    ignore_applied: bool,
    /// Build from the files even when a cached copy of the same migrations and seeds exists
    #[arg(long)]
    no_cache: bool,
    /// Allow resetting a database on a server that is not on this machine
    #[arg(long)]
    allow_remote: bool,
    /// Cancel any statement that runs longer than this (e.g. 30s, 5min); the migration or seed
    /// then fails and is rolled back
    #[arg(long, value_name = "DURATION")]
    statement_timeout: Option<StatementTimeout>,
    #[command(flatten)]
    server: ServerArgs,
}

impl Args {
    pub async fn run(self, sh: &Shell, project: &Project) -> Result<()> {
        let start = Instant::now();
        // The files are read while the server comes up; their problems are reported first.
        let (migrations_dir, seeds_dir, no_seed) = (project.migrations_dir(), project.seeds_dir(), self.no_seed);
        let loading = Background::spawn(move || -> Result<_> {
            let files = folder::load(&migrations_dir, "db/migrations")?;
            let seeds = if no_seed { Vec::new() } else { seeds::load(&seeds_dir, "db/seeds")? };
            Ok((files, seeds))
        });
        let running = async {
            let server = Server::select(&self.server, sh, project)?;
            if let Some(target) = server.target_if_known() {
                refuse_remote(target, "db-reset", self.allow_remote)?;
            }
            server.up(sh, "db-reset").await
        }
        .await;
        let (files, seeds) = loading.join()?;
        let Running { target, session } = running?;
        refuse_remote(&target, "db-reset", self.allow_remote)?;
        let database = target.database().to_owned();
        // The dev database's session (when it exists) checks its history now and holds the
        // migration lock at the swap; the maintenance session creates, drops and renames.
        let (mut admin_conn, mut dev_conn) = session.into_maintenance(&target, "db-reset").await?;
        if let Some(conn) = dev_conn.as_mut().filter(|_| !self.ignore_applied) {
            let applied = history::read(conn).await?;
            Plan::new(&files, &applied).refuse_problems(&database)?;
        }

        let scratch = scratch_name(&database);
        for stray in admin::with_prefix(&mut admin_conn, &scratch).await? {
            admin::drop_force(&mut admin_conn, &stray).await?;
            println!("Removed {stray}, left behind by an interrupted reset");
        }
        let cache = match self.no_cache {
            true => None,
            false => {
                let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut admin_conn).await?;
                Some(TemplateCache::new(&database, &version, &files, (!self.no_seed).then_some(&seeds[..])))
            }
        };
        let cached = match &cache {
            Some(cache) if cache.is_fresh(&mut admin_conn).await? => {
                cache.copy_to(&mut admin_conn, &scratch).await.is_ok()
            }
            _ => false,
        };
        if !cached {
            admin::create(&mut admin_conn, &scratch).await?;
            let scratch_target = target.with_database(&scratch).with_statement_timeout(self.statement_timeout.as_ref());
            if let Err(err) = build(&scratch_target, &files, &seeds).await {
                let cleanup = admin::drop_force(&mut admin_conn, &scratch).await;
                let err = err.context(format!("reset of {database} failed; the previous database is unchanged"));
                return Err(match cleanup {
                    Ok(()) => err,
                    Err(cleanup) => {
                        err.context(format!("and the scratch database {scratch} could not be removed: {cleanup:#}"))
                    }
                });
            }
            if let Some(cache) = &cache
                && let Err(err) = cache.save_from(&mut admin_conn, &scratch).await
            {
                // The reset itself worked; only the next one will be slower.
                println!("Note: could not update the reset cache ({err:#})");
            }
        }

        // A db-migrate still running on the dev database finishes first. Then this session
        // leaves on its own: DROP … WITH (FORCE) would end it too, but waits 100 ms for every
        // session it has to terminate.
        if let Some(mut conn) = dev_conn {
            lock::acquire(&mut conn, &target).await?;
            conn.close().await.ok();
        }
        admin::drop_force(&mut admin_conn, &database).await?;
        admin::rename(&mut admin_conn, &scratch, &database)
            .await
            .with_context(|| format!("the new database is complete as {scratch}; run db-reset again"))?;
        println!(
            "Reset {database}: {} migration(s), {} seed file(s){} ({})",
            files.len(),
            seeds.len(),
            if cached { ", copied from the reset cache" } else { "" },
            since(start)
        );
        Ok(())
    }
}

/// Migrates and seeds the scratch database, which only this process can see, so the migrations
/// share transactions (see `migrate_fresh`).
async fn build(scratch: &Target, files: &[folder::MigrationFile], seeds: &[seeds::SeedFile]) -> Result<()> {
    let mut conn = connect::connect(scratch, "db-reset").await?;
    apply::migrate_fresh(&mut conn, scratch, files).await?;
    if !seeds.is_empty() {
        seeds::apply(&mut conn, scratch.database(), seeds).await?;
    }
    Ok(())
}

/// `<database>__xtask_reset`, shortened to fit PostgreSQL's 63-byte identifiers.
fn scratch_name(database: &str) -> String {
    format!("{}{SCRATCH_SUFFIX}", admin::fit_identifier(database, SCRATCH_SUFFIX.len()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scratch_names_fit_postgres_identifiers() {
        assert_eq!(super::scratch_name("fleet_dev"), "fleet_dev__xtask_reset");
        let long = "é".repeat(40);
        assert!(super::scratch_name(&long).len() <= 63);
    }
}

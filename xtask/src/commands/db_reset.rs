//! `db-reset`: rebuild the dev database from scratch, atomically.
//!
//! The new database is built under a scratch name; only when every migration and seed succeeded
//! do two renames in one transaction put it in the old one's place, and the old one aside until
//! the next reset drops it. Until then the old database is untouched, so a broken migration costs
//! nothing but the error message, and no one ever finds the dev database missing.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::PgConnection;
use xshell::Shell;

use crate::background::Background;
use crate::cli::{ServerArgs, TimeoutArgs};
use crate::elapsed::since;
use crate::migrations::apply::{self, Mode, Outcome};
use crate::migrations::plan::{Plan, State};
use crate::migrations::{MigrationFile, folder, history, lock};
use crate::output::{note, out};
use crate::postgres::{Target, admin, beside, connect, named_lock};
use crate::project::Project;
use crate::reset::{self, cache::Label, cache::TemplateCache};
use crate::schema;
use crate::seeds::{self, SeedFile};
use crate::server::{Pull, Remote, Server, refuse_remote};

/// Drop the dev database and rebuild it: create, migrate, seed
///
/// Builds exactly what db-migrate builds on an empty database, from the files as they are: a
/// migration edited since it was applied, or a branch switched, is simply rebuilt (one line says
/// what changed). The new database is built under a scratch name and swapped in only when every migration and
/// seed succeeded: on failure the previous database stays exactly as it was. Sessions still
/// connected to the dev database are disconnected; the replaced database is kept as
/// <name>__xtask_old until the next reset. The result is cached as a template database
/// keyed by the files' contents and the server's version, so the next reset with unchanged files
/// is a single copy when copying was measured faster than building (--no-cache builds from the
/// files, and drops the cache). Refuses servers on other machines unless
/// --allow-remote is given.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  cargo xtask db-reset                 # after editing a migration, or switching branches\n  cargo xtask db-reset --no-seed\n  cargo xtask db-reset --no-cache      # build from the files even if unchanged\n  cargo xtask db-reset --cache always  # copy the cached build whenever there is one\n  cargo xtask db-reset --statement-timeout 30s"
)]
pub struct Args {
    /// Apply the migrations only, without db/seeds
    #[arg(long)]
    no_seed: bool,
    /// Build from the files even when a cached copy of the same migrations and seeds exists, and
    /// drop that copy
    #[arg(long)]
    no_cache: bool,
    /// When a cached copy of the same migrations and seeds exists, whether to copy it: for a small
    /// schema, building from the files is faster than a copy of the whole database
    #[arg(long, value_enum, default_value_t = CopyWhen::Faster, value_name = "WHEN", conflicts_with = "no_cache")]
    cache: CopyWhen,
    /// Allow resetting a database on a server that is not on this machine
    #[arg(long)]
    allow_remote: bool,
    #[command(flatten)]
    timeout: TimeoutArgs,
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
        let remote = if self.allow_remote { Remote::Allowed } else { Remote::Refused };
        let database = async {
            let server = Server::select(&self.server, sh, project, Pull::IfMissing)?;
            if let Some(target) = server.target_if_known() {
                refuse_remote(target, "db-reset", remote)?;
            }
            server.up(sh).await
        }
        .await;
        let (files, seeds) = loading.join()?;
        let mut db = database?;
        refuse_remote(db.target(), "db-reset", remote)?;
        let database = db.name().to_owned();
        admin::refuse_system_database(&database, "db-reset")?;
        // The maintenance session connects while the dev database's history is read.
        let mut applied = db.open_maintenance_alongside(async |dev| history::read(dev).await).await?;

        // One reset at a time: a second one waits here. Another reset's swap ends every session
        // in the dev database, this one's included, whether it ran while this one waited or just
        // before this one asked: the dev session is then opened anew (and the history read
        // again), else checked to be alive, which proves no swap happened since it was read.
        if !named_lock::try_acquire(db.maintenance().await?, &database).await? {
            db.close_dev().await;
            named_lock::acquire(db.maintenance().await?, &database).await?;
        }
        if !db.dev_session_is_alive().await {
            applied = if db.reopen_dev().await? { history::of(&mut db).await? } else { None };
        }
        // The files are checked before anything is created. The dev database is disposable:
        // where its history disagrees with them (a migration edited before it was shared, a
        // branch switched), the reset rebuilds from the files and says what it replaces.
        Plan::new(&files, &[]).refuse_problems(&database)?;
        if let Some(applied) = &applied {
            report_replaced(&Plan::new(&files, applied), &database);
        }

        crate::output::on_interrupt(format!(
            "db-reset stopped before its swap, so {database} is exactly as it was{}; the next db-reset removes \
             the unfinished copy ({})",
            if applied.is_some() { "" } else { " (not created)" },
            beside::scratch(&database)
        ));
        let cache = match self.no_cache {
            true => Caching::Off,
            false => Caching::On { seeds: (!self.no_seed).then_some(&seeds[..]), copy: self.cache },
        };
        let Scratch { name: scratch, cache, copied } =
            make_scratch(db.maintenance().await?, &database, &files, cache).await?;
        let cached = copied.is_some();

        // While the scratch database is built, the dev database's session takes the migration
        // lock (a db-migrate still running there finishes first), and the maintenance session
        // writes out the pages the template copy left dirty: PostgreSQL's DROP DATABASE, which
        // the next reset runs on this one's previous copy, waits for a checkpoint that would
        // otherwise write them then. (Only a superuser or a pg_checkpoint member may
        // checkpoint; for anyone else it is skipped.)
        let scratch_target = db
            .target()
            .with_database(&scratch)
            .with_statement_timeout(self.timeout.statement_timeout.as_ref())
            .with_unflushed_commits();
        let (admin_conn, dev_conn) = db.maintenance_and_dev().await?;
        let locked = async {
            match dev_conn {
                Some(conn) => lock::acquire(conn, &database).await,
                None => Ok(()),
            }
        };
        // Commits on the scratch database need not wait for the disk: the swap's own commit,
        // which waits, makes everything before it durable.
        let caching = cache.is_some();
        let built = async {
            if let Some(label) = &copied {
                return Ok(Built { digest: label.digest.clone(), dated: None, took: Duration::ZERO, left_by: None });
            }
            let (built, _) =
                tokio::join!(build(&scratch_target, &files, &seeds, caching), admin::checkpoint(&mut *admin_conn));
            built
        };
        let (locked, built) = tokio::join!(locked, built);
        let Built { digest, dated, took, left_by } = match built.and_then(|built| locked.map(|()| built)) {
            Ok(built) => built,
            Err(err) => {
                let cleanup = admin::drop_force(admin_conn, &scratch).await;
                let err = err.context(match applied {
                    Some(_) => format!("reset of {database} failed; the previous database is unchanged"),
                    None => format!("reset of {database} failed; nothing was created"),
                });
                return Err(match cleanup {
                    Ok(()) => err,
                    Err(cleanup) => {
                        err.context(format!("and the scratch database {scratch} could not be removed: {cleanup:#}"))
                    }
                });
            }
        };
        if let Some(cache) = cache.filter(|_| !cached) {
            let saved = match (&dated, &digest) {
                (Some(object), _) => {
                    note!(
                        "Note: not cached: the schema names the date ({object}), so a copy would be wrong on another \
                         day; every reset builds from the files"
                    );
                    Ok(true)
                }
                (None, Some(digest)) => cache.save_from(db.maintenance().await?, &scratch, took, digest).await,
                (None, None) => Ok(true),
            };
            match saved {
                Ok(true) => {}
                Ok(false) => note!(
                    "Note: not cached: the migrations change the database itself (owner, comment, grants, template flag or \
                     connection limit), which a copy would lose; every reset builds from the files"
                ),
                // The reset itself worked; only the next one will be slower.
                Err(err) => note!("Note: could not update the reset cache ({})", crate::output::describe_error(&err)),
            }
        }

        // The swap: the dev database's session leaves (releasing the lock), every other session
        // there is ended, and one transaction renames the old database to its previous-copy name
        // and the new one into place.
        db.close_dev().await;
        crate::output::on_interrupt(format!(
            "db-reset stopped during its swap, which is one transaction: {database} is either the previous \
             database or the new one, whole either way (`cargo xtask db-status` shows which); run db-reset again \
             to be sure"
        ));
        reset::swap::swap(db.maintenance().await?, &database, &scratch, &beside::previous(&database))
            .await
            .with_context(|| format!("the new database is complete as {scratch}; run db-reset again"))?;
        out!(
            "Reset {database}: {} migration(s), {} seed file(s){} ({})",
            files.len(),
            seeds.len(),
            if cached { ", copied from the reset cache" } else { "" },
            since(start)
        );
        crate::output::on_interrupt(format!(
            "db-reset had put the new {database} in place; db/schema.sql and db/schema.md may not be refreshed \
             yet: `cargo xtask db-migrate` refreshes them"
        ));
        // The new database is what the files produce: remembered as such (drift's fast path, and
        // what lets the next db-migrate write the schema files from it), and the files refreshed.
        if !cached {
            schema::session_left::replace(project, left_by);
        }
        if let Some(digest) = &digest {
            schema::remember_known_good(db.maintenance().await?, project, &files, digest).await;
        }
        schema::refresh(&mut db, project, &files, schema::Provenance::FromTheFiles).await?;
        Ok(())
    }
}

/// One line for each applied migration of the old dev database that the files no longer match.
fn report_replaced(plan: &Plan, database: &str) {
    for entry in plan.problems() {
        let what = match (entry.state, entry.file) {
            (State::Changed, Some(file)) => format!("{} changed since it was applied", file.shown),
            (State::Missing, _) => {
                format!("{} ({}) was applied but its file is gone", entry.version, entry.description)
            }
            (State::OutOfOrder, Some(file)) => format!("{} is older than migrations applied after it", file.shown),
            (State::Failed, _) => format!("{} ({}) had failed part-way", entry.version, entry.description),
            _ => continue,
        };
        note!("Rebuilding {database} from the files: {what}");
    }
}

/// The scratch database, created empty or copied from the reset cache.
struct Scratch {
    name: String,
    /// Where this reset's result is cached (`None` with --no-cache, or when a fresh template
    /// stays as it is because building was faster than copying it).
    cache: Option<TemplateCache>,
    /// The label of the template the scratch database was copied from, with nothing left to
    /// build; `None` when it is to be built from the files.
    copied: Option<Label>,
}

/// Whether a reset may use (and refresh) the template cache.
enum Caching<'a> {
    /// `--no-cache`: build from the files, and drop this dev database's templates, so nothing
    /// compares with a build older than this one.
    Off,
    /// The template of the migrations and of these seeds (`None`: `--no-seed`), copied `copy`.
    On { seeds: Option<&'a [SeedFile]>, copy: CopyWhen },
}

/// When a reset copies a fresh template rather than building from the files.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CopyWhen {
    /// When copying it took less time than building it did (both are measured when it is saved)
    #[value(name = "when-faster")]
    Faster,
    /// Whenever a fresh copy exists
    Always,
}

/// Creates the scratch database: drops the previous reset's copy of the dev database and any
/// scratch database an interrupted reset left behind (no other reset is running: this one holds
/// the reset lock), then copies the cached template when it is fresh, else creates an empty
/// database.
async fn make_scratch(
    admin: &mut PgConnection,
    database: &str,
    files: &[MigrationFile],
    cache: Caching<'_>,
) -> Result<Scratch> {
    let name = beside::scratch(database);
    admin::drop_force(admin, &beside::previous(database)).await?;
    if admin::exists(admin, &name).await? {
        admin::drop_force(admin, &name).await?;
        note!("Removed {name}, left behind by an interrupted reset");
    }
    let (cache, copy) = match cache {
        Caching::On { seeds, copy } => {
            let version: String =
                sqlx::query_scalar(dbfiles::template::SERVER_VERSION_QUERY).fetch_one(&mut *admin).await?;
            (Some(TemplateCache::new(database, &version, files, seeds)), copy)
        }
        Caching::Off => {
            let dropped = admin::drop_all_with_prefix(admin, &beside::template_prefix(database)).await?;
            if !dropped.is_empty() {
                note!("Dropped the reset cache ({}): --no-cache builds from the files", dropped.join(", "));
            }
            (None, CopyWhen::Always)
        }
    };
    if let Some(template) = &cache
        && let Some(label) = template.fresh(admin).await?
    {
        // A build that is faster than the copy builds, and leaves the fresh template as it is
        // (db-status and db-check read their schema from it).
        if copy == CopyWhen::Faster && !label.copy_is_faster() {
            admin::create(admin, &name).await?;
            return Ok(Scratch { name, cache: None, copied: None });
        }
        // A template that cannot be copied just now (a session in it) means building instead.
        if template.copy_to(admin, &name).await.is_ok() {
            return Ok(Scratch { name, cache, copied: Some(label) });
        }
    }
    admin::create(admin, &name).await?;
    Ok(Scratch { name, cache, copied: None })
}

/// What a build of the scratch database found out on the way.
struct Built {
    /// The digest of its schema (`schema::digest`), when it was taken: the seeds' check takes it,
    /// and so does a build that is to be cached.
    digest: Option<String>,
    /// An object whose name or definition holds the date (see `cache::names_the_date`).
    dated: Option<String>,
    /// How long the migrations and seeds took, for the cache's label.
    took: Duration,
    /// The newest migration, when the run left session state set (`schema::session_left`);
    /// A copy of the cache leaves the record as the build it copies left it.
    left_by: Option<i64>,
}

/// Builds the scratch database exactly as `db-migrate` builds an empty database, on one session,
/// then runs the seeds on that session (refused when they change the schema). When the result is
/// to be cached, also takes its schema's digest and looks for the date in it.
async fn build(scratch: &Target, files: &[MigrationFile], seeds: &[SeedFile], caching: bool) -> Result<Built> {
    let mut conn = connect::connect(scratch).await?;
    let start = Instant::now();
    let outcome =
        apply::migrate(&mut conn, scratch.database(), files, None, Mode::Apply, super::db_migrate::report_applied)
            .await?;
    let left_by = match &outcome {
        Outcome::Applied { session_left } if !session_left.is_empty() => files.last().map(MigrationFile::version),
        _ => None,
    };
    super::db_migrate::report(scratch.database(), outcome);
    let mut digest = None;
    if !seeds.is_empty() {
        digest = Some(seeds::apply(&mut conn, scratch.database(), seeds).await?);
    }
    let took = start.elapsed();
    let mut dated = None;
    if caching {
        if digest.is_none() {
            digest = Some(schema::digest::of(&mut conn).await?);
        }
        dated = reset::cache::names_the_date(&mut conn).await?;
    }
    Ok(Built { digest, dated, took, left_by })
}

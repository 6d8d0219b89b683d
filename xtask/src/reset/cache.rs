//! The reset cache: a template database built from the migrations and seeds, so the next reset
//! is one `CREATE DATABASE … TEMPLATE` instead of running every file again.
//!
//! The template's name carries a hash of everything that shapes the result: every migration's
//! version and checksum, every seed's name and text, whether seeds were applied, and the server's
//! version. Any change to any file gives another name, so a stale template is never used; it is
//! simply not found, and the reset builds and caches a new one (removing the old).
//!
//! What the files cannot say is when they were run. A template is used only on the UTC day it
//! was built, and for an hour at most: seeds that compute timestamps from `now()` stay recent, and
//! a history that names objects after `CURRENT_DATE` (daily partitions) gets today's, as
//! `db-migrate` and sqlx-cli do (their sessions, and ours, run in UTC). A build whose schema names
//! the date itself (today's, or the day before or after, as `YYYYMMDD`, `YYYY_MM_DD` or
//! `YYYY-MM-DD`, whatever time zone a migration sets) is not cached at all.
//!
//! The template is closed to connections (`ALLOW_CONNECTIONS false`): nobody edits it by hand (a
//! GUI lists every database), since every cached reset would copy the edit and `db-status` would
//! compare with it. One found open is not used, and is built anew. `db-status` and `db-check`
//! open it for the moment they read its schema, holding the reset lock, so no reset sees it open.
//! `--no-cache` drops it, so nothing read after a reset from the files can be an older build.
//!
//! `CREATE DATABASE … TEMPLATE` copies what is inside a database, not what is attached to it:
//! per-database settings (`ALTER DATABASE … SET`) are copied here by hand, both ways. A database
//! whose migrations changed anything else about the database itself (owner, comment, grants,
//! connection limit) is not cached, since a copy would lose it.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use dbfiles::template;

use crate::migrations::MigrationFile;
use crate::output::note;
use crate::postgres::admin::{self, quote_ident};
use crate::postgres::beside;
use crate::seeds::SeedFile;
use crate::timestamp;

/// The test databases' templates (`testdb`) follow the same age rule.
const MAX_AGE_SECS: i64 = template::MAX_AGE_SECS;
const DAY_SECS: i64 = 86_400;
/// The template's comment: `cargo xtask reset cache, built <unix time>, build <µs>us, copy
/// <µs>us, schema <digest>`.
const LABEL: &str = "cargo xtask reset cache, built ";

/// What a finished template's label says.
pub struct Label {
    /// When it was built (seconds since the epoch, the xtask's clock).
    built: i64,
    /// What it cost, when the label says (labels before the costs were kept say nothing).
    costs: Option<Costs>,
    /// The digest of its schema (`schema::digest`), taken when it was built.
    pub digest: Option<String>,
}

/// What the build a template was saved from took, and what saving it (one `CREATE DATABASE …
/// TEMPLATE`, what a cached reset runs) took, on this server: the cache is used only when a copy
/// is the faster of the two. For a small schema it is not: PostgreSQL copies every file of the
/// database, its catalog included (~8 MB), and a handful of migrations build in less time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    pub build_micros: u64,
    pub copy_micros: u64,
}

impl Costs {
    pub fn new(build: std::time::Duration, copy: std::time::Duration) -> Costs {
        let micros = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Costs { build_micros: micros(build), copy_micros: micros(copy) }
    }
}

impl Label {
    fn parse(comment: &str) -> Option<Label> {
        let rest = comment.strip_prefix(LABEL)?;
        let (head, digest) = match rest.split_once(", schema ") {
            Some((head, digest)) => (head, Some(digest.to_owned())),
            None => (rest, None),
        };
        let mut parts = head.split(", ");
        let built = parts.next()?.parse().ok()?;
        let micros = |part: Option<&str>, name: &str| -> Option<u64> {
            part?.strip_prefix(name)?.strip_suffix("us")?.parse().ok()
        };
        let costs = match (micros(parts.next(), "build "), micros(parts.next(), "copy ")) {
            (Some(build_micros), Some(copy_micros)) => Some(Costs { build_micros, copy_micros }),
            _ => None,
        };
        Some(Label { built, costs, digest })
    }

    fn render(built: i64, costs: Costs, digest: &str) -> String {
        format!("{LABEL}{built}, build {}us, copy {}us, schema {digest}", costs.build_micros, costs.copy_micros)
    }

    /// True when copying the template is faster than the build it was saved from, as measured
    /// then; true too when the label does not say (a template kept before the costs were).
    pub fn copy_is_faster(&self) -> bool {
        self.costs.is_none_or(|costs| costs.copy_micros < costs.build_micros)
    }
}

/// True when a template built at `built` may stand for a build made `now`: on the same UTC day,
/// and less than an hour ago.
fn is_recent(built: i64, now: i64) -> bool {
    (0..MAX_AGE_SECS).contains(&(now - built)) && built.div_euclid(DAY_SECS) == now.div_euclid(DAY_SECS)
}

pub struct TemplateCache {
    pub name: String,
    prefix: String,
}

impl TemplateCache {
    pub fn new(
        database: &str,
        server_version: &str,
        files: &[MigrationFile],
        seeds: Option<&[SeedFile]>,
    ) -> TemplateCache {
        // The key the test databases' templates use too (`dbfiles::template`).
        let key = template::key(database, server_version, files.iter().map(|f| &f.migration), seeds);
        let prefix = beside::template_prefix(database);
        TemplateCache { name: format!("{prefix}{key:016x}"), prefix }
    }

    /// The template's label when it exists, is closed to connections and was built today, so its
    /// schema is what the files produce; `None` otherwise. One found open to connections is said
    /// so once: someone may have changed it by hand, and it is not used.
    pub async fn built_today(&self, admin: &mut PgConnection) -> Result<Option<Label>> {
        let found: Option<(Option<String>, bool)> = sqlx::query_as(
            "SELECT shobj_description(oid, 'pg_database'), datallowconn FROM pg_database WHERE datname = $1",
        )
        .bind(&self.name)
        .fetch_optional(admin)
        .await
        .context("look up the reset cache")?;
        let Some((comment, open)) = found else { return Ok(None) };
        if open {
            note!(
                "Note: the reset cache {} accepts connections, so it may have been changed by hand; it is not used \
                 (a reset builds it anew from the files)",
                self.name
            );
            return Ok(None);
        }
        let now = timestamp::now();
        Ok(comment
            .as_deref()
            .and_then(Label::parse)
            .filter(|label| label.built.div_euclid(DAY_SECS) == now.div_euclid(DAY_SECS) && label.built <= now))
    }

    /// The label of a template fresh enough to copy (see `is_recent`), when there is one.
    pub async fn fresh(&self, admin: &mut PgConnection) -> Result<Option<Label>> {
        let now = timestamp::now();
        Ok(self.built_today(admin).await?.filter(|label| is_recent(label.built, now)))
    }

    /// Opens the template to connections, for a read of its schema (under the reset lock).
    pub async fn open_to_connections(&self, admin: &mut PgConnection) -> Result<()> {
        admin::open_to_connections(admin, &self.name).await.context("open the reset cache")
    }

    /// Closes the template again: a template open to connections is never used.
    pub async fn close_to_connections(&self, admin: &mut PgConnection) -> Result<()> {
        admin::close_to_connections(admin, &self.name).await.context("close the reset cache")
    }

    /// Creates `database` as a copy of the template, settings included. On failure nothing is
    /// left behind.
    pub async fn copy_to(&self, admin: &mut PgConnection, database: &str) -> Result<()> {
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {} STRATEGY = FILE_COPY",
            quote_ident(database),
            quote_ident(&self.name)
        );
        admin
            .execute(AssertSqlSafe(sql))
            .await
            .with_context(|| format!("create {database} from the cached template"))?;
        if let Err(err) = copy_settings(admin, &self.name, database).await {
            admin::drop_force(admin, database).await.ok();
            return Err(err);
        }
        Ok(())
    }

    /// Makes the template a copy of `database` (which no session may be using), replacing any
    /// older template of this dev database, closed to connections and labelled with the time,
    /// what `database`'s build took (`build`) and what the copy took, and `digest`, its schema's
    /// digest. Returns false, saving nothing, when the database carries what a copy would lose.
    pub async fn save_from(
        &self,
        admin: &mut PgConnection,
        database: &str,
        build: std::time::Duration,
        digest: &str,
    ) -> Result<bool> {
        admin::drop_all_with_prefix(admin, &self.prefix).await?;
        if !is_plain(admin, database).await? {
            return Ok(false);
        }
        // A copy of the same database, as a cached reset's (`copy_to`): its time is what one costs.
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&self.name), quote_ident(database));
        let start = std::time::Instant::now();
        admin.execute(AssertSqlSafe(sql)).await.context("save the reset cache")?;
        let costs = Costs::new(build, start.elapsed());
        // Closed, then labelled: a template without the label, or open, is never used.
        let labelled = async {
            copy_settings(admin, database, &self.name).await?;
            self.close_to_connections(admin).await?;
            let comment = Label::render(timestamp::now(), costs, digest);
            let sql = format!("COMMENT ON DATABASE {} IS '{}'", quote_ident(&self.name), comment.replace('\'', "''"));
            admin.execute(AssertSqlSafe(sql)).await.context("label the reset cache")?;
            anyhow::Ok(())
        };
        if let Err(err) = labelled.await {
            admin::drop_force(admin, &self.name).await.ok();
            return Err(err);
        }
        Ok(true)
    }
}

/// An object of the database `conn` is in whose name or definition holds the date (today's in
/// UTC, or the day before or after, for a migration that set its own time zone), as
/// `YYYYMMDD`, `YYYY_MM_DD` or `YYYY-MM-DD`: the result of that build depends on the day it ran,
/// so it is not cached. `None` when there is none.
pub async fn names_the_date(conn: &mut PgConnection) -> Result<Option<String>> {
    sqlx::query_scalar(
        "WITH days AS (SELECT (now() AT TIME ZONE 'UTC')::date + d AS day FROM generate_series(-1, 1) d), \
         forms AS (SELECT unnest(ARRAY[to_char(day, 'YYYYMMDD'), to_char(day, 'YYYY_MM_DD'), \
                                       to_char(day, 'YYYY-MM-DD')]) AS form FROM days), \
         user_ns AS (SELECT oid, nspname FROM pg_namespace n WHERE nspname NOT IN \
             ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg\\_%'), \
         texts AS ( \
           SELECT format('schema %s', nspname) AS what FROM user_ns \
           UNION ALL SELECT format('%s %s.%s %s', CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'relation' END, \
               n.nspname, c.relname, concat(pg_get_expr(c.relpartbound, c.oid), \
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)) \
             FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace \
           UNION ALL SELECT format('constraint %s.%s %s', n.nspname, co.conname, pg_get_constraintdef(co.oid)) \
             FROM pg_constraint co JOIN user_ns n ON n.oid = co.connamespace \
           UNION ALL SELECT format('type %s.%s', n.nspname, t.typname) \
             FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace \
           UNION ALL SELECT format('function %s.%s', n.nspname, p.proname) \
             FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace \
           UNION ALL SELECT format('trigger %s', t.tgname) FROM pg_trigger t WHERE NOT t.tgisinternal \
           UNION ALL SELECT format('default of %s.%s %s', d.adrelid::regclass, a.attname, pg_get_expr(d.adbin, d.adrelid)) \
             FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum \
             JOIN pg_class c ON c.oid = d.adrelid JOIN user_ns n ON n.oid = c.relnamespace) \
         SELECT what FROM texts WHERE EXISTS (SELECT FROM forms WHERE strpos(what, form) > 0) ORDER BY what LIMIT 1",
    )
    .fetch_optional(conn)
    .await
    .context("look for the date in the schema")
}
/// True when nothing is attached to the database but its settings: the owner is this user, and
/// it has no comment, no grants, no connection limit and is no template (the migrations did not
/// change them).
async fn is_plain(admin: &mut PgConnection, database: &str) -> Result<bool> {
    sqlx::query_scalar(
        "SELECT datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND datacl IS NULL \
                AND datconnlimit = -1 AND shobj_description(oid, 'pg_database') IS NULL \
                AND NOT datistemplate AND datallowconn \
         FROM pg_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_one(admin)
    .await
    .with_context(|| format!("look at database {database} before caching it"))
}

/// Copies every per-database setting of `from` (`ALTER DATABASE … SET`, and `ALTER ROLE … IN
/// DATABASE … SET`) to `to`, spelled exactly as stored, the way pg_dump writes them: one literal
/// for the value, or one per element for the list settings the server stores quoted.
pub async fn copy_settings(admin: &mut PgConnection, from: &str, to: &str) -> Result<()> {
    let settings: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT r.rolname::text, unnest(s.setconfig) \
         FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
         LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = $1",
    )
    .bind(from)
    .fetch_all(&mut *admin)
    .await
    .with_context(|| format!("read the settings of database {from}"))?;
    if settings.is_empty() {
        return Ok(());
    }
    let mut tx = admin.begin().await?;
    for (role, setting) in &settings {
        let Some((name, value)) = setting.split_once('=') else { continue };
        let sql =
            format!("{} SET {} TO {}", target(role.as_deref(), to), quote_ident(name), setting_value(name, value));
        tx.execute(AssertSqlSafe(sql))
            .await
            .with_context(|| format!("copy the setting {name} of database {from} to {to}"))?;
    }
    tx.commit().await.with_context(|| format!("copy the settings of database {from} to {to}"))?;
    Ok(())
}

fn target(role: Option<&str>, database: &str) -> String {
    match role {
        Some(role) => format!("ALTER ROLE {} IN DATABASE {}", quote_ident(role), quote_ident(database)),
        None => format!("ALTER DATABASE {}", quote_ident(database)),
    }
}

/// The settings whose stored value is a list of quoted elements (PostgreSQL's GUC_LIST_QUOTE).
const LIST_SETTINGS: [&str; 6] = [
    "local_preload_libraries",
    "search_path",
    "session_preload_libraries",
    "shared_preload_libraries",
    "temp_tablespaces",
    "unix_socket_directories",
];

/// The value as SQL literals that the server stores back exactly as `value`.
fn setting_value(name: &str, value: &str) -> String {
    let literal = |text: &str| format!("'{}'", text.replace('\'', "''"));
    if !LIST_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
        return literal(value);
    }
    // `app, "my schema", public`: split on commas outside double quotes, unquote each.
    let mut elements = Vec::new();
    let (mut current, mut quoted, mut chars) = (String::new(), false, value.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => elements.push(std::mem::take(&mut current)),
            c if c.is_whitespace() && !quoted => {}
            c => current.push(c),
        }
    }
    elements.push(current);
    elements.iter().map(|e| literal(e)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_template_stands_for_a_build_of_the_same_utc_day_within_the_hour() {
        let noon = 20_000 * super::DAY_SECS + 12 * 3600;
        assert!(super::is_recent(noon, noon + 59 * 60));
        assert!(!super::is_recent(noon, noon + 3600), "an hour old");
        assert!(!super::is_recent(noon, noon - 10), "built in the future (a clock moved back)");
        let before_midnight = 20_001 * super::DAY_SECS - 60;
        assert!(!super::is_recent(before_midnight, before_midnight + 120), "built yesterday, a minute before midnight");
        let label = super::Label::parse("cargo xtask reset cache, built 1790000000, schema 0abc").unwrap();
        assert_eq!((label.built, label.digest.as_deref()), (1_790_000_000, Some("0abc")));
        assert!(label.copy_is_faster(), "a label without costs keeps the cache in use");
        assert!(super::Label::parse("cargo xtask reset cache, built 1790000000").unwrap().digest.is_none());
        assert!(super::Label::parse("something else").is_none());
    }

    #[test]
    fn a_template_is_copied_only_when_that_was_faster_than_its_build() {
        let costs = super::Costs { build_micros: 20_000, copy_micros: 90_000 };
        let rendered = super::Label::render(1_790_000_000, costs, "0abc");
        let label = super::Label::parse(&rendered).unwrap();
        assert_eq!((label.built, label.costs, label.digest.as_deref()), (1_790_000_000, Some(costs), Some("0abc")));
        assert!(!label.copy_is_faster(), "four migrations build in less time than a copy takes");
        let slow = super::Costs { build_micros: 2_000_000, copy_micros: 90_000 };
        assert!(super::Label::parse(&super::Label::render(1, slow, "0abc")).unwrap().copy_is_faster());
    }

    #[test]
    fn writes_settings_back_as_stored() {
        assert_eq!(super::setting_value("statement_timeout", "60000"), "'60000'");
        assert_eq!(super::setting_value("DateStyle", "iso, dmy"), "'iso, dmy'");
        assert_eq!(
            super::setting_value("search_path", "app, \"my \"\"x\"\" schema\", public"),
            "'app', 'my \"x\" schema', 'public'"
        );
        assert_eq!(super::setting_value("app.note", "it's"), "'it''s'");
    }
}

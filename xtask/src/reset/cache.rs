//! The reset cache: a template database built from the migrations and seeds, so the next reset
//! is one `CREATE DATABASE … TEMPLATE` instead of running every file again.
//!
//! The template's name carries a hash of everything that shapes the result: every migration's
//! version and checksum, every seed's name and text, whether seeds were applied, and the server's
//! version. Any change to any file gives another name, so a stale template is never used; it is
//! simply not found, and the reset builds and caches a new one (removing the old). Templates older
//! than an hour are rebuilt too, so seeds that compute timestamps from `now()` stay recent.
//!
//! `CREATE DATABASE … TEMPLATE` copies what is inside a database, not what is attached to it:
//! per-database settings (`ALTER DATABASE … SET`) are copied here by hand, both ways. A database
//! whose migrations changed anything else about the database itself (owner, comment, grants,
//! connection limit) is not cached, since a copy would lose it.

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use dbfiles::template;

use crate::migrations::MigrationFile;
use crate::postgres::admin::{self, quote_ident};
use crate::seeds::SeedFile;
use crate::timestamp;

const MARKER: &str = "__xtask_tpl_";

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
        let prefix = prefix(database);
        TemplateCache { name: format!("{prefix}{key:016x}"), prefix }
    }

    /// True when the template exists and is recent enough to use.
    pub async fn is_fresh(&self, admin: &mut PgConnection) -> Result<bool> {
        let comment: Option<Option<String>> =
            sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
                .bind(&self.name)
                .fetch_optional(admin)
                .await
                .context("look up the reset cache")?;
        let built =
            comment.flatten().and_then(|c| c.strip_prefix("cargo xtask reset cache, built ")?.parse::<i64>().ok());
        Ok(built.is_some_and(|built| timestamp::now() - built < template::MAX_AGE_SECS))
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
    /// older template of this dev database. Returns false, saving nothing, when the database
    /// carries what a copy would lose.
    pub async fn save_from(&self, admin: &mut PgConnection, database: &str) -> Result<bool> {
        remove_all(admin, &self.prefix).await?;
        if !is_plain(admin, database).await? {
            return Ok(false);
        }
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&self.name), quote_ident(database));
        admin.execute(AssertSqlSafe(sql)).await.context("save the reset cache")?;
        let labelled = async {
            copy_settings(admin, database, &self.name).await?;
            let comment = format!("cargo xtask reset cache, built {}", timestamp::now());
            let sql = format!("COMMENT ON DATABASE {} IS '{comment}'", quote_ident(&self.name));
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

/// `<database>__xtask_tpl_`, shortened to leave room for the hash within 63 bytes.
pub fn prefix(database: &str) -> String {
    format!("{}{MARKER}", admin::fit_identifier(database, MARKER.len() + 16))
}

/// Drops every cached template of a dev database; returns their names.
pub async fn remove_all(admin: &mut PgConnection, prefix: &str) -> Result<Vec<String>> {
    let templates = admin::with_prefix(admin, prefix).await?;
    for template in &templates {
        admin::drop_force(admin, template).await?;
    }
    Ok(templates)
}

#[cfg(test)]
mod tests {
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

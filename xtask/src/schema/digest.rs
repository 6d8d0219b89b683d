//! A database's schema in one hash, computed by the server in one query: the fast path of drift.
//!
//! Reading a whole schema into the model and comparing it with the files' costs a few hundred
//! milliseconds for a thousand tables in the unoptimised build. But drift is rare: once a full
//! comparison found none, the dev database's digest is remembered (`.xtask/schema-digest`, with
//! the migrations and server version it holds for), and the next `db-status` only asks the server
//! for the digest again. Equal digests mean the same schema; any difference, even one the model
//! does not cover, only sends `db-status` down the full comparison, which has the last word.

use anyhow::{Context, Result};
use sqlx::PgConnection;

use super::catalog::USER_SCHEMA;
use crate::migrations::MigrationFile;
use crate::project::Project;

/// Every object in the user's schemas as one line of text (names, definitions as the server
/// writes them with only `pg_catalog` on the search path), sorted, hashed.
const DIGEST: &str = "
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), '')) FROM (
  SELECT format('schema %s', n.nspname) AS line FROM pg_namespace n WHERE {USER}
  UNION ALL SELECT format('extension %s %s %s', e.extname, e.extversion, n.nspname)
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  UNION ALL SELECT format('relation %s.%s %s %s %s %s %s', n.nspname, c.relname, c.relkind, c.relpersistence,
      c.relrowsecurity, coalesce(array_to_string(c.reloptions, ','), ''), coalesce(pg_get_expr(c.relpartbound, c.oid), ''))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER} AND c.relname <> '_sqlx_migrations' AND c.relkind <> 'i'
  UNION ALL SELECT format('column %s.%s.%s %s %s %s %s %s %s %s', n.nspname, c.relname, a.attname,
      format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
      a.attidentity, a.attgenerated, a.attcollation, a.attnum)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE {USER} AND c.relname <> '_sqlx_migrations' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT format('constraint %s.%s %s %s %s', n.nspname, co.conname, coalesce(c.relname, ''),
      coalesce(format_type(co.contypid, NULL), ''), pg_get_constraintdef(co.oid))
    FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace LEFT JOIN pg_class c ON c.oid = co.conrelid
    WHERE {USER} AND coalesce(c.relname, '') <> '_sqlx_migrations'
  UNION ALL SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class r ON r.oid = i.indrelid WHERE {USER} AND r.relname <> '_sqlx_migrations'
  UNION ALL SELECT format('trigger %s %s', t.tgenabled, pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER} AND NOT t.tgisinternal
  UNION ALL SELECT format('function %s.%s(%s) %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
      CASE WHEN p.prokind = 'a' THEN '' ELSE md5(pg_get_functiondef(p.oid)) END)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER}
  UNION ALL SELECT format('view %s.%s %s', n.nspname, c.relname, pg_get_viewdef(c.oid))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} AND c.relkind IN ('v', 'm')
  UNION ALL SELECT format('type %s.%s %s', n.nspname, t.typname, t.typtype)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER}
  UNION ALL SELECT format('enum %s.%s %s %s', n.nspname, t.typname,
      row_number() OVER (PARTITION BY e.enumtypid ORDER BY e.enumsortorder), e.enumlabel)
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER}
  UNION ALL SELECT format('sequence %s.%s %s %s %s %s %s %s %s', n.nspname, c.relname, s.seqtypid, s.seqstart,
      s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER}
  UNION ALL SELECT format('comment %s %s %s', o.type, o.identity, d.description)
    FROM pg_description d, LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
    WHERE o.schema IS NOT NULL AND o.schema NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
) lines";

/// The digest of the schema of the database `conn` is in.
pub async fn of(conn: &mut PgConnection) -> Result<String> {
    let mut tx = super::catalog::snapshot(conn).await.context("compute the schema's digest")?;
    let query = DIGEST.replace("{USER}", USER_SCHEMA);
    let digest: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
        .fetch_one(&mut *tx)
        .await
        .context("compute the schema's digest")?;
    tx.rollback().await.ok();
    Ok(digest)
}

/// Where a digest known to be drift-free is kept, with what it holds for.
pub struct KnownGood {
    key: String,
    path: std::path::PathBuf,
}

impl KnownGood {
    /// For these migrations on a server of this version.
    pub fn new(project: &Project, files: &[MigrationFile], server_version: &str) -> KnownGood {
        KnownGood {
            key: format!("{:016x}", super::built_from(files, server_version)),
            path: project.state_dir().join("schema-digest"),
        }
    }

    /// True when `digest` is the one a full comparison found drift-free for these migrations.
    pub fn is(&self, digest: &str) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|line| line == format!("{} {digest}\n", self.key))
    }

    /// Remembers `digest` as drift-free. Only a speed-up: a failure to write is ignored.
    pub fn remember(&self, digest: &str) {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(&self.path, format!("{} {digest}\n", self.key)).ok();
    }
}

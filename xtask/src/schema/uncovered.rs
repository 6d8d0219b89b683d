//! What a database's schema holds that the model neither writes into `db/schema.sql` nor
//! compares as drift, named one by one, so `db-check` can say so instead of passing in silence.
//! Owners are left out on purpose (every developer's server has its own roles), as are the
//! objects extensions bring.

use anyhow::{Context, Result};
use sqlx::PgConnection;

use super::catalog::{USER_SCHEMA, not_from_extension, snapshot};

/// One line per object the model does not cover: `policy orgs_all on public.orgs`, sorted.
pub async fn read(conn: &mut PgConnection) -> Result<Vec<String>> {
    let mut tx = snapshot(conn).await.context("list what the schema files do not cover")?;
    let mut lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query()))
        .fetch_all(&mut *tx)
        .await
        .context("list what the schema files do not cover")?;
    tx.rollback().await.ok();
    lines.sort();
    lines.dedup();
    Ok(lines)
}

fn query() -> String {
    // `n` is the object's schema in every branch; `%I` quotes as the files do (the snapshot
    // pins quote_all_identifiers off).
    let class = |alias: &str| {
        format!(
            "{alias}.relnamespace = n.oid AND {USER_SCHEMA} AND {}",
            not_from_extension("pg_class", &format!("{alias}.oid"))
        )
    };
    let in_schema = |table: &str, alias: &str, namespace: &str, classid: &str| {
        format!(
            "FROM {table} {alias} JOIN pg_namespace n ON n.oid = {alias}.{namespace} WHERE {USER_SCHEMA} AND {}",
            not_from_extension(classid, &format!("{alias}.oid"))
        )
    };
    let branches = [
        format!("SELECT format('policy %I on %I.%I', p.polname, n.nspname, c.relname) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid, pg_namespace n WHERE {}", class("c")),
        format!("SELECT format('row-level security on %I.%I', n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE (c.relrowsecurity OR c.relforcerowsecurity) AND {}", class("c")),
        format!("SELECT format('rule %I on %I.%I', w.rulename, n.nspname, c.relname) FROM pg_rewrite w JOIN pg_class c ON c.oid = w.ev_class, pg_namespace n WHERE w.rulename <> '_RETURN' AND {}", class("c")),
        format!("SELECT format('table %I.%I inherits from %I.%I', n.nspname, c.relname, pn.nspname, p.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace, pg_namespace n WHERE p.relkind <> 'p' AND c.relkind IN ('r', 'p', 'f') AND {}", class("c")),
        format!("SELECT format('foreign table %I.%I', n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE c.relkind = 'f' AND {}", class("c")),
        format!("SELECT format('unlogged sequence %I.%I', n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE c.relkind = 'S' AND c.relpersistence = 'u' AND {}", class("c")),
        format!("SELECT format('replica identity of %I.%I', n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'd' AND {}", class("c")),
        format!("SELECT format('tablespace of %I.%I', n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE c.reltablespace <> 0 AND {}", class("c")),
        format!("SELECT format('access method of %I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_am a ON a.oid = c.relam, pg_namespace n WHERE c.relkind IN ('r', 'm') AND a.amname <> 'heap' AND {}", class("c")),
        format!("SELECT format('storage parameters of the TOAST table of %I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid, pg_namespace n WHERE t.reloptions IS NOT NULL AND {}", class("c")),
        format!("SELECT format('CLUSTER ON %I.%I', n.nspname, x.relname) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid, pg_namespace n WHERE i.indisclustered AND {}", class("x")),
        format!("SELECT format('statistics target of column %I.%I.%I', n.nspname, c.relname, a.attname) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid, pg_namespace n WHERE a.attnum > 0 AND NOT a.attisdropped AND coalesce(a.attstattarget, -1) >= 0 AND {}", class("c")),
        format!("SELECT format('storage or compression of column %I.%I.%I', n.nspname, c.relname, a.attname) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid, pg_namespace n WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm') AND (a.attstorage <> t.typstorage OR a.attcompression <> '') AND {}", class("c")),
        format!("SELECT format('default of view column %I.%I.%I', n.nspname, c.relname, a.attname) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum JOIN pg_class c ON c.oid = d.adrelid, pg_namespace n WHERE c.relkind = 'v' AND {}", class("c")),
        format!("SELECT format('sequence options of identity column %I.%I.%I', n.nspname, c.relname, a.attname) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype = 'i' JOIN pg_sequence s ON s.seqrelid = d.objid, pg_namespace n WHERE a.attidentity <> '' AND (s.seqstart <> 1 OR s.seqincrement <> 1 OR s.seqmin <> 1 OR s.seqcache <> 1 OR s.seqcycle OR s.seqmax <> CASE s.seqtypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647 ELSE 9223372036854775807 END) AND {}", class("c")),
        format!("SELECT format('grants on %s %I.%I', CASE WHEN c.relkind = 'S' THEN 'sequence' WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, n.nspname, c.relname) FROM pg_class c, pg_namespace n WHERE (c.relacl IS NOT NULL OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)) AND {}", class("c")),
        format!("SELECT format('grants on function %I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) {} AND p.proacl IS NOT NULL", in_schema("pg_proc", "p", "pronamespace", "pg_proc")),
        format!("SELECT format('grants on type %I.%I', n.nspname, t.typname) {} AND t.typacl IS NOT NULL", in_schema("pg_type", "t", "typnamespace", "pg_type")),
        format!("SELECT format('grants on schema %I', n.nspname) FROM pg_namespace n WHERE {USER_SCHEMA} AND n.nspacl IS DISTINCT FROM (SELECT i.initprivs FROM pg_init_privs i WHERE i.classoid = 'pg_namespace'::regclass AND i.objoid = n.oid AND i.objsubid = 0) AND n.nspacl IS NOT NULL AND {}", not_from_extension("pg_namespace", "n.oid")),
        "SELECT format('default privileges for %s', CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' ELSE 'schemas' END) FROM pg_default_acl d".to_owned(),
        format!("SELECT format('aggregate %I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) {} AND p.prokind IN ('a', 'w')", in_schema("pg_proc", "p", "pronamespace", "pg_proc")),
        format!("SELECT format('%s type %I.%I', CASE t.typtype WHEN 'r' THEN 'range' ELSE 'base' END, n.nspname, t.typname) {} AND (t.typtype = 'r' OR (t.typtype = 'b' AND t.typsubscript <> 'array_subscript_handler'::regproc))", in_schema("pg_type", "t", "typnamespace", "pg_type")),
        format!("SELECT format('operator %s', o.oid::regoperator) {}", in_schema("pg_operator", "o", "oprnamespace", "pg_operator")),
        format!("SELECT format('operator class %I.%I', n.nspname, o.opcname) {}", in_schema("pg_opclass", "o", "opcnamespace", "pg_opclass")),
        format!("SELECT format('operator family %I.%I', n.nspname, o.opfname) {}", in_schema("pg_opfamily", "o", "opfnamespace", "pg_opfamily")),
        format!("SELECT format('text search configuration %I.%I', n.nspname, o.cfgname) {}", in_schema("pg_ts_config", "o", "cfgnamespace", "pg_ts_config")),
        format!("SELECT format('text search dictionary %I.%I', n.nspname, o.dictname) {}", in_schema("pg_ts_dict", "o", "dictnamespace", "pg_ts_dict")),
        format!("SELECT format('conversion %I.%I', n.nspname, o.conname) {}", in_schema("pg_conversion", "o", "connamespace", "pg_conversion")),
        format!("SELECT format('statistics object %I.%I', n.nspname, o.stxname) {}", in_schema("pg_statistic_ext", "o", "stxnamespace", "pg_statistic_ext")),
        // Not the casts a range type makes to its multirange (they are part of it).
        "SELECT format('cast (%s AS %s)', c.castsource::regtype, c.casttarget::regtype) FROM pg_cast c WHERE c.oid >= 16384 \
         AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_cast'::regclass AND e.objid = c.oid \
                         AND e.deptype IN ('e', 'i'))"
            .to_owned(),
        "SELECT format('event trigger %I', e.evtname) FROM pg_event_trigger e \
         WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass AND d.objid = e.oid AND d.deptype = 'e')"
            .to_owned(),
        "SELECT format('publication %I', p.pubname) FROM pg_publication p".to_owned(),
        "SELECT format('foreign server %I', s.srvname) FROM pg_foreign_server s \
         WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_foreign_server'::regclass AND d.objid = s.oid AND d.deptype = 'e')"
            .to_owned(),
        // Comments on anything but what schema.sql comments on (tables, their columns, views,
        // enums, domains, composite types), and not an extension's own.
        "SELECT format('comment on %s %s', o.type, o.identity) FROM pg_description d, \
         LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o \
         WHERE (o.schema IS NOT NULL OR d.classoid = 'pg_namespace'::regclass) \
           AND coalesce(o.schema, o.identity) NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
           AND coalesce(o.schema, o.identity) NOT LIKE 'pg\\_temp\\_%' AND coalesce(o.schema, o.identity) NOT LIKE 'pg\\_toast\\_temp\\_%' \
           AND d.classoid <> 'pg_extension'::regclass \
           AND NOT (d.classoid = 'pg_namespace'::regclass AND o.identity = 'public' \
                    AND d.description = 'standard public schema') \
           AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e') \
           AND NOT (d.classoid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objoid \
                    AND (c.relkind IN ('r', 'p') OR (c.relkind IN ('v', 'm') AND d.objsubid = 0)))) \
           AND NOT (d.classoid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = d.objoid \
                    AND t.typtype IN ('e', 'd', 'c')))"
            .to_owned(),
    ];
    branches.join(" UNION ALL ")
}

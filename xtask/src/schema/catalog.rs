//! Reading a database's schema from the system catalogs into the model.
//!
//! Every query runs in one read-only, repeatable-read transaction (one snapshot, even while
//! someone migrates) with only `pg_catalog` on the search path, so the server's own
//! `pg_get_*def` and `format_type` write every other name schema-qualified, and with every
//! setting that changes how the server spells a definition pinned (`PINNED`). What the server
//! creates by itself is left out: the system schemas, `plpgsql`, the objects extensions bring,
//! the NOT NULL constraints PostgreSQL 18 lists (they are the columns' own), internal triggers,
//! the copies partitions inherit, and sqlx's `_sqlx_migrations`.
//!
//! The queries are written once (`queries`): `read` decodes their rows into the model, and
//! `digest.rs` hashes the same rows on the server, so drift's fast path sees exactly what the
//! full comparison sees. Only the dependencies (`dependencies`), which order schema.sql and
//! which drift does not compare, are read apart. No query returns an OID: identical schemas give
//! identical rows in any database.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use sqlx::postgres::PgRow;
use sqlx::{Connection, Executor, FromRow, PgConnection, Postgres, Row as _, Transaction};

use super::model::{
    Attribute, Check, Collation, Column, Constraint, ConstraintKind, Extension, Fires, ForeignKey, Function, Index,
    Name, Object, Schema, Sequence, Table, Trigger, Type, TypeKind, View,
};

/// The schemas that hold what migrations create: not the system's own.
pub(super) const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
     AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";

/// Every setting that changes how the server spells a definition or a constant, pinned for the
/// read, whatever the role, the database, the server or `PGOPTIONS` set: the search path (names
/// are schema-qualified), quoting (`quote_all_identifiers`), string literals
/// (`standard_conforming_strings`: `'a\b'` rather than `E'a\\b'`), bytea (`hex`), dates, times
/// and intervals, floats, and money (`lc_monetary`). The timeouts only keep a developer's
/// `statement_timeout` from failing the read.
const PINNED: &str = "SET LOCAL search_path = pg_catalog; SET LOCAL quote_all_identifiers = off; \
     SET LOCAL standard_conforming_strings = on; SET LOCAL bytea_output = 'hex'; SET LOCAL TimeZone = 'UTC'; \
     SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; \
     SET LOCAL lc_monetary = 'C'; SET LOCAL xmloption = 'content'; SET LOCAL statement_timeout = 0; \
     SET LOCAL lock_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0";

/// True for an object (`classid`, `objid`) that an extension brought.
pub(super) fn not_from_extension(classid: &str, objid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{classid}'::regclass AND e.objid = {objid} \
         AND e.deptype = 'e')"
    )
}

/// The tables (plain and partitioned) whose schema we show: `r` is the table, `n` its schema.
fn tables_where() -> String {
    format!(
        "r.relkind IN ('r', 'p') AND r.relname <> '_sqlx_migrations' AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_class", "r.oid")
    )
}

/// A read-only transaction on one snapshot, with every setting that shapes the server's
/// spelling pinned, so no developer's own settings show in what is read.
pub(super) async fn snapshot(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
    let mut tx = conn.begin().await?;
    tx.execute(sqlx::AssertSqlSafe(format!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; {PINNED}")))
        .await?;
    Ok(tx)
}

/// How many queries read what drift compares.
pub(super) const QUERIES: usize = 14;

/// Every query the model is read with, in the order `read` takes them, but the dependencies
/// (which only order schema.sql and which drift does not compare): `digest.rs` hashes the rows
/// of exactly these.
pub(super) fn queries() -> [String; QUERIES] {
    let user_types = format!(
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_SCHEMA} AND {}",
        not_from_extension("pg_type", "t.oid")
    );
    // A relation's comment, joined rather than looked up row by row (obj_description).
    let description = "LEFT JOIN pg_description ds ON ds.objoid = r.oid AND ds.classoid = 'pg_class'::regclass \
                       AND ds.objsubid = 0";
    [
        // Schemas.
        format!(
            "SELECT n.nspname::text FROM pg_namespace n WHERE {USER_SCHEMA} AND n.nspname <> 'public' AND {}",
            not_from_extension("pg_namespace", "n.oid")
        ),
        // Extensions. plpgsql is in every database from the start (template1); no migration
        // creates it.
        "SELECT x.extname::text, n.nspname::text FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace \
         WHERE x.extname <> 'plpgsql'"
            .to_owned(),
        // Collations. The columns moved between majors (colliculocale in 15 and 16, colllocale
        // since 17, the ICU locale in collcollate before 15): read by name from the row as JSON.
        format!(
            "SELECT n.nspname::text, c.collname::text, \
                    CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END, \
                    coalesce(j->>'colllocale', j->>'colliculocale', CASE WHEN c.collprovider = 'i' THEN j->>'collcollate' END), \
                    CASE WHEN c.collprovider = 'c' THEN j->>'collcollate' END, \
                    CASE WHEN c.collprovider = 'c' THEN j->>'collctype' END, \
                    c.collisdeterministic, j->>'collicurules' \
             FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace, LATERAL to_jsonb(c) j \
             WHERE {USER_SCHEMA} AND {}",
            not_from_extension("pg_collation", "c.oid")
        ),
        // Enums.
        format!(
            "SELECT n.nspname::text, t.typname::text, \
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
                    obj_description(t.oid, 'pg_type') \
             {user_types} AND t.typtype = 'e'"
        ),
        // Domains, with their CHECKs in name order.
        format!(
            "SELECT n.nspname::text, t.typname::text, format_type(t.typbasetype, t.typtypmod), \
                    cn.nspname::text, co.collname::text, t.typnotnull, pg_get_expr(t.typdefaultbin, 0), \
                    ARRAY(SELECT c.conname::text FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' \
                          ORDER BY c.conname COLLATE \"C\"), \
                    ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid \
                          AND c.contype = 'c' ORDER BY c.conname COLLATE \"C\"), \
                    ARRAY(SELECT c.convalidated FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' \
                          ORDER BY c.conname COLLATE \"C\"), \
                    obj_description(t.oid, 'pg_type') \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type b ON b.oid = t.typbasetype \
             LEFT JOIN pg_collation co ON co.oid = t.typcollation AND t.typcollation <> b.typcollation \
             LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
             WHERE {USER_SCHEMA} AND {} AND t.typtype = 'd'",
            not_from_extension("pg_type", "t.oid")
        ),
        // Composite types, their attributes in order.
        format!(
            "SELECT n.nspname::text, t.typname::text, \
                    ARRAY(SELECT a.attname::text FROM pg_attribute a \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    ARRAY(SELECT cn.nspname::text FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid \
                          LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> at.typcollation \
                          LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    ARRAY(SELECT co.collname::text FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid \
                          LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> at.typcollation \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    obj_description(t.oid, 'pg_type') \
             {user_types} AND t.typtype = 'c' AND (SELECT k.relkind FROM pg_class k WHERE k.oid = t.typrelid) = 'c'"
        ),
        // Functions and procedures; aggregates and window functions have no pg_get_functiondef.
        // Not those the server made for another object (deptype 'i': a range type's
        // constructors), which come back with it.
        format!(
            "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), \
                    pg_get_functiondef(p.oid) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMA} AND {} \
               AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass \
                   AND i.objid = p.oid AND i.deptype = 'i')",
            not_from_extension("pg_proc", "p.oid")
        ),
        // Sequences. An identity column's sequence belongs to the column (deptype 'i') and is
        // shown as GENERATED … AS IDENTITY there; a serial's or OWNED BY's is its own object
        // (deptype 'a').
        format!(
            "SELECT n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
                    s.seqmin, s.seqmax, s.seqcache, s.seqcycle, owner.schema, owner.rel, owner.col \
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN LATERAL ( \
                 SELECT tn.nspname::text AS schema, t.relname::text AS rel, a.attname::text AS col, d.deptype \
                 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass \
                   AND d.deptype IN ('a', 'i') LIMIT 1) owner ON true \
             WHERE {USER_SCHEMA} AND owner.deptype IS DISTINCT FROM 'i' AND {}",
            not_from_extension("pg_class", "c.oid")
        ),
        // Tables and partitions.
        format!(
            "SELECT n.nspname::text, r.relname::text, r.relpersistence = 'u', ds.description, \
                    CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END, \
                    pn.nspname::text, p.relname::text, pg_get_expr(r.relpartbound, r.oid), \
                    coalesce(r.reloptions, '{{}}')::text[] \
             FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace \
             LEFT JOIN pg_inherits i ON i.inhrelid = r.oid AND r.relispartition \
             LEFT JOIN pg_class p ON p.oid = i.inhparent LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace \
             {description} \
             WHERE {}",
            tables_where()
        ),
        // Columns, with their position among the table's columns (dropped ones leave a gap in
        // attnum that a replay would not).
        format!(
            "SELECT n.nspname::text, r.relname::text, \
                    row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), \
                    a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname::text END, \
                    CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END, \
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                    ds.description \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
             LEFT JOIN pg_description ds ON ds.objoid = a.attrelid AND ds.classoid = 'pg_class'::regclass \
                  AND ds.objsubid = a.attnum \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND {}",
            tables_where()
        ),
        // Constraints, local ones only: a partition's copies of its parent's (conparentid) and
        // inherited CHECKs are the parent's. contype 'n' (PostgreSQL 18's NOT NULL) is the
        // column's own.
        format!(
            "SELECT n.nspname::text, r.relname::text, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid), \
                    c.convalidated, \
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, pos) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos), \
                    fn.nspname::text, f.relname::text, \
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, pos) \
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos), \
                    c.confdeltype::text, c.confupdtype::text \
             FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
             LEFT JOIN pg_class f ON f.oid = c.confrelid LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace \
             WHERE c.contype IN ('p', 'u', 'f', 'c', 'x') AND c.conislocal AND c.conparentid = 0 AND {}",
            tables_where()
        ),
        // Views and materialized views.
        format!(
            "SELECT n.nspname::text, r.relname::text, r.relkind = 'm', pg_get_viewdef(r.oid, true), \
                    coalesce(r.reloptions, '{{}}')::text[], ds.description \
             FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace {description} \
             WHERE r.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {}",
            not_from_extension("pg_class", "r.oid")
        ),
        // Indexes: not those behind a primary key, unique or exclusion constraint (the
        // constraint shows them), nor a partition's copies of its parent's index. A partitioned
        // table's valid index is written without ONLY, so a replay creates it on the partitions
        // too; an invalid one keeps its ONLY, and stays invalid as it is.
        format!(
            "SELECT xn.nspname::text, x.relname::text, n.nspname::text, r.relname::text, \
                    CASE WHEN r.relkind = 'p' AND i.indisvalid \
                         THEN regexp_replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') \
                         ELSE pg_get_indexdef(i.indexrelid) END, \
                    i.indisvalid, \
                    i.indisunique AND i.indpred IS NULL AND NOT (0 = ANY (i.indkey::int2[])), \
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, pos) \
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num \
                          WHERE k.pos <= i.indnkeyatts ORDER BY k.pos) \
             FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace xn ON xn.oid = x.relnamespace \
             JOIN pg_class r ON r.oid = i.indrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
             WHERE r.relkind IN ('r', 'p', 'm') AND r.relname <> '_sqlx_migrations' AND {USER_SCHEMA} AND {} \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid \
                               AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) \
               AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)",
            not_from_extension("pg_class", "r.oid")
        ),
        // Triggers: not the internal ones (foreign keys are enforced by triggers), nor a
        // partition's copies.
        format!(
            "SELECT t.tgname::text, n.nspname::text, r.relname::text, pg_get_triggerdef(t.oid), t.tgenabled::text \
             FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
             WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {USER_SCHEMA} AND {}",
            not_from_extension("pg_class", "r.oid")
        ),
    ]
}

/// What needs what (pg_depend's normal and automatic dependencies), each side named as the
/// model's object that holds it: a column, a default or a CHECK is its table's, a rewrite rule
/// its view's, an array type or a table's row type the element's or the table's. A sequence's
/// dependency on the column that owns it is left out: `OWNED BY` is written after the table.
fn dependencies() -> String {
    format!(
        "WITH relations AS ( \
             SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, \
                    CASE WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN c.relkind IN ('v', 'm') THEN 'view' \
                         WHEN c.relkind = 'S' THEN 'sequence' WHEN c.relkind IN ('i', 'I') THEN 'index' \
                         ELSE 'type' END AS kind \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c')), \
         types AS ( \
             SELECT t.oid, n.nspname::text AS schema, coalesce(r.name, t.typname::text) AS name, \
                    coalesce(r.kind, 'type') AS kind \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN relations r ON r.oid = t.typrelid \
             WHERE {USER_SCHEMA} AND t.typtype IN ('e', 'd', 'c')), \
         objects (classid, objid, kind, schema, name, detail) AS ( \
             SELECT 'pg_class'::regclass, oid, kind, schema, name, '' FROM relations \
             UNION ALL SELECT 'pg_type'::regclass, oid, kind, schema, name, '' FROM types \
             UNION ALL SELECT 'pg_type'::regclass, a.oid, t.kind, t.schema, t.name, '' \
                 FROM pg_type a JOIN types t ON t.oid = a.typelem \
                 WHERE a.typsubscript = 'array_subscript_handler'::regproc \
             UNION ALL SELECT 'pg_proc'::regclass, p.oid, 'function', n.nspname::text, p.proname::text, \
                     pg_get_function_identity_arguments(p.oid) \
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMA} AND {} \
             UNION ALL SELECT 'pg_constraint'::regclass, c.oid, \
                     CASE WHEN t.oid IS NOT NULL THEN 'type' WHEN c.contype = 'f' THEN 'foreign key' ELSE r.kind END, \
                     coalesce(t.schema, r.schema), coalesce(t.name, r.name), \
                     CASE WHEN c.contype = 'f' THEN c.conname::text ELSE '' END \
                 FROM pg_constraint c LEFT JOIN relations r ON r.oid = c.conrelid LEFT JOIN types t ON t.oid = c.contypid \
                 WHERE r.oid IS NOT NULL OR t.oid IS NOT NULL \
             UNION ALL SELECT 'pg_attrdef'::regclass, d.oid, r.kind, r.schema, r.name, '' \
                 FROM pg_attrdef d JOIN relations r ON r.oid = d.adrelid \
             UNION ALL SELECT 'pg_rewrite'::regclass, w.oid, r.kind, r.schema, r.name, '' \
                 FROM pg_rewrite w JOIN relations r ON r.oid = w.ev_class \
             UNION ALL SELECT 'pg_trigger'::regclass, g.oid, 'trigger', r.schema, r.name, g.tgname::text \
                 FROM pg_trigger g JOIN relations r ON r.oid = g.tgrelid \
             UNION ALL SELECT 'pg_collation'::regclass, c.oid, 'collation', n.nspname::text, c.collname::text, '' \
                 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE {USER_SCHEMA} \
             UNION ALL SELECT 'pg_namespace'::regclass, n.oid, 'schema', '', n.nspname::text, '' \
                 FROM pg_namespace n WHERE {USER_SCHEMA} \
             UNION ALL SELECT 'pg_extension'::regclass, x.oid, 'extension', '', x.extname::text, '' FROM pg_extension x) \
         SELECT DISTINCT a.kind, a.schema, a.name, a.detail, b.kind, b.schema, b.name, b.detail \
         FROM pg_depend d \
         JOIN objects a ON a.classid = d.classid AND a.objid = d.objid \
         JOIN objects b ON b.classid = d.refclassid AND b.objid = d.refobjid \
         WHERE d.deptype IN ('n', 'a') \
           AND (a.kind, a.schema, a.name, a.detail) IS DISTINCT FROM (b.kind, b.schema, b.name, b.detail) \
           AND NOT (a.kind = 'sequence' AND b.kind = 'table')",
        not_from_extension("pg_proc", "p.oid")
    )
}

/// A struct for the rows of one query, decoded by position: its fields are the query's columns
/// in the SELECT's order, so each value has a name where a tuple would have an index.
macro_rules! row {
    ($(#[$doc:meta])* struct $row:ident { $($field:ident: $type:ty,)* }) => {
        $(#[$doc])*
        struct $row {
            $($field: $type,)*
        }

        impl<'r> FromRow<'r, PgRow> for $row {
            #[allow(unused_assignments)]
            fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
                let mut column = 0;
                $(
                    let $field = row.try_get(column)?;
                    column += 1;
                )*
                Ok($row { $($field,)* })
            }
        }
    };
}

async fn rows<T>(conn: &mut PgConnection, sql: &str) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await?)
}

/// Reads the whole schema of the database `conn` is in.
pub async fn read(conn: &mut PgConnection) -> Result<Schema> {
    let mut tx = snapshot(conn).await.context("read the schema")?;
    let conn = &mut *tx;
    // Each query is taken by name here: one added to `queries` must be read, and one read must
    // be in `queries` (the digest hashes the same list).
    let [
        schemas,
        extensions,
        collations,
        enums,
        domains,
        composites,
        functions,
        sequences,
        tables,
        columns,
        constraints,
        views,
        indexes,
        triggers,
    ] = queries();
    let mut types = read_enums(conn, &enums).await.context("read the enums")?;
    types.extend(read_domains(conn, &domains).await.context("read the domains")?);
    types.extend(read_composites(conn, &composites).await.context("read the composite types")?);
    let mut schema = Schema {
        schemas: rows::<(String,)>(conn, &schemas)
            .await
            .context("read the schemas")?
            .into_iter()
            .map(|(s,)| s)
            .collect(),
        extensions: rows::<(String, String)>(conn, &extensions)
            .await
            .context("read the extensions")?
            .into_iter()
            .map(|(name, schema)| Extension { name, schema })
            .collect(),
        collations: read_collations(conn, &collations).await.context("read the collations")?,
        types,
        functions: read_functions(conn, &functions).await.context("read the functions")?,
        sequences: read_sequences(conn, &sequences).await.context("read the sequences")?,
        tables: read_tables(conn, &tables, &columns, &constraints).await.context("read the tables")?,
        views: read_views(conn, &views).await.context("read the views")?,
        indexes: read_indexes(conn, &indexes).await.context("read the indexes")?,
        triggers: read_triggers(conn, &triggers).await.context("read the triggers")?,
        dependencies: read_dependencies(conn, &dependencies()).await.context("read the dependencies")?,
    };
    tx.commit().await.context("read the schema")?;
    // Sorted here rather than by the server, whose collation may differ from one to the next.
    schema.schemas.sort();
    schema.extensions.sort_by(|a, b| a.name.cmp(&b.name));
    schema.collations.sort_by(|a, b| a.name.cmp(&b.name));
    schema.types.sort_by(|a, b| a.name.cmp(&b.name));
    schema.functions.sort_by(|a, b| (&a.name, &a.arguments).cmp(&(&b.name, &b.arguments)));
    schema.sequences.sort_by(|a, b| a.name.cmp(&b.name));
    schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
    for table in &mut schema.tables {
        table.constraints.sort_by(|a, b| a.name.cmp(&b.name));
    }
    schema.views.sort_by(|a, b| a.name.cmp(&b.name));
    schema.indexes.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    schema.triggers.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    schema.dependencies.sort();
    schema.dependencies.dedup();
    Ok(schema)
}

fn name(schema: String, name: String) -> Name {
    Name { schema, name }
}

/// `schema.name` of a collation, quoted where needed, when both parts are there.
fn collation_name(schema: Option<String>, collation: Option<String>) -> Option<String> {
    Some(name(schema?, collation?).to_string())
}

row! {
    struct CollationRow {
        schema: String,
        collation: String,
        provider: String,
        locale: Option<String>,
        lc_collate: Option<String>,
        lc_ctype: Option<String>,
        deterministic: bool,
        rules: Option<String>,
    }
}

async fn read_collations(conn: &mut PgConnection, sql: &str) -> Result<Vec<Collation>> {
    Ok(rows::<CollationRow>(conn, sql)
        .await?
        .into_iter()
        .map(|row| Collation {
            name: name(row.schema, row.collation),
            provider: row.provider,
            locale: row.locale,
            lc_collate: row.lc_collate,
            lc_ctype: row.lc_ctype,
            deterministic: row.deterministic,
            rules: row.rules,
        })
        .collect())
}

async fn read_enums(conn: &mut PgConnection, sql: &str) -> Result<Vec<Type>> {
    Ok(rows::<(String, String, Vec<String>, Option<String>)>(conn, sql)
        .await?
        .into_iter()
        .map(|(schema, type_name, labels, comment)| Type {
            name: name(schema, type_name),
            kind: TypeKind::Enum(labels),
            comment,
        })
        .collect())
}

row! {
    /// A domain, its CHECKs as three arrays of the same length, in name order.
    struct DomainRow {
        schema: String,
        type_name: String,
        base: String,
        collation_schema: Option<String>,
        collation: Option<String>,
        not_null: bool,
        default: Option<String>,
        check_names: Vec<String>,
        check_definitions: Vec<String>,
        check_validated: Vec<bool>,
        comment: Option<String>,
    }
}

async fn read_domains(conn: &mut PgConnection, sql: &str) -> Result<Vec<Type>> {
    Ok(rows::<DomainRow>(conn, sql)
        .await?
        .into_iter()
        .map(|row| {
            let checks = row
                .check_names
                .into_iter()
                .zip(row.check_definitions)
                .zip(row.check_validated)
                .map(|((name, definition), validated)| Check { name, definition, validated })
                .collect();
            Type {
                name: name(row.schema, row.type_name),
                kind: TypeKind::Domain {
                    base: row.base,
                    collation: collation_name(row.collation_schema, row.collation),
                    not_null: row.not_null,
                    default: row.default,
                    checks,
                },
                comment: row.comment,
            }
        })
        .collect())
}

async fn read_composites(conn: &mut PgConnection, sql: &str) -> Result<Vec<Type>> {
    type Row = (String, String, Vec<String>, Vec<String>, Vec<Option<String>>, Vec<Option<String>>, Option<String>);
    let mut types = Vec::new();
    for (schema, type_name, names, data_types, collation_schemas, collations, comment) in rows::<Row>(conn, sql).await?
    {
        let attributes = names
            .into_iter()
            .zip(data_types)
            .zip(collation_schemas.into_iter().zip(collations))
            .map(|((name, data_type), (schema, collation))| Attribute {
                name,
                data_type,
                collation: collation_name(schema, collation),
            })
            .collect();
        types.push(Type { name: name(schema, type_name), kind: TypeKind::Composite(attributes), comment });
    }
    Ok(types)
}

async fn read_functions(conn: &mut PgConnection, sql: &str) -> Result<Vec<Function>> {
    Ok(rows::<(String, String, String, String)>(conn, sql)
        .await?
        .into_iter()
        .map(|(schema, function, arguments, definition)| Function {
            name: name(schema, function),
            arguments,
            definition: definition.trim_end().to_owned(),
        })
        .collect())
}

row! {
    /// A sequence, and the column that owns it (serial or OWNED BY), when one does.
    struct SequenceRow {
        schema: String,
        sequence: String,
        data_type: String,
        start: i64,
        increment: i64,
        min: i64,
        max: i64,
        cache: i64,
        cycle: bool,
        owner_schema: Option<String>,
        owner_table: Option<String>,
        owner_column: Option<String>,
    }
}

async fn read_sequences(conn: &mut PgConnection, sql: &str) -> Result<Vec<Sequence>> {
    Ok(rows::<SequenceRow>(conn, sql)
        .await?
        .into_iter()
        .map(|row| {
            let owned_by = match (row.owner_schema, row.owner_table, row.owner_column) {
                (Some(schema), Some(table), Some(column)) => Some((name(schema, table), column)),
                _ => None,
            };
            Sequence {
                name: name(row.schema, row.sequence),
                data_type: row.data_type,
                start: row.start,
                increment: row.increment,
                min: row.min,
                max: row.max,
                cache: row.cache,
                cycle: row.cycle,
                owned_by,
            }
        })
        .collect())
}

row! {
    /// A table or partition; a partition names its parent and its bound.
    struct TableRow {
        schema: String,
        table: String,
        unlogged: bool,
        comment: Option<String>,
        partition_key: Option<String>,
        parent_schema: Option<String>,
        parent: Option<String>,
        bound: Option<String>,
        options: Vec<String>,
    }
}

row! {
    /// A column, with its position among its table's columns.
    struct ColumnRow {
        schema: String,
        table: String,
        position: i64,
        column: String,
        data_type: String,
        collation_schema: Option<String>,
        collation: Option<String>,
        not_null: bool,
        expression: Option<String>,
        identity: String,
        generated: String,
        comment: Option<String>,
    }
}

row! {
    /// A table's constraint; a foreign key names the table and columns it references.
    struct ConstraintRow {
        schema: String,
        table: String,
        constraint: String,
        kind: String,
        definition: String,
        validated: bool,
        columns: Vec<String>,
        foreign_schema: Option<String>,
        foreign_table: Option<String>,
        foreign_columns: Vec<String>,
        on_delete: String,
        on_update: String,
    }
}

async fn read_tables(conn: &mut PgConnection, tables: &str, columns: &str, constraints: &str) -> Result<Vec<Table>> {
    let mut by_name = BTreeMap::new();
    for TableRow { schema, table, unlogged, comment, partition_key, parent_schema, parent, bound, options } in
        rows::<TableRow>(conn, tables).await?
    {
        let partition_of = match (parent_schema, parent, bound) {
            (Some(schema), Some(parent), Some(bound)) => Some((name(schema, parent), bound)),
            _ => None,
        };
        let name = name(schema, table);
        let table = Table {
            name: name.clone(),
            columns: Vec::new(),
            constraints: Vec::new(),
            partition_key,
            partition_of,
            unlogged,
            options,
            comment,
        };
        by_name.insert(name, table);
    }

    let mut columns = rows::<ColumnRow>(conn, columns).await?;
    columns.sort_by(|a, b| (&a.schema, &a.table, a.position).cmp(&(&b.schema, &b.table, b.position)));
    for ColumnRow {
        schema,
        table,
        position: _,
        column,
        data_type,
        collation_schema,
        collation,
        not_null,
        expression,
        identity,
        generated,
        comment,
    } in columns
    {
        let Some(table) = by_name.get_mut(&name(schema, table)) else { continue };
        let identity = match identity.as_str() {
            "a" => Some("ALWAYS"),
            "d" => Some("BY DEFAULT"),
            _ => None,
        };
        // 's' stored (PostgreSQL 12+), 'v' virtual (18+); the expression is in pg_attrdef either way.
        let (default, generated) = match generated.as_str() {
            "" => (expression, None),
            kind => (None, expression.map(|e| (e, kind == "s"))),
        };
        table.columns.push(Column {
            name: column,
            data_type,
            collation: collation_name(collation_schema, collation),
            not_null,
            default,
            identity,
            generated,
            comment,
        });
    }

    for ConstraintRow {
        schema,
        table,
        constraint,
        kind,
        definition,
        validated,
        columns,
        foreign_schema,
        foreign_table,
        foreign_columns,
        on_delete,
        on_update,
    } in rows::<ConstraintRow>(conn, constraints).await?
    {
        let Some(table) = by_name.get_mut(&name(schema, table)) else { continue };
        let kind = match kind.as_str() {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "f" => ConstraintKind::ForeignKey,
            "c" => ConstraintKind::Check,
            _ => ConstraintKind::Exclude,
        };
        let foreign = match (kind, foreign_schema, foreign_table) {
            (ConstraintKind::ForeignKey, Some(schema), Some(foreign_table)) => Some(ForeignKey {
                table: name(schema, foreign_table),
                columns: foreign_columns,
                on_delete: action(&on_delete),
                on_update: action(&on_update),
            }),
            _ => None,
        };
        table.constraints.push(Constraint { name: constraint, kind, definition, validated, columns, foreign });
    }
    Ok(by_name.into_values().collect())
}

/// `pg_constraint.confdeltype` and `confupdtype` in words.
fn action(code: &str) -> &'static str {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

async fn read_views(conn: &mut PgConnection, sql: &str) -> Result<Vec<View>> {
    type Row = (String, String, bool, String, Vec<String>, Option<String>);
    Ok(rows::<Row>(conn, sql)
        .await?
        .into_iter()
        .map(|(schema, view, materialized, definition, options, comment)| View {
            name: name(schema, view),
            materialized,
            definition: definition.trim().to_owned(),
            options,
            comment,
        })
        .collect())
}

async fn read_indexes(conn: &mut PgConnection, sql: &str) -> Result<Vec<Index>> {
    type Row = (String, String, String, String, String, bool, bool, Vec<String>);
    Ok(rows::<Row>(conn, sql)
        .await?
        .into_iter()
        .map(|(schema, index, table_schema, table, definition, valid, plain_unique, columns)| Index {
            name: name(schema, index),
            table: name(table_schema, table),
            definition,
            valid,
            unique_columns: plain_unique.then_some(columns),
        })
        .collect())
}

async fn read_triggers(conn: &mut PgConnection, sql: &str) -> Result<Vec<Trigger>> {
    Ok(rows::<(String, String, String, String, String)>(conn, sql)
        .await?
        .into_iter()
        .map(|(trigger, schema, table, definition, enabled)| Trigger {
            name: trigger,
            table: name(schema, table),
            definition,
            fires: match enabled.as_str() {
                "D" => Fires::Disabled,
                "R" => Fires::Replica,
                "A" => Fires::Always,
                _ => Fires::Origin,
            },
        })
        .collect())
}

async fn read_dependencies(conn: &mut PgConnection, sql: &str) -> Result<Vec<(Object, Object)>> {
    type Row = (String, String, String, String, String, String, String, String);
    let rows = rows::<Row>(conn, sql).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, schema, object, detail, needs_kind, needs_schema, needs, needs_detail)| {
            Some((object_of(kind, schema, object, detail)?, object_of(needs_kind, needs_schema, needs, needs_detail)?))
        })
        .collect())
}

/// The model's object a row of the dependency query names.
fn object_of(kind: String, schema: String, object: String, detail: String) -> Option<Object> {
    Some(match kind.as_str() {
        "schema" => Object::Schema(object),
        "extension" => Object::Extension(object),
        "collation" => Object::Collation(name(schema, object)),
        "type" => Object::Type(name(schema, object)),
        "function" => Object::Function(name(schema, object), detail),
        "sequence" => Object::Sequence(name(schema, object)),
        "table" => Object::Table(name(schema, object)),
        "view" => Object::View(name(schema, object)),
        "index" => Object::Index(name(schema, object)),
        "foreign key" => Object::ForeignKey(name(schema, object), detail),
        "trigger" => Object::Trigger(name(schema, object), detail),
        _ => return None,
    })
}

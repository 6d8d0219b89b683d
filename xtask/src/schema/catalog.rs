//! Reading a database's schema from the system catalogs into the model.
//!
//! Every query runs in one read-only, repeatable-read transaction (one snapshot, even while
//! someone migrates) with only `pg_catalog` on the search path, so the server's own
//! `pg_get_*def` and `format_type` write every other name schema-qualified, and with the
//! settings that shape constants (time zone, date and interval styles) fixed. What the server
//! creates by itself is left out: the system schemas, `plpgsql`, the objects extensions bring,
//! the NOT NULL constraints PostgreSQL 18 lists (they are the columns' own), internal triggers,
//! the copies partitions inherit, and sqlx's `_sqlx_migrations`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use sqlx::{Connection, Executor, PgConnection, Postgres, Transaction};

use super::model::{
    Column, Constraint, ConstraintKind, Extension, ForeignKey, Function, Index, Name, Schema, Sequence, Table, Trigger,
    Type, TypeKind, View,
};

/// The schemas that hold what migrations create: not the system's own.
pub(super) const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
     AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";

/// True for an object (`classid`, `objid`) that an extension brought.
fn not_from_extension(classid: &str, objid: &str) -> String {
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

/// A read-only transaction on one snapshot, with only `pg_catalog` on the search path and the
/// settings that change how the server writes constants (a partition bound's timestamp, a
/// default's date or interval) fixed, so no developer's own settings show in what is read.
pub(super) async fn snapshot(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
    let mut tx = conn.begin().await?;
    tx.execute(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL search_path = pg_catalog; \
         SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; \
         SET LOCAL extra_float_digits = 3",
    )
    .await?;
    Ok(tx)
}

/// Reads the whole schema of the database `conn` is in.
pub async fn read(conn: &mut PgConnection) -> Result<Schema> {
    let mut tx = snapshot(conn).await.context("read the schema")?;
    let conn = &mut *tx;
    let mut schema = Schema {
        schemas: schemas(conn).await.context("read the schemas")?,
        extensions: extensions(conn).await.context("read the extensions")?,
        types: types(conn).await.context("read the types")?,
        functions: functions(conn).await.context("read the functions")?,
        sequences: sequences(conn).await.context("read the sequences")?,
        tables: tables(conn).await.context("read the tables")?,
        views: views(conn).await.context("read the views")?,
        indexes: indexes(conn).await.context("read the indexes")?,
        triggers: triggers(conn).await.context("read the triggers")?,
    };
    tx.commit().await.context("read the schema")?;
    // Sorted here rather than by the server, whose collation may differ from one to the next.
    schema.schemas.sort();
    schema.extensions.sort_by(|a, b| a.name.cmp(&b.name));
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
    Ok(schema)
}

fn name(schema: String, name: String) -> Name {
    Name { schema, name }
}

async fn schemas(conn: &mut PgConnection) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT n.nspname::text FROM pg_namespace n WHERE {USER_SCHEMA} AND n.nspname <> 'public' AND {}",
        not_from_extension("pg_namespace", "n.oid")
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await?)
}

async fn extensions(conn: &mut PgConnection) -> Result<Vec<Extension>> {
    // plpgsql is in every database from the start (template1); no migration creates it.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT x.extname::text, n.nspname::text FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace \
         WHERE x.extname <> 'plpgsql'",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(name, schema)| Extension { name, schema }).collect())
}

async fn types(conn: &mut PgConnection) -> Result<Vec<Type>> {
    let common = format!(
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_SCHEMA} AND {}",
        not_from_extension("pg_type", "t.oid")
    );
    let mut types = Vec::new();
    let enums: Vec<(String, String, Vec<String>, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, t.typname::text, \
                ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
                obj_description(t.oid, 'pg_type') \
         {common} AND t.typtype = 'e'"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (schema, type_name, labels, comment) in enums {
        types.push(Type { name: name(schema, type_name), kind: TypeKind::Enum(labels), comment });
    }
    type DomainRow = (String, String, String, bool, Option<String>, Vec<String>, Vec<String>, Option<String>, bool);
    // A domain whose default or CHECK calls a function of the schema (built-in functions are
    // pinned: pg_depend has no row for them) is written after the functions.
    let domains: Vec<DomainRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, t.typname::text, format_type(t.typbasetype, t.typtypmod), t.typnotnull, \
                pg_get_expr(t.typdefaultbin, 0), \
                ARRAY(SELECT c.conname::text FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' \
                      ORDER BY c.conname COLLATE \"C\"), \
                ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' \
                      ORDER BY c.conname COLLATE \"C\"), \
                obj_description(t.oid, 'pg_type'), \
                EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_proc'::regclass \
                        AND ((d.classid = 'pg_type'::regclass AND d.objid = t.oid) \
                             OR (d.classid = 'pg_constraint'::regclass \
                                 AND d.objid IN (SELECT c.oid FROM pg_constraint c WHERE c.contypid = t.oid)))) \
         {common} AND t.typtype = 'd'"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (schema, type_name, base, not_null, default, check_names, check_defs, comment, calls_functions) in domains {
        let checks = check_names.into_iter().zip(check_defs).collect();
        types.push(Type {
            name: name(schema, type_name),
            kind: TypeKind::Domain { base, not_null, default, checks, calls_functions },
            comment,
        });
    }
    type CompositeRow = (String, String, Vec<String>, Vec<String>, Option<String>);
    let composites: Vec<CompositeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, t.typname::text, \
                    ARRAY(SELECT a.attname::text FROM pg_attribute a \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
                    obj_description(t.oid, 'pg_type') \
             {common} AND t.typtype = 'c' AND (SELECT k.relkind FROM pg_class k WHERE k.oid = t.typrelid) = 'c'"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (schema, type_name, attributes, attribute_types, comment) in composites {
        let attributes = attributes.into_iter().zip(attribute_types).collect();
        types.push(Type { name: name(schema, type_name), kind: TypeKind::Composite(attributes), comment });
    }
    Ok(types)
}

async fn functions(conn: &mut PgConnection) -> Result<Vec<Function>> {
    // Functions and procedures; aggregates and window functions have no pg_get_functiondef.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_proc", "p.oid")
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(schema, function, arguments, definition)| Function {
            name: name(schema, function),
            arguments,
            definition: definition.trim_end().to_owned(),
        })
        .collect())
}

async fn sequences(conn: &mut PgConnection) -> Result<Vec<Sequence>> {
    type Row = (String, String, String, i64, i64, i64, i64, i64, bool, Option<String>, Option<String>, Option<String>);
    // An identity column's sequence belongs to the column (deptype 'i') and is shown as
    // GENERATED … AS IDENTITY there; a serial's or OWNED BY's is its own object (deptype 'a').
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
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
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(schema, sequence, data_type, start, increment, min, max, cache, cycle, owner_schema, table, column)| {
            let owned_by = match (owner_schema, table, column) {
                (Some(schema), Some(table), Some(column)) => Some((name(schema, table), column)),
                _ => None,
            };
            Sequence { name: name(schema, sequence), data_type, start, increment, min, max, cache, cycle, owned_by }
        })
        .collect())
}

async fn tables(conn: &mut PgConnection) -> Result<Vec<Table>> {
    type TableRow =
        (i64, String, String, bool, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let rows: Vec<TableRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.oid::int8, n.nspname::text, r.relname::text, r.relpersistence = 'u', obj_description(r.oid, 'pg_class'), \
                CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END, \
                pn.nspname::text, p.relname::text, pg_get_expr(r.relpartbound, r.oid) \
         FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace \
         LEFT JOIN pg_inherits i ON i.inhrelid = r.oid AND r.relispartition \
         LEFT JOIN pg_class p ON p.oid = i.inhparent LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace \
         WHERE {}",
        tables_where()
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = BTreeMap::new();
    for (oid, schema, table, unlogged, comment, partition_key, parent_schema, parent, bound) in rows {
        let partition_of = match (parent_schema, parent, bound) {
            (Some(schema), Some(parent), Some(bound)) => Some((name(schema, parent), bound)),
            _ => None,
        };
        tables.insert(
            oid,
            Table {
                name: name(schema, table),
                columns: Vec::new(),
                constraints: Vec::new(),
                partition_key,
                partition_of,
                unlogged,
                comment,
            },
        );
    }

    type ColumnRow =
        (i64, String, String, Option<String>, Option<String>, bool, Option<String>, String, String, Option<String>);
    let columns: Vec<ColumnRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname::text END, \
                CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END, \
                a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                col_description(a.attrelid, a.attnum) \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
         WHERE a.attnum > 0 AND NOT a.attisdropped \
           AND a.attrelid IN (SELECT r.oid FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE {}) \
         ORDER BY a.attrelid, a.attnum",
        tables_where()
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (oid, column, data_type, collation_schema, collation, not_null, expression, identity, generated, comment) in
        columns
    {
        let Some(table) = tables.get_mut(&oid) else { continue };
        let collation = match (collation_schema, collation) {
            (Some(schema), Some(collation)) => Some(name(schema, collation).to_string()),
            _ => None,
        };
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
            collation,
            not_null,
            default,
            identity,
            generated,
            comment,
        });
    }

    type ConstraintRow =
        (i64, String, String, String, Vec<String>, Option<String>, Option<String>, Vec<String>, String, String);
    // Local constraints only: a partition's copies of its parent's (conparentid) and inherited
    // CHECKs are the parent's. contype 'n' (PostgreSQL 18's NOT NULL) is the column's own.
    let constraints: Vec<ConstraintRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.conrelid::int8, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid), \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, pos) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos), \
                fn.nspname::text, f.relname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, pos) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos), \
                c.confdeltype::text, c.confupdtype::text \
         FROM pg_constraint c LEFT JOIN pg_class f ON f.oid = c.confrelid \
         LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace \
         WHERE c.contype IN ('p', 'u', 'f', 'c', 'x') AND c.conislocal AND c.conparentid = 0 \
           AND c.conrelid IN (SELECT r.oid FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE {})",
        tables_where()
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (
        oid,
        constraint,
        kind,
        definition,
        columns,
        foreign_schema,
        foreign_table,
        foreign_columns,
        on_delete,
        on_update,
    ) in constraints
    {
        let Some(table) = tables.get_mut(&oid) else { continue };
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
        table.constraints.push(Constraint { name: constraint, kind, definition, columns, foreign });
    }
    Ok(tables.into_values().collect())
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

async fn views(conn: &mut PgConnection) -> Result<Vec<View>> {
    let rows: Vec<(String, String, bool, String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, r.relname::text, r.relkind = 'm', pg_get_viewdef(r.oid, true), \
                obj_description(r.oid, 'pg_class') \
         FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace \
         WHERE r.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_class", "r.oid")
    )))
    .fetch_all(&mut *conn)
    .await?;
    // What each view's rewrite rule depends on, among the other views.
    let dependencies: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT n.nspname::text, r.relname::text, dn.nspname::text, d.relname::text \
         FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class JOIN pg_namespace n ON n.oid = r.relnamespace \
         JOIN pg_depend p ON p.classid = 'pg_rewrite'::regclass AND p.objid = w.oid \
              AND p.refclassid = 'pg_class'::regclass AND p.refobjid <> r.oid \
         JOIN pg_class d ON d.oid = p.refobjid JOIN pg_namespace dn ON dn.oid = d.relnamespace \
         WHERE r.relkind IN ('v', 'm') AND d.relkind IN ('v', 'm')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut depends_on: BTreeMap<Name, Vec<Name>> = BTreeMap::new();
    for (schema, view, dependency_schema, dependency) in dependencies {
        depends_on.entry(name(schema, view)).or_default().push(name(dependency_schema, dependency));
    }
    Ok(rows
        .into_iter()
        .map(|(schema, view, materialized, definition, comment)| {
            let name = name(schema, view);
            let mut depends_on = depends_on.remove(&name).unwrap_or_default();
            depends_on.sort();
            View { name, materialized, definition: definition.trim().to_owned(), comment, depends_on }
        })
        .collect())
}

async fn indexes(conn: &mut PgConnection) -> Result<Vec<Index>> {
    // Not the indexes behind a primary key, unique or exclusion constraint (the constraint shows
    // them), nor a partition's copies of its parent's index. A partitioned table's index is
    // written without ONLY, so a replay creates it on the partitions too (with ONLY it would
    // stay invalid until each partition's index were attached).
    type IndexRow = (String, String, String, String, String, bool, Vec<String>);
    let rows: Vec<IndexRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT xn.nspname::text, x.relname::text, n.nspname::text, r.relname::text, \
                    CASE WHEN r.relkind = 'p' THEN regexp_replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') \
                         ELSE pg_get_indexdef(i.indexrelid) END, \
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
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(schema, index, table_schema, table, definition, plain_unique, columns)| Index {
            name: name(schema, index),
            table: name(table_schema, table),
            definition,
            unique_columns: plain_unique.then_some(columns),
        })
        .collect())
}

async fn triggers(conn: &mut PgConnection) -> Result<Vec<Trigger>> {
    // Not the internal ones (foreign keys are enforced by triggers), nor a partition's copies.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT t.tgname::text, n.nspname::text, r.relname::text, pg_get_triggerdef(t.oid) \
         FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
         WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_class", "r.oid")
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(trigger, schema, table, definition)| Trigger { name: trigger, table: name(schema, table), definition })
        .collect())
}

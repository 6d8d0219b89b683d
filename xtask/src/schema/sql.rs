//! `db/schema.sql`: the model as SQL a reviewer reads beside the migration that changed it.
//!
//! Nothing in it depends on the server that wrote it: no version header, no `SET` lines but one,
//! no `\restrict` line, no owners, grants or tablespaces; objects come kind by kind in the order
//! a replay needs (types and functions before the tables whose defaults and CHECKs use them,
//! foreign keys after every table), and by schema, then name, within a kind.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::ident::ident;
use super::model::{Column, ConstraintKind, Name, Schema, Sequence, Table, Type, TypeKind, View};

pub const HEADER: &str = "\
-- The schema db/migrations produce, written by `cargo xtask db-migrate` and `cargo xtask db-reset`.
-- Generated: do not edit. `cargo xtask db-check` fails when it differs from what the migrations produce.
";

pub fn render(schema: &Schema) -> String {
    let mut sql = String::from(HEADER);
    // A function body may name a table created further down, as pg_dump's output does.
    sql.push_str("\nSET check_function_bodies = false;\n");
    // Blocks of several lines are set apart by a blank line; one-line statements are not.
    let mut section = |title: &str, items: Vec<String>| {
        if !items.is_empty() {
            let separator = if items.iter().any(|i| i.contains('\n')) { "\n\n" } else { "\n" };
            let _ = write!(sql, "\n-- {title}\n\n{}\n", items.join(separator));
        }
    };
    section("Schemas", schema.schemas.iter().map(|s| format!("CREATE SCHEMA {};", ident(s))).collect());
    section(
        "Extensions",
        schema
            .extensions
            .iter()
            .map(|e| format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {};", ident(&e.name), ident(&e.schema)))
            .collect(),
    );
    let calls_functions = |t: &&Type| matches!(t.kind, TypeKind::Domain { calls_functions: true, .. });
    section("Types", schema.types.iter().filter(|t| !calls_functions(t)).map(type_sql).collect());
    section("Functions", schema.functions.iter().map(|f| format!("{};", f.definition)).collect());
    section("Domains that call functions", schema.types.iter().filter(calls_functions).map(type_sql).collect());
    section("Sequences", schema.sequences.iter().map(sequence_sql).collect());
    section("Tables", schema.tables.iter().filter(|t| t.partition_of.is_none()).map(table_sql).collect());
    section(
        "Sequence owners",
        schema
            .sequences
            .iter()
            .filter_map(|s| {
                let (table, column) = s.owned_by.as_ref()?;
                Some(format!("ALTER SEQUENCE {} OWNED BY {table}.{};", s.name, ident(column)))
            })
            .collect(),
    );
    section("Partitions", schema.tables.iter().filter(|t| t.partition_of.is_some()).map(table_sql).collect());
    section("Views", in_dependency_order(&schema.views).into_iter().map(view_sql).collect());
    section(
        "Foreign keys",
        schema
            .tables
            .iter()
            .flat_map(|t| {
                t.foreign_keys().map(|(c, _)| {
                    format!("ALTER TABLE ONLY {}\n    ADD CONSTRAINT {} {};", t.name, ident(&c.name), c.definition)
                })
            })
            .collect(),
    );
    section("Indexes", schema.indexes.iter().map(|i| format!("{};", i.definition)).collect());
    section("Triggers", schema.triggers.iter().map(|t| format!("{};", t.definition)).collect());
    section("Comments", comments(schema));
    sql
}

/// `'text'` with quotes doubled: a SQL string literal for any text.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub fn type_sql(t: &Type) -> String {
    match &t.kind {
        TypeKind::Enum(labels) => {
            let labels: Vec<String> = labels.iter().map(|l| format!("    {}", literal(l))).collect();
            format!("CREATE TYPE {} AS ENUM (\n{}\n);", t.name, labels.join(",\n"))
        }
        TypeKind::Domain { base, not_null, default, checks, .. } => {
            let mut sql = format!("CREATE DOMAIN {} AS {base}", t.name);
            if let Some(default) = default {
                let _ = write!(sql, "\n    DEFAULT {default}");
            }
            if *not_null {
                sql.push_str("\n    NOT NULL");
            }
            for (name, check) in checks {
                let _ = write!(sql, "\n    CONSTRAINT {} {check}", ident(name));
            }
            sql + ";"
        }
        TypeKind::Composite(attributes) => {
            let attributes: Vec<String> =
                attributes.iter().map(|(name, data_type)| format!("    {} {data_type}", ident(name))).collect();
            format!("CREATE TYPE {} AS (\n{}\n);", t.name, attributes.join(",\n"))
        }
    }
}

pub fn sequence_sql(s: &Sequence) -> String {
    format!(
        "CREATE SEQUENCE {}\n    AS {}\n    START WITH {}\n    INCREMENT BY {}\n    MINVALUE {}\n    MAXVALUE {}\n    CACHE {}{};",
        s.name,
        s.data_type,
        s.start,
        s.increment,
        s.min,
        s.max,
        s.cache,
        if s.cycle { "\n    CYCLE" } else { "" }
    )
}

/// One column's line in `CREATE TABLE`, without the indentation: `name type [COLLATE …]
/// [GENERATED …] [NOT NULL] [DEFAULT …]`.
pub fn column_sql(column: &Column) -> String {
    let mut sql = format!("{} {}", ident(&column.name), column.data_type);
    if let Some(collation) = &column.collation {
        let _ = write!(sql, " COLLATE {collation}");
    }
    if let Some(identity) = column.identity {
        let _ = write!(sql, " GENERATED {identity} AS IDENTITY");
    }
    if let Some((expression, stored)) = &column.generated {
        let _ = write!(sql, " GENERATED ALWAYS AS ({expression}){}", if *stored { " STORED" } else { "" });
    }
    if column.not_null {
        sql.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        let _ = write!(sql, " DEFAULT {default}");
    }
    sql
}

/// `CREATE TABLE` with its columns and every constraint but the foreign keys (which come after
/// every table, so tables that reference each other can be created). A partition takes its
/// columns and its parent's constraints from the parent, so it lists only its own constraints.
pub fn table_sql(table: &Table) -> String {
    let mut lines: Vec<String> = match table.partition_of {
        Some(_) => Vec::new(),
        None => table.columns.iter().map(|c| format!("    {}", column_sql(c))).collect(),
    };
    for constraint in table.constraints.iter().filter(|c| c.kind != ConstraintKind::ForeignKey) {
        lines.push(format!("    CONSTRAINT {} {}", ident(&constraint.name), constraint.definition));
    }
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    let mut sql = match &table.partition_of {
        Some((parent, bound)) if lines.is_empty() => {
            format!("CREATE {unlogged}TABLE {} PARTITION OF {parent}\n    {bound}", table.name)
        }
        Some((parent, bound)) => {
            format!(
                "CREATE {unlogged}TABLE {} PARTITION OF {parent} (\n{}\n)\n    {bound}",
                table.name,
                lines.join(",\n")
            )
        }
        None => format!("CREATE {unlogged}TABLE {} (\n{}\n)", table.name, lines.join(",\n")),
    };
    if let Some(key) = &table.partition_key {
        let _ = write!(sql, " PARTITION BY {key}");
    }
    sql + ";"
}

/// The views by name, except that each comes after the views it selects from, so the file
/// replays: a view named `a_totals` over `orders_view` follows it.
fn in_dependency_order(views: &[View]) -> Vec<&View> {
    let mut written: BTreeSet<&Name> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(views.len());
    let known: BTreeSet<&Name> = views.iter().map(|v| &v.name).collect();
    while ordered.len() < views.len() {
        let ready = views.iter().find(|v| {
            !written.contains(&v.name) && v.depends_on.iter().all(|d| written.contains(d) || !known.contains(d))
        });
        // Views cannot depend on each other in a cycle; should the catalog say so anyway, the
        // rest follow by name rather than being lost.
        let next = ready.or_else(|| views.iter().find(|v| !written.contains(&v.name)));
        let Some(next) = next else { break };
        written.insert(&next.name);
        ordered.push(next);
    }
    ordered
}

pub fn view_sql(view: &View) -> String {
    let kind = if view.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
    let definition = view.definition.trim_end_matches(';');
    let data = if view.materialized { "\n  WITH NO DATA" } else { "" };
    format!("CREATE {kind} {} AS\n{definition}{data};", view.name)
}

fn comments(schema: &Schema) -> Vec<String> {
    let comment = |what: &str, name: String, text: &Option<String>| {
        text.as_ref().map(|text| format!("COMMENT ON {what} {name} IS {};", literal(text)))
    };
    let mut comments = Vec::new();
    for t in &schema.types {
        comments.extend(comment(
            if matches!(t.kind, TypeKind::Domain { .. }) { "DOMAIN" } else { "TYPE" },
            t.name.to_string(),
            &t.comment,
        ));
    }
    for table in &schema.tables {
        comments.extend(comment("TABLE", table.name.to_string(), &table.comment));
        for column in &table.columns {
            comments.extend(comment("COLUMN", column_name(&table.name, &column.name), &column.comment));
        }
    }
    for view in &schema.views {
        let what = if view.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
        comments.extend(comment(what, view.name.to_string(), &view.comment));
    }
    comments
}

/// `schema.table.column`, quoted where needed.
pub fn column_name(table: &Name, column: &str) -> String {
    format!("{table}.{}", ident(column))
}

#[cfg(test)]
mod tests {
    use super::super::model::samples::{self, name};
    use super::super::model::{Column, Constraint, ConstraintKind, ForeignKey, Schema, Table};

    fn column(name: &str, data_type: &str, not_null: bool) -> Column {
        Column { not_null, ..samples::column(name, data_type) }
    }

    #[test]
    fn renders_tables_then_foreign_keys_then_comments() {
        let mut id = column("id", "bigint", true);
        id.identity = Some("ALWAYS");
        let mut owner = column("owner", "bigint", false);
        owner.comment = Some("who's in charge".into());
        let schema = Schema {
            tables: vec![Table {
                name: name("sites"),
                columns: vec![id, owner, column("user", "text", true)],
                constraints: vec![
                    Constraint {
                        name: "sites_owner_fkey".into(),
                        kind: ConstraintKind::ForeignKey,
                        definition: "FOREIGN KEY (owner) REFERENCES public.sites(id) ON DELETE SET NULL".into(),
                        columns: vec!["owner".into()],
                        foreign: Some(ForeignKey {
                            table: name("sites"),
                            columns: vec!["id".into()],
                            on_delete: "SET NULL",
                            on_update: "NO ACTION",
                        }),
                    },
                    Constraint {
                        name: "sites_pkey".into(),
                        kind: ConstraintKind::PrimaryKey,
                        definition: "PRIMARY KEY (id)".into(),
                        columns: vec!["id".into()],
                        foreign: None,
                    },
                ],
                partition_key: None,
                partition_of: None,
                unlogged: false,
                comment: Some("Places".into()),
            }],
            ..Schema::default()
        };
        let sql = super::render(&schema);
        assert!(sql.starts_with(super::HEADER), "{sql}");
        let expected = "\n-- Tables\n\nCREATE TABLE public.sites (\n    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n    \
                        owner bigint,\n    \"user\" text NOT NULL,\n    CONSTRAINT sites_pkey PRIMARY KEY (id)\n);\n\n\
                        -- Foreign keys\n\nALTER TABLE ONLY public.sites\n    ADD CONSTRAINT sites_owner_fkey FOREIGN KEY (owner) \
                        REFERENCES public.sites(id) ON DELETE SET NULL;\n\n-- Comments\n\n\
                        COMMENT ON TABLE public.sites IS 'Places';\nCOMMENT ON COLUMN public.sites.owner IS 'who''s in charge';\n";
        assert!(sql.ends_with(expected), "{sql}");
    }
}

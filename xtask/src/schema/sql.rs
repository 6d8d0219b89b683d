//! `db/schema.sql`: the model as SQL a reviewer reads beside the migration that changed it.
//!
//! Nothing in it depends on the server that wrote it: no version header, no `SET` lines but one,
//! no `\restrict` line, no owners, grants or tablespaces. Objects come kind by kind, by schema,
//! then name, within a kind, each after what it needs (`order.rs`), so `psql -f` replays it
//! into an empty database as the same schema (`xtask/tests/cli/replay.rs`).

use std::fmt::Write as _;

use super::ident::ident;
use super::model::{
    Collation, Column, ConstraintKind, Fires, Name, Object, Schema, Sequence, Table, Trigger, Type, TypeKind, View,
};
use super::order::{self, Section, Statement};

pub const HEADER: &str = "\
-- The schema db/migrations produce, written by `cargo xtask db-migrate` and `cargo xtask db-reset`.
-- Generated: do not edit. `cargo xtask db-check` fails when it differs from what the migrations produce.
";

pub fn render(schema: &Schema) -> String {
    let mut sql = String::from(HEADER);
    // A function body may name a table created further down, as pg_dump's output does.
    sql.push_str("\nSET check_function_bodies = false;\n");
    let mut section = |title: &str, items: Vec<String>| {
        // Blocks of several lines are set apart by a blank line; one-line statements are not.
        if !items.is_empty() {
            let separator = if items.iter().any(|i| i.contains('\n')) { "\n\n" } else { "\n" };
            let _ = write!(sql, "\n-- {title}\n\n{}\n", items.join(separator));
        }
    };
    for (kind, items) in order::arrange(statements(schema), &schema.dependencies) {
        section(kind.title(), items);
    }
    section("Comments", comments(schema));
    sql
}

/// Every statement of the file but the comments, kind by kind, by name within a kind.
fn statements(schema: &Schema) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut add = |section: Section, object: Option<Object>, needs: Vec<Object>, sql: String| {
        statements.push(Statement { section, object, needs, sql });
    };
    for name in &schema.schemas {
        add(
            Section::Schemas,
            Some(Object::Schema(name.clone())),
            Vec::new(),
            format!("CREATE SCHEMA {};", ident(name)),
        );
    }
    for e in &schema.extensions {
        let sql = format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {};", ident(&e.name), ident(&e.schema));
        add(Section::Extensions, Some(Object::Extension(e.name.clone())), vec![Object::Schema(e.schema.clone())], sql);
    }
    for c in &schema.collations {
        add(Section::Collations, Some(Object::Collation(c.name.clone())), Vec::new(), collation_sql(c));
    }
    for t in &schema.types {
        add(Section::Types, Some(Object::Type(t.name.clone())), Vec::new(), type_sql(t));
    }
    for f in &schema.functions {
        let object = Object::Function(f.name.clone(), f.arguments.clone());
        add(Section::Functions, Some(object), Vec::new(), format!("{};", f.definition));
    }
    for s in &schema.sequences {
        add(Section::Sequences, Some(Object::Sequence(s.name.clone())), Vec::new(), sequence_sql(s));
    }
    for table in &schema.tables {
        let object = Some(Object::Table(table.name.clone()));
        match &table.partition_of {
            None => add(Section::Tables, object, Vec::new(), table_sql(table)),
            Some((parent, _)) => {
                let sql = partition_sql(schema, table);
                add(Section::Partitions, object, vec![Object::Table(parent.clone())], sql);
            }
        }
    }
    for s in &schema.sequences {
        if let Some((table, column)) = &s.owned_by {
            let sql = format!("ALTER SEQUENCE {} OWNED BY {};", s.name, column_name(table, column));
            let needs = vec![Object::Sequence(s.name.clone()), Object::Table(table.clone())];
            add(Section::SequenceOwners, None, needs, sql);
        }
    }
    for view in &schema.views {
        add(Section::Views, Some(Object::View(view.name.clone())), Vec::new(), view_sql(view));
    }
    for index in &schema.indexes {
        let sql = if index.valid || index.definition.contains(" ON ONLY ") {
            format!("{};", index.definition)
        } else {
            // Only a failed CREATE INDEX CONCURRENTLY leaves such an index; SQL cannot make one.
            format!(
                "-- Invalid where this was read (a CREATE INDEX CONCURRENTLY failed); replayed, it is valid.\n{};",
                index.definition
            )
        };
        add(Section::Indexes, Some(Object::Index(index.name.clone())), vec![Object::Table(index.table.clone())], sql);
    }
    for table in &schema.tables {
        // A partitioned table's foreign key is its partitions' too: ONLY is refused there.
        let only = if table.partition_key.is_some() { "" } else { "ONLY " };
        for (constraint, _) in table.foreign_keys() {
            let sql = format!(
                "ALTER TABLE {only}{}\n    ADD CONSTRAINT {} {};",
                table.name,
                ident(&constraint.name),
                constraint.definition
            );
            let object = Object::ForeignKey(table.name.clone(), constraint.name.clone());
            add(Section::ForeignKeys, Some(object), vec![Object::Table(table.name.clone())], sql);
        }
    }
    for trigger in &schema.triggers {
        let object = Object::Trigger(trigger.table.clone(), trigger.name.clone());
        add(Section::Triggers, Some(object), vec![Object::Table(trigger.table.clone())], trigger_sql(trigger));
    }
    statements
}

/// `'text'` with quotes doubled: a SQL string literal for any text.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub fn collation_sql(c: &Collation) -> String {
    let mut options = vec![format!("provider = {}", c.provider)];
    match (&c.locale, &c.lc_collate, &c.lc_ctype) {
        (Some(locale), _, _) => options.push(format!("locale = {}", literal(locale))),
        (None, Some(collate), Some(ctype)) if collate == ctype => {
            options.push(format!("locale = {}", literal(collate)))
        }
        (None, collate, ctype) => {
            options.extend(collate.iter().map(|c| format!("lc_collate = {}", literal(c))));
            options.extend(ctype.iter().map(|c| format!("lc_ctype = {}", literal(c))));
        }
    }
    if !c.deterministic {
        options.push("deterministic = false".into());
    }
    if let Some(rules) = &c.rules {
        options.push(format!("rules = {}", literal(rules)));
    }
    format!("CREATE COLLATION {} ({});", c.name, options.join(", "))
}

pub fn type_sql(t: &Type) -> String {
    match &t.kind {
        TypeKind::Enum(labels) => {
            let labels: Vec<String> = labels.iter().map(|l| format!("    {}", literal(l))).collect();
            format!("CREATE TYPE {} AS ENUM (\n{}\n);", t.name, labels.join(",\n"))
        }
        TypeKind::Domain { base, collation, not_null, default, checks } => {
            let mut sql = format!("CREATE DOMAIN {} AS {base}", t.name);
            if let Some(collation) = collation {
                let _ = write!(sql, " COLLATE {collation}");
            }
            if let Some(default) = default {
                let _ = write!(sql, "\n    DEFAULT {default}");
            }
            if *not_null {
                sql.push_str("\n    NOT NULL");
            }
            for check in checks.iter().filter(|c| c.validated) {
                let _ = write!(sql, "\n    CONSTRAINT {} {}", ident(&check.name), check.definition);
            }
            sql.push(';');
            // CREATE DOMAIN validates every CHECK it is given: one added NOT VALID is added so.
            for check in checks.iter().filter(|c| !c.validated) {
                let _ = write!(
                    sql,
                    "\nALTER DOMAIN {}\n    ADD CONSTRAINT {} {};",
                    t.name,
                    ident(&check.name),
                    check.definition
                );
            }
            sql
        }
        TypeKind::Composite(attributes) => {
            let attributes: Vec<String> = attributes
                .iter()
                .map(|a| match &a.collation {
                    Some(collation) => format!("    {} {} COLLATE {collation}", ident(&a.name), a.data_type),
                    None => format!("    {} {}", ident(&a.name), a.data_type),
                })
                .collect();
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

/// `WITH (fillfactor=70, …)` for storage parameters or a view's options, as stored: a value
/// that is not one plain word is quoted.
pub fn options_sql(options: &[&String]) -> String {
    let options: Vec<String> = options
        .iter()
        .map(|option| match option.split_once('=') {
            Some((key, value)) if !value.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) => {
                format!("{key}={}", literal(value))
            }
            _ => option.to_string(),
        })
        .collect();
    format!("WITH ({})", options.join(", "))
}

/// A table's constraints written inside `CREATE TABLE`: all but its foreign keys (which come
/// after every table, so tables that reference each other can be created) and the CHECKs added
/// `NOT VALID` (which CREATE TABLE would validate).
fn inline_constraints(table: &Table) -> impl Iterator<Item = String> {
    table
        .constraints
        .iter()
        .filter(|c| c.kind != ConstraintKind::ForeignKey && c.validated)
        .map(|c| format!("    CONSTRAINT {} {}", ident(&c.name), c.definition))
}

/// What follows a table's `CREATE TABLE`: its CHECKs added `NOT VALID`, added so.
fn not_valid_checks(table: &Table) -> String {
    let only = if table.partition_key.is_some() { "" } else { "ONLY " };
    let mut sql = String::new();
    for c in table.constraints.iter().filter(|c| c.kind == ConstraintKind::Check && !c.validated) {
        let _ =
            write!(sql, "\nALTER TABLE {only}{}\n    ADD CONSTRAINT {} {};", table.name, ident(&c.name), c.definition);
    }
    sql
}

/// ` PARTITION BY …` and ` WITH (…)`, as they follow a table's columns.
fn table_clauses(table: &Table) -> String {
    let mut sql = String::new();
    if let Some(key) = &table.partition_key {
        let _ = write!(sql, " PARTITION BY {key}");
    }
    if !table.options.is_empty() {
        let _ = write!(sql, " {}", options_sql(&table.options.iter().collect::<Vec<_>>()));
    }
    sql
}

/// `CREATE TABLE` with its columns and constraints (see `inline_constraints`).
pub fn table_sql(table: &Table) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(|c| format!("    {}", column_sql(c))).collect();
    lines.extend(inline_constraints(table));
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    format!(
        "CREATE {unlogged}TABLE {} (\n{}\n){};{}",
        table.name,
        lines.join(",\n"),
        table_clauses(table),
        not_valid_checks(table)
    )
}

/// A partition. Made `PARTITION OF` its parent, it takes the parent's columns, defaults and
/// constraints, so only what is its own is listed: a default or NOT NULL of its own
/// (`WITH OPTIONS`), a default of the parent's it dropped, its own constraints. A partition
/// whose columns are in another order than its parent's (a table attached with `ATTACH
/// PARTITION`) is created as a table and attached the same way, with the CHECKs every partition
/// must have (its ancestors'), so its columns keep their order.
pub fn partition_sql(schema: &Schema, table: &Table) -> String {
    let Some((parent_name, bound)) = &table.partition_of else { return table_sql(table) };
    let Some(parent) = schema.tables.iter().find(|t| &t.name == parent_name) else { return table_sql(table) };
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    let same_order = table.columns.iter().map(|c| &c.name).eq(parent.columns.iter().map(|c| &c.name));
    if !same_order {
        let mut lines: Vec<String> = table.columns.iter().map(|c| format!("    {}", column_sql(c))).collect();
        let mut ancestor = Some(parent);
        while let Some(t) = ancestor {
            let checks = t.constraints.iter().filter(|c| c.kind == ConstraintKind::Check);
            lines.extend(
                checks.map(|c| {
                    format!("    CONSTRAINT {} {}", ident(&c.name), c.definition.trim_end_matches(" NOT VALID"))
                }),
            );
            ancestor = t.partition_of.as_ref().and_then(|(p, _)| schema.tables.iter().find(|t| &t.name == p));
        }
        lines.extend(inline_constraints(table));
        return format!(
            "CREATE {unlogged}TABLE {} (\n{}\n){};\nALTER TABLE {parent_name} ATTACH PARTITION {}\n    {bound};{}",
            table.name,
            lines.join(",\n"),
            table_clauses(table),
            table.name,
            not_valid_checks(table)
        );
    }
    let mut lines = Vec::new();
    let mut dropped_defaults = String::new();
    for (column, inherited) in table.columns.iter().zip(&parent.columns) {
        let mut own = String::new();
        if column.not_null && !inherited.not_null {
            own.push_str(" NOT NULL");
        }
        match (&column.default, &inherited.default) {
            (Some(default), inherited) if Some(default) != inherited.as_ref() => {
                let _ = write!(own, " DEFAULT {default}");
            }
            (None, Some(_)) => {
                let _ = write!(
                    dropped_defaults,
                    "\nALTER TABLE ONLY {} ALTER COLUMN {} DROP DEFAULT;",
                    table.name,
                    ident(&column.name)
                );
            }
            _ => {}
        }
        if !own.is_empty() {
            lines.push(format!("    {} WITH OPTIONS{own}", ident(&column.name)));
        }
    }
    lines.extend(inline_constraints(table));
    let columns = if lines.is_empty() { String::new() } else { format!(" (\n{}\n)", lines.join(",\n")) };
    format!(
        "CREATE {unlogged}TABLE {} PARTITION OF {parent_name}{columns}\n    {bound}{};{dropped_defaults}{}",
        table.name,
        table_clauses(table),
        not_valid_checks(table)
    )
}

/// `CREATE [MATERIALIZED] VIEW … AS …`, with its options, and a view's CHECK OPTION where SQL
/// writes it: after the query.
pub fn view_sql(view: &View) -> String {
    let kind = if view.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
    let definition = view.definition.trim_end_matches(';');
    let check_option = view.options.iter().find_map(|o| o.strip_prefix("check_option="));
    let options: Vec<&String> = view.options.iter().filter(|o| !o.starts_with("check_option=")).collect();
    let options = if options.is_empty() { String::new() } else { format!(" {}", options_sql(&options)) };
    let after = match check_option {
        _ if view.materialized => "\n  WITH NO DATA".to_owned(),
        Some(level) => format!("\n  WITH {} CHECK OPTION", level.to_ascii_uppercase()),
        None => String::new(),
    };
    format!("CREATE {kind} {}{options} AS\n{definition}{after};", view.name)
}

/// `CREATE TRIGGER`, and the `ALTER TABLE` that sets when it fires, unless it fires as created.
pub fn trigger_sql(trigger: &Trigger) -> String {
    let how = match trigger.fires {
        Fires::Origin => return format!("{};", trigger.definition),
        Fires::Disabled => "DISABLE",
        Fires::Replica => "ENABLE REPLICA",
        Fires::Always => "ENABLE ALWAYS",
    };
    format!("{};\nALTER TABLE {} {how} TRIGGER {};", trigger.definition, trigger.table, ident(&trigger.name))
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
                        validated: true,
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
                        validated: true,
                        columns: vec!["id".into()],
                        foreign: None,
                    },
                ],
                partition_key: None,
                partition_of: None,
                unlogged: false,
                options: Vec::new(),
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

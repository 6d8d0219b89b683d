//! Drift: how a live database's schema differs from the one the migrations produce.
//!
//! Both models are flattened into named objects (a table, each of its columns and constraints,
//! an index, a trigger, a function, a view, a type, …) with their definitions as `sql.rs` writes
//! them; an object only the database has was added by hand, one only the migrations have was
//! removed by hand, and one both have with different definitions was changed. The columns and
//! constraints of a table added or removed as a whole are not listed again.

use std::collections::BTreeMap;

use super::ident::ident;
use super::model::Schema;
use super::sql;

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    AddedByHand,
    RemovedByHand,
    /// The definition the migrations give, then the database's.
    Changed(String, String),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Difference {
    /// `column public.gateways.note`, `index public.gateways_last_seen_idx`.
    pub object: String,
    pub change: Change,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.change {
            Change::AddedByHand => write!(f, "{}: added by hand (the migrations do not create it)", self.object),
            Change::RemovedByHand => write!(f, "{}: removed by hand (the migrations create it)", self.object),
            // One-line definitions are shown; a function's or view's whole body is not.
            Change::Changed(expected, actual) if !expected.contains('\n') && !actual.contains('\n') => {
                write!(
                    f,
                    "{}: changed by hand (the migrations give `{expected}`, the database has `{actual}`)",
                    self.object
                )
            }
            Change::Changed(..) => {
                write!(f, "{}: changed by hand (see db/schema.sql for what the migrations give)", self.object)
            }
        }
    }
}

/// Every difference between what the migrations produce (`expected`) and the database
/// (`actual`), in the order of the objects' names.
pub fn compare(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let (expected, actual) = (objects(expected), objects(actual));
    let mut differences = Vec::new();
    for (key, object) in &expected {
        let change = match actual.get(key) {
            None => Change::RemovedByHand,
            Some(other) if other.definition != object.definition => {
                Change::Changed(object.definition.clone(), other.definition.clone())
            }
            Some(_) => continue,
        };
        // A column of a removed table was removed with it.
        if object.parent.as_ref().is_some_and(|parent| !actual.contains_key(parent)) {
            continue;
        }
        differences.push(Difference { object: key.clone(), change });
    }
    for (key, object) in &actual {
        if expected.contains_key(key) || object.parent.as_ref().is_some_and(|parent| !expected.contains_key(parent)) {
            continue;
        }
        differences.push(Difference { object: key.clone(), change: Change::AddedByHand });
    }
    differences.sort_by(|a, b| a.object.cmp(&b.object));
    differences
}

struct Object {
    /// The table a column, constraint, index or trigger belongs to.
    parent: Option<String>,
    definition: String,
}

/// The schema as named objects: `kind name` → the object.
fn objects(schema: &Schema) -> BTreeMap<String, Object> {
    let mut objects = BTreeMap::new();
    let mut add = |key: String, parent: Option<&String>, definition: String| {
        objects.insert(key, Object { parent: parent.cloned(), definition });
    };
    for name in &schema.schemas {
        add(format!("schema {}", ident(name)), None, String::new());
    }
    for extension in &schema.extensions {
        add(format!("extension {}", ident(&extension.name)), None, format!("in schema {}", ident(&extension.schema)));
    }
    for t in &schema.types {
        add(format!("type {}", t.name), None, sql::type_sql(t));
    }
    for function in &schema.functions {
        add(format!("function {}({})", function.name, function.arguments), None, function.definition.clone());
    }
    for sequence in &schema.sequences {
        let owner = match &sequence.owned_by {
            Some((table, column)) => format!(" OWNED BY {}", sql::column_name(table, column)),
            None => String::new(),
        };
        add(format!("sequence {}", sequence.name), None, format!("{}{owner}", sql::sequence_sql(sequence)));
    }
    for table in &schema.tables {
        let key = format!("table {}", table.name);
        let mut definition = String::new();
        if table.unlogged {
            definition.push_str("UNLOGGED");
        }
        if let Some(partition_key) = &table.partition_key {
            definition.push_str(&format!(" PARTITION BY {partition_key}"));
        }
        if let Some((parent, bound)) = &table.partition_of {
            definition.push_str(&format!(" PARTITION OF {parent} {bound}"));
        }
        if let Some(comment) = &table.comment {
            definition.push_str(&format!(" COMMENT {}", sql::literal(comment)));
        }
        for column in &table.columns {
            let mut definition = sql::column_sql(column);
            if let Some(comment) = &column.comment {
                definition.push_str(&format!(" COMMENT {}", sql::literal(comment)));
            }
            add(format!("column {}", sql::column_name(&table.name, &column.name)), Some(&key), definition);
        }
        for constraint in &table.constraints {
            add(
                format!("constraint {} on {}", ident(&constraint.name), table.name),
                Some(&key),
                constraint.definition.clone(),
            );
        }
        add(key, None, definition.trim_start().to_owned());
    }
    for view in &schema.views {
        let kind = if view.materialized { "materialized view" } else { "view" };
        let mut definition = view.definition.clone();
        if let Some(comment) = &view.comment {
            definition.push_str(&format!("\nCOMMENT {}", sql::literal(comment)));
        }
        add(format!("{kind} {}", view.name), None, definition);
    }
    for index in &schema.indexes {
        let parent = format!("table {}", index.table);
        add(format!("index {}", index.name), Some(&parent), index.definition.clone());
    }
    for trigger in &schema.triggers {
        let parent = format!("table {}", trigger.table);
        add(
            format!("trigger {} on {}", ident(&trigger.name), trigger.table),
            Some(&parent),
            trigger.definition.clone(),
        );
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::super::model::samples::{column, name, table};
    use super::super::model::{Index, Schema};
    use super::{Change, compare};

    fn index(index: &str, table: &str) -> Index {
        Index {
            name: name(index),
            table: name(table),
            definition: format!("CREATE INDEX {index} ON public.{table}"),
            unique_columns: None,
        }
    }

    #[test]
    fn names_what_was_added_removed_and_changed_by_hand() {
        let expected = Schema {
            tables: vec![
                table("a", vec![column("id", "integer"), column("size", "integer")]),
                table("gone", vec![column("id", "integer")]),
            ],
            indexes: vec![index("a_size_idx", "a"), index("gone_idx", "gone")],
            ..Schema::default()
        };
        let actual = Schema {
            tables: vec![
                table("a", vec![column("id", "integer"), column("size", "bigint"), column("note", "text")]),
                table("extra", vec![column("id", "integer")]),
            ],
            indexes: vec![index("extra_idx", "extra")],
            ..Schema::default()
        };
        let lines: Vec<String> = compare(&expected, &actual).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "column public.a.note: added by hand (the migrations do not create it)",
                "column public.a.size: changed by hand (the migrations give `size integer`, the database has `size bigint`)",
                "index public.a_size_idx: removed by hand (the migrations create it)",
                "table public.extra: added by hand (the migrations do not create it)",
                "table public.gone: removed by hand (the migrations create it)",
            ]
        );
        assert!(compare(&expected, &expected).is_empty());
        assert_eq!(compare(&Schema::default(), &actual).iter().filter(|d| d.change == Change::AddedByHand).count(), 2);
    }
}

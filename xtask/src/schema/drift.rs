//! Drift: how a live database's schema differs from the one the migrations produce.
//!
//! Both models are flattened into named objects (a table, each of its columns and constraints,
//! an index, a trigger, a function, a view, a type, …) with their definitions as `sql.rs` writes
//! them; an object only the database has was added by hand, one only the migrations have was
//! removed by hand, and one both have with different definitions was changed. The columns and
//! constraints of a table added or removed as a whole are not listed again.
//!
//! A difference that a build of the same migrations in separate runs explains (session state a
//! migration set, such as `SET search_path`, reaches the migrations after it in one run only) is
//! not blamed on a hand: `explain` tells them apart.

use std::collections::BTreeMap;

use super::ident::ident;
use super::model::{Schema, View};
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
            Change::Changed(expected, actual) => {
                write!(f, "{}: changed by hand ({})", self.object, first_difference(expected, actual))
            }
        }
    }
}

/// A difference that comes from session state, not from a hand: the same change said without
/// blame.
pub struct FromSessionState<'a>(pub &'a Difference);

impl std::fmt::Display for FromSessionState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Difference { object, change } = self.0;
        match change {
            Change::AddedByHand => write!(f, "{object}: here, but not in a build of the migrations in one run"),
            Change::RemovedByHand => write!(f, "{object}: missing here, but in a build of the migrations in one run"),
            Change::Changed(expected, actual) => write!(
                f,
                "{object}: differs from a build of the migrations in one run ({})",
                first_difference(expected, actual)
            ),
        }
    }
}

/// The first line two definitions differ on, as `the migrations give `…`, the database has
/// `…``: one-line definitions whole, a function's or view's body by its first differing line
/// (a statement's closing `;` is not a difference of its own).
fn first_difference(expected: &str, actual: &str) -> String {
    let many = expected.contains('\n') || actual.contains('\n');
    let line = |l: &str| l.trim().trim_end_matches(';').to_owned();
    let (expected_lines, actual_lines): (Vec<String>, Vec<String>) =
        (expected.lines().map(line).collect(), actual.lines().map(line).collect());
    let number = expected_lines.iter().zip(&actual_lines).take_while(|(a, b)| a == b).count();
    let at = if many { format!(", line {}", number + 1) } else { String::new() };
    match (expected_lines.get(number), actual_lines.get(number)) {
        (Some(a), Some(b)) => format!("the migrations give `{a}`, the database has `{b}`{at}"),
        (Some(a), None) => format!("the migrations give `{a}`, the database has nothing there{at}"),
        (None, Some(b)) => format!("the migrations have nothing there, the database has `{b}`{at}"),
        (None, None) => "the definitions differ in white space only".to_owned(),
    }
}

/// Every difference between what the migrations produce (`expected`) and the database
/// (`actual`), in the order of the objects' names.
pub fn compare(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let (expected_objects, actual_objects) = (objects(expected), objects(actual));
    let mut differences = Vec::new();
    for (key, object) in &expected_objects {
        let change = match actual_objects.get(key) {
            None => Change::RemovedByHand,
            Some(other) if other.definition != object.definition => {
                Change::Changed(object.definition.clone(), other.definition.clone())
            }
            Some(_) => continue,
        };
        // A column of a removed table was removed with it.
        if object.parent.as_ref().is_some_and(|parent| !actual_objects.contains_key(parent)) {
            continue;
        }
        differences.push(Difference { object: key.clone(), change });
    }
    for (key, object) in &actual_objects {
        if expected_objects.contains_key(key)
            || object.parent.as_ref().is_some_and(|parent| !expected_objects.contains_key(parent))
        {
            continue;
        }
        differences.push(Difference { object: key.clone(), change: Change::AddedByHand });
    }
    differences.extend(column_orders(expected, actual));
    differences.sort_by(|a, b| a.object.cmp(&b.object));
    differences
}

/// Tables whose columns (those both sides have) come in another order: `SELECT *`, `COPY` and
/// an `INSERT` without a column list read them in that order.
fn column_orders(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let mut differences = Vec::new();
    for table in &expected.tables {
        let Some(other) = actual.tables.iter().find(|t| t.name == table.name) else { continue };
        let common = |a: &super::model::Table, b: &super::model::Table| -> Vec<String> {
            a.columns.iter().filter(|c| b.column(&c.name).is_some()).map(|c| ident(&c.name).into_owned()).collect()
        };
        let (order, other_order) = (common(table, other), common(other, table));
        if order != other_order {
            differences.push(Difference {
                object: format!("columns of table {}", table.name),
                change: Change::Changed(order.join(", "), other_order.join(", ")),
            });
        }
    }
    differences
}

/// Splits `differences` between the database (`actual`) and a one-run build into those a build
/// of the same migrations in separate runs (`separate_runs`) explains, where the database's
/// object is the separate build's, and the rest: `(by hand, from session state)`.
pub fn explain(
    differences: Vec<Difference>,
    separate_runs: &Schema,
    actual: &Schema,
) -> (Vec<Difference>, Vec<Difference>) {
    let (separate, actual_objects) = (objects(separate_runs), objects(actual));
    let separate_orders: Vec<String> = column_orders(separate_runs, actual).into_iter().map(|d| d.object).collect();
    differences.into_iter().partition(|difference| {
        let key = &difference.object;
        let explained = if key.starts_with("columns of table ") {
            !separate_orders.contains(key)
        } else {
            separate.get(key).map(|o| &o.definition) == actual_objects.get(key).map(|o| &o.definition)
        };
        !explained
    })
}

fn sorted(options: &[String]) -> Vec<&String> {
    let mut sorted: Vec<&String> = options.iter().collect();
    sorted.sort();
    sorted
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
    for collation in &schema.collations {
        add(format!("collation {}", collation.name), None, sql::collation_sql(collation));
    }
    for t in &schema.types {
        let mut definition = sql::type_sql(t);
        if let Some(comment) = &t.comment {
            definition.push_str(&format!("\nCOMMENT {}", sql::literal(comment)));
        }
        add(format!("type {}", t.name), None, definition);
    }
    for function in &schema.functions {
        add(format!("function {}({})", function.name, function.arguments), None, function.definition.clone());
    }
    for sequence in &schema.sequences {
        let owner = match &sequence.owned_by {
            Some((table, column)) => format!(" OWNED BY {}", sql::column_name(table, column)),
            None => " OWNED BY NONE".to_owned(),
        };
        let definition = format!("{}{owner}", sql::sequence_sql(sequence)).replace("\n   ", "");
        add(format!("sequence {}", sequence.name), None, definition);
    }
    for table in &schema.tables {
        let key = format!("table {}", table.name);
        let mut definition = Vec::new();
        if table.unlogged {
            definition.push("UNLOGGED".to_owned());
        }
        if let Some(partition_key) = &table.partition_key {
            definition.push(format!("PARTITION BY {partition_key}"));
        }
        if let Some((parent, bound)) = &table.partition_of {
            definition.push(format!("PARTITION OF {parent} {bound}"));
        }
        if !table.options.is_empty() {
            definition.push(sql::options_sql(&sorted(&table.options)));
        }
        if let Some(comment) = &table.comment {
            definition.push(format!("COMMENT {}", sql::literal(comment)));
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
        add(key, None, definition.join(" "));
    }
    for view in &schema.views {
        let kind = if view.materialized { "materialized view" } else { "view" };
        // The order options were set in is no difference.
        let options = sorted(&view.options).into_iter().cloned().collect();
        let mut definition = sql::view_sql(&View { options, ..view.clone() });
        if let Some(comment) = &view.comment {
            definition.push_str(&format!("\nCOMMENT {}", sql::literal(comment)));
        }
        add(format!("{kind} {}", view.name), None, definition);
    }
    for index in &schema.indexes {
        let parent = format!("table {}", index.table);
        let mut definition = index.definition.clone();
        if !index.valid {
            definition.push_str(" -- invalid: it cannot be used (a CREATE INDEX CONCURRENTLY failed, or ON ONLY)");
        }
        add(format!("index {}", index.name), Some(&parent), definition);
    }
    for trigger in &schema.triggers {
        let parent = format!("table {}", trigger.table);
        add(
            format!("trigger {} on {}", ident(&trigger.name), trigger.table),
            Some(&parent),
            sql::trigger_sql(trigger).replace('\n', " "),
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
            valid: true,
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

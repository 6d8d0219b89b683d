//! The order `db/schema.sql` creates things in: kind by kind, as a reader expects (schemas,
//! types, functions, tables, …), by name within a kind, and each statement after everything it
//! needs, as the server records it (`pg_depend`), so `psql -f` replays the file.
//!
//! A statement whose needs are not met when its kind comes (a domain whose CHECK calls a
//! function, a function returning a table's rows) waits, and comes right after the section that
//! met them, in a section of its own kind: the file reads as the usual sections, with a short one
//! repeated where a later kind was needed (`-- Types` after the functions a domain calls). Cycles cannot be created by migrations the server accepted
//! in this shape but a table default and a `BEGIN ATOMIC` function that read each other; should
//! one come, its first statement is written as if its needs were met, rather than lost.

use std::collections::{BTreeSet, HashMap};

use super::model::Object;

/// The kinds of statement, in the order a round writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Schemas,
    Extensions,
    Collations,
    Types,
    Functions,
    Sequences,
    Tables,
    Partitions,
    SequenceOwners,
    Views,
    Indexes,
    ForeignKeys,
    Triggers,
}

impl Section {
    const ALL: [Section; 13] = [
        Section::Schemas,
        Section::Extensions,
        Section::Collations,
        Section::Types,
        Section::Functions,
        Section::Sequences,
        Section::Tables,
        Section::Partitions,
        Section::SequenceOwners,
        Section::Views,
        Section::Indexes,
        Section::ForeignKeys,
        Section::Triggers,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Schemas => "Schemas",
            Section::Extensions => "Extensions",
            Section::Collations => "Collations",
            Section::Types => "Types",
            Section::Functions => "Functions",
            Section::Sequences => "Sequences",
            Section::Tables => "Tables",
            Section::Partitions => "Partitions",
            Section::SequenceOwners => "Sequence owners",
            Section::Views => "Views",
            Section::Indexes => "Indexes",
            Section::ForeignKeys => "Foreign keys",
            Section::Triggers => "Triggers",
        }
    }
}

/// One statement (or a few that belong together) of schema.sql.
pub struct Statement {
    pub section: Section,
    /// What it creates, as dependencies name it (none for what nothing can need).
    pub object: Option<Object>,
    /// What it needs beyond what the catalog records.
    pub needs: Vec<Object>,
    pub sql: String,
}

/// The statements in the order they are written, grouped by section: by name within a section
/// (the order they are given in), each after what it needs (`dependencies`: `(object, what it
/// needs)`; those naming an object no statement creates are ignored).
pub fn arrange(statements: Vec<Statement>, dependencies: &[(Object, Object)]) -> Vec<(Section, Vec<String>)> {
    let index: HashMap<&Object, usize> =
        statements.iter().enumerate().filter_map(|(i, s)| s.object.as_ref().map(|o| (o, i))).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); statements.len()];
    let mut waiting_for = vec![0usize; statements.len()];
    let mut edges = BTreeSet::new();
    let explicit = statements.iter().enumerate().flat_map(|(i, s)| s.needs.iter().map(move |n| (i, n)));
    let recorded = dependencies.iter().filter_map(|(object, needs)| Some((*index.get(object)?, needs)));
    for (statement, needs) in explicit.chain(recorded) {
        if let Some(&needed) = index.get(needs)
            && needed != statement
            && edges.insert((statement, needed))
        {
            dependents[needed].push(statement);
            waiting_for[statement] += 1;
        }
    }

    let rank = |i: usize| Section::ALL.iter().position(|s| *s == statements[i].section).unwrap_or(0);
    let mut ready: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); Section::ALL.len()];
    for (i, waiting) in waiting_for.iter().enumerate() {
        if *waiting == 0 {
            ready[rank(i)].insert(i);
        }
    }
    let mut written = vec![false; statements.len()];
    let mut left = statements.len();
    let mut order: Vec<(Section, Vec<usize>)> = Vec::new();
    let mut next = 0;
    while left > 0 {
        if next == Section::ALL.len() {
            // A cycle: its first statement goes first.
            let Some(first) = (0..statements.len()).filter(|i| !written[*i]).min_by_key(|i| (rank(*i), *i)) else {
                break;
            };
            waiting_for[first] = 0;
            ready[rank(first)].insert(first);
            next = rank(first);
        }
        let mut group = Vec::new();
        while let Some(i) = ready[next].pop_first() {
            written[i] = true;
            left -= 1;
            group.push(i);
            for &dependent in &dependents[i] {
                waiting_for[dependent] = waiting_for[dependent].saturating_sub(1);
                if waiting_for[dependent] == 0 && !written[dependent] {
                    ready[rank(dependent)].insert(dependent);
                }
            }
        }
        if !group.is_empty() {
            order.push((Section::ALL[next], group));
        }
        // What this section made ready in an earlier one comes right after it.
        next = ready.iter().position(|r| !r.is_empty()).filter(|&r| r <= next).unwrap_or(next + 1);
    }
    let mut statements: Vec<Option<Statement>> = statements.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|(section, group)| {
            (section, group.into_iter().filter_map(|i| statements[i].take()).map(|s| s.sql).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::model::Object;
    use super::super::model::samples::name;
    use super::{Section, Statement, arrange};

    fn statement(section: Section, object: Object, sql: &str) -> Statement {
        Statement { section, object: Some(object), needs: Vec::new(), sql: sql.into() }
    }

    #[test]
    fn writes_kind_by_kind_by_name_and_after_what_each_needs() {
        let domain = Object::Type(name("a_even"));
        let enum_type = Object::Type(name("b_mood"));
        let is_even = Object::Function(name("is_even"), "n integer".into());
        let all_rows = Object::Function(name("all_rows"), String::new());
        let table = Object::Table(name("t"));
        let statements = vec![
            statement(Section::Types, domain.clone(), "a_even"),
            statement(Section::Types, enum_type.clone(), "b_mood"),
            statement(Section::Functions, all_rows.clone(), "all_rows"),
            statement(Section::Functions, is_even.clone(), "is_even"),
            statement(Section::Tables, table.clone(), "t"),
        ];
        let dependencies =
            [(domain.clone(), is_even.clone()), (table.clone(), domain.clone()), (all_rows.clone(), table.clone())];
        let arranged = arrange(statements, &dependencies);
        let expected = [
            (Section::Types, vec!["b_mood"]),
            (Section::Functions, vec!["is_even"]),
            (Section::Types, vec!["a_even"]),
            (Section::Tables, vec!["t"]),
            (Section::Functions, vec!["all_rows"]),
        ];
        let arranged: Vec<(Section, Vec<&str>)> =
            arranged.iter().map(|(s, items)| (*s, items.iter().map(String::as_str).collect())).collect();
        assert_eq!(arranged, expected);
    }

    #[test]
    fn a_cycle_loses_nothing() {
        let (a, b) = (Object::Table(name("a")), Object::Function(name("b"), String::new()));
        let statements =
            vec![statement(Section::Functions, b.clone(), "b"), statement(Section::Tables, a.clone(), "a")];
        let arranged = arrange(statements, &[(a.clone(), b.clone()), (b, a)]);
        let all: Vec<&String> = arranged.iter().flat_map(|(_, items)| items).collect();
        assert_eq!(all, ["b", "a"]);
    }
}

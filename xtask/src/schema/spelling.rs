//! One answer for a team whose servers are of different majors.
//!
//! The definitions the server writes itself (a view's query, a function, a CHECK, a default, an
//! index, a trigger, a partition's key and bounds) are spelled by each major its own way: the
//! same view reads `"Parts".price` on PostgreSQL 15 and `price` on 17 and 18. Everything else in
//! `db/schema.sql` is written by the xtask, the same on every major. So a file is what the
//! migrations produce, whichever major wrote it, when it is this server's rendering with only
//! those definitions spelled otherwise (`differs_only_in_spelling`: the text between them is
//! byte for byte what this server's rendering has), and, replayed on this server, it builds
//! exactly the schema the migrations build (`scratch::replayed`, compared by `drift::compare`)
//! with nothing the model does not cover beside it (`uncovered.rs`): what takes a definition's
//! place in the file can only be checked by what it builds, so a statement slipped in after a
//! view's query (a `DROP`, a `GRANT`, a `COMMENT`) fails there; and what takes a definition's
//! place is at most one statement, so nothing else rides along (an `INSERT`, a `set_config`),
//! even what builds no schema. An SQL comment slipped in passes.
//! `db-check` accepts such a file, and `db-migrate` keeps it rather than respelling it, so a
//! team on 15 and 18 does not rewrite the file back and forth.

use super::model::{Schema, TypeKind};
use super::sql;

/// What marks a definition the server spelled in the masked rendering: never in SQL text.
const MARK: char = '\u{1}';

/// True when `file` is `schema` rendered, but for the definitions the server spells, which may
/// read otherwise (what another major writes); a hand edit anywhere else fails.
pub fn differs_only_in_spelling(file: &str, schema: &Schema) -> bool {
    let masked = sql::render(&masked(schema));
    let segments: Vec<&str> = masked.split(MARK).step_by(2).collect();
    matches(file, &segments)
}

/// A copy of `schema` whose server-spelled definitions are marks: `MARK n MARK`, each unique.
/// A mark keeps the few words the rendering looks for in a definition (` ON ONLY `).
fn masked(schema: &Schema) -> Schema {
    let mut n = 0;
    let mut mark = |text: &mut String| {
        n += 1;
        let only = if text.contains(" ON ONLY ") { " ON ONLY " } else { "" };
        *text = format!("{MARK}{n}{only}{MARK}");
    };
    let mut schema = schema.clone();
    for t in &mut schema.types {
        if let TypeKind::Domain { default, checks, .. } = &mut t.kind {
            default.iter_mut().for_each(&mut mark);
            checks.iter_mut().for_each(|c| mark(&mut c.definition));
        }
    }
    schema.functions.iter_mut().for_each(|f| mark(&mut f.definition));
    for table in &mut schema.tables {
        table.partition_key.iter_mut().for_each(&mut mark);
        table.partition_of.iter_mut().for_each(|(_, bound)| mark(bound));
        for column in &mut table.columns {
            column.default.iter_mut().for_each(&mut mark);
            column.generated.iter_mut().for_each(|(expression, _)| mark(expression));
        }
        table.constraints.iter_mut().for_each(|c| mark(&mut c.definition));
    }
    schema.views.iter_mut().for_each(|v| mark(&mut v.definition));
    schema.indexes.iter_mut().for_each(|i| mark(&mut i.definition));
    schema.triggers.iter_mut().for_each(|t| mark(&mut t.definition));
    schema
}

/// True when `text` is `segments` with a definition between each two: each segment is taken
/// where it first appears after the one before (so each definition is as short as it can be),
/// the last must end the text, and no definition holds more than one statement.
fn matches(text: &str, segments: &[&str]) -> bool {
    let Some((first, rest)) = segments.split_first() else { return text.is_empty() };
    let Some(mut rest_of_text) = text.strip_prefix(first) else { return false };
    let Some((last, middle)) = rest.split_last() else { return rest_of_text.is_empty() };
    for segment in middle {
        match rest_of_text.find(segment) {
            Some(at) if is_one_definition(&rest_of_text[..at]) => rest_of_text = &rest_of_text[at + segment.len()..],
            _ => return false,
        }
    }
    rest_of_text.strip_suffix(last).is_some_and(is_one_definition)
}

/// True when `text`, in a definition's place, is at most one statement (or part of one), and
/// no psql command.
fn is_one_definition(text: &str) -> bool {
    dbfiles::statements::split(text).is_ok_and(|statements| statements.len() <= 1)
}

#[cfg(test)]
mod tests {
    use super::super::model::samples::{column, name, table};
    use super::super::model::{Schema, View};
    use super::{differs_only_in_spelling, matches};

    #[test]
    fn wildcards_match_anything_between_the_segments() {
        assert!(matches("a-x-b-yy-c", &["a-", "-b-", "-c"]));
        assert!(matches("a--b--c", &["a-", "-b-", "-c"]));
        assert!(!matches("a-x-b-y-d", &["a-", "-b-", "-c"]));
        assert!(!matches("z-x-b-y-c", &["a-", "-b-", "-c"]));
        assert!(matches("exact", &["exact"]));
        assert!(matches("a-SELECT 1;\n-- a comment\n-c", &["a-", "-c"]));
        assert!(!matches("a-SELECT 1;\nINSERT INTO t VALUES (1);\n-c", &["a-", "-c"]));
        assert!(!matches("a-SELECT 1;\n\\! rm -rf x\n-c", &["a-", "-c"]));
        assert!(!matches("exact!", &["exact"]));
    }

    #[test]
    fn only_the_servers_spelling_may_differ() {
        let schema = Schema {
            tables: vec![table("parts", vec![column("price", "numeric")])],
            views: vec![View {
                name: name("cheap"),
                materialized: false,
                definition: "SELECT parts.price\n   FROM public.parts;".into(),
                options: Vec::new(),
                comment: None,
            }],
            ..Schema::default()
        };
        let file = super::sql::render(&schema);
        assert!(differs_only_in_spelling(&file, &schema));
        let respelled = file.replace("SELECT parts.price", "SELECT price");
        assert!(differs_only_in_spelling(&respelled, &schema));
        for edited in [
            file.replace("price numeric", "price integer"),
            file.replace("-- Views", "-- Views that matter"),
            file.replace("CREATE VIEW public.cheap", "CREATE VIEW public.dear"),
            format!("DROP TABLE public.parts;\n{file}"),
            file.replace("FROM public.parts;", "FROM public.parts;\nINSERT INTO public.parts VALUES (1);"),
        ] {
            assert!(!differs_only_in_spelling(&edited, &schema), "{edited}");
        }
    }
}

//! Keeps docs/reliability.md honest: each of its rows names the tests that prove it, and a test
//! renamed or removed must break the build's tests, not leave the row pointing at nothing.

/// The document, from the repository's root.
const DOCUMENT: &str = "docs/reliability.md";

/// Where a citation without a folder (`faults.rs::name`) lives.
const CLI_TESTS: &str = "xtask/tests/cli";

/// What the `test` column says of a row no test proves.
const NOT_TESTED: &str = "not tested";

/// One row of the table: its situation (to name it) and its `test` cell.
struct Row {
    situation: String,
    tests: String,
}

/// The table's rows after its header and separator. Cells are split at `|`, but not at `\|`
/// (a pipe written inside a cell).
fn rows(document: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in document.lines().filter(|line| line.starts_with('|')).skip(2) {
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut escaped = false;
        for c in line.trim().trim_start_matches('|').chars() {
            match c {
                '|' if !escaped => cells.push(std::mem::take(&mut cell).trim().to_owned()),
                _ => cell.push(c),
            }
            escaped = c == '\\';
        }
        let mut cells = cells.into_iter();
        let situation = cells.next().unwrap_or_default();
        let tests = cells.nth(1).unwrap_or_default();
        rows.push(Row { situation, tests });
    }
    rows
}

/// The `file.rs::name` citations of a cell: its code spans that hold `.rs::`.
fn citations(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).filter(|span| span.contains(".rs::")).collect()
}

/// Why a citation does not name a test, or `None` when it does: `file` (from the repository's
/// root) must hold a function `name` marked as a test.
fn problem(root: &std::path::Path, citation: &str) -> Option<String> {
    let Some((file, path)) = citation.split_once("::") else {
        return Some(format!("`{citation}` is not written file.rs::name"));
    };
    let name = path.rsplit("::").next().unwrap_or(path);
    let file = if file.starts_with("xtask/") || file.starts_with("crates/") {
        file.to_owned()
    } else {
        format!("{CLI_TESTS}/{file}")
    };
    let Ok(source) = std::fs::read_to_string(root.join(&file)) else {
        return Some(format!("`{citation}`: there is no {file}"));
    };
    let lines: Vec<&str> = source.lines().collect();
    let Some(at) = lines.iter().position(|line| {
        let line = line.trim_start().trim_start_matches("pub ").trim_start_matches("async ");
        line.strip_prefix("fn ").and_then(|rest| rest.strip_prefix(name)).is_some_and(|rest| rest.starts_with('('))
    }) else {
        return Some(format!("`{citation}`: {file} has no fn {name}"));
    };
    // Its attributes and doc comment, just above it: one of them must make it a test.
    let is_test = lines[..at]
        .iter()
        .rev()
        .map(|line| line.trim())
        .take_while(|line| line.starts_with("#[") || line.starts_with("///"))
        .any(|line| line.starts_with("#[") && line.contains("test") && !line.contains("cfg(test)"));
    (!is_test).then(|| format!("`{citation}`: fn {name} in {file} is not a test"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row cites a test that exists, or says it is not tested.
    #[test]
    fn every_cited_test_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let document = std::fs::read_to_string(root.join(DOCUMENT)).unwrap();
        let rows = rows(&document);
        assert!(rows.len() > 10, "{DOCUMENT}: its table was not found");
        let mut problems = Vec::new();
        for row in &rows {
            let cited = citations(&row.tests);
            if cited.is_empty() && !row.tests.starts_with(NOT_TESTED) {
                problems.push(format!(
                    "row \"{}\": its test column names no test and does not say \"{NOT_TESTED}\"",
                    row.situation
                ));
            }
            for citation in cited {
                if let Some(problem) = problem(&root, citation) {
                    problems.push(format!("row \"{}\": {problem}", row.situation));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{DOCUMENT} cites tests that are not there (renamed or removed? update the row):\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn cells_split_at_pipes_but_not_at_escaped_ones() {
        let document =
            "| a | b | test |\n|---|---|---|\n| `x \\| y` | z | `f.rs::g`, `h.rs::i` |\n| c | d | not tested (why) |\n";
        let rows = rows(document);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].situation, "`x \\| y`");
        assert_eq!(citations(&rows[0].tests), ["f.rs::g", "h.rs::i"]);
        assert!(citations(&rows[1].tests).is_empty());
        assert!(rows[1].tests.starts_with(NOT_TESTED));
    }
}

//! Reviewed exceptions, written in the migration itself, on the line directly above the
//! statement they excuse:
//!
//! ```sql
//! -- db-check allow(index-build): factories holds one row per site, a few hundred at most
//! CREATE INDEX factories_city_idx ON factories (city);
//! ```
//!
//! An exception names each rule it allows and says why; it covers that one statement and
//! nothing else. So that no file is silenced by accident, every line comment that starts with
//! `db-check` must be exactly that: one with no rule, `all` or `*`, an unknown rule, no reason,
//! a blank line or code between it and its statement, or no statement after it, is an error;
//! one that allows a rule its statement does not break is a warning (a stale exception would
//! hide the next finding there).

use std::collections::BTreeMap;

use super::facts::Location;
use super::rules::{Finding, Rule, Severity};
use dbfiles::statements::Statement;

/// The word that starts an exception comment.
pub const MARKER: &str = "db-check";

/// One exception, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub rules: Vec<Rule>,
    pub reason: String,
    pub location: Location,
}

#[derive(Debug, Default)]
pub struct Exceptions {
    /// The exceptions of each statement, by its index in the file.
    pub allows: BTreeMap<usize, Vec<Allow>>,
    /// Exceptions refused: malformed, blanket or attached to no statement.
    pub problems: Vec<Finding>,
}

/// A finding an exception allowed, with the exception's reason.
pub struct Allowed {
    pub finding: Finding,
    pub reason: String,
}

/// The findings left once exceptions applied, and those they allowed.
pub struct Applied {
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
}

/// The exceptions written in `sql`, whose statements are `statements` (from the splitter).
pub fn read(sql: &str, statements: &[Statement]) -> Exceptions {
    let mut exceptions = Exceptions::default();
    // The text outside statements (and their COPY data) holds only blanks and comments.
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for statement in statements {
        covered.push((statement.offset, statement.offset + statement.text.len()));
        if let Some(data) = statement.copy_data {
            let start = data.as_ptr() as usize - sql.as_ptr() as usize;
            covered.push((start, start + data.len()));
        }
    }
    let mut line_start = 0;
    for line in sql.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let at = |offset: usize| Location::of(sql, offset);
        // Where `--` opens a comment on this line, outside every statement.
        let mut search = 0;
        while let Some(found) = line[search..].find("--") {
            let dashes = line_start + search + found;
            search += found + 2;
            if covered.iter().any(|(start, end)| (*start..*end).contains(&dashes)) {
                continue;
            }
            let comment = line[dashes - line_start + 2..].trim();
            if !starts_with_marker(comment) {
                break;
            }
            let own_line = line[..dashes - line_start].trim().is_empty();
            let next = statements.iter().position(|statement| statement.offset >= line_end);
            let refuse = |message: String| Finding {
                rule: Rule::Exception,
                severity: Severity::Error,
                statement: next.unwrap_or(statements.len()),
                location: at(dashes),
                message,
                safer: format!(
                    "write `-- {MARKER} allow(<rule>): <why this is acceptable here>` on the line directly above the \
                     statement it excuses (rules: {})",
                    Rule::ALLOWABLE.map(Rule::id).join(", ")
                ),
            };
            if !own_line {
                exceptions.problems.push(refuse(format!(
                    "an exception must be a line of its own, directly above the statement it excuses: `{}`",
                    line.trim()
                )));
                break;
            }
            let allow = match parse(comment) {
                Ok((rules, reason)) => Allow { rules, reason, location: at(dashes) },
                Err(problem) => {
                    exceptions.problems.push(refuse(problem));
                    break;
                }
            };
            match next.filter(|&index| only_comments_between(&sql[line_end..statements[index].offset])) {
                Some(index) => exceptions.allows.entry(index).or_default().push(allow),
                None => exceptions.problems.push(refuse(
                    "this exception excuses no statement: a blank line, code or the end of the file follows it, and \
                     an exception covers only the statement directly below it"
                        .to_owned(),
                )),
            }
            break;
        }
        line_start = line_end;
    }
    exceptions
}

fn starts_with_marker(comment: &str) -> bool {
    comment.get(..MARKER.len()).is_some_and(|word| word.eq_ignore_ascii_case(MARKER))
        && !comment[MARKER.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// `allow(rule, rule): reason` after the marker: the rules and the reason, or what is wrong.
fn parse(comment: &str) -> Result<(Vec<Rule>, String), String> {
    let rest = comment[MARKER.len()..].trim_start();
    let Some(list) = rest.strip_prefix("allow(") else {
        return Err(format!("`-- {comment}` is not an exception db-check reads"));
    };
    let Some((list, after)) = list.split_once(')') else {
        return Err(format!("`-- {comment}`: the list of rules is not closed with `)`"));
    };
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
    if names.is_empty() || names.iter().any(|name| matches!(name.to_ascii_lowercase().as_str(), "all" | "*")) {
        return Err(format!("`-- {comment}` is a blanket exception, which db-check refuses: name each rule it allows"));
    }
    let mut rules = Vec::new();
    for name in names {
        match Rule::allowable_by_id(name) {
            Some(rule) if !rules.contains(&rule) => rules.push(rule),
            Some(_) => {}
            None => return Err(format!("`{name}` is not a rule db-check has")),
        }
    }
    let reason = after.trim_start().strip_prefix(':').map(str::trim).unwrap_or_default();
    let placeholder = reason.starts_with('<') && reason.ends_with('>');
    if !reason.chars().any(char::is_alphabetic) || placeholder {
        return Err(format!(
            "`-- {comment}` gives no reason: after `:`, say why this is acceptable here (a reviewer reads it)"
        ));
    }
    Ok((rules, reason.to_owned()))
}

/// True when `between` (the text from the line after an exception up to its statement) holds
/// only whole-line `--` comments: no blank line, no code, no block comment.
fn only_comments_between(between: &str) -> bool {
    between.split_inclusive('\n').all(|line| line.trim_start().starts_with("--"))
}

impl Exceptions {
    /// Applies the exceptions to a file's findings. Each finding an exception on its statement
    /// names is allowed; each rule an exception names that matched nothing is reported (a
    /// warning), unless `new_tables_only` says its statement acted only on tables new against the
    /// base (traced against an older base, or an empty one, the exception is simply not needed
    /// there, not stale); refused exceptions are errors.
    pub fn apply(self, findings: Vec<Finding>, new_tables_only: impl Fn(usize) -> bool) -> Applied {
        let mut kept = Vec::new();
        let mut allowed = Vec::new();
        let mut used: Vec<(usize, Rule)> = Vec::new();
        for finding in findings {
            let allow = self
                .allows
                .get(&finding.statement)
                .and_then(|allows| allows.iter().find(|allow| allow.rules.contains(&finding.rule)));
            match allow {
                Some(allow) => {
                    used.push((finding.statement, finding.rule));
                    allowed.push(Allowed { finding, reason: allow.reason.clone() });
                }
                None => kept.push(finding),
            }
        }
        for (statement, allows) in self.allows.iter().filter(|(statement, _)| !new_tables_only(**statement)) {
            for allow in allows {
                for rule in allow.rules.iter().filter(|rule| !used.contains(&(*statement, **rule))) {
                    kept.push(Finding {
                        rule: Rule::Exception,
                        severity: Severity::Warning,
                        statement: *statement,
                        location: allow.location,
                        message: format!(
                            "this exception allows {} on the statement below, which does not break it",
                            rule.id()
                        ),
                        safer: format!(
                            "remove `{}` from it: a stale exception would hide the next finding there",
                            rule.id()
                        ),
                    });
                }
            }
        }
        kept.extend(self.problems);
        kept.sort_by_key(|finding| (finding.location, finding.severity));
        Applied { findings: kept, allowed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbfiles::statements;

    fn read_sql(sql: &str) -> Exceptions {
        read(sql, &statements::split(sql).unwrap())
    }

    fn finding(rule: Rule, statement: usize) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            statement,
            location: Location { line: 1, column: 1 },
            message: String::new(),
            safer: String::new(),
        }
    }

    #[test]
    fn an_exception_covers_the_statement_directly_below_it() {
        let sql = "SET LOCAL lock_timeout = '2s';\n\
                   -- a note about the index\n\
                   -- db-check allow(index-build, lock-timeout): factories has a few hundred rows\n\
                   -- and more notes\n\
                   CREATE INDEX factories_city_idx ON factories (city);\n\
                   CREATE INDEX factories_name_idx ON factories (name);\n";
        let exceptions = read_sql(sql);
        assert!(exceptions.problems.is_empty(), "{:?}", exceptions.problems);
        let allows = &exceptions.allows[&1];
        assert_eq!(allows[0].rules, [Rule::IndexBuild, Rule::LockTimeout]);
        assert_eq!(allows[0].reason, "factories has a few hundred rows");
        assert_eq!(allows[0].location, Location { line: 3, column: 1 });

        let applied = exceptions.apply(vec![finding(Rule::IndexBuild, 1), finding(Rule::IndexBuild, 2)], |_| false);
        assert_eq!(applied.allowed.len(), 1);
        assert_eq!(applied.allowed[0].finding.statement, 1);
        // The second index is not covered; lock-timeout allowed nothing: a warning.
        let left: Vec<(Rule, Severity)> = applied.findings.iter().map(|f| (f.rule, f.severity)).collect();
        assert!(left.contains(&(Rule::IndexBuild, Severity::Error)));
        assert!(left.contains(&(Rule::Exception, Severity::Warning)));

        // Traced against a base that lacks factories (an empty one), the statement broke nothing
        // because its table is new here: the exception is not stale, and no warning says so.
        let applied = read_sql(sql).apply(Vec::new(), |statement| statement == 1);
        assert!(applied.findings.is_empty(), "{:?}", applied.findings);
    }

    #[test]
    fn blanket_malformed_and_detached_exceptions_are_refused() {
        let refused = |sql: &str| {
            let exceptions = read_sql(sql);
            assert!(exceptions.allows.is_empty(), "{sql}");
            assert_eq!(exceptions.problems.len(), 1, "{sql}");
            assert_eq!(exceptions.problems[0].severity, Severity::Error);
            exceptions.problems[0].message.clone()
        };
        let statement = "ALTER TABLE gateways ADD COLUMN note text;\n";
        assert!(refused(&format!("-- db-check allow(all): fine\n{statement}")).contains("blanket"));
        assert!(refused(&format!("-- db-check allow(*): fine\n{statement}")).contains("blanket"));
        assert!(refused(&format!("-- db-check allow(): fine\n{statement}")).contains("blanket"));
        assert!(refused(&format!("-- db-check allow(lock-timeout)\n{statement}")).contains("no reason"));
        assert!(refused(&format!("-- db-check allow(lock-timeout): <why>\n{statement}")).contains("no reason"));
        assert!(refused(&format!("-- db-check allow(locks): short\n{statement}")).contains("`locks` is not a rule"));
        assert!(refused(&format!("-- db-check ignore lock-timeout\n{statement}")).contains("not an exception"));
        assert!(refused(&format!("-- DB-CHECK allow(lock-timeout\n{statement}")).contains("not closed"));
        // A file-wide exception at the top, separated by a blank line, covers nothing.
        assert!(
            refused(&format!("-- db-check allow(lock-timeout): the whole file is fine\n\n{statement}"))
                .contains("excuses no statement")
        );
        assert!(refused(&format!("{statement}-- db-check allow(lock-timeout): at the end\n")).contains("excuses no"));
        // Beside the code, it is ambiguous: which statement?
        assert!(
            refused(&format!("SELECT 1; -- db-check allow(lock-timeout): beside\n{statement}"))
                .contains("line of its own")
        );
    }

    #[test]
    fn other_comments_and_quoted_text_are_not_exceptions() {
        let sql = "-- db-checks are run in CI\n-- see db-check's docs\n\
                   SELECT '-- db-check allow(all): not a comment';\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- db-check allow(all): in a body\nSELECT 1 $$;\n";
        let exceptions = read_sql(sql);
        assert!(exceptions.problems.is_empty(), "{:?}", exceptions.problems);
        assert!(exceptions.allows.is_empty());
    }
}

//! The trace's findings, written three ways: compiler-style lines for a terminal
//! (`db/migrations/….sql:LINE:COL: error[rule]: …`), GitHub Actions workflow commands (an
//! annotation on the file and line), and a Markdown summary for the job's page. Pure
//! formatting: the caller prints and writes.

use std::fmt::Write as _;
use std::time::Duration;

use super::exceptions::Allowed;
use super::rules::{Finding, Severity};
use crate::elapsed::duration;
use crate::github;

/// One traced migration and what was found in it.
pub struct FileReport {
    /// As shown everywhere: `db/migrations/20261201000000_index_gateways.sql`.
    pub shown: String,
    pub statements: usize,
    pub no_transaction: bool,
    pub elapsed: Duration,
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
}

impl FileReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

pub fn count(reports: &[FileReport], severity: Severity) -> usize {
    reports.iter().map(|r| r.count(severity)).sum()
}

/// `file:line:col: error[rule]: message`, then the safer form on the next line.
pub fn plain(file: &str, finding: &Finding) -> String {
    format!(
        "{file}:{}:{}: {}[{}]: {}\n    safer: {}",
        finding.location.line,
        finding.location.column,
        finding.severity.name(),
        finding.rule.id(),
        finding.message,
        finding.safer
    )
}

/// A finding an exception allowed, with its reason, for the record.
pub fn plain_allowed(file: &str, allowed: &Allowed) -> String {
    let finding = &allowed.finding;
    format!(
        "{file}:{}:{}: allowed[{}]: {}\n    reason given: {}",
        finding.location.line,
        finding.location.column,
        finding.rule.id(),
        finding.message,
        allowed.reason
    )
}

/// GitHub's `::error file=…,line=…::message` for each finding. `path_prefix` is the project's
/// folder in the repository (`github::path_prefix`).
pub fn github_annotations(reports: &[FileReport], path_prefix: &str) -> String {
    let mut commands = String::new();
    for report in reports {
        let file = format!("{path_prefix}{}", report.shown);
        for finding in &report.findings {
            let level = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let at =
                github::At { file: &file, line_and_column: Some((finding.location.line, finding.location.column)) };
            let title = format!("db-check {}", finding.rule.id());
            let message = format!("{}\nSafer: {}", finding.message, finding.safer);
            let _ = writeln!(commands, "{}", github::annotation(level, &at, &title, &message));
        }
    }
    commands
}

/// The job summary: what was traced and found, and what the trace does not cover.
pub fn markdown(reports: &[FileReport], base: &str, place: &str) -> String {
    let mut md = String::new();
    let (errors, warnings) = (count(reports, Severity::Error), count(reports, Severity::Warning));
    let allowed: usize = reports.iter().map(|r| r.allowed.len()).sum();
    let verdict = if errors == 0 { "passes" } else { "fails" };
    let _ = writeln!(md, "## db-check: what the new migrations lock\n");
    let _ = writeln!(
        md,
        "{} new migration(s) against `{base}`, traced statement by statement with the base's seeds loaded \
         ({place}): **{verdict}**, {errors} error(s), {warnings} warning(s), {allowed} allowed by a reviewed \
         exception.\n",
        reports.len()
    );
    let _ = writeln!(md, "| migration | statements | traced in | errors | warnings | allowed |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for report in reports {
        let _ = writeln!(
            md,
            "| `{}`{} | {} | {} | {} | {} | {} |",
            report.shown,
            if report.no_transaction { " (no-transaction)" } else { "" },
            report.statements,
            duration(report.elapsed),
            report.count(Severity::Error),
            report.count(Severity::Warning),
            report.allowed.len()
        );
    }
    let rows: Vec<(&FileReport, &Finding, Option<&str>)> = reports
        .iter()
        .flat_map(|r| {
            r.findings
                .iter()
                .map(move |f| (r, f, None))
                .chain(r.allowed.iter().map(move |a| (r, &a.finding, Some(a.reason.as_str()))))
        })
        .collect();
    if !rows.is_empty() {
        let _ = writeln!(md, "\n| | where | rule | what happens | safer form |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for (report, finding, reason) in rows {
            let kind = match (reason, finding.severity) {
                (Some(_), _) => "allowed",
                (None, Severity::Error) => "**error**",
                (None, Severity::Warning) => "warning",
            };
            let what = match reason {
                Some(reason) => format!("{} (reason given: {reason})", finding.message),
                None => finding.message.clone(),
            };
            let _ = writeln!(
                md,
                "| {kind} | `{}:{}:{}` | `{}` | {} | {} |",
                report.shown,
                finding.location.line,
                finding.location.column,
                finding.rule.id(),
                cell(&what),
                cell(&finding.safer)
            );
        }
    }
    let _ = writeln!(
        md,
        "\nNot covered: row locks (a large `UPDATE` backfill in its own migration), how long a statement takes on \
         production's data (the seeds are small), and the time a `lock_timeout` allows. Rules, safer forms and \
         exceptions: `docs/safe-migrations.md`."
    );
    md
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::facts::Location;
    use crate::safety::rules::Rule;

    fn report() -> FileReport {
        FileReport {
            shown: "db/migrations/20261201000000_index.sql".into(),
            statements: 2,
            no_transaction: false,
            elapsed: Duration::from_millis(12),
            findings: vec![Finding {
                rule: Rule::IndexBuild,
                severity: Severity::Error,
                statement: 1,
                location: Location { line: 3, column: 1 },
                message: "builds index a on gateways: 100% of writes | blocked".into(),
                safer: "CREATE INDEX CONCURRENTLY, then more".into(),
            }],
            allowed: vec![],
        }
    }

    #[test]
    fn plain_lines_are_compiler_style() {
        let r = report();
        assert_eq!(
            plain(&r.shown, &r.findings[0]),
            "db/migrations/20261201000000_index.sql:3:1: error[index-build]: builds index a on gateways: 100% of \
             writes | blocked\n    safer: CREATE INDEX CONCURRENTLY, then more"
        );
    }

    #[test]
    fn annotations_escape_what_github_would_misread() {
        let commands = github_annotations(&[report()], "services/fleet/");
        assert_eq!(
            commands,
            "::error file=services/fleet/db/migrations/20261201000000_index.sql,line=3,col=1,title=db-check \
             index-build::builds index a on gateways: 100%25 of writes | blocked%0ASafer: CREATE INDEX \
             CONCURRENTLY, then more\n"
        );
    }

    #[test]
    fn the_summary_is_a_table_that_survives_pipes() {
        let md = markdown(&[report()], "origin/main", "built the base");
        assert!(md.contains("**fails**, 1 error(s)"), "{md}");
        assert!(md.contains("| **error** | `db/migrations/20261201000000_index.sql:3:1` | `index-build` |"), "{md}");
        assert!(md.contains("100% of writes \\| blocked"), "{md}");
        assert!(md.contains("Not covered"), "{md}");
    }
}

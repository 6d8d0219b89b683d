//! GitHub Actions' side of db-check: workflow commands (`::error file=…::message`, shown on the
//! pull request's files) and the job summary (Markdown on the run's page). Only formatting and
//! the environment's say-so; what to report is the caller's.

use std::path::Path;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// True inside a GitHub Actions job.
pub fn is_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

/// The project's folder in the repository (`services/fleet/`, or empty), since annotations name
/// files from the repository's root.
pub fn path_prefix(sh: &Shell) -> String {
    cmd!(sh, "git rev-parse --show-prefix").quiet().read().unwrap_or_default()
}

/// Where a workflow command points: a file, and a line and column when known.
pub struct At<'a> {
    pub file: &'a str,
    pub line_and_column: Option<(usize, usize)>,
}

/// One workflow command (`::error file=…,line=…,col=…,title=…::message`), without its newline.
pub fn annotation(level: &str, at: &At, title: &str, message: &str) -> String {
    let place = match at.line_and_column {
        Some((line, column)) => format!("file={},line={line},col={column}", property(at.file)),
        None => format!("file={}", property(at.file)),
    };
    format!("::{level} {place},title={}::{}", property(title), data(message))
}

/// Appends `markdown` to the job summary, when the job has one (`GITHUB_STEP_SUMMARY`).
pub fn append_summary(markdown: &str) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) else { return Ok(()) };
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(markdown.as_bytes()))
        .with_context(|| format!("write the job summary to {} (GITHUB_STEP_SUMMARY)", Path::new(&path).display()))
}

/// Escapes a workflow command's message (GitHub's `escapeData`).
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property (GitHub's `escapeProperty`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::{At, annotation};

    #[test]
    fn escapes_what_github_would_misread() {
        let at = At { file: "a:b,c.sql", line_and_column: None };
        assert_eq!(annotation("error", &at, "t", "100%\nnext"), "::error file=a%3Ab%2Cc.sql,title=t::100%25%0Anext");
        let at = At { file: "x.sql", line_and_column: Some((3, 1)) };
        assert_eq!(annotation("warning", &at, "t", "m"), "::warning file=x.sql,line=3,col=1,title=t::m");
    }
}

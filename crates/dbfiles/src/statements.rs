//! Splits a SQL file into its statements the way psql reads it: knowing enough of PostgreSQL's
//! lexical rules (quotes, dollar quotes, comments) not to split inside them, taking the data
//! that follows a `COPY … FROM stdin` (what `pg_dump --data-only` writes) up to its `\.` line,
//! and finding psql's own backslash commands, which are not SQL. A `;` inside parentheses (a
//! rule's `DO ALSO (…; …)`) or inside the `BEGIN ATOMIC … END` body of a function or procedure
//! ends nothing: psql's own heuristic (`psqlscan.l`), followed word for word.
//!
//! Hand-written on purpose: a real SQL parser (`pg_query`) would triple the xtask's build, and
//! only the lexical layer is needed. Files without a backslash or the word `stdin` never come
//! here (see `script.rs`): most files run whole, as one simple query, exactly as sqlx runs them.

/// One statement of a file.
#[derive(Debug, PartialEq, Eq)]
pub struct Statement<'a> {
    /// Byte offset of its first token in the file.
    pub offset: usize,
    pub text: &'a str,
    /// For `COPY … FROM stdin`: the rows that follow it, without the closing `\.` line.
    pub copy_data: Option<&'a str>,
}

/// A psql backslash command (`\set`, `\i`, `\restrict`, …) at byte `offset`: psql's, not SQL,
/// and the server cannot run it.
#[derive(Debug, PartialEq, Eq)]
pub struct MetaCommand<'a> {
    pub offset: usize,
    pub text: &'a str,
}

/// The file's statements in order, or the first psql meta-command in it.
pub fn split(sql: &str) -> Result<Vec<Statement<'_>>, MetaCommand<'_>> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut nesting = Nesting::default();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &sql[i..];
        let skip = if rest.starts_with("--") {
            Some(rest.find('\n').map_or(rest.len(), |n| n + 1))
        } else if rest.starts_with("/*") {
            Some(block_comment_len(rest))
        } else {
            None
        };
        if let Some(len) = skip {
            i += len;
            continue;
        }
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'\\' {
            let line_end = rest.find('\n').map_or(sql.len(), |n| i + n);
            return Err(MetaCommand { offset: i, text: sql[i..line_end].trim_end() });
        }
        let begin = *start.get_or_insert(i);
        i += match c {
            b';' if nesting.ends_statement() => {
                nesting = Nesting::default();
                let text = &sql[begin..=i];
                start = None;
                if is_copy_from_stdin(text) {
                    // The data starts on the next line and ends at a line `\.` (or at the end).
                    let data_start = sql[i..].find('\n').map_or(sql.len(), |n| i + n + 1);
                    let (data, resume) = copy_data(sql, data_start);
                    statements.push(Statement { offset: begin, text, copy_data: Some(data) });
                    i = resume;
                    continue;
                }
                statements.push(Statement { offset: begin, text, copy_data: None });
                1
            }
            // `E'…'`, but not `ELSE'…'`: the E must be a token of its own.
            b'\'' => {
                quoted_len(rest, b'\'', i > 0 && matches!(bytes[i - 1], b'E' | b'e') && !continues_word(bytes, i - 1))
            }
            b'"' => quoted_len(rest, b'"', false),
            // `$` inside a word (`price$usd`) is part of an identifier, not a dollar quote.
            b'$' if !continues_word(bytes, i) => dollar_quoted_len(rest),
            b'(' => {
                nesting.parens += 1;
                1
            }
            b')' => {
                nesting.parens = nesting.parens.saturating_sub(1);
                1
            }
            c if (c.is_ascii_alphabetic() || c == b'_' || c >= 0x80) && !continues_word(bytes, i) => {
                let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len());
                nesting.word(&rest[..len.max(1)]);
                len.max(1)
            }
            _ => rest.chars().next().map_or(1, char::len_utf8),
        };
    }
    if let Some(begin) = start {
        statements.push(Statement { offset: begin, text: &sql[begin..], copy_data: None });
    }
    Ok(statements)
}

/// What psql tracks to tell a `;` that ends a statement from one inside it: the depth of
/// parentheses, and of `BEGIN … END` (and `CASE … END` within it) in a statement that starts
/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, the SQL-standard body (`BEGIN ATOMIC`).
#[derive(Default)]
struct Nesting {
    parens: usize,
    begins: usize,
    /// The statement's words so far, and its first four as psql keeps them: the first letter
    /// of `create`, `or`, `replace`, `function` or `procedure`, else nothing.
    words: usize,
    first: [u8; 4],
}

impl Nesting {
    fn ends_statement(&self) -> bool {
        self.parens == 0 && self.begins == 0
    }

    fn word(&mut self, word: &str) {
        let lower = word.to_ascii_lowercase();
        if self.words < self.first.len()
            && matches!(lower.as_str(), "create" | "or" | "replace" | "function" | "procedure")
        {
            self.first[self.words] = lower.as_bytes()[0];
        }
        self.words += 1;
        let routine = self.first[0] == b'c'
            && (matches!(self.first[1], b'f' | b'p')
                || (self.first[1] == b'o' && self.first[2] == b'r' && matches!(self.first[3], b'f' | b'p')));
        if !routine || self.parens > 0 {
            return;
        }
        match lower.as_str() {
            "begin" => self.begins += 1,
            // CASE ends with END too; it counts only inside a body.
            "case" if self.begins > 0 => self.begins += 1,
            "end" => self.begins = self.begins.saturating_sub(1),
            _ => {}
        }
    }
}

/// The offset of the first statement that ends the transaction it runs in (`COMMIT`, `END`,
/// `ROLLBACK` but not `ROLLBACK TO`, `ABORT`), if the file has one.
pub fn transaction_end(sql: &str) -> Option<usize> {
    split(sql).ok()?.into_iter().find_map(|statement| {
        let mut words = statement.text.split(|c: char| c.is_whitespace() || c == ';').filter(|w| !w.is_empty());
        let first = words.next()?.to_ascii_lowercase();
        let second = words.next().map(str::to_ascii_lowercase);
        let ends = match first.as_str() {
            "commit" | "end" | "abort" => true,
            "rollback" => second.as_deref() != Some("to"),
            _ => false,
        };
        ends.then_some(statement.offset)
    })
}

/// True when the byte at `i` follows a letter, digit, `_` or `$`: it continues a word.
fn continues_word(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'$') || bytes[i - 1] >= 0x80)
}

/// True for `COPY <table> [(columns)] FROM STDIN …`, in any case.
fn is_copy_from_stdin(statement: &str) -> bool {
    let mut words =
        statement.split(|c: char| c.is_whitespace() || matches!(c, ';' | '(' | ')')).filter(|word| !word.is_empty());
    if !words.next().is_some_and(|word| word.eq_ignore_ascii_case("copy")) {
        return false;
    }
    let words: Vec<&str> = words.collect();
    words.windows(2).any(|pair| pair[0].eq_ignore_ascii_case("from") && pair[1].eq_ignore_ascii_case("stdin"))
}

/// The COPY data from `start` up to the line `\.`, and where the SQL resumes after it.
fn copy_data(sql: &str, start: usize) -> (&str, usize) {
    let mut line_start = start;
    while line_start < sql.len() {
        let line_end = sql[line_start..].find('\n').map_or(sql.len(), |n| line_start + n);
        if sql[line_start..line_end].trim_end_matches('\r') == "\\." {
            return (&sql[start..line_start], (line_end + 1).min(sql.len()));
        }
        line_start = line_end + 1;
    }
    (&sql[start..], sql.len())
}

/// `/* … */`, which PostgreSQL lets nest.
fn block_comment_len(text: &str) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with("/*") {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with("*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    text.len()
}

/// `'…'` or `"…"`, where a doubled quote is an escaped one; in `E'…'` a backslash escapes too.
fn quoted_len(text: &str, quote: u8, backslash_escapes: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `$tag$ … $tag$` (a function body, say); a `$` that doesn't open one, as in `$1`, is one byte.
fn dollar_quoted_len(text: &str) -> usize {
    let tag_len = text[1..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map(|n| n + 1);
    match tag_len {
        Some(n) if text.as_bytes()[n] == b'$' && !text[1..n].starts_with(|c: char| c.is_ascii_digit()) => {
            let tag = &text[..=n];
            text[tag.len()..].find(tag).map_or(text.len(), |end| tag.len() + end + tag.len())
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- intro; not a statement\nSELECT 'a;b', \"x;y\";\n/* c; /* nested; */ */ SELECT E'\\';';\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $1\n";
        assert_eq!(
            texts(sql),
            [
                "SELECT 'a;b', \"x;y\";",
                "SELECT E'\\';';",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
                "SELECT $1\n"
            ]
        );
        assert_eq!(split(sql).unwrap()[0].offset, sql.find("SELECT").unwrap());
    }

    #[test]
    fn handles_empty_and_comment_only_text() {
        assert!(split("").unwrap().is_empty());
        assert!(split("-- only a comment\n  /* and another */\n").unwrap().is_empty());
    }

    #[test]
    fn takes_copy_data_up_to_its_end_marker() {
        let sql = "COPY public.t (a, b) FROM stdin;\n1\tx; not SQL\n2\t\\N\n\\.\nSELECT 1;\n";
        let statements = split(sql).unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].text, "COPY public.t (a, b) FROM stdin;");
        assert_eq!(statements[0].copy_data, Some("1\tx; not SQL\n2\t\\N\n"));
        assert_eq!(statements[1].text, "SELECT 1;");
        // Without an end marker the data runs to the end of the file, as in psql.
        let open = split("copy t from STDIN;\n1\n").unwrap();
        assert_eq!(open[0].copy_data, Some("1\n"));
        // COPY from a file or to stdout has no inline data.
        assert_eq!(split("COPY t TO STDOUT;\nSELECT 1;").unwrap()[0].copy_data, None);
    }

    #[test]
    fn dollars_and_es_inside_words_open_nothing() {
        let sql = "CREATE TABLE price$usd$x (a int);\nCOPY price$usd$x (a) FROM stdin;\n1\n\\.\n";
        assert_eq!(split(sql).unwrap()[1].copy_data, Some("1\n"));
        let sql = "SELECT CASE WHEN false THEN 'x' ELSE'C:\\' END;\nCOPY t FROM stdin;\nrow1\n\\.\n";
        assert_eq!(split(sql).unwrap()[1].copy_data, Some("row1\n"));
    }

    #[test]
    fn a_semicolon_inside_a_body_or_parentheses_ends_nothing() {
        let sql = "CREATE FUNCTION one() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  \
                   SELECT 1;\nEND;\n\
                   create or replace procedure p() begin atomic insert into t values (1); end;\n\
                   CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); INSERT INTO c VALUES (2));\n\
                   BEGIN; SELECT 1; END;\n\
                   CREATE TABLE begin_end (x int);";
        assert_eq!(
            texts(sql),
            [
                "CREATE FUNCTION one() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  \
                 SELECT 1;\nEND;",
                "create or replace procedure p() begin atomic insert into t values (1); end;",
                "CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); INSERT INTO c VALUES (2));",
                "BEGIN;",
                "SELECT 1;",
                "END;",
                "CREATE TABLE begin_end (x int);",
            ]
        );
        assert_eq!(transaction_end("CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;"), None);
    }

    #[test]
    fn finds_where_a_file_ends_its_transaction() {
        assert_eq!(transaction_end("SELECT 1;\nCOMMIT;\n"), Some(10));
        assert_eq!(transaction_end("SAVEPOINT a;\nROLLBACK TO a;\nSELECT 'commit';"), None);
        assert_eq!(transaction_end("select 1; rollback;"), Some(10));
    }

    #[test]
    fn finds_psql_meta_commands() {
        let sql = "SELECT 1;\n\\restrict abc123\nSELECT 2;";
        let meta = split(sql).unwrap_err();
        assert_eq!(meta.text, "\\restrict abc123");
        assert_eq!(meta.offset, sql.find('\\').unwrap());
        // A backslash inside a string is just a character.
        assert_eq!(texts("SELECT E'\\\\', '\\';").len(), 1);
    }
}

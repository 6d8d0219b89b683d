//! Splits a SQL file into its statements, knowing enough of PostgreSQL's lexical rules (quotes,
//! dollar quotes, comments) not to split inside them.
//!
//! Files run whole, as one simple query: fast, and exactly what sqlx does. Only when the server
//! reports an error without a position (a constraint violation, a missing table) are the
//! statements run one by one, in a transaction that is then rolled back, to find the line of the
//! failing one.

/// Each statement's text and the byte offset where its first token starts.
pub fn split(sql: &str) -> Vec<(usize, &str)> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
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
        let begin = *start.get_or_insert(i);
        i += match c {
            b';' => {
                statements.push((begin, &sql[begin..=i]));
                start = None;
                1
            }
            b'\'' => quoted_len(rest, b'\'', i > 0 && matches!(bytes[i - 1], b'E' | b'e')),
            b'"' => quoted_len(rest, b'"', false),
            b'$' => dollar_quoted_len(rest),
            _ => rest.chars().next().map_or(1, char::len_utf8),
        };
    }
    if let Some(begin) = start {
        statements.push((begin, &sql[begin..]));
    }
    statements
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
    use super::split;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- intro; not a statement\nSELECT 'a;b', \"x;y\";\n/* c; /* nested; */ */ SELECT E'\\';';\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $1\n";
        let statements: Vec<&str> = split(sql).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            statements,
            [
                "SELECT 'a;b', \"x;y\";",
                "SELECT E'\\';';",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
                "SELECT $1\n"
            ]
        );
        assert_eq!(split(sql)[0].0, sql.find("SELECT").unwrap());
    }

    #[test]
    fn handles_empty_and_comment_only_text() {
        assert!(split("").is_empty());
        assert!(split("-- only a comment\n  /* and another */\n").is_empty());
    }
}

//! The README's "Your first change", run as written: its shell lines and the files its SQL blocks
//! show, in a copy of this project's `db/` on a branch of a throwaway repository. When the
//! walkthrough stops working (a command renamed, a rule the example breaks), this fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Fixture, Run};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The README's text from `## Your first change` to the next `## ` heading.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(repository_root().join("README.md")).unwrap();
    let start = readme.find("\n## Your first change\n").expect("the README has a \"Your first change\" section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    rest[..end].to_owned()
}

/// A fenced block of the walkthrough: its language and its lines.
struct Block {
    language: String,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in text.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(language), None) => open = Some(Block { language: language.trim().to_owned(), lines: Vec::new() }),
            (Some(_), Some(block)) => blocks.push(block),
            (None, Some(mut block)) => {
                block.lines.push(line.to_owned());
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block of the walkthrough is never closed");
    blocks
}

/// A shell line's words: split at spaces, `"…"` kept together, a trailing `# comment` dropped.
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '#' if !quoted && !started => break,
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            _ => {
                word.push(ch);
                started = true;
            }
        }
    }
    assert!(!quoted, "an unclosed quote in the walkthrough: {line}");
    if started {
        words.push(word);
    }
    words
}

fn git(fx: &Fixture, args: &[&str]) -> Run {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Newcomer",
            "-c",
            "user.email=newcomer@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(fx.root())
        .output()
        .expect("run git");
    let args: Vec<&str> = ["git"].into_iter().chain(args.iter().copied()).collect();
    Run::from(output, &args)
}

/// The file a SQL block names on its first line (`-- db/seeds/004_sensors.sql`); `…` stands for
/// the part `db-new` chose (the timestamp).
fn target_file(fx: &Fixture, named: &str) -> PathBuf {
    let Some((folder_and_head, tail)) = named.split_once('…') else { return fx.root().join(named) };
    let (folder, head) = folder_and_head.rsplit_once('/').unwrap_or(("", folder_and_head));
    let matches: Vec<PathBuf> = std::fs::read_dir(fx.root().join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(head) && name.ends_with(tail)
        })
        .collect();
    assert_eq!(matches.len(), 1, "the walkthrough's {named} should name exactly one file: {matches:?}");
    matches[0].clone()
}

#[test]
fn the_readmes_first_change_works_as_written() {
    let fx = Fixture::new("readme");
    let db = repository_root().join("db");
    for folder in ["migrations", "seeds"] {
        for entry in std::fs::read_dir(db.join(folder)).unwrap().flatten() {
            std::fs::copy(entry.path(), fx.root().join("db").join(folder).join(entry.file_name())).unwrap();
        }
    }
    for file in ["schema.sql", "schema.md"] {
        std::fs::copy(db.join(file), fx.root().join("db").join(file)).unwrap();
    }
    std::fs::copy(repository_root().join(".gitignore"), fx.root().join(".gitignore")).unwrap();
    git(&fx, &["init", "-q"]).success();
    git(&fx, &["add", "-A"]).success();
    git(&fx, &["commit", "-q", "-m", "main as it is"]).success();
    git(&fx, &["checkout", "-q", "-b", "sensors"]).success();

    let text = walkthrough();
    let mut ran = Vec::new();
    let mut left_to_the_crates = Vec::new();
    for block in blocks(&text) {
        match block.language.as_str() {
            "sh" => {
                let commands =
                    block.lines.iter().flat_map(|line| line.split(" && ").map(move |command| (line, command)));
                for (line, command) in commands.filter(|(_, command)| !command.trim().is_empty()) {
                    let words = words(command);
                    let args: Vec<&str> = words.iter().map(String::as_str).collect();
                    let run = match args.as_slice() {
                        // The Rust side runs in the real workspace, as the suite this test is in.
                        ["cargo", "xtask", "test", ..] => {
                            left_to_the_crates.push(line.clone());
                            continue;
                        }
                        ["cargo", "xtask", rest @ ..] => fx.xtask(rest),
                        ["git", rest @ ..] => git(&fx, rest),
                        _ => panic!("the walkthrough runs a command this test does not know: {line}"),
                    };
                    ran.push(run.success());
                }
            }
            "sql" => {
                let (first, sql) = block.lines.split_first().expect("an empty SQL block");
                let named = first.strip_prefix("-- ").expect("a SQL block starts with `-- <the file it goes in>`");
                let path = target_file(&fx, named);
                // Written after what is there: db-new's header, for a migration.
                let before = std::fs::read_to_string(&path).unwrap_or_default();
                std::fs::write(&path, format!("{before}{}\n", sql.join("\n"))).unwrap();
            }
            other => panic!("a code block in the walkthrough with language {other:?}"),
        }
    }

    let said = |command: &str| -> String {
        ran.iter().filter(|run| run.command.contains(command)).map(Run::all).collect::<Vec<_>>().join("\n")
    };
    assert!(said("db-new").contains("_create_sensors.sql"), "{}", said("db-new"));
    assert!(
        said("git diff").contains("+CREATE TABLE public.sensors"),
        "the diff shows no new table:\n{}",
        said("git diff")
    );
    assert!(said("db-status").contains("no drift"), "{}", said("db-status"));
    let check = said("db-check");
    assert!(check.contains("Traced 1 new migration(s)") && check.contains("0 error(s)"), "{check}");
    assert!(said("db-reset").contains("Seeded db/seeds/004_sensors.sql"), "{}", said("db-reset"));
    let left = git(&fx, &["status", "--porcelain"]).success().stdout;
    assert!(left.is_empty(), "the commit left files behind:\n{left}");

    // What the walkthrough asks of the crates: the files and names it points to are there.
    assert_eq!(
        left_to_the_crates,
        ["cargo xtask test -- -p db                 # the schema tests: seconds once built"]
    );
    let root = repository_root();
    for (file, holds) in [
        ("crates/db/src/constraint.rs", "pub enum Constraint"),
        ("crates/db/tests/schema/names.rs", "fn "),
        ("crates/db/tests/schema/constraints.rs", "SEEDED.transaction()"),
        ("crates/db/tests/schema/constraints.rs", "rejects("),
        ("crates/db/tests/schema/main.rs", "mod constraints;"),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|_| panic!("the walkthrough names {file}"));
        assert!(text.contains(holds), "the walkthrough points to {holds} in {file}");
    }
}

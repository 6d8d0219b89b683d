//! The append-only rule `db-check` enforces where sharing happens: a migration others already
//! have never changes, and a new one goes after theirs. "Others have it" means it is on the base
//! this branch will merge into: where the branch left it (the fork) or at its tip now.
//!
//! `git.rs` asks git for the three sides (the base's migrations at the fork and at the tip, the
//! working tree's, each with its content hash); `rules.rs` decides, as pure functions over that
//! data; this file puts the two together and words what was found.

pub mod git;
pub mod rules;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;
use xshell::Shell;

pub use git::Base;
use rules::{Breach, Sides, Verdict};

use crate::migrations::MigrationFile;
use crate::migrations::folder::Problems;

/// What the rules found against a base.
pub struct Outcome {
    pub verdict: Verdict,
    /// The working tree's migrations are the fork's, byte for byte: the branch changed nothing.
    pub unchanged_since_fork: bool,
}

impl Outcome {
    /// The branch's new migrations (those the base has at neither end), in version order, as the
    /// folder check read them.
    pub fn new_files<'a>(&self, files: &'a [MigrationFile]) -> Vec<&'a MigrationFile> {
        let new: BTreeSet<&str> = self.verdict.new.iter().map(String::as_str).collect();
        files.iter().filter(|f| f.shown.strip_prefix("db/migrations/").is_some_and(|name| new.contains(name))).collect()
    }
}

/// Reads the three sides from git and the folder, and applies every rule. `files` are the
/// migrations the folder check could read.
pub fn check(sh: &Shell, base: &Base, dir: &Path, files: &[MigrationFile]) -> Result<Outcome> {
    let fork = git::migrations_at(sh, &base.fork)?;
    let tip = if base.tip == base.fork { fork.clone() } else { git::migrations_at(sh, &base.tip)? };
    let tree = git::working_tree(sh, dir, files)?;
    let sides = Sides::new(&fork, &tip, &tree);
    Ok(Outcome { verdict: rules::check(&sides), unchanged_since_fork: sides.unchanged_since_fork() })
}

/// The breaches as problems: one explanation per kind, with the fix, then the files.
pub fn problems(verdict: &Verdict, base: &Base, fork: &str) -> Problems {
    let name = &base.name;
    let shared = format!("though {name} already has it (migrations are append-only once shared)");
    let file = |file_name: &str| format!("db/migrations/{file_name}");
    let mut problems = Problems::default();
    for breach in &verdict.breaches {
        let (explanation, file) = match breach {
            Breach::Modified { name: file_name } => (
                format!(
                    "modified {shared}: restore it (`git checkout {fork} -- <file>`) and put the change in a new \
                     migration (`cargo xtask db-new <name>`)"
                ),
                file(file_name),
            ),
            Breach::Deleted { name: file_name } => (
                format!(
                    "deleted {shared}: restore it (`git checkout {fork} -- <file>`); to undo what it did, write a new \
                     migration"
                ),
                file(file_name),
            ),
            Breach::Renamed { from, to, content_changed: false } => (
                format!("renamed {shared}: give it back its name: databases record migrations by version and checksum"),
                format!("{} → {}", file(from), file(to)),
            ),
            Breach::Renamed { from, to, content_changed: true } => (
                format!(
                    "renamed and changed {shared}: restore it (`git checkout {fork} -- <old file>`), delete the new \
                     name, and put the change in a new migration (`cargo xtask db-new <name>`)"
                ),
                format!("{} → {}", file(from), file(to)),
            ),
            Breach::DiffersFromTip { name: file_name } => (
                format!(
                    "differs from {name}'s copy, merged there since this branch left it (a rebase or cherry-pick that \
                     rewrote it?): take {name}'s (`git checkout {name} -- <file>`) and put your change in a new \
                     migration (`cargo xtask db-new <name>`)"
                ),
                file(file_name),
            ),
            Breach::VersionTaken { name: file_name, version, by } => (
                format!(
                    "new, but version {version} is taken on {name} by {by}: after the merge every command (and sqlx) \
                     refuses two files with one version; give yours a fresh version (`cargo xtask db-new <name>`, \
                     then move the SQL there)"
                ),
                file(file_name),
            ),
            Breach::SortsBefore { name: file_name, newest } => (
                format!(
                    "new, but sorts before {newest}, the newest migration on {name}: databases that already applied \
                     that one would apply this one out of order; give it a fresh version (`cargo xtask db-new \
                     <name>`, then move the SQL there)"
                ),
                file(file_name),
            ),
            Breach::Empty { name: file_name } => (
                "new, and still only the header `cargo xtask db-new` wrote: write its SQL, or delete it".to_owned(),
                file(file_name),
            ),
        };
        problems.add(explanation, file);
    }
    problems
}

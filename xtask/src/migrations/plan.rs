//! The migrations folder compared with a database's history: what is applied, what is pending,
//! and what breaks the append-only rule.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::MigrationFile;
use super::history::AppliedMigration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file's checksum differs from the one recorded.
    Changed,
    /// Applied, but its file is gone.
    Missing,
    /// Not applied, yet older than the newest applied migration: it would run in another order
    /// here than on every database that already moved past it.
    OutOfOrder,
    /// A recorded attempt that did not succeed (only possible for `-- no-transaction` files).
    Failed,
    /// Not applied, and still exactly the header `db-new` wrote: its SQL was not written yet, and
    /// applied, it would stay in the history as a no-op for good.
    Untouched,
}

impl State {
    pub fn is_problem(self) -> bool {
        !matches!(self, State::Applied | State::Pending)
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Changed => "changed since applied",
            State::Missing => "applied, file missing",
            State::OutOfOrder => "pending, out of order",
            State::Failed => "failed",
            State::Untouched => "pending, only db-new's header",
        }
    }

    /// What to do about a problem, in one sentence.
    pub fn advice(self) -> &'static str {
        match self {
            State::Applied | State::Pending => "",
            State::Changed => {
                "if the migration is yours and not shared yet, `cargo xtask db-reset` rebuilds the dev database from the files as they are; once shared, migrations are append-only: restore the file as it was applied and put the change in a new migration (`cargo xtask db-new <name>`)"
            }
            State::Missing => {
                "if you switched branches, `cargo xtask db-reset` rebuilds the dev database from the files you have; otherwise restore the file"
            }
            State::OutOfOrder => {
                "it is older than the newest applied migration, so other databases would apply it in another order: give it a fresh version (`cargo xtask db-new <name>`, then move the SQL there); `cargo xtask db-reset` rebuilds the dev database in file order"
            }
            State::Untouched => {
                "it is still the header `cargo xtask db-new` wrote, nothing else: write its SQL, or delete the file if it is not needed"
            }
            State::Failed => {
                "a -- no-transaction migration failed part-way: undo what it did by hand, delete its row from _sqlx_migrations, fix the file and run again"
            }
        }
    }
}

pub struct Entry<'a> {
    pub version: i64,
    pub description: String,
    pub file: Option<&'a MigrationFile>,
    pub applied: Option<&'a AppliedMigration>,
    pub state: State,
}

pub struct Plan<'a> {
    pub entries: Vec<Entry<'a>>,
}

/// What one version has: a file, a row in the history, or both.
#[derive(Clone, Copy)]
enum Found<'a> {
    File(&'a MigrationFile),
    Row(&'a AppliedMigration),
    Both(&'a MigrationFile, &'a AppliedMigration),
}

impl<'a> Plan<'a> {
    pub fn new(files: &'a [MigrationFile], applied: &'a [AppliedMigration]) -> Plan<'a> {
        let newest_applied = applied.iter().map(|a| a.version).max();
        let mut by_version: BTreeMap<i64, Found> = BTreeMap::new();
        for file in files {
            by_version.insert(file.version(), Found::File(file));
        }
        for row in applied {
            by_version
                .entry(row.version)
                .and_modify(|found| {
                    if let Found::File(file) = *found {
                        *found = Found::Both(file, row);
                    }
                })
                .or_insert(Found::Row(row));
        }
        let entries = by_version
            .into_iter()
            .map(|(version, found)| {
                let state = match found {
                    Found::Row(row) | Found::Both(_, row) if !row.success => State::Failed,
                    Found::Both(file, row) if *file.migration.checksum != *row.checksum => State::Changed,
                    Found::Both(..) => State::Applied,
                    Found::Row(_) => State::Missing,
                    Found::File(file) if file.is_untouched() => State::Untouched,
                    Found::File(_) if newest_applied.is_some_and(|newest| version < newest) => State::OutOfOrder,
                    Found::File(_) => State::Pending,
                };
                let (file, applied, description) = match found {
                    Found::File(file) => (Some(file), None, file.migration.description.to_string()),
                    Found::Both(file, row) => (Some(file), Some(row), file.migration.description.to_string()),
                    Found::Row(row) => (None, Some(row), row.description.clone()),
                };
                Entry { version, description, file, applied, state }
            })
            .collect();
        Plan { entries }
    }

    pub fn pending(&self) -> impl Iterator<Item = &'a MigrationFile> + '_ {
        self.entries.iter().filter(|e| e.state == State::Pending).filter_map(|e| e.file)
    }

    pub fn problems(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.entries.iter().filter(|e| e.state.is_problem())
    }

    /// Refuses, before anything changes, when the folder and the database disagree.
    pub fn refuse_problems(&self, database: &str) -> Result<()> {
        if self.entries.iter().all(|e| e.applied.is_none()) {
            // Nothing applied yet: only the files can be wrong.
            let untouched: Vec<String> =
                self.problems().map(|e| e.file.map_or_else(String::new, |f| f.shown.clone())).collect();
            if !untouched.is_empty() {
                bail!(
                    "db/migrations has {} migration(s) with no SQL written yet, nothing was changed: {}; {}",
                    untouched.len(),
                    untouched.join(", "),
                    State::Untouched.advice()
                );
            }
            return Ok(());
        }
        let lines: Vec<String> = self
            .problems()
            .map(|e| {
                let what = e.file.map_or_else(|| format!("{} ({})", e.version, e.description), |f| f.shown.clone());
                format!("{what}: {}; {}", e.state.label(), e.state.advice())
            })
            .collect();
        if !lines.is_empty() {
            bail!(
                "db/migrations cannot be applied to database {database} as they are, nothing was changed:\n  {}",
                lines.join("\n  ")
            );
        }
        Ok(())
    }
}

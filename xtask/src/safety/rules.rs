//! The rules: pure functions from what a statement did (`facts::Effects`) to findings, each
//! saying what it locks (mode, table), what that blocks, why, and the safer form.
//!
//! Errors are what blocks the application's reads or writes of a table production already has
//! for longer than a catalog update, or lets such a block grow without bound; warnings are what
//! breaks the release still running during a deploy. Every rule reads the server's facts, never
//! the SQL text: a `SET NOT NULL` the server proves without a scan is not flagged, and a
//! `VACUUM FULL` is a rewrite whatever its spelling.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::facts::{
    Blocks, ConstraintKind, Effects, ForeignKey, Held, Index, Location, LockMode, Oid, Retype, Run, Table,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Every rule, by the name an exception gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    Rewrite,
    Validation,
    IndexBuild,
    UniqueConstraint,
    AfterAccessExclusive,
    LockTimeout,
    ForeignKeyIndex,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    ColumnType,
    /// A malformed, blanket, misplaced or unused exception; never itself allowed.
    Exception,
}

impl Rule {
    /// The rules an exception may name.
    pub const ALLOWABLE: [Rule; 12] = [
        Rule::Rewrite,
        Rule::Validation,
        Rule::IndexBuild,
        Rule::UniqueConstraint,
        Rule::AfterAccessExclusive,
        Rule::LockTimeout,
        Rule::ForeignKeyIndex,
        Rule::DropColumn,
        Rule::DropTable,
        Rule::RenameColumn,
        Rule::RenameTable,
        Rule::ColumnType,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::Rewrite => "rewrite",
            Rule::Validation => "validation",
            Rule::IndexBuild => "index-build",
            Rule::UniqueConstraint => "unique-constraint",
            Rule::AfterAccessExclusive => "after-access-exclusive",
            Rule::LockTimeout => "lock-timeout",
            Rule::ForeignKeyIndex => "foreign-key-index",
            Rule::DropColumn => "drop-column",
            Rule::DropTable => "drop-table",
            Rule::RenameColumn => "rename-column",
            Rule::RenameTable => "rename-table",
            Rule::ColumnType => "column-type",
            Rule::Exception => "exception",
        }
    }

    pub fn allowable_by_id(id: &str) -> Option<Rule> {
        Rule::ALLOWABLE.into_iter().find(|rule| rule.id() == id)
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::DropColumn | Rule::DropTable | Rule::RenameColumn | Rule::RenameTable | Rule::ColumnType => {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The statement's index in its file (what an exception attaches to).
    pub statement: usize,
    pub location: Location,
    /// What it locks and blocks, and why.
    pub message: String,
    /// The safer form.
    pub safer: String,
}

/// A statement's effects, where it is in its file.
pub struct Judged<'a> {
    pub statement: usize,
    pub location: Location,
    pub effects: &'a Effects,
}

impl Judged<'_> {
    fn finding(&self, rule: Rule, message: String, safer: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            statement: self.statement,
            location: self.location,
            message,
            safer: safer.into(),
        }
    }
}

/// Every finding of one statement.
pub fn judge(statement: &Judged) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(rewrite(statement));
    findings.extend(validation(statement));
    findings.extend(index_build(statement));
    findings.extend(unique_constraint(statement));
    findings.extend(after_access_exclusive(statement));
    findings.extend(lock_timeout(statement));
    findings.extend(backward_compatibility(statement));
    findings
}

/// The lock that covered work on `table`: what the session held when the statement finished.
/// A statement the server runs only outside a transaction (`VACUUM FULL`, `CLUSTER`) released
/// its locks before they could be read; a rewrite always holds ACCESS EXCLUSIVE.
fn lock_on(effects: &Effects, table: &Table, unobserved: LockMode) -> Option<Held> {
    match effects.run {
        Some(Run::Unobservable) => Some(Held { table: table.clone(), mode: unobserved, taken_at: None }),
        _ => effects.held_on(table.oid).cloned(),
    }
}

/// `SHARE on gateways (taken here, held until commit)`.
fn held(lock: &Held, run: Option<Run>) -> String {
    let since = match (lock.taken_at, run) {
        (_, Some(Run::Unobservable)) => {
            "what every rewrite takes; outside a transaction its locks cannot be read".to_owned()
        }
        (Some(line), _) => format!("taken at line {line}, held until commit"),
        (None, Some(Run::Alone)) => "taken here".to_owned(),
        (None, _) => "taken here, held until commit".to_owned(),
    };
    format!("{} on {} ({since})", lock.mode.name(), lock.table.name)
}

fn rows(read: Option<i64>) -> String {
    match read {
        Some(rows) => format!(" ({rows} rows read in the seeded copy)"),
        None => String::new(),
    }
}

fn rewrite(s: &Judged) -> Vec<Finding> {
    let e = s.effects;
    let mut findings = Vec::new();
    for table in &e.rewritten {
        let indexes_only = e.indexes_only_rewritten.contains(&table.oid);
        // Outside a transaction, only a table written anew is known to have held ACCESS
        // EXCLUSIVE; an index built again there is REINDEX CONCURRENTLY, which blocks nothing.
        if indexes_only && e.run == Some(Run::Unobservable) {
            continue;
        }
        let Some(lock) = lock_on(e, table, LockMode::AccessExclusive).filter(|l| l.mode.blocks() != Blocks::Nothing)
        else {
            continue;
        };
        let retyped = e.columns_retyped.iter().find(|r| r.table.oid == table.oid);
        let added = e.columns_added.iter().find(|(t, _)| t.oid == table.oid);
        let (why, safer) = match (retyped, added) {
            (Some(Retype { column, from, to, .. }), _) => (
                if indexes_only {
                    format!("changing {column} from {from} to {to} rebuilds the indexes that use it from every row")
                } else {
                    format!("changing {column} from {from} to {to} copies every row into a new file")
                },
                "add a column of the new type, fill it in batches (a trigger keeps it in step), switch the code to it, \
                 then drop the old column in a later migration"
                    .to_owned(),
            ),
            (None, Some((_, column))) => (
                format!(
                    "adding {column} with a volatile default (or a serial, identity or stored generated column) \
                     writes every row anew"
                ),
                format!(
                    "add {column} without a default or with a constant one (a catalog change), then fill it in \
                     batches; set the default afterwards"
                ),
            ),
            (None, None) if indexes_only => (
                "its index is rebuilt from every row".to_owned(),
                "REINDEX … CONCURRENTLY, alone in a migration whose first line is `-- no-transaction`".to_owned(),
            ),
            (None, None) => (
                "the table is written anew into a new file (VACUUM FULL, CLUSTER, SET TABLESPACE, TRUNCATE, …)"
                    .to_owned(),
                "do this in a maintenance window, not in a migration; to reclaim space online use pg_repack"
                    .to_owned(),
            ),
        };
        findings.push(s.finding(
            Rule::Rewrite,
            format!(
                "rewrites {}: {} blocks its {} {}, because {why}",
                table.name,
                held(&lock, e.run),
                lock.mode.blocks().describe(),
                match e.run {
                    Some(Run::InMigration) => "until the migration commits",
                    _ => "for the whole rewrite",
                }
            ),
            safer,
        ));
    }
    findings
}

fn validation(s: &Judged) -> Vec<Finding> {
    let e = s.effects;
    let mut findings: Vec<Finding> = Vec::new();
    let mut flagged: Vec<Oid> = Vec::new();
    let mut flag = |table: &Table, what: String, safer: String, findings: &mut Vec<Finding>| {
        if flagged.contains(&table.oid) {
            return;
        }
        let Some(lock) = e.held_on(table.oid).filter(|l| l.mode.blocks() != Blocks::Nothing) else { return };
        flagged.push(table.oid);
        findings.push(s.finding(
            Rule::Validation,
            format!(
                "validates {what} against every row of {}{}: {} blocks its {} for the whole scan",
                table.name,
                rows(e.rows_read(table.oid)),
                held(lock, e.run),
                lock.mode.blocks().describe()
            ),
            safer,
        ));
    };
    let scanned = |table: &Table| e.rows_read(table.oid).is_some();
    for (table, constraint) in &e.constraints_added {
        let validates = match constraint.kind {
            ConstraintKind::Check | ConstraintKind::ForeignKey => constraint.validated,
            // PostgreSQL 18's NOT NULL constraints: a new column with a default needs no scan.
            ConstraintKind::NotNull => constraint.validated && scanned(table),
            _ => false,
        };
        if validates {
            let name = &constraint.name;
            flag(
                table,
                format!("the new {} constraint {name}", constraint.kind.name()),
                format!(
                    "add it with NOT VALID here (a catalog change), then `ALTER TABLE {} VALIDATE CONSTRAINT {name}` \
                     in a later migration: that scan takes SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes",
                    table.name
                ),
                &mut findings,
            );
        }
    }
    for (table, constraint) in &e.constraints_validated {
        let name = &constraint.name;
        flag(
            table,
            format!("constraint {name} (VALIDATE CONSTRAINT)"),
            "validate it in a later migration than the one that added it, so the lock taken then is released first, \
             and VALIDATE CONSTRAINT takes only SHARE UPDATE EXCLUSIVE"
                .to_owned(),
            &mut findings,
        );
    }
    for (table, column) in &e.columns_set_not_null {
        if scanned(table) {
            flag(
                table,
                format!("NOT NULL on {column}"),
                format!(
                    "add `CHECK ({column} IS NOT NULL) NOT VALID`, VALIDATE it in a later migration, then SET NOT NULL \
                     (the server skips the scan when a valid CHECK proves it) and drop the CHECK"
                ),
                &mut findings,
            );
        }
    }
    findings
}

fn index_build(s: &Judged) -> Vec<Finding> {
    let e = s.effects;
    let mut findings = Vec::new();
    for built in &e.indexes_built {
        let for_constraint = e.constraints_added.iter().any(|(_, c)| c.kind.has_index() && c.index == built.oid);
        if for_constraint {
            continue;
        }
        let Some(lock) = lock_on(e, &built.table, LockMode::Share).filter(|_| e.run != Some(Run::Unobservable)) else {
            continue;
        };
        if lock.mode.blocks() == Blocks::Nothing {
            continue;
        }
        let safer = match e.run {
            Some(Run::Alone) => "add CONCURRENTLY: this file already runs outside a transaction (`-- no-transaction`)",
            _ => "CREATE INDEX CONCURRENTLY, alone in a migration whose first line is `-- no-transaction`",
        };
        findings.push(s.finding(
            Rule::IndexBuild,
            format!(
                "builds index {} on {}{}: {} blocks its {} for the whole build",
                built.name,
                built.table.name,
                rows(e.rows_read(built.table.oid)),
                held(&lock, e.run),
                lock.mode.blocks().describe()
            ),
            safer,
        ));
    }
    findings
}

fn unique_constraint(s: &Judged) -> Vec<Finding> {
    let e = s.effects;
    let mut findings = Vec::new();
    for (table, constraint) in &e.constraints_added {
        let built_now = constraint.kind.has_index() && e.indexes_built.iter().any(|i| i.oid == constraint.index);
        if !built_now {
            continue;
        }
        let Some(lock) = e.held_on(table.oid).filter(|l| l.mode.blocks() != Blocks::Nothing) else { continue };
        let name = &constraint.name;
        let safer = match constraint.kind {
            ConstraintKind::Exclusion => {
                "there is no concurrent form of an exclusion constraint: add it while the table is small or in a \
                 maintenance window, with a reviewed exception saying so"
                    .to_owned()
            }
            kind => format!(
                "`CREATE UNIQUE INDEX CONCURRENTLY {name} ON {} (…)` alone in a `-- no-transaction` migration, then \
                 `ALTER TABLE {} ADD CONSTRAINT {name} {} USING INDEX {name}` (a catalog change) under \
                 `SET LOCAL lock_timeout`",
                table.name,
                table.name,
                kind.name()
            ),
        };
        findings.push(s.finding(
            Rule::UniqueConstraint,
            format!(
                "builds the index of {} constraint {name} on {}{}: {} blocks its {} for the whole build",
                constraint.kind.name(),
                table.name,
                rows(e.rows_read(table.oid)),
                held(lock, e.run),
                lock.mode.blocks().describe()
            ),
            safer,
        ));
    }
    findings
}

fn after_access_exclusive(s: &Judged) -> Option<Finding> {
    let e = s.effects;
    // ACCESS EXCLUSIVE from an ALTER, or any mode that blocks writes (a LOCK TABLE … IN SHARE
    // MODE): either way the application waits for whatever runs after it.
    let exclusive: Vec<&Held> = e.held_before.iter().filter(|held| held.mode.blocks() != Blocks::Nothing).collect();
    let first = exclusive.first()?;
    let locked = |oid: Oid| exclusive.iter().any(|held| held.table.oid == oid);
    let mut work = Vec::new();
    for table in &e.rewritten {
        work.push(format!("rewrites {}", table.name));
    }
    for built in &e.indexes_built {
        work.push(format!("builds index {}", built.name));
    }
    for (table, _) in &e.scanned {
        work.push(format!("scans {}", table.name));
    }
    if e.touched_rows && e.scanned.is_empty() {
        work.push("reads or writes rows".to_owned());
    }
    for taken in e.taken.iter().filter(|t| !locked(t.table.oid) && t.mode.blocks() != Blocks::Nothing) {
        work.push(format!("waits for {} on {}", taken.mode.name(), taken.table.name));
    }
    if work.is_empty() {
        // A catalog-only change of a table already locked (another ADD COLUMN, a COMMENT) adds
        // no time worth naming.
        return None;
    }
    let tables: Vec<&str> = exclusive.iter().map(|held| held.table.name.as_str()).collect();
    let since = first.taken_at.map_or_else(String::new, |line| format!(" (taken at line {line})"));
    let strongest = exclusive.iter().map(|held| held.mode).max()?;
    Some(s.finding(
        Rule::AfterAccessExclusive,
        format!(
            "runs while the migration holds {} on {}{since}, so every {} of {} also waits for this statement, which {}",
            strongest.name(),
            tables.join(", "),
            match strongest.blocks() {
                Blocks::ReadsAndWrites => "read and write",
                _ => "write",
            },
            tables.join(", "),
            work.join(", ")
        ),
        "end the transaction first: move this statement to a migration of its own (or fold the ALTER TABLE actions \
         into one statement)",
    ))
}

fn lock_timeout(s: &Judged) -> Option<Finding> {
    let e = s.effects;
    if e.lock_timeout_ms > 0 || e.run == Some(Run::Unobservable) {
        return None;
    }
    let taken: Vec<&Held> = e.taken.iter().filter(|held| held.mode.blocks() != Blocks::Nothing).collect();
    let strongest = taken.iter().max_by_key(|held| held.mode)?;
    let mut locks = String::new();
    for (n, held) in taken.iter().enumerate() {
        let _ = write!(locks, "{}{} on {}", if n == 0 { "" } else { ", " }, held.mode.name(), held.table.name);
    }
    let tables: Vec<&str> = taken.iter().map(|held| held.table.name.as_str()).collect();
    let safer = match e.run {
        Some(Run::Alone) => {
            "`SET lock_timeout = '2s';` before it (SET LOCAL does nothing outside a transaction); a deploy that \
             times out is retried, an outage is not"
        }
        _ => {
            "`SET LOCAL lock_timeout = '2s';` as the migration's first statement; a deploy that times out is \
             retried, an outage is not"
        }
    };
    Some(s.finding(
        Rule::LockTimeout,
        format!(
            "takes {locks} with no lock_timeout: while it waits for that lock (behind a long query, an open \
             transaction, autovacuum), every {} of {} queues behind it",
            match strongest.mode.blocks() {
                Blocks::ReadsAndWrites => "read and write",
                _ => "write",
            },
            tables.join(", ")
        ),
        safer,
    ))
}

fn backward_compatibility(s: &Judged) -> Vec<Finding> {
    let e = s.effects;
    let mut findings = Vec::new();
    let running = "the release still running during the deploy";
    for (table, column) in &e.columns_dropped {
        findings.push(s.finding(
            Rule::DropColumn,
            format!("drops column {}.{column}: {running} fails on every query that names it", table.name),
            "first ship a release that no longer uses the column, then drop it in a later migration",
        ));
    }
    for table in &e.tables_dropped {
        findings.push(s.finding(
            Rule::DropTable,
            format!("drops {}: {running} fails on every query that uses it", table.name),
            "first ship a release that no longer uses it, then drop it in a later migration",
        ));
    }
    for rename in &e.columns_renamed {
        findings.push(s.finding(
            Rule::RenameColumn,
            format!(
                "renames column {}.{} to {}: {running} still reads and writes {}",
                rename.table.name, rename.from, rename.to, rename.from
            ),
            "add the new column, write both, backfill, switch the reads, then drop the old one in a later migration",
        ));
    }
    for rename in &e.tables_renamed {
        findings.push(s.finding(
            Rule::RenameTable,
            format!("renames {} to {}: {running} still uses {}", rename.from, rename.to, rename.from),
            "keep the old name working (a view) until no release uses it, or move in steps as for a column",
        ));
    }
    // A collation alone changes how values sort and compare, not what they are.
    for Retype { table, column, from, to, .. } in e.columns_retyped.iter().filter(|r| r.type_changed) {
        findings.push(s.finding(
            Rule::ColumnType,
            format!("changes {}.{column} from {from} to {to}: {running} still reads and writes {from}", table.name),
            "add a column of the new type and move to it in steps, one release at a time",
        ));
    }
    findings
}

/// Foreign keys the new migrations added with no index that starts with their columns, judged
/// once every new migration ran (a later one may add the index). `added` holds each foreign key
/// with the statement that added it; `indexes` are those of the database at the end.
pub fn foreign_keys_without_index(
    added: &[(Judged, &ForeignKey)],
    indexes: &BTreeMap<Oid, Index>,
    remaining: impl Fn(Oid) -> bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (statement, key) in added {
        if !remaining(key.oid) {
            continue;
        }
        let covered = indexes.values().any(|index| {
            index.table == key.table.oid
                && index.valid
                && !index.partial
                && index.keys.len() >= key.columns.len()
                && key.columns.iter().all(|column| index.keys[..key.columns.len()].contains(column))
        });
        if covered {
            continue;
        }
        let columns = key.column_names.join(", ");
        findings.push(statement.finding(
            Rule::ForeignKeyIndex,
            format!(
                "foreign key {} on {} ({columns}) has no index that starts with those columns: every DELETE from {} \
                 (and every UPDATE of its key) reads all of {} to check it",
                key.name, key.table.name, key.references, key.table.name
            ),
            format!(
                "`CREATE INDEX CONCURRENTLY ON {} ({columns})` alone in a `-- no-transaction` migration (for a table \
                 created in this migration, a plain CREATE INDEX beside it)",
                key.table.name
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::facts::{Constraint, IndexBuilt, Rename};

    fn table(oid: Oid, name: &str) -> Table {
        Table { oid, name: name.to_owned() }
    }

    fn gateways() -> Table {
        table(1, "gateways")
    }

    fn held(mode: LockMode, taken_at: Option<usize>) -> Held {
        Held { table: gateways(), mode, taken_at }
    }

    fn judge_one(effects: &Effects) -> Vec<Finding> {
        judge(&Judged { statement: 0, location: Location { line: 3, column: 1 }, effects })
    }

    fn rules(effects: &Effects) -> Vec<Rule> {
        judge_one(effects).into_iter().map(|f| f.rule).collect()
    }

    /// A statement in the migration's transaction, under `SET LOCAL lock_timeout`.
    fn with_timeout() -> Effects {
        Effects { run: Some(Run::InMigration), lock_timeout_ms: 2000, ..Effects::default() }
    }

    #[test]
    fn a_rewrite_under_access_exclusive_fails_with_the_safer_form_for_its_cause() {
        let mut e = with_timeout();
        e.rewritten = vec![gateways()];
        e.held_after = vec![held(LockMode::AccessExclusive, None)];
        e.taken = e.held_after.clone();
        e.columns_retyped = vec![Retype {
            table: gateways(),
            column: "serial_number".into(),
            from: "text".into(),
            to: "character varying(64)".into(),
            type_changed: true,
        }];
        let findings = judge_one(&e);
        let rewrite = findings.iter().find(|f| f.rule == Rule::Rewrite).unwrap();
        assert!(rewrite.message.contains("ACCESS EXCLUSIVE on gateways"), "{}", rewrite.message);
        assert!(rewrite.message.contains("reads and writes"), "{}", rewrite.message);
        assert!(rewrite.safer.contains("fill it in batches"));
        assert_eq!(rules(&e), [Rule::Rewrite, Rule::ColumnType]);

        // VACUUM FULL runs outside a transaction: its lock is not seen, but a rewrite is a rewrite.
        let mut e = with_timeout();
        e.run = Some(Run::Unobservable);
        e.rewritten = vec![gateways()];
        assert_eq!(rules(&e), [Rule::Rewrite]);
        // REINDEX CONCURRENTLY builds the index again outside a transaction, blocking nothing.
        e.indexes_only_rewritten = vec![gateways().oid];
        assert!(rules(&e).is_empty());
    }

    #[test]
    fn a_valid_constraint_fails_and_not_valid_passes() {
        let check = |validated| Constraint {
            table: 1,
            name: "gateways_x_check".into(),
            kind: ConstraintKind::Check,
            validated,
            index: 0,
            columns: vec![],
            references: 0,
        };
        let mut e = with_timeout();
        e.held_after = vec![held(LockMode::AccessExclusive, None)];
        e.taken = e.held_after.clone();
        e.constraints_added = vec![(gateways(), check(true))];
        e.scanned = vec![(gateways(), 492)];
        let findings = judge_one(&e);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("492 rows read"), "{}", findings[0].message);
        assert!(findings[0].safer.contains("NOT VALID"));
        e.constraints_added = vec![(gateways(), check(false))];
        e.scanned.clear();
        assert!(judge_one(&e).is_empty());

        // VALIDATE in a later migration holds SHARE UPDATE EXCLUSIVE: nothing blocked.
        let mut e = with_timeout();
        e.held_after = vec![held(LockMode::ShareUpdateExclusive, None)];
        e.taken = e.held_after.clone();
        e.constraints_validated = vec![(gateways(), check(true))];
        assert!(judge_one(&e).is_empty());
        // In the transaction that added it, the ACCESS EXCLUSIVE taken then is still held.
        e.held_after = vec![held(LockMode::AccessExclusive, Some(2))];
        e.taken.clear();
        let findings = judge_one(&e);
        assert_eq!(findings[0].rule, Rule::Validation);
        assert!(findings[0].message.contains("taken at line 2"), "{}", findings[0].message);
    }

    #[test]
    fn set_not_null_fails_only_when_the_server_scanned() {
        let mut e = with_timeout();
        e.held_after = vec![held(LockMode::AccessExclusive, None)];
        e.taken = e.held_after.clone();
        e.columns_set_not_null = vec![(gateways(), "firmware_version".into())];
        assert!(judge_one(&e).is_empty(), "a valid CHECK proved it: no scan, nothing to flag");
        e.scanned = vec![(gateways(), 492)];
        assert_eq!(rules(&e), [Rule::Validation]);
    }

    #[test]
    fn an_index_build_fails_under_share_and_passes_concurrently() {
        let mut e = with_timeout();
        e.held_after = vec![held(LockMode::Share, None)];
        e.taken = e.held_after.clone();
        e.indexes_built = vec![IndexBuilt { table: gateways(), oid: 9, name: "gateways_fw_idx".into() }];
        let findings = judge_one(&e);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::IndexBuild);
        assert!(
            findings[0].message.contains("SHARE on gateways (taken here, held until commit) blocks its writes"),
            "{}",
            findings[0].message
        );
        assert!(findings[0].safer.contains("CONCURRENTLY"));

        e.run = Some(Run::Unobservable);
        e.held_after.clear();
        e.taken.clear();
        e.lock_timeout_ms = 0;
        assert!(judge_one(&e).is_empty(), "CREATE INDEX CONCURRENTLY");
    }

    #[test]
    fn a_unique_constraint_built_under_lock_fails_and_using_index_passes() {
        let unique = Constraint {
            table: 1,
            name: "gateways_serial_key".into(),
            kind: ConstraintKind::Unique,
            validated: true,
            index: 9,
            columns: vec![2],
            references: 0,
        };
        let mut e = with_timeout();
        e.held_after = vec![held(LockMode::AccessExclusive, None)];
        e.taken = e.held_after.clone();
        e.constraints_added = vec![(gateways(), unique)];
        e.indexes_built = vec![IndexBuilt { table: gateways(), oid: 9, name: "gateways_serial_key".into() }];
        let findings = judge_one(&e);
        assert_eq!(findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::UniqueConstraint]);
        assert!(findings[0].safer.contains("USING INDEX gateways_serial_key"), "{}", findings[0].safer);
        // USING INDEX: the index existed (built concurrently before), nothing is built.
        e.indexes_built.clear();
        assert!(judge_one(&e).is_empty());
    }

    #[test]
    fn work_after_access_exclusive_fails_but_another_catalog_change_does_not() {
        let mut e = with_timeout();
        e.held_before = vec![held(LockMode::AccessExclusive, Some(2))];
        e.held_after = e.held_before.clone();
        assert!(judge_one(&e).is_empty(), "another ADD COLUMN on the locked table");
        e.touched_rows = true;
        e.scanned = vec![(gateways(), 492)];
        let findings = judge_one(&e);
        assert_eq!(findings[0].rule, Rule::AfterAccessExclusive);
        assert!(findings[0].message.contains("(taken at line 2)"), "{}", findings[0].message);
        assert!(findings[0].message.contains("scans gateways"), "{}", findings[0].message);

        let mut e = with_timeout();
        e.held_before = vec![held(LockMode::AccessExclusive, Some(2))];
        e.taken = vec![Held { table: table(2, "factories"), mode: LockMode::AccessExclusive, taken_at: None }];
        assert!(judge_one(&e)[0].message.contains("waits for ACCESS EXCLUSIVE on factories"));
    }

    #[test]
    fn work_after_a_lock_that_blocks_writes_fails_too() {
        // LOCK TABLE gateways IN SHARE MODE; UPDATE gateways …: no row of gateways can be
        // written until the update ends.
        let mut e = with_timeout();
        e.held_before = vec![held(LockMode::Share, Some(2))];
        e.held_after = e.held_before.clone();
        e.touched_rows = true;
        e.scanned = vec![(gateways(), 492)];
        let findings = judge_one(&e);
        assert_eq!(findings[0].rule, Rule::AfterAccessExclusive);
        assert!(findings[0].message.contains("holds SHARE on gateways (taken at line 2), so every write of"));
        // A lock that blocks no application statement (an UPDATE's ROW EXCLUSIVE) does not count.
        e.held_before = vec![held(LockMode::RowExclusive, Some(2))];
        assert!(judge_one(&e).iter().all(|f| f.rule != Rule::AfterAccessExclusive));
    }

    #[test]
    fn a_blocking_lock_needs_a_lock_timeout() {
        let mut e = Effects { run: Some(Run::InMigration), ..Effects::default() };
        e.taken = vec![held(LockMode::AccessExclusive, None)];
        e.held_after = e.taken.clone();
        let findings = judge_one(&e);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::LockTimeout);
        assert!(findings[0].message.contains("every read and write of gateways"), "{}", findings[0].message);
        assert!(findings[0].safer.contains("SET LOCAL lock_timeout"));
        e.run = Some(Run::Alone);
        assert!(judge_one(&e)[0].safer.starts_with("`SET lock_timeout"));
        e.lock_timeout_ms = 2000;
        assert!(judge_one(&e).is_empty());
        // SHARE UPDATE EXCLUSIVE (VALIDATE CONSTRAINT, CREATE INDEX CONCURRENTLY) blocks neither.
        let mut e = Effects { run: Some(Run::InMigration), ..Effects::default() };
        e.taken = vec![held(LockMode::ShareUpdateExclusive, None)];
        assert!(judge_one(&e).is_empty());
    }

    #[test]
    fn backward_incompatible_changes_are_warnings() {
        let mut e = with_timeout();
        e.columns_dropped = vec![(gateways(), "metadata".into())];
        e.tables_dropped = vec![table(2, "factories")];
        e.columns_renamed = vec![Rename { table: gateways(), from: "metadata".into(), to: "meta".into() }];
        e.tables_renamed = vec![Rename { table: gateways(), from: "gateways".into(), to: "devices".into() }];
        let findings = judge_one(&e);
        assert_eq!(
            findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
            [Rule::DropColumn, Rule::DropTable, Rule::RenameColumn, Rule::RenameTable]
        );
        assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    }

    #[test]
    fn a_foreign_key_needs_an_index_that_starts_with_its_columns() {
        let key = ForeignKey {
            oid: 50,
            name: "readings_gateway_id_fkey".into(),
            table: table(5, "readings"),
            columns: vec![2],
            column_names: vec!["gateway_id".into()],
            references: "gateways".into(),
        };
        let e = with_timeout();
        let added = [(Judged { statement: 1, location: Location { line: 4, column: 1 }, effects: &e }, &key)];
        let index = |keys: Vec<i16>, partial| Index { table: 5, valid: true, partial, keys };
        let check = |indexes: Vec<Index>| {
            let indexes: BTreeMap<Oid, Index> = indexes.into_iter().enumerate().map(|(n, i)| (n as Oid, i)).collect();
            foreign_keys_without_index(&added, &indexes, |_| true)
        };
        let missing = check(vec![index(vec![1], false), index(vec![3, 2], false), index(vec![2], true)]);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].location.line, 4);
        assert!(missing[0].message.contains("every DELETE from gateways"), "{}", missing[0].message);
        assert!(check(vec![index(vec![2, 3], false)]).is_empty());
        assert!(foreign_keys_without_index(&added, &BTreeMap::new(), |_| false).is_empty(), "dropped again");
    }

    #[test]
    fn rule_names_are_unique_and_the_exception_rule_cannot_be_allowed() {
        let mut ids: Vec<&str> = Rule::ALLOWABLE.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALLOWABLE.len());
        assert_eq!(Rule::allowable_by_id("index-build"), Some(Rule::IndexBuild));
        assert_eq!(Rule::allowable_by_id("exception"), None);
    }
}

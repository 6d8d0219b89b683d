//! What the trace reads from the server, and what one statement did to the tables the base
//! already has: plain data, no I/O. `trace.rs` fills a `Snapshot` before and after each
//! statement; `Effects::between` compares the two, and `rules.rs` judges the result.
//!
//! Every fact here is one the server showed, not one guessed from the SQL: the locks the session
//! holds (`pg_locks`), a relation whose file node changed (a rewrite), the constraints and
//! indexes that appeared (and whether valid), the columns that changed, and the rows the
//! statement read or wrote (`pg_stat_xact_user_tables`, the transaction's own counters).

use std::collections::{BTreeMap, BTreeSet};

/// A catalog object id, as the server's `oid` cast to `int8`.
pub type Oid = i64;

/// PostgreSQL's table lock modes, weakest first (their order is their strength).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

/// What the application cannot do to a table while a migration holds a lock on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Blocks {
    Nothing,
    /// INSERT, UPDATE, DELETE (and SELECT … FOR UPDATE under EXCLUSIVE); plain reads go on.
    Writes,
    /// Everything, plain SELECT included.
    ReadsAndWrites,
}

impl LockMode {
    /// The mode as `pg_locks.mode` spells it (`AccessExclusiveLock`).
    pub fn from_pg(mode: &str) -> Option<LockMode> {
        Some(match mode {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }

    /// The mode as the documentation and `LOCK TABLE` spell it.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// Reads need ACCESS SHARE, writes ROW EXCLUSIVE: what a mode conflicts with of those two
    /// (PostgreSQL's conflict table, "Explicit Locking").
    pub fn blocks(self) -> Blocks {
        match self {
            LockMode::AccessExclusive => Blocks::ReadsAndWrites,
            LockMode::Share | LockMode::ShareRowExclusive | LockMode::Exclusive => Blocks::Writes,
            LockMode::AccessShare | LockMode::RowShare | LockMode::RowExclusive | LockMode::ShareUpdateExclusive => {
                Blocks::Nothing
            }
        }
    }
}

impl Blocks {
    pub fn describe(self) -> &'static str {
        match self {
            Blocks::Nothing => "nothing the application does",
            Blocks::Writes => "writes (INSERT, UPDATE, DELETE; reads go on)",
            Blocks::ReadsAndWrites => "reads and writes",
        }
    }
}

/// What kind of relation an oid is, as far as the rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    /// A table, partitioned table, materialized view or foreign table: something with rows.
    Table,
    View,
    Index,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    /// As the server prints it (`gateways`, `inventory."Stock"`), for messages.
    pub name: String,
    /// Its schema and name, whatever the session's search_path: what a rename changes.
    pub identity: String,
    pub kind: RelationKind,
    /// The table an index belongs to; the relation itself otherwise.
    pub table: Oid,
    /// `relfilenode`: a new one means the relation's data was written anew (a rewrite).
    pub filenode: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type`: `character varying(64)`, `gateway_status`, for messages.
    pub type_name: String,
    /// The type's oid, modifier and collation: what a type change changes.
    pub type_id: (Oid, i32, Oid),
    pub not_null: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    Check,
    ForeignKey,
    /// PostgreSQL 18 keeps NOT NULL as constraints too.
    NotNull,
    PrimaryKey,
    Unique,
    Exclusion,
    Other,
}

impl ConstraintKind {
    pub fn from_pg(contype: &str) -> ConstraintKind {
        match contype {
            "c" => ConstraintKind::Check,
            "f" => ConstraintKind::ForeignKey,
            "n" => ConstraintKind::NotNull,
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "x" => ConstraintKind::Exclusion,
            _ => ConstraintKind::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConstraintKind::Check => "CHECK",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
            ConstraintKind::NotNull => "NOT NULL",
            ConstraintKind::PrimaryKey => "PRIMARY KEY",
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::Exclusion => "EXCLUDE",
            ConstraintKind::Other => "constraint",
        }
    }

    /// Built on an index of its own (created with it, unless `USING INDEX` names one).
    pub fn has_index(self) -> bool {
        matches!(self, ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub table: Oid,
    pub name: String,
    pub kind: ConstraintKind,
    pub validated: bool,
    /// The index behind a unique, primary key or exclusion constraint (0 for none).
    pub index: Oid,
    /// The constrained columns (`conkey`), by number.
    pub columns: Vec<i16>,
    /// For a foreign key: the referenced table.
    pub references: Oid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    pub table: Oid,
    /// False for an index a failed `CREATE INDEX CONCURRENTLY` left behind.
    pub valid: bool,
    /// Has a WHERE clause: it does not cover every row.
    pub partial: bool,
    /// Column numbers in order; 0 for an expression.
    pub keys: Vec<i16>,
}

/// A table's row activity in the current transaction (`pg_stat_xact_user_tables`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Sequential and index scans started.
    pub scans: i64,
    /// Rows those scans returned.
    pub rows_read: i64,
    /// Rows inserted, updated or deleted.
    pub rows_written: i64,
}

impl Activity {
    /// What happened between `self` and `later`. The server may flush its counters to zero
    /// between transactions; within one they only grow.
    fn since(self, earlier: Activity) -> Activity {
        Activity {
            scans: (self.scans - earlier.scans).max(0),
            rows_read: (self.rows_read - earlier.rows_read).max(0),
            rows_written: (self.rows_written - earlier.rows_written).max(0),
        }
    }
}

/// Everything the trace reads at one moment, about every relation in the user's schemas.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// `lock_timeout` in milliseconds (0: wait forever).
    pub lock_timeout_ms: i64,
    /// The strongest lock this session holds on each relation.
    pub locks: BTreeMap<Oid, LockMode>,
    pub relations: BTreeMap<Oid, Relation>,
    /// Live columns, by table and column number.
    pub columns: BTreeMap<(Oid, i16), Column>,
    pub constraints: BTreeMap<Oid, Constraint>,
    pub indexes: BTreeMap<Oid, Index>,
    pub activity: BTreeMap<Oid, Activity>,
}

impl Snapshot {
    /// Drops what the snapshot knows about the relations of `scope` (and the indexes of the
    /// tables among them), to be read anew.
    pub fn forget(&mut self, scope: &BTreeSet<Oid>) {
        self.relations.retain(|oid, relation| !scope.contains(oid) && !scope.contains(&relation.table));
        self.columns.retain(|(table, _), _| !scope.contains(table));
        self.constraints.retain(|_, constraint| !scope.contains(&constraint.table));
        self.indexes.retain(|oid, index| !scope.contains(oid) && !scope.contains(&index.table));
        self.activity.retain(|oid, _| !scope.contains(oid));
    }
}

/// How a statement ran, as the real migration runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// In the migration's own transaction, with the statements before it.
    InMigration,
    /// In a `-- no-transaction` file: in a transaction of its own, committed at once.
    Alone,
    /// In a `-- no-transaction` file, and the server refuses to run it in a transaction block
    /// (`CREATE INDEX CONCURRENTLY`, `VACUUM`): it ran bare, so its locks were released before
    /// they could be read.
    Unobservable,
}

/// Where a statement is in its file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Location {
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        Location { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }
}

/// A table of the base, as messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub oid: Oid,
    pub name: String,
}

/// A lock the session holds on a table of the base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub table: Table,
    pub mode: LockMode,
    /// The line of the statement that took this mode; `None` when it is the statement at hand.
    pub taken_at: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    pub table: Table,
    pub from: String,
    pub to: String,
}

/// A column of a base table whose type or collation changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retype {
    pub table: Table,
    pub column: String,
    pub from: String,
    pub to: String,
    /// False when only the collation changed: the values read and written are the same.
    pub type_changed: bool,
}

/// A new index on a base table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexBuilt {
    pub table: Table,
    pub oid: Oid,
    pub name: String,
}

/// A foreign key a new migration added, anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    pub oid: Oid,
    pub name: String,
    pub table: Table,
    pub columns: Vec<i16>,
    pub column_names: Vec<String>,
    pub references: String,
}

/// What one statement did, as the rules see it. Everything but `foreign_keys_added` is about
/// the tables the base already has: a table a new migration creates is empty in production, and
/// no running code uses it yet.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    pub location: Option<Location>,
    /// The statement's first line, shortened.
    pub excerpt: String,
    pub run: Option<Run>,
    /// `lock_timeout` in effect while it ran, in milliseconds.
    pub lock_timeout_ms: i64,
    /// Locks held on base tables when it started (taken by earlier statements of its transaction).
    pub held_before: Vec<Held>,
    /// Modes on base tables it took that are stronger than what was held before.
    pub taken: Vec<Held>,
    /// Locks held on base tables when it finished.
    pub held_after: Vec<Held>,
    /// Base tables whose data (or an index's) was written anew.
    pub rewritten: Vec<Table>,
    /// Of those, the tables whose own file stayed and only an index was rebuilt (REINDEX).
    pub indexes_only_rewritten: Vec<Oid>,
    /// Base tables it scanned, with the rows it read there.
    pub scanned: Vec<(Table, i64)>,
    /// True when it read or wrote rows of any table (a new one too).
    pub touched_rows: bool,
    /// New indexes on base tables.
    pub indexes_built: Vec<IndexBuilt>,
    /// New constraints on base tables (valid or NOT VALID).
    pub constraints_added: Vec<(Table, Constraint)>,
    /// Base constraints that went from NOT VALID to valid.
    pub constraints_validated: Vec<(Table, Constraint)>,
    /// Columns of base tables that became NOT NULL.
    pub columns_set_not_null: Vec<(Table, String)>,
    /// Columns added to base tables.
    pub columns_added: Vec<(Table, String)>,
    pub columns_dropped: Vec<(Table, String)>,
    pub columns_renamed: Vec<Rename>,
    /// Columns of base tables whose type changed: the column, the old type and the new one.
    pub columns_retyped: Vec<Retype>,
    pub tables_dropped: Vec<Table>,
    pub tables_renamed: Vec<Rename>,
    /// Foreign keys it added on any table.
    pub foreign_keys_added: Vec<ForeignKey>,
}

/// The tables, views and their indexes of the database before the first new migration:
/// what production has, and running code uses.
#[derive(Clone, Debug, Default)]
pub struct Base {
    /// Tables and views, by oid, with their names then.
    pub tables: BTreeMap<Oid, String>,
    /// Every relation of the base (tables, views and indexes).
    pub relations: BTreeSet<Oid>,
}

impl Base {
    pub fn of(snapshot: &Snapshot) -> Base {
        let tables = snapshot
            .relations
            .iter()
            .filter(|(_, relation)| relation.kind != RelationKind::Index)
            .map(|(oid, relation)| (*oid, relation.name.clone()))
            .collect();
        Base { tables, relations: snapshot.relations.keys().copied().collect() }
    }

    fn has_table(&self, oid: Oid) -> bool {
        self.tables.contains_key(&oid)
    }
}

impl Effects {
    /// False when the statement did nothing to a table of the base: it acted only on tables that
    /// migrations new against the base made, which no running code uses yet, so no rule applies.
    pub fn acts_on_the_base(&self) -> bool {
        !(self.taken.is_empty()
            && self.rewritten.is_empty()
            && self.scanned.is_empty()
            && self.indexes_built.is_empty()
            && self.constraints_added.is_empty()
            && self.constraints_validated.is_empty()
            && self.columns_set_not_null.is_empty()
            && self.columns_added.is_empty()
            && self.columns_dropped.is_empty()
            && self.columns_renamed.is_empty()
            && self.columns_retyped.is_empty()
            && self.tables_dropped.is_empty()
            && self.tables_renamed.is_empty())
    }

    /// What happened between `before` and `after` to the tables of `base`. `taken_at` gives,
    /// for each base table locked before the statement, the line of the statement that took
    /// the mode held.
    pub fn between(base: &Base, before: &Snapshot, after: &Snapshot, taken_at: &BTreeMap<Oid, usize>) -> Effects {
        // Names as they are now (a rename shows the new one), else as the base had them.
        let table = |oid: Oid| Table {
            oid,
            name: after
                .relations
                .get(&oid)
                .or_else(|| before.relations.get(&oid))
                .map(|relation| relation.name.clone())
                .or_else(|| base.tables.get(&oid).cloned())
                .unwrap_or_else(|| format!("relation {oid}")),
        };
        let base_locks = |snapshot: &Snapshot| -> Vec<(Oid, LockMode)> {
            snapshot.locks.iter().filter(|(oid, _)| base.has_table(**oid)).map(|(oid, mode)| (*oid, *mode)).collect()
        };
        let held_before: Vec<Held> = base_locks(before)
            .into_iter()
            .map(|(oid, mode)| Held { table: table(oid), mode, taken_at: taken_at.get(&oid).copied() })
            .collect();
        let mut taken = Vec::new();
        let mut held_after = Vec::new();
        for (oid, mode) in base_locks(after) {
            let earlier = before.locks.get(&oid).copied().filter(|earlier| *earlier >= mode);
            let held = Held { table: table(oid), mode, taken_at: earlier.and(taken_at.get(&oid).copied()) };
            if earlier.is_none() {
                taken.push(held.clone());
            }
            held_after.push(held);
        }

        // A rewritten table gets new files for its indexes too: one entry per table.
        let mut rewritten: Vec<Table> = Vec::new();
        let mut table_files_rewritten: BTreeSet<Oid> = BTreeSet::new();
        for (oid, old) in &before.relations {
            let Some(new) = after.relations.get(oid) else { continue };
            if !base.relations.contains(oid) || old.filenode == new.filenode || old.filenode == 0 {
                continue;
            }
            if new.kind != RelationKind::Index {
                table_files_rewritten.insert(*oid);
            }
            if base.has_table(new.table) && !rewritten.iter().any(|t| t.oid == new.table) {
                rewritten.push(table(new.table));
            }
        }
        // An index dropped and created again under its name (a type or collation change does
        // that) was rebuilt from every row too.
        for (oid, old) in &before.relations {
            let recreated = old.kind == RelationKind::Index
                && base.relations.contains(oid)
                && !after.relations.contains_key(oid)
                && after.relations.iter().any(|(new_oid, new)| {
                    new.kind == RelationKind::Index && new.table == old.table && new.name == old.name && new_oid != oid
                });
            if recreated && base.has_table(old.table) && !rewritten.iter().any(|t| t.oid == old.table) {
                rewritten.push(table(old.table));
            }
        }
        let indexes_only_rewritten =
            rewritten.iter().map(|t| t.oid).filter(|oid| !table_files_rewritten.contains(oid)).collect();

        let mut scanned = Vec::new();
        let mut touched_rows = false;
        for (oid, now) in &after.activity {
            let done = now.since(before.activity.get(oid).copied().unwrap_or_default());
            touched_rows |= done.rows_read > 0 || done.rows_written > 0;
            if done.scans > 0 && base.has_table(*oid) {
                scanned.push((table(*oid), done.rows_read));
            }
        }

        // A statement that rewrites a table (a column's type) drops and re-creates the indexes
        // and constraints on it under the same names: part of that rewrite, not new objects.
        let index_name = |snapshot: &Snapshot, oid: &Oid| snapshot.relations.get(oid).map(|r| r.name.clone());
        let had_index = |table: Oid, name: Option<String>| {
            before.indexes.iter().any(|(oid, index)| index.table == table && index_name(before, oid) == name)
        };
        let had_constraint =
            |table: Oid, name: &str| before.constraints.values().any(|c| c.table == table && c.name == name);
        let indexes_built = after
            .indexes
            .iter()
            .filter(|(oid, index)| {
                !before.indexes.contains_key(oid)
                    && base.has_table(index.table)
                    && !had_index(index.table, index_name(after, oid))
            })
            .map(|(oid, index)| IndexBuilt {
                table: table(index.table),
                oid: *oid,
                name: after.relations.get(oid).map_or_else(|| format!("index {oid}"), |r| r.name.clone()),
            })
            .collect();

        let mut constraints_added = Vec::new();
        let mut constraints_validated = Vec::new();
        let mut foreign_keys_added = Vec::new();
        for (oid, constraint) in &after.constraints {
            match before.constraints.get(oid) {
                None => {
                    if constraint.kind == ConstraintKind::ForeignKey
                        && !had_constraint(constraint.table, &constraint.name)
                    {
                        let column_names = constraint
                            .columns
                            .iter()
                            .map(|n| {
                                after
                                    .columns
                                    .get(&(constraint.table, *n))
                                    .map_or_else(|| n.to_string(), |c| c.name.clone())
                            })
                            .collect();
                        foreign_keys_added.push(ForeignKey {
                            oid: *oid,
                            name: constraint.name.clone(),
                            table: table(constraint.table),
                            columns: constraint.columns.clone(),
                            column_names,
                            references: table(constraint.references).name,
                        });
                    }
                    if base.has_table(constraint.table) && !had_constraint(constraint.table, &constraint.name) {
                        constraints_added.push((table(constraint.table), constraint.clone()));
                    }
                }
                Some(old) if !old.validated && constraint.validated && base.has_table(constraint.table) => {
                    constraints_validated.push((table(constraint.table), constraint.clone()));
                }
                Some(_) => {}
            }
        }

        let mut columns_set_not_null = Vec::new();
        let mut columns_added = Vec::new();
        let mut columns_dropped = Vec::new();
        let mut columns_renamed = Vec::new();
        let mut columns_retyped = Vec::new();
        for ((table_oid, number), old) in &before.columns {
            if !base.has_table(*table_oid) || !after.relations.contains_key(table_oid) {
                continue;
            }
            match after.columns.get(&(*table_oid, *number)) {
                None => columns_dropped.push((table(*table_oid), old.name.clone())),
                Some(new) => {
                    if new.name != old.name {
                        columns_renamed.push(Rename {
                            table: table(*table_oid),
                            from: old.name.clone(),
                            to: new.name.clone(),
                        });
                    }
                    if new.type_id != old.type_id {
                        columns_retyped.push(Retype {
                            table: table(*table_oid),
                            column: new.name.clone(),
                            from: old.type_name.clone(),
                            to: new.type_name.clone(),
                            type_changed: (new.type_id.0, new.type_id.1) != (old.type_id.0, old.type_id.1),
                        });
                    }
                    if new.not_null && !old.not_null {
                        columns_set_not_null.push((table(*table_oid), new.name.clone()));
                    }
                }
            }
        }

        for ((table_oid, number), new) in &after.columns {
            if base.has_table(*table_oid) && !before.columns.contains_key(&(*table_oid, *number)) {
                columns_added.push((table(*table_oid), new.name.clone()));
            }
        }

        let mut tables_dropped = Vec::new();
        let mut tables_renamed = Vec::new();
        for (oid, old) in &before.relations {
            if !base.has_table(*oid) {
                continue;
            }
            match after.relations.get(oid) {
                None => tables_dropped.push(Table { oid: *oid, name: old.name.clone() }),
                Some(new) if new.identity != old.identity => {
                    // Moved to another schema, the name may print the same: then say both schemas.
                    let (from, to) = match old.name == new.name {
                        true => (old.identity.clone(), new.identity.clone()),
                        false => (old.name.clone(), new.name.clone()),
                    };
                    tables_renamed.push(Rename { table: table(*oid), from, to })
                }
                Some(_) => {}
            }
        }

        Effects {
            location: None,
            excerpt: String::new(),
            run: None,
            lock_timeout_ms: before.lock_timeout_ms,
            held_before,
            taken,
            held_after,
            rewritten,
            indexes_only_rewritten,
            scanned,
            touched_rows,
            indexes_built,
            constraints_added,
            constraints_validated,
            columns_set_not_null,
            columns_added,
            columns_dropped,
            columns_renamed,
            columns_retyped,
            tables_dropped,
            tables_renamed,
            foreign_keys_added,
        }
    }

    /// The strongest lock held on `table` when the statement finished.
    pub fn held_on(&self, table: Oid) -> Option<&Held> {
        self.held_after.iter().filter(|held| held.table.oid == table).max_by_key(|held| held.mode)
    }

    /// Rows read from `table` by this statement's scans, when it scanned it.
    pub fn rows_read(&self, table: Oid) -> Option<i64> {
        self.scanned.iter().find(|(t, _)| t.oid == table).map(|(_, rows)| *rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATEWAYS: Oid = 100;
    const GATEWAYS_PKEY: Oid = 101;
    const FACTORIES: Oid = 200;

    fn relation(name: &str, kind: RelationKind, table: Oid, filenode: i64) -> Relation {
        Relation { name: name.to_owned(), identity: format!("public.{name}"), kind, table, filenode }
    }

    fn column(name: &str, type_name: &str, not_null: bool) -> Column {
        Column { name: name.to_owned(), type_name: type_name.to_owned(), type_id: (25, -1, 100), not_null }
    }

    fn base_snapshot() -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot.relations.insert(GATEWAYS, relation("gateways", RelationKind::Table, GATEWAYS, 100));
        snapshot.relations.insert(GATEWAYS_PKEY, relation("gateways_pkey", RelationKind::Index, GATEWAYS, 101));
        snapshot.relations.insert(FACTORIES, relation("factories", RelationKind::Table, FACTORIES, 200));
        snapshot.columns.insert((GATEWAYS, 1), column("id", "uuid", true));
        snapshot.columns.insert((GATEWAYS, 2), column("serial_number", "text", true));
        snapshot.columns.insert((GATEWAYS, 3), column("last_seen_at", "timestamp with time zone", false));
        snapshot.indexes.insert(GATEWAYS_PKEY, Index { table: GATEWAYS, valid: true, partial: false, keys: vec![1] });
        snapshot.activity.insert(GATEWAYS, Activity { scans: 3, rows_read: 900, rows_written: 0 });
        snapshot
    }

    #[test]
    fn a_rewrite_is_one_entry_per_table_and_locks_are_new_only_when_stronger() {
        let before = base_snapshot();
        let base = Base::of(&before);
        let mut after = before.clone();
        after.relations.get_mut(&GATEWAYS).unwrap().filenode = 300;
        after.relations.get_mut(&GATEWAYS_PKEY).unwrap().filenode = 301;
        after.locks.insert(GATEWAYS, LockMode::AccessExclusive);
        let retyped = after.columns.get_mut(&(GATEWAYS, 2)).unwrap();
        retyped.type_name = "character varying(64)".into();
        retyped.type_id = (1043, 68, 100);
        let effects = Effects::between(&base, &before, &after, &BTreeMap::new());
        assert_eq!(effects.rewritten, [Table { oid: GATEWAYS, name: "gateways".into() }]);
        assert_eq!(effects.taken.len(), 1);
        assert_eq!(effects.taken[0].mode, LockMode::AccessExclusive);
        assert_eq!(effects.columns_retyped[0].from, "text");
        assert!(effects.columns_retyped[0].type_changed);

        // The same lock held from an earlier statement is not taken again.
        let mut later = after.clone();
        later.locks.insert(GATEWAYS, LockMode::AccessExclusive);
        let taken_at = BTreeMap::from([(GATEWAYS, 3)]);
        let effects = Effects::between(&base, &after, &later, &taken_at);
        assert!(effects.taken.is_empty());
        assert_eq!(effects.held_before[0].taken_at, Some(3));
        assert!(effects.rewritten.is_empty());
    }

    #[test]
    fn indexes_and_constraints_re_created_under_their_names_are_not_new() {
        let mut before = base_snapshot();
        before.constraints.insert(
            7,
            Constraint {
                table: GATEWAYS,
                name: "gateways_serial_check".into(),
                kind: ConstraintKind::Check,
                validated: true,
                index: 0,
                columns: vec![2],
                references: 0,
            },
        );
        let base = Base::of(&before);
        let mut after = before.clone();
        // ALTER COLUMN … TYPE: the primary key's index and the CHECK come back with new oids.
        let pkey = after.relations.remove(&GATEWAYS_PKEY).unwrap();
        after.relations.insert(102, Relation { filenode: 102, ..pkey });
        let index = after.indexes.remove(&GATEWAYS_PKEY).unwrap();
        after.indexes.insert(102, index);
        let check = after.constraints.remove(&7).unwrap();
        after.constraints.insert(8, check);
        let effects = Effects::between(&base, &before, &after, &BTreeMap::new());
        assert!(effects.indexes_built.is_empty(), "{:?}", effects.indexes_built);
        assert!(effects.constraints_added.is_empty());
        // But the index was built again from every row: a rewrite of its table's indexes.
        assert_eq!(effects.rewritten, [Table { oid: GATEWAYS, name: "gateways".into() }]);
        assert_eq!(effects.indexes_only_rewritten, [GATEWAYS]);
    }

    #[test]
    fn new_objects_on_new_tables_are_not_base_facts_but_their_foreign_keys_are() {
        let before = base_snapshot();
        let base = Base::of(&before);
        let mut after = before.clone();
        after.relations.insert(500, relation("readings", RelationKind::Table, 500, 500));
        after.relations.insert(501, relation("readings_gateway_idx", RelationKind::Index, 500, 501));
        after.indexes.insert(501, Index { table: 500, valid: true, partial: false, keys: vec![2] });
        after.columns.insert((500, 2), column("gateway_id", "uuid", true));
        after.constraints.insert(
            600,
            Constraint {
                table: 500,
                name: "readings_gateway_id_fkey".into(),
                kind: ConstraintKind::ForeignKey,
                validated: true,
                index: 0,
                columns: vec![2],
                references: GATEWAYS,
            },
        );
        after.activity.insert(500, Activity { scans: 0, rows_read: 0, rows_written: 10 });
        let effects = Effects::between(&base, &before, &after, &BTreeMap::new());
        assert!(effects.indexes_built.is_empty() && effects.constraints_added.is_empty());
        assert_eq!(effects.foreign_keys_added[0].column_names, ["gateway_id"]);
        assert_eq!(effects.foreign_keys_added[0].references, "gateways");
        assert!(effects.touched_rows);
        assert!(effects.scanned.is_empty());
    }

    #[test]
    fn scans_drops_and_renames_of_base_tables() {
        let before = base_snapshot();
        let base = Base::of(&before);
        let mut after = before.clone();
        after.activity.insert(GATEWAYS, Activity { scans: 4, rows_read: 1392, rows_written: 0 });
        after.columns.remove(&(GATEWAYS, 3));
        after.columns.get_mut(&(GATEWAYS, 2)).unwrap().name = "serial".into();
        let renamed = after.relations.get_mut(&GATEWAYS).unwrap();
        renamed.name = "devices".into();
        renamed.identity = "public.devices".into();
        after.relations.remove(&FACTORIES);
        let effects = Effects::between(&base, &before, &after, &BTreeMap::new());
        assert_eq!(effects.scanned, [(Table { oid: GATEWAYS, name: "devices".into() }, 492)]);
        assert_eq!(effects.columns_dropped[0].1, "last_seen_at");
        assert_eq!(
            (effects.columns_renamed[0].from.as_str(), effects.columns_renamed[0].to.as_str()),
            ("serial_number", "serial")
        );
        assert_eq!(effects.tables_renamed[0].from, "gateways");
        assert_eq!(effects.tables_dropped[0].name, "factories");
    }

    #[test]
    fn forgetting_a_table_forgets_its_indexes_columns_and_constraints_only() {
        let mut snapshot = base_snapshot();
        snapshot.constraints.insert(
            7,
            Constraint {
                table: FACTORIES,
                name: "factories_check".into(),
                kind: ConstraintKind::Check,
                validated: true,
                index: 0,
                columns: vec![],
                references: 0,
            },
        );
        snapshot.forget(&BTreeSet::from([GATEWAYS]));
        assert_eq!(snapshot.relations.keys().copied().collect::<Vec<_>>(), [FACTORIES]);
        assert!(snapshot.columns.is_empty() && snapshot.indexes.is_empty() && snapshot.activity.is_empty());
        assert_eq!(snapshot.constraints.len(), 1);
    }

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "-- é\nSELECT 1;\n  ALTER TABLE t;";
        assert_eq!(Location::of(text, text.find("SELECT").unwrap()), Location { line: 2, column: 1 });
        assert_eq!(Location::of(text, text.find("ALTER").unwrap()), Location { line: 3, column: 3 });
    }

    #[test]
    fn lock_modes_block_what_the_conflict_table_says() {
        assert_eq!(LockMode::ShareUpdateExclusive.blocks(), Blocks::Nothing);
        assert_eq!(LockMode::Share.blocks(), Blocks::Writes);
        assert_eq!(LockMode::ShareRowExclusive.blocks(), Blocks::Writes);
        assert_eq!(LockMode::AccessExclusive.blocks(), Blocks::ReadsAndWrites);
        assert!(LockMode::AccessExclusive > LockMode::Share);
        assert_eq!(LockMode::from_pg("ShareRowExclusiveLock"), Some(LockMode::ShareRowExclusive));
    }
}

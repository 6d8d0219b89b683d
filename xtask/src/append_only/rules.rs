//! The append-only rules, as pure functions over plain data: the base's migrations where this
//! branch left it (the fork) and at its tip, and the working tree's, each with its content's
//! hash. Nothing here runs git or reads a file, so every rule is tested below on its own.
//!
//! Why both ends of the base: the fork says what this branch started from (it must not change
//! those), the tip what the branch will be merged into (a migration merged there since must be
//! the same here, its version is taken, and it is the newest a new migration must sort after).

use std::collections::{BTreeMap, BTreeSet};

/// git's object id of a file's content: from `git ls-tree` for a commit, from `git hash-object`
/// (with the checkout's filters, so a CRLF working copy of an LF file is the same) for the
/// working tree. A mode change (`chmod +x`) keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobId(pub String);

/// A migration file as a commit has it. `.down.sql` files are never listed: nothing runs them.
#[derive(Clone, Debug)]
pub struct Migration {
    /// Its name in `db/migrations`.
    pub name: String,
    pub version: i64,
    pub blob: BlobId,
}

/// A migration file in the working tree.
#[derive(Clone, Debug)]
pub struct Working {
    pub migration: Migration,
    /// False when it is still, byte for byte, the header `db-new` wrote (any other file is applied
    /// as sqlx applies it, comments only or not). True when it could not be read: the folder's own
    /// problem is reported for it.
    pub holds_sql: bool,
}

/// One broken rule, with the file it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Breach {
    /// A migration the branch started from has other content here.
    Modified { name: String },
    /// A migration the branch started from is gone, and no new file took its place.
    Deleted { name: String },
    /// A migration the branch started from is here under another name: a new file has its
    /// version or its content.
    Renamed { from: String, to: String, content_changed: bool },
    /// A migration merged on the base since the branch left it has other content here (a rebase
    /// or a cherry-pick that rewrote it).
    DiffersFromTip { name: String },
    /// A new migration has a version a migration on the base already has.
    VersionTaken { name: String, version: i64, by: String },
    /// A new migration sorts before the base's newest: databases that applied that one would
    /// apply this one out of order.
    SortsBefore { name: String, newest: String },
    /// A new migration is still only the header `db-new` wrote.
    Empty { name: String },
}

/// What the rules found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub breaches: Vec<Breach>,
    /// The working tree's migrations the base has at neither end, in version order: what this
    /// branch adds.
    pub new: Vec<String>,
    /// New migrations not named as `db-new` names them (a warning, not a breach).
    pub unconventional: Vec<String>,
}

/// The three sides, indexed by file name.
pub struct Sides<'a> {
    fork: BTreeMap<&'a str, &'a Migration>,
    tip: BTreeMap<&'a str, &'a Migration>,
    tree: BTreeMap<&'a str, &'a Working>,
}

impl<'a> Sides<'a> {
    pub fn new(fork: &'a [Migration], tip: &'a [Migration], tree: &'a [Working]) -> Sides<'a> {
        Sides {
            fork: fork.iter().map(|m| (m.name.as_str(), m)).collect(),
            tip: tip.iter().map(|m| (m.name.as_str(), m)).collect(),
            tree: tree.iter().map(|w| (w.migration.name.as_str(), w)).collect(),
        }
    }

    /// True when the working tree's migrations are exactly the fork's: nothing of this branch
    /// to compare.
    pub fn unchanged_since_fork(&self) -> bool {
        self.fork.len() == self.tree.len()
            && self.fork.iter().all(|(name, m)| self.tree.get(name).is_some_and(|w| w.migration.blob == m.blob))
    }
}

/// Every rule, in the order their breaches are listed.
pub fn check(sides: &Sides) -> Verdict {
    let mut breaches = edited(sides);
    let (removed, renamed_to) = removed(sides);
    breaches.extend(removed);
    let new = new_migrations(sides, &renamed_to);
    let taken = versions_taken(sides, &new);
    let taken_names: BTreeSet<&str> = taken.iter().map(|b| b.name()).collect();
    let unordered: Vec<&Working> =
        new.iter().copied().filter(|w| !taken_names.contains(w.migration.name.as_str())).collect();
    breaches.extend(taken);
    breaches.extend(out_of_order(sides, &unordered));
    breaches.extend(empty(&new));
    Verdict {
        breaches,
        unconventional: new.iter().map(|w| w.migration.name.clone()).filter(|name| !follows_convention(name)).collect(),
        new: new.into_iter().map(|w| w.migration.name.clone()).collect(),
    }
}

/// Files the base has, with other content here. A file the branch started from may be as it was
/// then, or as the tip has it now (main changed it, and this branch took main's change); a file
/// merged on the base since must be as the tip has it.
pub fn edited(sides: &Sides) -> Vec<Breach> {
    let mut breaches = Vec::new();
    for (&name, working) in &sides.tree {
        let blob = &working.migration.blob;
        let (at_fork, at_tip) = (sides.fork.get(name), sides.tip.get(name));
        let same_as = |side: Option<&&Migration>| side.is_some_and(|m| &m.blob == blob);
        match (at_fork, at_tip) {
            (Some(_), _) if same_as(at_fork) || same_as(at_tip) => {}
            (Some(_), _) => breaches.push(Breach::Modified { name: name.to_owned() }),
            (None, Some(_)) if !same_as(at_tip) => breaches.push(Breach::DiffersFromTip { name: name.to_owned() }),
            _ => {}
        }
    }
    breaches
}

/// Files the branch started from that are gone from the working tree, while the tip still has
/// them (a file the base removed too is no change against it): renamed when a file the base
/// does not have took its version or its content, else deleted. Also returns the rename targets,
/// which are not new migrations.
pub fn removed(sides: &Sides) -> (Vec<Breach>, BTreeSet<String>) {
    let mut breaches = Vec::new();
    let mut targets = BTreeSet::new();
    let candidates: Vec<&Working> =
        sides.tree.values().copied().filter(|w| !on_base(sides, &w.migration.name)).collect();
    for (&name, gone) in &sides.fork {
        if sides.tree.contains_key(name) || !sides.tip.contains_key(name) {
            continue;
        }
        let unclaimed = |w: &&&Working| !targets.contains(&w.migration.name);
        let partner = candidates
            .iter()
            .filter(unclaimed)
            .find(|w| w.migration.version == gone.version)
            .or_else(|| candidates.iter().filter(unclaimed).find(|w| w.migration.blob == gone.blob));
        match partner {
            Some(to) => {
                targets.insert(to.migration.name.clone());
                breaches.push(Breach::Renamed {
                    from: name.to_owned(),
                    to: to.migration.name.clone(),
                    content_changed: to.migration.blob != gone.blob,
                });
            }
            None => breaches.push(Breach::Deleted { name: name.to_owned() }),
        }
    }
    (breaches, targets)
}

/// The working tree's migrations the base has at neither end and that are no rename, in version
/// order.
pub fn new_migrations<'a>(sides: &Sides<'a>, renamed_to: &BTreeSet<String>) -> Vec<&'a Working> {
    let mut new: Vec<&Working> = sides
        .tree
        .values()
        .copied()
        .filter(|w| !on_base(sides, &w.migration.name) && !renamed_to.contains(&w.migration.name))
        .collect();
    new.sort_by(|a, b| (a.migration.version, &a.migration.name).cmp(&(b.migration.version, &b.migration.name)));
    new
}

/// New migrations whose version a migration on the base has (the tip's first, then the fork's)
/// under another name, one the working tree does not have: after the merge, two files would
/// share the version and every command refuses the folder. When the working tree has both files,
/// the folder check already reports the pair.
pub fn versions_taken(sides: &Sides, new: &[&Working]) -> Vec<Breach> {
    new.iter()
        .filter_map(|w| {
            let by = sides.tip.values().chain(sides.fork.values()).find(|m| {
                m.version == w.migration.version
                    && m.name != w.migration.name
                    && !sides.tree.contains_key(m.name.as_str())
            })?;
            Some(Breach::VersionTaken {
                name: w.migration.name.clone(),
                version: w.migration.version,
                by: by.name.clone(),
            })
        })
        .collect()
}

/// New migrations that sort before the base's newest (at either end).
pub fn out_of_order(sides: &Sides, new: &[&Working]) -> Vec<Breach> {
    let Some(newest) = sides.tip.values().chain(sides.fork.values()).max_by_key(|m| (m.version, &m.name)) else {
        return Vec::new();
    };
    new.iter()
        .filter(|w| w.migration.version < newest.version)
        .map(|w| Breach::SortsBefore { name: w.migration.name.clone(), newest: newest.name.clone() })
        .collect()
}

/// New migrations with no SQL statement: applied, they would stay in every history as no-ops.
pub fn empty(new: &[&Working]) -> Vec<Breach> {
    new.iter().filter(|w| !w.holds_sql).map(|w| Breach::Empty { name: w.migration.name.clone() }).collect()
}

/// `YYYYMMDDHHMMSS_snake_name.sql`, what `db-new` writes.
pub fn follows_convention(file_name: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".sql") else { return false };
    let Some((digits, name)) = stem.split_once('_') else { return false };
    digits.len() == 14
        && digits.parse::<i64>().ok().and_then(crate::timestamp::from_version).is_some()
        && crate::migrations::folder::check_name(name).is_ok()
}

fn on_base(sides: &Sides, name: &str) -> bool {
    sides.fork.contains_key(name) || sides.tip.contains_key(name)
}

impl Breach {
    /// The file the breach is about (for a rename, the new name).
    pub fn name(&self) -> &str {
        match self {
            Breach::Modified { name }
            | Breach::Deleted { name }
            | Breach::DiffersFromTip { name }
            | Breach::VersionTaken { name, .. }
            | Breach::SortsBefore { name, .. }
            | Breach::Empty { name } => name,
            Breach::Renamed { to, .. } => to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration named `<version>_<rest>` whose content is `content`.
    fn m(name: &str, content: &str) -> Migration {
        let version = name.split('_').next().unwrap().parse().unwrap();
        Migration { name: name.to_owned(), version, blob: BlobId(content.to_owned()) }
    }

    fn w(name: &str, content: &str) -> Working {
        Working { migration: m(name, content), holds_sql: true }
    }

    fn verdict(fork: &[Migration], tip: &[Migration], tree: &[Working]) -> Verdict {
        check(&Sides::new(fork, tip, tree))
    }

    const A: &str = "20260101000000_a.sql";
    const B: &str = "20260102000000_b.sql";
    const C: &str = "20260103000000_c.sql";
    const D: &str = "20260103000000_d.sql";

    #[test]
    fn an_untouched_branch_passes_and_adds_nothing() {
        let base = [m(A, "a"), m(B, "b")];
        let v = verdict(&base, &base, &[w(A, "a"), w(B, "b")]);
        assert_eq!(v.breaches, []);
        assert!(v.new.is_empty());
        assert!(Sides::new(&base, &base, &[w(A, "a"), w(B, "b")]).unchanged_since_fork());
        assert!(!Sides::new(&base, &base, &[w(A, "a"), w(B, "b2")]).unchanged_since_fork());
        assert!(!Sides::new(&base, &base, &[w(A, "a")]).unchanged_since_fork());
        assert!(!Sides::new(&base, &base, &[w(A, "a"), w(B, "b"), w(C, "c")]).unchanged_since_fork());
    }

    #[test]
    fn a_shared_migration_with_other_content_is_modified() {
        let base = [m(A, "a"), m(B, "b")];
        let v = verdict(&base, &base, &[w(A, "a2"), w(B, "b")]);
        assert_eq!(v.breaches, [Breach::Modified { name: A.into() }]);
    }

    #[test]
    fn a_shared_migration_as_the_tip_has_it_now_is_no_edit_of_this_branch() {
        // main changed it (its own breach), and the branch took main's change.
        let v = verdict(&[m(A, "a")], &[m(A, "a2")], &[w(A, "a2")]);
        assert_eq!(v.breaches, []);
        // main changed it; the branch kept the old content: the merge takes main's.
        let v = verdict(&[m(A, "a")], &[m(A, "a2")], &[w(A, "a")]);
        assert_eq!(v.breaches, []);
        // Neither: the branch changed it.
        let v = verdict(&[m(A, "a")], &[m(A, "a2")], &[w(A, "a3")]);
        assert_eq!(v.breaches, [Breach::Modified { name: A.into() }]);
        // main removed it; the branch changed it.
        let v = verdict(&[m(A, "a")], &[], &[w(A, "a3")]);
        assert_eq!(v.breaches, [Breach::Modified { name: A.into() }]);
    }

    #[test]
    fn a_copy_of_a_migration_merged_on_the_base_since_must_be_the_tips() {
        let fork = [m(A, "a")];
        let tip = [m(A, "a"), m(B, "b as merged")];
        let v = verdict(&fork, &tip, &[w(A, "a"), w(B, "b, first draft")]);
        assert_eq!(v.breaches, [Breach::DiffersFromTip { name: B.into() }]);
        assert!(v.new.is_empty(), "it is not new: {:?}", v.new);
        let v = verdict(&fork, &tip, &[w(A, "a"), w(B, "b as merged")]);
        assert_eq!(v.breaches, []);
        assert!(v.new.is_empty());
    }

    #[test]
    fn a_shared_migration_gone_is_deleted_unless_the_base_removed_it_too() {
        let base = [m(A, "a"), m(B, "b")];
        let v = verdict(&base, &base, &[w(A, "a")]);
        assert_eq!(v.breaches, [Breach::Deleted { name: B.into() }]);
        let v = verdict(&base, &[m(A, "a")], &[w(A, "a")]);
        assert_eq!(v.breaches, []);
        // Merged on the base since, and not here: the base moved on; nothing was deleted.
        let v = verdict(&[m(A, "a")], &base, &[w(A, "a")]);
        assert_eq!(v.breaches, []);
    }

    #[test]
    fn a_new_file_with_a_gone_files_version_or_content_is_a_rename() {
        let base = [m(A, "a"), m(B, "b")];
        let renamed = "20260102000000_sites.sql";
        let v = verdict(&base, &base, &[w(A, "a"), w(renamed, "b")]);
        assert_eq!(v.breaches, [Breach::Renamed { from: B.into(), to: renamed.into(), content_changed: false }]);
        assert!(v.new.is_empty(), "a rename target is not new");
        // Renamed and changed: paired by version.
        let v = verdict(&base, &base, &[w(A, "a"), w(renamed, "b, changed")]);
        assert_eq!(v.breaches, [Breach::Renamed { from: B.into(), to: renamed.into(), content_changed: true }]);
        // Another version, same content: paired by content (and not also "sorts before").
        let moved = "20260101120000_b.sql";
        let v = verdict(&base, &base, &[w(A, "a"), w(moved, "b")]);
        assert_eq!(v.breaches, [Breach::Renamed { from: B.into(), to: moved.into(), content_changed: false }]);
        // .sql to .up.sql: a rename too.
        let up = "20260102000000_b.up.sql";
        let v = verdict(&base, &base, &[w(A, "a"), w(up, "b")]);
        assert_eq!(v.breaches, [Breach::Renamed { from: B.into(), to: up.into(), content_changed: false }]);
        // Another version and other content: deleted, and the new file judged as new.
        let v = verdict(&base, &base, &[w(A, "a"), w("20260104000000_x.sql", "x")]);
        assert_eq!(v.breaches, [Breach::Deleted { name: B.into() }]);
        assert_eq!(v.new, ["20260104000000_x.sql"]);
    }

    #[test]
    fn a_new_migration_with_a_version_the_base_has_is_taken() {
        let fork = [m(A, "a")];
        let tip = [m(A, "a"), m(D, "d")];
        let v = verdict(&fork, &tip, &[w(A, "a"), w(C, "c")]);
        assert_eq!(v.breaches, [Breach::VersionTaken { name: C.into(), version: 20260103000000, by: D.into() }]);
        assert_eq!(v.new, [C]);
        // The .up.sql of a reversible pair is the migration (down files are never listed).
        let up = "20260103000000_c.up.sql";
        let v = verdict(&fork, &tip, &[w(A, "a"), w(up, "c")]);
        assert_eq!(v.breaches, [Breach::VersionTaken { name: up.into(), version: 20260103000000, by: D.into() }]);
        // A version the fork had and the tip removed is still in databases that applied it.
        let v = verdict(&[m(A, "a"), m(D, "d")], &[m(A, "a")], &[w(A, "a"), w(C, "c")]);
        assert_eq!(v.breaches, [Breach::VersionTaken { name: C.into(), version: 20260103000000, by: D.into() }]);
        // Both files in the working tree: the folder check reports the pair, not this rule.
        let v = verdict(&tip, &tip, &[w(A, "a"), w(C, "c"), w(D, "d")]);
        assert_eq!(v.breaches, []);
    }

    #[test]
    fn a_new_migration_must_sort_after_the_bases_newest() {
        let fork = [m(A, "a")];
        let tip = [m(A, "a"), m("20260104000000_other.sql", "o")];
        let v = verdict(&fork, &tip, &[w(A, "a"), w(C, "c")]);
        assert_eq!(v.breaches, [Breach::SortsBefore { name: C.into(), newest: "20260104000000_other.sql".into() }]);
        let v = verdict(&fork, &tip, &[w(A, "a"), w("20260105000000_e.sql", "e")]);
        assert_eq!(v.breaches, []);
        // The fork's newest counts too (the tip removed it; databases still have it).
        let v = verdict(&[m(A, "a"), m(D, "d")], &[m(A, "a")], &[w(A, "a"), w(B, "b")]);
        assert_eq!(v.breaches, [Breach::SortsBefore { name: B.into(), newest: D.into() }]);
        // A taken version is said once, as taken.
        let tip = [m(A, "a"), m(D, "d"), m("20260104000000_other.sql", "o")];
        let v = verdict(&fork, &tip, &[w(A, "a"), w(C, "c")]);
        assert_eq!(v.breaches, [Breach::VersionTaken { name: C.into(), version: 20260103000000, by: D.into() }]);
        // No base migrations at all: any order is fine.
        let v = verdict(&[], &[], &[w(A, "a")]);
        assert_eq!(v.breaches, []);
        assert_eq!(v.new, [A]);
    }

    #[test]
    fn a_new_migration_without_sql_is_empty() {
        let base = [m(A, "a")];
        let mut todo = w(C, "-- nothing yet");
        todo.holds_sql = false;
        let v = verdict(&base, &base, &[w(A, "a"), todo]);
        assert_eq!(v.breaches, [Breach::Empty { name: C.into() }]);
        // An old migration that holds only comments is the base's business, not a new breach.
        let mut old = w(A, "a");
        old.holds_sql = false;
        assert_eq!(verdict(&base, &base, &[old]).breaches, []);
    }

    #[test]
    fn new_migrations_are_listed_in_version_order_and_odd_names_noted() {
        let base = [m(A, "a")];
        let tree = [w(A, "a"), w("20260105000000_Add-Index.sql", "x"), w(C, "c"), w("20260104000000_b.sql", "b")];
        let v = verdict(&base, &base, &tree);
        assert_eq!(v.new, [C, "20260104000000_b.sql", "20260105000000_Add-Index.sql"]);
        assert_eq!(v.unconventional, ["20260105000000_Add-Index.sql"]);
    }

    #[test]
    fn knows_the_projects_naming_convention() {
        assert!(follows_convention("20261125150000_create_gateways.sql"));
        for other in ["1_setup.sql", "20240614104159_idx-cache.sql", "20261325150000_x.sql", "20261125150000_X.sql"] {
            assert!(!follows_convention(other), "{other}");
        }
    }
}

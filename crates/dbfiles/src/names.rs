//! Names of the databases kept beside a dev database that more than one program must recognise:
//! the test databases (`testdb` makes them, `cargo xtask test` drops the trash after its run and
//! `--leftovers` lists the rest).

use std::borrow::Cow;

use crate::fingerprint::Fingerprint;

/// PostgreSQL's limit on identifier length, in bytes.
pub const MAX_IDENTIFIER: usize = 63;

/// `base` with room for a suffix of `room` bytes within PostgreSQL's identifier limit. A base
/// too long is cut on a character boundary and given a hash of the whole, so two long names
/// that start alike never share what is derived from them.
pub fn fit_identifier(base: &str, room: usize) -> Cow<'_, str> {
    if base.len() + room <= MAX_IDENTIFIER {
        return Cow::Borrowed(base);
    }
    let hash = Fingerprint::new().write(base.as_bytes()).finish();
    let mut keep = MAX_IDENTIFIER - room - 9;
    while !base.is_char_boundary(keep) {
        keep -= 1;
    }
    Cow::Owned(format!("{}_{:08x}", &base[..keep], hash as u32))
}

const TEST: &str = "__test_";
const TEMPLATE: &str = "tpl_";
const SHARED: &str = "tx_";
const TRASH: &str = "trash_";

/// The longest name after the prefix: `trash_`, a process id and an oid (both `u32`, ten digits).
const LONGEST_REST: usize = TRASH.len() + 10 + 1 + 10;

/// `<database>__test_`: every test database made for the dev database `database` starts so.
/// The comment testdb leaves on a template or shared database it finished: this, then the Unix
/// time it was built. One without it was not finished.
pub const TEST_TEMPLATE_LABEL: &str = "testdb, built ";

/// When a finished template or shared database was built (Unix time), from its comment.
pub fn test_template_built(comment: Option<&str>) -> Option<i64> {
    comment?.strip_prefix(TEST_TEMPLATE_LABEL)?.parse().ok()
}

pub fn test_prefix(database: &str) -> String {
    format!("{}{TEST}", fit_identifier(database, TEST.len() + LONGEST_REST))
}

/// `<database>__test_tpl_<key>`: the template the test databases are copied from, migrated (and
/// seeded) once per key (`template::key`).
pub fn test_template(database: &str, key: u64) -> String {
    format!("{}{TEMPLATE}{key:016x}", test_prefix(database))
}

/// `<database>__test_tx_<key>`: the database transactional tests share, a copy of the template;
/// every test's transaction is rolled back, so it stays as the template made it.
pub fn test_shared(database: &str, key: u64) -> String {
    format!("{}{SHARED}{key:016x}", test_prefix(database))
}

/// `<database>__test_<process>_<n>`: one test's own copy, renamed to trash when the test passes.
pub fn test_copy(database: &str, process: u32, n: usize) -> String {
    format!("{}{process}_{n}", test_prefix(database))
}

/// `<database>__test_trash_<process>_<oid>`: a passed test's copy, renamed by the test process
/// `process` instead of dropped (a drop deletes every file of the copy, which slows the copies
/// of the tests still to run), and dropped after the run. Named by the database's oid, which no
/// other database has: a trash name left by an earlier process with the same id cannot clash.
pub fn test_trash(database: &str, process: u32, oid: u32) -> String {
    format!("{}{TRASH}{process}_{oid}", test_prefix(database))
}

/// What a test database of `database` is, from its name.
#[derive(Debug, PartialEq, Eq)]
pub enum TestDatabase {
    /// A template or a shared database: a cache, rebuilt when the files change.
    Cache,
    /// One test's copy: left only by a test that failed (or a run that was killed).
    Copy,
    /// A passed test's copy, to be dropped once its process has ended.
    Trash,
}

pub fn test_database_kind(database: &str, name: &str) -> Option<TestDatabase> {
    let rest = name.strip_prefix(&test_prefix(database))?;
    Some(if rest.starts_with(TEMPLATE) || rest.starts_with(SHARED) {
        TestDatabase::Cache
    } else if rest.starts_with(TRASH) {
        TestDatabase::Trash
    } else {
        TestDatabase::Copy
    })
}

/// The id of the process that made a test's copy or trash (`None` for the caches and anything
/// else): while that process runs, its databases are its own, not leftovers.
pub fn test_database_process(database: &str, name: &str) -> Option<u32> {
    let rest = name.strip_prefix(&test_prefix(database))?;
    let numbers = match test_database_kind(database, name)? {
        TestDatabase::Cache => return None,
        TestDatabase::Copy => rest,
        TestDatabase::Trash => &rest[TRASH.len()..],
    };
    numbers.split('_').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_fit_and_are_recognised() {
        assert_eq!(test_template("fleet_dev", 0xab), "fleet_dev__test_tpl_00000000000000ab");
        assert_eq!(test_shared("fleet_dev", 0xab), "fleet_dev__test_tx_00000000000000ab");
        assert_eq!(test_copy("fleet_dev", 42, 7), "fleet_dev__test_42_7");
        assert_eq!(test_trash("fleet_dev", 42, 16384), "fleet_dev__test_trash_42_16384");
        for long in ["x".repeat(30), "x".repeat(40), "x".repeat(60)] {
            assert!(test_template(&long, u64::MAX).len() <= MAX_IDENTIFIER);
            assert!(test_trash(&long, u32::MAX, u32::MAX).len() <= MAX_IDENTIFIER);
        }
        assert_eq!(test_database_kind("fleet_dev", "fleet_dev__test_tpl_00000000000000ab"), Some(TestDatabase::Cache));
        assert_eq!(test_database_kind("fleet_dev", "fleet_dev__test_tx_00000000000000ab"), Some(TestDatabase::Cache));
        assert_eq!(test_database_kind("fleet_dev", "fleet_dev__test_42_7"), Some(TestDatabase::Copy));
        assert_eq!(test_database_kind("fleet_dev", "fleet_dev__test_trash_42_16384"), Some(TestDatabase::Trash));
        assert_eq!(test_database_process("fleet_dev", "fleet_dev__test_42_7"), Some(42));
        assert_eq!(test_database_process("fleet_dev", "fleet_dev__test_trash_42_16384"), Some(42));
        assert_eq!(test_database_process("fleet_dev", "fleet_dev__test_tpl_00000000000000ab"), None);
        assert_eq!(test_database_process("fleet_dev", "other__test_42_7"), None);
        assert_eq!(test_database_kind("fleet_dev", "fleet_dev__xtask_old"), None);
        assert_eq!(test_database_kind("fleet_dev", "other__test_42_7"), None);
    }
}

//! The databases the xtask keeps beside a dev database, named after it, in one place: a reset's
//! scratch copy and the previous dev database; the reset cache's templates; the schema build
//! `db-check` and `db-status` compare with; the two `db-check` traces new migrations with. The
//! commands that make them, and `db-down --purge`, which removes them, all name them here. (The
//! test databases' names are `dbfiles::names`'s: `testdb` makes them too.)

use crate::postgres::admin;

const SCRATCH_SUFFIX: &str = "__xtask_reset";
const PREVIOUS_SUFFIX: &str = "__xtask_old";
const SCHEMA_SUFFIX: &str = "__xtask_schema";
const TRACE_SUFFIX: &str = "__xtask_trace";
const TRACE_BASE_SUFFIX: &str = "__xtask_tracebase";
const TEMPLATE_MARKER: &str = "__xtask_tpl_";

/// `<database>__xtask_reset`: where a reset builds, unseen until the swap. One left behind by an
/// interrupted reset is removed by the next.
pub fn scratch(database: &str) -> String {
    format!("{}{SCRATCH_SUFFIX}", admin::fit_identifier(database, SCRATCH_SUFFIX.len()))
}

/// `<database>__xtask_old`: the dev database a reset replaced, kept until the next reset drops it
/// just before it creates its own scratch database. Dropping is as cheap there as at the end of
/// a reset, and on a filesystem that is slow to reuse the inodes of files deleted a moment ago
/// (ext4 without a journal), creating right after deleting is much faster than creating first.
pub fn previous(database: &str) -> String {
    format!("{}{PREVIOUS_SUFFIX}", admin::fit_identifier(database, PREVIOUS_SUFFIX.len()))
}

/// `<database>__xtask_schema`: where `db-check` and `db-status` build the migrations to read the
/// schema they produce; kept, closed to connections and labelled with the migrations it was built
/// from, so the next run with the same files only reads it; rebuilt when they change.
pub fn schema(database: &str) -> String {
    format!("{}{SCHEMA_SUFFIX}", admin::fit_identifier(database, SCHEMA_SUFFIX.len()))
}

/// `<database>__xtask_trace`: where `db-check` traces the new migrations, on a copy of the base;
/// dropped right after (and by the next run, if one was interrupted).
pub fn trace(database: &str) -> String {
    format!("{}{TRACE_SUFFIX}", admin::fit_identifier(database, TRACE_SUFFIX.len()))
}

/// `<database>__xtask_tracebase`: the base's migrations and seeds, which each trace copies; kept,
/// labelled with what it was built from and closed to connections, until the base changes.
pub fn trace_base(database: &str) -> String {
    format!("{}{TRACE_BASE_SUFFIX}", admin::fit_identifier(database, TRACE_BASE_SUFFIX.len()))
}

/// `<database>__xtask_tpl_`: every reset cache template of `database` starts so (the key follows).
pub fn template_prefix(database: &str) -> String {
    format!("{}{TEMPLATE_MARKER}", admin::fit_identifier(database, TEMPLATE_MARKER.len() + 16))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_fit_postgres_identifiers() {
        assert_eq!(super::scratch("fleet_dev"), "fleet_dev__xtask_reset");
        assert_eq!(super::previous("fleet_dev"), "fleet_dev__xtask_old");
        assert_eq!(super::schema("fleet_dev"), "fleet_dev__xtask_schema");
        assert_eq!(super::trace("fleet_dev"), "fleet_dev__xtask_trace");
        assert_eq!(super::trace_base("fleet_dev"), "fleet_dev__xtask_tracebase");
        let long = "é".repeat(40);
        let (a, b) = (format!("{}_a", "x".repeat(60)), format!("{}_b", "x".repeat(60)));
        assert_ne!(super::scratch(&a), super::scratch(&b), "long names that start alike must not collide");
        assert!(super::scratch(&a).len() <= 63);
        assert!(super::scratch(&long).len() <= 63);
        assert!(super::previous(&long).len() <= 63);
    }
}

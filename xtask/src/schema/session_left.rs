//! Which runs of the migrations ended with session state set: a `SET` without `LOCAL` (a
//! `search_path`, say) that sqlx keeps for the migrations after it in the same run. A later
//! `db-migrate` starts a new session, so what it applies on top may come out otherwise than one
//! run of the whole history (what `db-reset` builds and `db-status` compares with): a dev
//! database migrated in another run after such a migration is never taken for what the files
//! produce without a comparison (`schema::provenance`).
//!
//! `.xtask/session-left` holds the newest version of each such run, one per line.

use crate::project::Project;

const FILE: &str = "session-left";

/// A run whose newest migration is `version` left session state set.
pub fn record(project: &Project, version: i64) {
    let mut versions = read(project);
    if !versions.contains(&version) {
        versions.push(version);
        write(project, &versions);
    }
}

/// The whole history was applied in one run (a reset's build): what it left decides alone.
pub fn replace(project: &Project, left_by: Option<i64>) {
    write(project, &left_by.into_iter().collect::<Vec<_>>());
}

/// True when a run that ended at or before `newest_applied` left session state set, so the
/// migrations after it ran in a session other than one run's.
pub fn before(project: &Project, newest_applied: i64) -> bool {
    read(project).iter().any(|&version| version <= newest_applied)
}

fn read(project: &Project) -> Vec<i64> {
    std::fs::read_to_string(project.state_dir().join(FILE))
        .map(|text| text.lines().filter_map(|line| line.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Only what makes the next run compare: a failure to write is ignored, as for the digest.
fn write(project: &Project, versions: &[i64]) {
    let path = project.state_dir().join(FILE);
    if versions.is_empty() {
        std::fs::remove_file(path).ok();
        return;
    }
    std::fs::create_dir_all(project.state_dir()).ok();
    let text: String = versions.iter().map(|version| format!("{version}\n")).collect();
    std::fs::write(path, text).ok();
}

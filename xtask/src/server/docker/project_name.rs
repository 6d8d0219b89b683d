//! Which Compose project holds this checkout's container and volume: `COMPOSE_PROJECT_NAME` when
//! set, else the one this checkout recorded in `.xtask/compose-project` (which moves with it, so
//! a moved or renamed checkout keeps its container and data), else the folder's name plus a hash
//! of its path.
//!
//! Deciding reads files and writes none: the record and the claim are written only by `record`
//! and `follow_move`, which the backend calls where it brings the server up, so a command that
//! only looks (`db-down`, `db-psql` on a stopped server) changes nothing on the way.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::output::note;
use crate::project::Project;

/// Which Compose project holds this checkout's container and volume, and where the checkout
/// was when it made them: `<project name>\n<folder>\n`. It moves with the checkout (it is in
/// `.xtask/`), while the default project name comes from the folder's path.
const OWNER_FILE: &str = ".xtask/compose-project";

/// The project this checkout uses, and what its record must say for the next command to find it.
pub struct ComposeProject {
    pub name: String,
    origin: Origin,
}

/// Where the project's name came from.
enum Origin {
    /// `COMPOSE_PROJECT_NAME`: the project belongs to the setting, not to the folder, so nothing
    /// is recorded.
    Setting,
    /// This folder's own: its default name, or the record written here.
    Here,
    /// The project this checkout made before it moved from the folder `from`.
    MovedFrom(PathBuf),
    /// Back in the folder where it made its container (whose default name that is), with a
    /// record still naming the folder it had moved to.
    Back,
}

impl ComposeProject {
    /// Decides the project from `COMPOSE_PROJECT_NAME` and the record, writing nothing.
    pub fn of(project: &Project, compose_project_name: Option<&str>) -> Result<ComposeProject> {
        // Compose lower-cases a project name and allows only [a-z0-9_-]: the same name here,
        // or volumes and containers would be looked for under a name they do not have.
        if let Some(name) = compose_project_name {
            return Ok(ComposeProject { name: compose_name(name)?, origin: Origin::Setting });
        }
        Ok(recorded(project)
            .unwrap_or_else(|| ComposeProject { name: default_project_name(project), origin: Origin::Here }))
    }

    /// A checkout that moved takes its project along: it claims the project, says so, and its
    /// record names its new folder. Called before the fast path, which would otherwise reach the
    /// container at once and leave the record naming the old folder.
    pub fn follow_move(&self, root: &Path) {
        match &self.origin {
            Origin::MovedFrom(from) => {
                claim(&self.name, root);
                note!(
                    "This checkout moved (from {}); it keeps its container and data (Compose project {})",
                    from.display(),
                    self.name
                );
            }
            Origin::Back => {}
            Origin::Setting | Origin::Here => return,
        }
        std::fs::write(root.join(OWNER_FILE), record_text(&self.name, root)).ok();
    }

    /// Records, once the server answered, that the checkout in `root` holds this project.
    pub fn record(&self, root: &Path) -> Result<()> {
        if let Origin::Setting = self.origin {
            return Ok(());
        }
        let owner = root.join(OWNER_FILE);
        std::fs::write(&owner, record_text(&self.name, root)).with_context(|| format!("write {}", owner.display()))?;
        claim(&self.name, root);
        Ok(())
    }

    /// Forgets the record and the claim, with the project's volume gone.
    pub fn forget(&self, root: &Path) {
        std::fs::remove_file(root.join(OWNER_FILE)).ok();
        let moved_from = match &self.origin {
            Origin::MovedFrom(from) => Some(from.as_path()),
            _ => None,
        };
        // A moved checkout that was never brought up here leaves the claim naming its old folder.
        if claimant_of(&self.name).is_some_and(|claimant| claimant == root || Some(claimant.as_path()) == moved_from)
            && let Some(file) = claim_file(&self.name)
        {
            std::fs::remove_file(file).ok();
        }
    }
}

fn record_text(name: &str, root: &Path) -> String {
    format!("{name}\n{}\n", root.display())
}

/// The project the record names, unless it belongs to another checkout. A moved or renamed
/// checkout keeps the project it made before its move, so it keeps its container and data instead
/// of starting an empty one (while the old container holds the port). A copy is not a move: while
/// the folder it was copied from still holds the same record, the copy gets a project of its own.
fn recorded(project: &Project) -> Option<ComposeProject> {
    let record = std::fs::read_to_string(project.root.join(OWNER_FILE)).ok()?;
    let (name, folder) = record.trim_end_matches('\n').split_once('\n')?;
    let folder = Path::new(folder);
    if folder == project.root {
        return Some(ComposeProject { name: compose_name(name).ok()?, origin: Origin::Here });
    }
    // Back where it made its container: the default name is that container's already.
    if name == default_project_name(project) {
        return Some(ComposeProject { name: name.to_owned(), origin: Origin::Back });
    }
    if std::fs::read_to_string(folder.join(OWNER_FILE)).is_ok_and(|theirs| theirs == record) {
        return None;
    }
    // Copied, and then the original moved too: both records name a folder that is gone. The
    // first to come back claims the project; the other is a copy with a project of its own.
    if let Some(claimant) = claimant_of(name)
        && claimant != project.root
        && std::fs::read_to_string(claimant.join(OWNER_FILE))
            .is_ok_and(|theirs| theirs.starts_with(&format!("{name}\n")))
    {
        return None;
    }
    Some(ComposeProject { name: compose_name(name).ok()?, origin: Origin::MovedFrom(folder.to_owned()) })
}

/// `COMPOSE_PROJECT_NAME` as Compose uses it: lower case; refused when Compose would refuse it.
fn compose_name(name: &str) -> Result<String> {
    let lower = name.to_lowercase();
    let valid = lower.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && lower.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        bail!(
            "COMPOSE_PROJECT_NAME is {name:?}; Compose accepts letters, digits, `_` and `-`, starting with a letter or digit"
        );
    }
    Ok(lower)
}

/// Where this account records which checkout holds each Compose project it made:
/// `$XDG_STATE_HOME/xtask/compose-projects/<project>` (or `~/.local/state/…`), holding the
/// checkout's folder. `None` without a home folder: then moves are followed by the record alone.
fn claim_file(name: &str) -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(state.join("xtask/compose-projects").join(name))
}

/// The checkout that last claimed project `name`, if one did.
fn claimant_of(name: &str) -> Option<PathBuf> {
    std::fs::read_to_string(claim_file(name)?).ok().map(|folder| PathBuf::from(folder.trim_end_matches('\n')))
}

/// Records that the checkout in `root` holds project `name`. Only a guard for the rare copy that
/// moves: failing to write it changes nothing else.
fn claim(name: &str, root: &Path) {
    if let Some(file) = claim_file(name) {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(file, format!("{}\n", root.display())).ok();
    }
}

/// `fleet-3f2a9c1b`: the folder's name, made valid for Compose (`^[a-z0-9][a-z0-9_-]*$`), plus
/// eight hex digits of the checkout's path.
fn default_project_name(project: &Project) -> String {
    let folder = project.root.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let cleaned: String =
        folder.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).collect();
    let cleaned = cleaned.trim_start_matches(['-', '_']);
    let cleaned = if cleaned.is_empty() { "db" } else { cleaned };
    format!("{}-{:08x}", &cleaned[..cleaned.len().min(40)], project.fingerprint() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_a_moved_checkouts_project_writes_nothing() {
        let root = std::env::temp_dir().join(format!("xtask-compose-moved-{}", std::process::id()));
        std::fs::create_dir_all(root.join(".xtask")).unwrap();
        let name = format!("moved-test-{}", std::process::id());
        let gone = root.with_file_name(format!("xtask-compose-gone-{}", std::process::id()));
        let record = record_text(&name, &gone);
        std::fs::write(root.join(OWNER_FILE), &record).unwrap();

        let decided = ComposeProject::of(&Project { root: root.clone() }, None).unwrap();
        assert_eq!(decided.name, name, "a moved checkout keeps the project it recorded");
        assert!(matches!(&decided.origin, Origin::MovedFrom(from) if *from == gone));
        // Only `follow_move` and `record`, where the server is brought up, write.
        assert_eq!(std::fs::read_to_string(root.join(OWNER_FILE)).unwrap(), record);
        assert_eq!(claimant_of(&name), None);
        let files: Vec<_> = std::fs::read_dir(root.join(".xtask")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files, ["compose-project"]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}

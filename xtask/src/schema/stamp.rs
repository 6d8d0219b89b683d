//! What the schema files were last rendered from, so the everyday commands skip the catalog read.
//!
//! The files are a function of the migrations alone. `.xtask/schema-stamp` records the
//! migrations (versions and checksums) the files were last rendered from and a hash of each
//! file as written; while both still match, a no-op `db-migrate` or a cached `db-reset` has
//! nothing to refresh and reads no catalog. A file edited by hand, or a migration added, changed
//! or removed, no longer matches, and the next refresh renders the files again.
//!
//! A stamp is saved only for files rendered from a schema known to be what the migrations
//! produce (a database just built from the files, or one proven free of hand changes), never from
//! a dev database that may have drifted: a reset trusts it, and a stamp that lied would keep
//! a drifted schema.sql in place through every reset. The `v2` in front leaves out stamps written
//! before that rule (`v3`: the files are hashed with SHA-256, which ring computes in assembly,
//! rather than with the unoptimised FNV of the debug build: a no-op on a schema of a thousand
//! tables hashes ~400 KB).

use std::path::PathBuf;

use crate::migrations::MigrationFile;
use crate::project::Project;
use dbfiles::fingerprint::Fingerprint;

pub struct Stamp {
    migrations: u64,
    path: PathBuf,
}

impl Stamp {
    pub fn of(project: &Project, files: &[MigrationFile]) -> Stamp {
        Stamp {
            migrations: Fingerprint::new().migrations(files.iter().map(|f| &f.migration)).finish(),
            path: project.state_dir().join("schema-stamp"),
        }
    }

    /// True when the files on disk are the ones rendered last from these migrations.
    pub fn is_current(&self, project: &Project, paths: &[&str]) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|stamp| stamp == self.line(project, paths))
    }

    /// Records that the files on disk were rendered from these migrations. Only a speed-up: a
    /// stamp that cannot be written means the next command reads the catalog again.
    pub fn save(&self, project: &Project, paths: &[&str]) {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(&self.path, self.line(project, paths)).ok();
    }

    fn line(&self, project: &Project, paths: &[&str]) -> String {
        let mut line = format!("v3 {:016x}", self.migrations);
        for path in paths {
            let content = std::fs::read(project.root.join(path)).unwrap_or_default();
            let digest = ring::digest::digest(&ring::digest::SHA256, &content);
            line.push(' ');
            line.extend(digest.as_ref().iter().map(|byte| format!("{byte:02x}")));
        }
        line.push('\n');
        line
    }
}

//! Where the checkout is: the folders the commands read and write.
//!
//! The root is found at run time, never baked in at compile time: with git worktrees or a shared
//! `CARGO_TARGET_DIR`, one xtask binary may serve several checkouts, and it must only ever touch
//! the files of the checkout it was invoked from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use dbfiles::fingerprint::Fingerprint;

pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// `cargo run` sets `CARGO_MANIFEST_DIR` to this checkout's `xtask/` folder; a binary run by
    /// hand (or by the tests) looks upwards from the current folder instead.
    pub fn locate() -> Result<Project> {
        if let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            let manifest_dir = PathBuf::from(manifest_dir);
            // The checkout `cargo xtask` runs in is the root, with or without db/migrations yet
            // (`db-new` creates it).
            if manifest_dir.file_name().is_some_and(|name| name == "xtask")
                && let Some(root) = manifest_dir.parent()
                && root.join("Cargo.toml").is_file()
            {
                return Ok(Project { root: root.to_path_buf() });
            }
        }
        let cwd = std::env::current_dir().context("read the current folder")?;
        let workspace = |dir: &&Path| {
            std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|toml| toml.contains("[workspace]"))
        };
        match cwd.ancestors().find(|dir| is_project_root(dir)).or_else(|| cwd.ancestors().find(workspace)) {
            Some(root) => Ok(Project { root: root.to_path_buf() }),
            None => bail!(
                "no project found from {}: run `cargo xtask` inside the checkout \
                 (a folder holding Cargo.toml with [workspace], or Cargo.toml and db/migrations)",
                cwd.display()
            ),
        }
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join("db").join("migrations")
    }

    pub fn seeds_dir(&self) -> PathBuf {
        self.root.join("db").join("seeds")
    }

    /// `.xtask/` at the checkout's root (git-ignored): state that belongs to this checkout alone
    /// (the local cluster, the chosen port and backend), outside `target/` so that `cargo clean`
    /// never deletes the dev database, and never in a shared `CARGO_TARGET_DIR`.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".xtask")
    }

    /// A path as the user should read it: relative to the root when it is inside the checkout.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    /// A short, stable fingerprint of this checkout's location, so two clones on one machine get
    /// different ports and container names.
    pub fn fingerprint(&self) -> u64 {
        Fingerprint::new().write(self.root.as_os_str().as_encoded_bytes()).finish()
    }
}

fn is_project_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("db").join("migrations").is_dir()
}

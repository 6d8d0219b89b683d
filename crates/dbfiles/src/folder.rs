//! Listing `db/migrations` or `db/seeds`: the entries by name, as both readers order them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One file or folder in `db/migrations` or `db/seeds`.
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    /// A regular file, or a link to one.
    pub is_file: bool,
}

/// The folder's entries by name, skipping hidden files such as `.gitkeep`. A missing folder has
/// no entries.
pub fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let read_dir = match std::fs::read_dir(dir) {
        Ok(read_dir) => read_dir,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("read folder {}", dir.display())),
    };
    let mut entries = Vec::new();
    for entry in read_dir {
        let entry = entry.with_context(|| format!("read folder {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // The directory listing already says what each entry is; only links need a stat
        // (a thousand migrations would otherwise cost a thousand of them).
        let path = entry.path();
        let is_file = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => path.is_file(),
            Ok(kind) => kind.is_file(),
            Err(_) => path.is_file(),
        };
        entries.push(Entry { name, path, is_file });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

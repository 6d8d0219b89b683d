//! The backend `auto` chose for this checkout, remembered beside the port: decided once, so the
//! dev database stays where it was made (a local cluster made offline is not abandoned when the
//! image becomes available, Docker data is not abandoned when the engine is down), and no later
//! command probes Docker or pulls an image to decide again.

use anyhow::{Context, Result};

use crate::cli::Backend;
use crate::output::note;
use crate::project::Project;

fn file(project: &Project) -> std::path::PathBuf {
    project.state_dir().join("backend")
}

/// The remembered choice: `docker` or `native`.
pub fn read(project: &Project) -> Option<Backend> {
    match std::fs::read_to_string(file(project)).ok()?.trim() {
        "docker" => Some(Backend::Docker),
        "native" => Some(Backend::Native),
        _ => None,
    }
}

pub fn remember(project: &Project, backend: Backend) -> Result<()> {
    let path = file(project);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let name = if backend == Backend::Docker { "docker" } else { "native" };
    std::fs::write(&path, format!("{name}\n")).with_context(|| format!("write {}", path.display()))
}

/// Asked for `backend` by name: remember it, and when this checkout used the other one before,
/// say where that one's data stays and how to remove it.
pub fn switch(project: &Project, remembered: Option<Backend>, backend: Backend) -> Result<()> {
    if remembered == Some(backend) {
        return Ok(());
    }
    if let Some(old) = remembered {
        let (old_name, where_) = match old {
            Backend::Docker => ("docker", "in its Docker volume"),
            _ => ("native", "in the local cluster's folder"),
        };
        note!(
            "This checkout now uses the {} backend; the {old_name} backend's databases stay {where_} \
             (`cargo xtask db-down --purge --backend {old_name}` removes them)",
            if backend == Backend::Docker { "docker" } else { "native" }
        );
    }
    remember(project, backend)
}

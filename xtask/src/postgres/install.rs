//! Where this machine's PostgreSQL programs are installed.

use std::path::PathBuf;

/// The newest `/usr/lib/postgresql/<major>/bin` (Debian's and Ubuntu's layout) that holds every
/// one of `programs`. Versions compare as numbers, so 15 is newer than 9.6.
pub fn newest_debian_bindir(programs: &[&str]) -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Vec<u32> = name.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            let bin = entry.path().join("bin");
            programs.iter().all(|program| bin.join(program).is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// psql: the one on `PATH`, else the newest in Debian's layout.
pub fn psql(sh: &xshell::Shell) -> anyhow::Result<PathBuf> {
    if xshell::cmd!(sh, "psql --version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(PathBuf::from("psql"));
    }
    match newest_debian_bindir(&["psql"]) {
        Some(bin) => Ok(bin.join("psql")),
        None => anyhow::bail!(
            "psql is not installed: `sudo apt-get install postgresql-client` (Debian/Ubuntu) or `brew install libpq` (macOS)"
        ),
    }
}

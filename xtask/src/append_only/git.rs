//! Everything db-check asks git: which commit is the base (its tip, and where HEAD left it,
//! deepening a shallow clone from its remote when the history stops short), and the migrations
//! of a commit and of the working tree with their content hashes. No rule is decided here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::rules::{BlobId, Migration, Working};
use crate::migrations::MigrationFile;
use crate::migrations::folder::{self, Name};
use crate::output::note;

/// `db/migrations`, relative to the project (which may be a folder of a larger repository: git
/// takes paths relative to the working folder, and the shell works in the project's root).
const DIR: &str = "db/migrations";

/// Where the upstream branch is looked for when `--base` is not given, in this order.
const CANDIDATES: [&str; 5] = ["origin/HEAD", "origin/main", "origin/master", "main", "master"];

/// How far a shallow clone is deepened, step by step (commits beyond its current boundary),
/// before it is fetched whole: most branches meet their base within the first step.
const DEEPEN_STEPS: [u32; 3] = [100, 1_000, 10_000];

/// What the check compares with: the upstream branch's tip and where this branch left it.
pub struct Base {
    /// The upstream branch (or `--base`), as named in messages.
    pub name: String,
    /// Its tip: what the branch will be merged into.
    pub tip: String,
    /// The merge base of HEAD with it: the migrations this branch started from.
    pub fork: String,
    /// HEAD's commit.
    pub head: String,
}

impl Base {
    /// The base named by `--base`, else the first upstream main branch found; then where HEAD
    /// left it.
    pub fn resolve(sh: &Shell, named: Option<&str>) -> Result<Base> {
        let inside = cmd!(sh, "git rev-parse --is-inside-work-tree").quiet().ignore_stderr().read();
        if !inside.is_ok_and(|answer| answer == "true") {
            bail!(
                "db-check compares db/migrations with the git history, but {} is not a git checkout",
                sh.current_dir().display()
            );
        }
        let Some(head) = commit(sh, "HEAD") else {
            bail!("this repository has no commit yet; commit first, then run db-check");
        };
        let name = match named {
            Some(name) => {
                if commit(sh, name).is_none() {
                    bail!("--base {name} names no commit here; fetch it, or name a branch, tag or commit");
                }
                name.to_owned()
            }
            None => match CANDIDATES.iter().find(|candidate| commit(sh, candidate).is_some()) {
                Some(candidate) => candidate.to_string(),
                None => fetch_default_branch(sh)?,
            },
        };
        let tip = commit(sh, &name).context("the base vanished while db-check ran")?;
        let fork = match merge_base(sh, &head, &tip) {
            Some(fork) => fork,
            None if is_shallow(sh) => deepen(sh, &name, &head)?,
            None => bail!(
                "HEAD and {name} share no history: name the commit this branch started from, or the branch it will \
                 be merged into, with --base <REF>"
            ),
        };
        // A fetch may have moved a remote-tracking base.
        let tip = commit(sh, &name).unwrap_or(tip);
        Ok(Base { name, tip, fork, head })
    }

    /// True when HEAD is on the base (its tip, or behind it): every commit of HEAD is one the
    /// base already has, so only uncommitted changes can be compared.
    pub fn head_is_on_it(&self) -> bool {
        self.fork == self.head
    }
}

/// No upstream branch here, as in a CI checkout of one branch or commit (actions/checkout fetches
/// only what it builds): fetch the remote's default branch as `<remote>/<branch>`, one commit of
/// it in a shallow clone (then `deepen` fetches what the merge base needs). Returns its name.
fn fetch_default_branch(sh: &Shell) -> Result<String> {
    let tried = CANDIDATES.join(", ");
    let remotes = remotes(sh);
    let Some(remote) = remotes.iter().find(|r| *r == "origin").or((remotes.len() == 1).then(|| &remotes[0])) else {
        bail!(
            "no upstream main branch to compare with (tried {tried}), and no single remote to fetch it from: fetch \
             it, or name the base with --base <REF>"
        );
    };
    let cannot = |why: &str| {
        format!(
            "no upstream main branch to compare with (tried {tried}), and {why}: fetch it (`git fetch {remote} \
             +refs/heads/main:refs/remotes/{remote}/main`; in CI, a full checkout: `fetch-depth: 0` for \
             actions/checkout), or name the base with --base <REF>"
        )
    };
    let symref = cmd!(sh, "git ls-remote --symref {remote} HEAD")
        .env("GIT_TERMINAL_PROMPT", "0")
        .quiet()
        .read()
        .with_context(|| cannot(&format!("{remote} could not be asked for its default branch")))?;
    let Some(branch) = symref.lines().find_map(|line| line.strip_prefix("ref: refs/heads/")?.strip_suffix("\tHEAD"))
    else {
        bail!(cannot(&format!("{remote} names no default branch")));
    };
    note!(
        "Note: no upstream main branch here (a CI checkout?): fetching {remote}'s default branch, {branch}, to compare \
         with (a full checkout avoids this: `fetch-depth: 0` for actions/checkout)"
    );
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    let depth: &[&str] = if is_shallow(sh) { &["--depth=1"] } else { &[] };
    cmd!(sh, "git fetch --quiet {depth...} {remote} {refspec}")
        .env("GIT_TERMINAL_PROMPT", "0")
        .quiet()
        .run()
        .with_context(|| cannot(&format!("fetching {branch} from {remote} failed")))?;
    Ok(format!("{remote}/{branch}"))
}

fn remotes(sh: &Shell) -> Vec<String> {
    let listed = cmd!(sh, "git remote").quiet().ignore_stderr().read().unwrap_or_default();
    listed.lines().filter(|r| !r.is_empty()).map(str::to_owned).collect()
}

/// A shallow clone whose history stops before HEAD meets the base: fetch more of it from the
/// remote, a step at a time, then whole. Returns the merge base.
fn deepen(sh: &Shell, name: &str, head: &str) -> Result<String> {
    let remotes = remotes(sh);
    let remotes: Vec<&str> = remotes.iter().map(String::as_str).collect();
    let how = "clone with full history (`git clone` without --depth; actions/checkout: `fetch-depth: 0`; GitLab: \
               `GIT_DEPTH: 0`)";
    if remotes.is_empty() {
        bail!(
            "HEAD's history in this shallow clone stops before it meets {name}, and there is no remote to fetch more \
             from: {how}"
        );
    }
    // A remote-tracking base names its remote and branch; anything else (a tag, a commit) is
    // fetched with the remote's own refspecs.
    let tracking = name.strip_prefix("refs/remotes/").unwrap_or(name);
    let (remote, branch) = match tracking.split_once('/') {
        Some((remote, branch)) if remotes.contains(&remote) => (remote, (branch != "HEAD").then_some(branch)),
        _ if remotes.contains(&"origin") => ("origin", None),
        _ if remotes.len() == 1 => (remotes[0], None),
        _ => bail!(
            "HEAD's history in this shallow clone stops before it meets {name}, and db-check cannot tell which of \
             the remotes ({}) to fetch more from: `git fetch --unshallow <remote>`, or {how}",
            remotes.join(", ")
        ),
    };
    note!(
        "Note: this clone is shallow (CI checkouts are by default) and HEAD's history stops before it meets {name}: \
         fetching more of it from {remote} (a full checkout avoids this: `fetch-depth: 0` for actions/checkout)"
    );
    let branch: Vec<&str> = branch.into_iter().collect();
    let branch = branch.as_slice();
    let fetch_failed = || format!("fetch more history from {remote} to find where HEAD left {name}; or {how}");
    for step in DEEPEN_STEPS {
        let depth = format!("--deepen={step}");
        cmd!(sh, "git fetch --quiet {depth} {remote} {branch...}")
            .env("GIT_TERMINAL_PROMPT", "0")
            .quiet()
            .run()
            .with_context(fetch_failed)?;
        if let Some(fork) = merge_base(sh, head, &commit(sh, name).unwrap_or_default()) {
            return Ok(fork);
        }
        if !is_shallow(sh) {
            break;
        }
    }
    if is_shallow(sh) {
        cmd!(sh, "git fetch --quiet --unshallow {remote}")
            .env("GIT_TERMINAL_PROMPT", "0")
            .quiet()
            .run()
            .with_context(fetch_failed)?;
    }
    match merge_base(sh, head, &commit(sh, name).unwrap_or_default()) {
        Some(fork) => Ok(fork),
        None if is_shallow(sh) => bail!(
            "HEAD's history in this shallow clone still stops before it meets {name} after fetching from {remote} \
             (is HEAD's commit on the remote?): {how}"
        ),
        None => bail!(
            "HEAD and {name} share no history: name the commit this branch started from, or the branch it will \
             be merged into, with --base <REF>"
        ),
    }
}

/// The commit a name stands for, or `None`.
fn commit(sh: &Shell, name: &str) -> Option<String> {
    let spec = format!("{name}^{{commit}}");
    cmd!(sh, "git rev-parse --verify --quiet {spec}").quiet().ignore_stderr().read().ok().filter(|c| !c.is_empty())
}

fn merge_base(sh: &Shell, a: &str, b: &str) -> Option<String> {
    cmd!(sh, "git merge-base {a} {b}").quiet().ignore_stderr().read().ok().filter(|c| !c.is_empty())
}

fn is_shallow(sh: &Shell) -> bool {
    cmd!(sh, "git rev-parse --is-shallow-repository").quiet().ignore_stderr().read().is_ok_and(|a| a == "true")
}

/// A commit's abbreviated id, for messages.
pub fn short(sh: &Shell, commit: &str) -> String {
    cmd!(sh, "git rev-parse --short {commit}").quiet().read().unwrap_or_else(|_| commit.to_owned())
}

/// The migrations directly in `db/migrations` at a commit, with their blob ids (`.down.sql`
/// files, and names sqlx does not read as migrations, left out).
pub fn migrations_at(sh: &Shell, commit: &str) -> Result<Vec<Migration>> {
    let tree_dir = format!("{DIR}/");
    let listing = cmd!(sh, "git ls-tree -z {commit} -- {tree_dir}")
        .quiet()
        .read()
        .with_context(|| format!("list the migrations of commit {commit}"))?;
    let mut migrations = Vec::new();
    // `<mode> <type> <object>\t<path>`; subfolders (`tree`) and submodules (`commit`) are no files.
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (Some(_mode), Some("blob"), Some(object)) = (meta.next(), meta.next(), meta.next()) else { continue };
        let Some(name) = path.strip_prefix(&tree_dir) else { continue };
        if let Some(version) = migration_version(name) {
            migrations.push(Migration { name: name.to_owned(), version, blob: BlobId(object.to_owned()) });
        }
    }
    Ok(migrations)
}

/// The working tree's migrations (committed or not, tracked or not), with the blob ids git would
/// give them, read with the checkout's filters. `files` are the ones the folder check could read:
/// they say which are still only db-new's header.
pub fn working_tree(sh: &Shell, dir: &Path, files: &[MigrationFile]) -> Result<Vec<Working>> {
    let empty: BTreeSet<&str> = files.iter().filter(|f| f.is_untouched()).map(|f| f.shown.as_str()).collect();
    let mut found: Vec<(String, i64, PathBuf)> = Vec::new();
    for entry in folder::entries(dir)? {
        if let (true, Some(version)) = (entry.is_file, migration_version(&entry.name)) {
            let path = entry.path.strip_prefix(sh.current_dir()).map(Path::to_path_buf).unwrap_or(entry.path);
            found.push((entry.name, version, path));
        }
    }
    let mut blobs = Vec::with_capacity(found.len());
    // Arguments in batches: a command line has a limit, and a thousand paths is far below it.
    for batch in found.chunks(1_000) {
        let paths: Vec<&Path> = batch.iter().map(|(_, _, path)| path.as_path()).collect();
        let ids = cmd!(sh, "git hash-object -- {paths...}")
            .quiet()
            .read()
            .with_context(|| format!("hash the files in {DIR} as git would store them"))?;
        blobs.extend(ids.lines().map(|id| BlobId(id.to_owned())));
    }
    if blobs.len() != found.len() {
        bail!("git hash-object gave {} ids for {} files in {DIR}", blobs.len(), found.len());
    }
    Ok(found
        .into_iter()
        .zip(blobs)
        .map(|((name, version, _), blob)| {
            let shown = format!("{DIR}/{name}");
            Working { holds_sql: !empty.contains(shown.as_str()), migration: Migration { name, version, blob } }
        })
        .collect())
}

/// The version of a file sqlx reads as a migration to run (not a `.down.sql`).
fn migration_version(name: &str) -> Option<i64> {
    match folder::parse_name(name) {
        Name::Migration { kind: sqlx::migrate::MigrationType::ReversibleDown, .. } => None,
        Name::Migration { version, .. } => Some(version),
        _ => None,
    }
}

//! The workspace's own build: `cargo xtask` and `cargo xtask test -- -p db` resolve the same
//! features for every dependency they share, so alternating them never builds sqlx twice
//! (crates/workspace-hack). Read from `cargo tree`, which resolves without building.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

type Features = BTreeMap<String, BTreeSet<String>>;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn host() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(rustc).arg("-vV").output().expect("run rustc -vV");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|line| line.strip_prefix("host: ")).expect("rustc -vV names the host").to_owned()
}

/// Every package `cargo <selection>` would build for the target (`no-proc-macro`: without the
/// host's side) or for both, with its features.
fn features(package: &str, edges: &str) -> Features {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo())
        .args(["tree", "--manifest-path", root, "-p", package, "--target", &host(), "-e", edges])
        .args(["-f", "{p}|{f}", "--prefix", "none", "--no-dedupe", "--offline"])
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let mut features = Features::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let line = line.replace(" (*)", "").replace(" (proc-macro)", "");
        let Some((name, list)) = line.split_once('|') else { continue };
        if name.contains("(/") {
            continue; // a workspace member
        }
        features
            .entry(name.to_owned())
            .or_default()
            .extend(list.split(',').filter(|f| !f.is_empty()).map(String::from));
    }
    features
}

fn differences(a: &Features, b: &Features, skip: impl Fn(&str) -> bool) -> Vec<String> {
    a.iter()
        .filter(|(name, _)| !skip(name))
        .filter_map(|(name, theirs)| {
            let ours = b.get(name)?;
            (ours != theirs).then(|| {
                let only = |x: &BTreeSet<String>, y: &BTreeSet<String>| x.difference(y).cloned().collect::<Vec<_>>();
                format!(
                    "{name}: the xtask alone adds {:?}, the db crate's tests add {:?}",
                    only(theirs, ours),
                    only(ours, theirs)
                )
            })
        })
        .collect()
}

#[test]
fn the_xtask_and_the_db_tests_share_one_feature_set() {
    let target = |p| features(p, "normal,dev,no-proc-macro");
    let (xtask, db) = (target("xtask"), target("db"));
    // The sqlx facade differs by its macros, which only the db crate needs: a small crate of
    // re-exports. What it re-exports (sqlx-core, sqlx-postgres) must not differ.
    let mut problems = differences(&xtask, &db, |name| name.starts_with("sqlx v"));
    let all = |p| features(p, "normal,dev,build");
    let (xtask_all, db_all) = (all("xtask"), all("db"));
    let host_only = |name: &str| xtask.contains_key(name) || db.contains_key(name);
    problems.extend(differences(&xtask_all, &db_all, host_only).into_iter().map(|p| format!("(host) {p}")));
    assert!(
        problems.is_empty(),
        "cargo would build these twice when `cargo xtask` and `cargo xtask test -- -p db` alternate; \
         add the features to crates/workspace-hack/Cargo.toml:\n  {}",
        problems.join("\n  ")
    );
}

//! `db-new`: file names, ordering, and refusing bad names without creating anything.

use crate::support::Fixture;

fn migration_files(fx: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fx.migrations())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn creates_a_timestamped_file_with_a_header_and_prints_its_path() {
    let fx = Fixture::new("new_file");
    let run = fx.xtask(&["db-new", "Create Gateways"]).success();
    let files = migration_files(&fx);
    assert_eq!(files.len(), 1);
    let name = &files[0];
    assert!(name.ends_with("_create_gateways.sql") && name.len() == 14 + "_create_gateways.sql".len(), "{name}");
    assert_eq!(run.stdout.trim(), format!("db/migrations/{name}"));
    let text = std::fs::read_to_string(fx.migrations().join(name)).unwrap();
    assert!(text.starts_with(&format!("-- Migration {}: create_gateways\n", &name[..14])), "{text}");
    assert!(text.contains("Append-only"));
    // The header is a comment, so the new file is a valid (if empty) migration right away.
    assert!(!text.starts_with("-- no-transaction"));
}

#[test]
fn versions_always_increase_even_within_one_second_or_behind_the_newest() {
    let fx = Fixture::new("new_order");
    for name in ["a", "b", "c"] {
        fx.xtask(&["db-new", name]).success();
    }
    let versions: Vec<i64> = migration_files(&fx).iter().map(|n| n[..14].parse().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

    // A teammate's clock ran ahead: the next file still sorts last, one second later.
    fx.migration(20991231235959, "from_the_future", "SELECT 1;\n");
    fx.xtask(&["db-new", "after"]).success().says("db/migrations/21000101000000_after.sql");
}

#[test]
fn refuses_bad_names_and_creates_nothing() {
    let fx = Fixture::new("new_bad");
    let long = "x".repeat(65);
    for bad in ["../x", "/abs", "", "   ", "café", "a.b", "a\\b", "semi;colon", long.as_str()] {
        fx.xtask(&["db-new", bad]).failure().says("migration name");
    }
    let missing = fx.xtask(&["db-new"]);
    assert_eq!(missing.code, Some(2), "a usage error exits with clap's status 2:\n{}", missing.all());
    missing.says("<NAME>");
    assert!(migration_files(&fx).is_empty(), "a refused name created a file");
}

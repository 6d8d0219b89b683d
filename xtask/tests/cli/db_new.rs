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
    assert!(!text.starts_with("-- no-transaction"));
    // The header alone: refused until its SQL is written, so it never applies as a no-op.
    fx.xtask(&["db-migrate"]).failure().says("with no SQL written yet").says(name);
    fx.xtask(&["db-status"]).found().says("pending, only db-new's header");
    // Once touched (here a comment of its own), it is the author's file and applies, as sqlx applies it.
    std::fs::write(fx.migrations().join(name), format!("{text}-- nothing to change after all\n")).unwrap();
    fx.xtask(&["db-migrate"]).success().says("Applied");
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

#[test]
fn db_new_at_once_in_two_terminals_never_shares_a_version() {
    let fx = Fixture::new("new_race");
    let children: Vec<_> = (0..6).map(|n| fx.spawn_with(&["db-new", &format!("m{n}")], &[])).collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let mut versions: Vec<String> = migration_files(&fx).iter().map(|n| n[..14].to_owned()).collect();
    assert_eq!(versions.len(), 6);
    versions.dedup();
    assert_eq!(versions.len(), 6, "two files got one version: {:?}", migration_files(&fx));
}

#[test]
fn db_new_creates_the_migrations_folder() {
    let fx = Fixture::new("new_dir");
    std::fs::remove_dir_all(fx.migrations()).unwrap();
    fx.xtask(&["db-new", "first"]).success().says("db/migrations/");
    assert_eq!(migration_files(&fx).len(), 1);
}

#[test]
fn db_new_never_writes_a_version_past_the_last_timestamp() {
    let fx = Fixture::new("new_last");
    fx.migration(99991231235959, "the_end", "SELECT 1;\n");
    fx.xtask(&["db-new", "after"]).failure().says("last possible timestamp");
    assert_eq!(migration_files(&fx), ["99991231235959_the_end.sql"]);
}

#[test]
fn several_unquoted_words_make_one_name() {
    let fx = Fixture::new("new_words");
    let run = fx.xtask(&["db-new", "add", "reading", "Unit"]).success();
    let files = migration_files(&fx);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("_add_reading_unit.sql"), "{files:?}");
    run.says("_add_reading_unit.sql");
}

#[test]
fn a_name_another_migration_has_is_refused_and_named() {
    let fx = Fixture::new("new_same");
    fx.xtask(&["db-new", "create_sensors"]).success();
    let first = migration_files(&fx);
    fx.xtask(&["db-new", "Create Sensors"]).failure().says(&format!("db/migrations/{}", first[0])).says("differently");
    // An adopted history's `.up.sql` pair counts too.
    fx.migration(7, "add_unit.up", "SELECT 1;\n");
    fx.xtask(&["db-new", "add_unit"]).failure().says("7_add_unit.up.sql");
    assert_eq!(migration_files(&fx).len(), 2, "a refused name created a file: {:?}", migration_files(&fx));
}

#[test]
fn a_non_ascii_letter_is_refused_as_non_ascii() {
    let fx = Fixture::new("new_ascii");
    fx.xtask(&["db-new", "Ajouter unité"]).failure().says("'é'").says("ASCII letters");
    assert!(migration_files(&fx).is_empty());
}

#[test]
fn cargo_xtask_alone_lists_the_commands_and_succeeds() {
    let fx = Fixture::new("new_alone");
    let run = fx.xtask_with(&[], &[]).success();
    for command in ["db-reset", "db-migrate", "db-new", "db-status", "db-check", "test"] {
        assert!(run.stdout.contains(command), "{command} is not listed:\n{}", run.all());
    }
}

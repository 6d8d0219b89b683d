//! Every constraint and index has a name chosen in db/migrations, the crate lists exactly the
//! catalog's names, and `Constraint::of` tells each one from a real violation.

use std::collections::BTreeSet;
use std::path::Path;

use db::{Constraint, ConstraintKind, Index};
use sqlx::PgConnection;

use crate::support::{EMPTY, FACTORY, ORG, exec, org_and_factory, refused};

/// The schema's constraints as (name, table, kind): pg_constraint, plus the unique indexes that
/// back no constraint (a violation names the index). NOT NULL constraints (in pg_constraint
/// since PostgreSQL 18, named by the server) are left out: their violation names a column.
async fn catalog_constraints(pool: &mut PgConnection) -> BTreeSet<(String, String, String)> {
    sqlx::query_as(
        "SELECT c.conname::text, t.relname::text, c.contype::text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations' AND c.contype <> 'n' \
         UNION ALL \
         SELECT i.relname::text, t.relname::text, 'u' \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations' AND x.indisunique \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

async fn catalog_indexes(pool: &mut PgConnection) -> BTreeSet<(String, String)> {
    sqlx::query_as(
        "SELECT i.relname::text, t.relname::text \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

fn contype(kind: ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::PrimaryKey => "p",
        ConstraintKind::ForeignKey => "f",
        ConstraintKind::Unique => "u",
        ConstraintKind::Check => "c",
    }
}

#[tokio::test]
async fn the_crate_lists_every_constraint_and_index_of_the_catalog() {
    let mut tx = EMPTY.transaction().await;
    let pool = &mut *tx;
    let crate_constraints: BTreeSet<(String, String, String)> = Constraint::ALL
        .iter()
        .map(|c| (c.name().to_owned(), c.table().to_owned(), contype(c.kind()).to_owned()))
        .collect();
    assert_same(catalog_constraints(pool).await, crate_constraints, "db::Constraint");

    let crate_indexes: BTreeSet<(String, String)> =
        Index::ALL.iter().map(|i| (i.name().to_owned(), i.table().to_owned())).collect();
    assert_same(catalog_indexes(pool).await, crate_indexes, "db::Index");
}

/// Fails naming only what one side has and the other lacks.
fn assert_same<T: Ord + std::fmt::Debug>(catalog: BTreeSet<T>, listed: BTreeSet<T>, list: &str) {
    let missing: Vec<&T> = catalog.difference(&listed).collect();
    let stale: Vec<&T> = listed.difference(&catalog).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "in the catalog but not in {list} (add them): {missing:?}\nin {list} but not in the catalog (remove them): {stale:?}"
    );
}

/// A name PostgreSQL generated (`gateways_factory_id_fkey`) appears in no migration: it is
/// known only from the catalog, and a rebuilt table could get another one.
#[tokio::test]
async fn every_constraint_and_index_is_named_in_the_migrations() {
    let mut tx = EMPTY.transaction().await;
    let pool = &mut *tx;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db/migrations");
    let mut migrations = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "sql") {
            migrations.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let named = |name: &str| {
        migrations.match_indices(name).any(|(at, _)| {
            let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let before = migrations[..at].chars().next_back().is_none_or(|c| !word(c));
            let after = migrations[at + name.len()..].chars().next().is_none_or(|c| !word(c));
            before && after
        })
    };
    let mut names: BTreeSet<String> = catalog_constraints(pool).await.into_iter().map(|(name, ..)| name).collect();
    names.extend(catalog_indexes(pool).await.into_iter().map(|(name, _)| name));
    let generated: Vec<&String> = names.iter().filter(|name| !named(name)).collect();
    assert!(generated.is_empty(), "named by PostgreSQL, not by a migration: {generated:?}");
}

/// One statement that violates `constraint`, on top of [`setup`]. The match is exhaustive: a
/// new constraint does not compile until it has its violation here.
fn violation(constraint: Constraint) -> String {
    let org = |name: &str, slug: &str| format!("INSERT INTO organizations (name, slug) VALUES ('{name}', '{slug}')");
    let factory = |columns: &str, values: &str| {
        format!(
            "INSERT INTO factories (organization_id, name, country_code, city, timezone{columns}) \
             VALUES ({ORG}, 'Plant 2', 'DE', 'Berlin', 'Europe/Berlin'{values})"
        )
    };
    let gateway = |columns: &str, values: &str| {
        format!(
            "INSERT INTO gateways (factory_id, serial_number, firmware_version{columns}) \
             VALUES ({FACTORY}, 'GW-0002', '1.0.0'{values})"
        )
    };
    let long = "x".repeat(201);
    match constraint {
        Constraint::OrganizationsPk => {
            format!("INSERT INTO organizations (id, name, slug) VALUES ({ORG}, 'Acme 2', 'acme-2')")
        }
        Constraint::OrganizationsNameTrimmed => org(" Acme", "acme-2"),
        Constraint::OrganizationsNameLength => org(&long, "acme-2"),
        Constraint::OrganizationsSlugFormat => org("Acme 2", "Acme-2"),
        Constraint::OrganizationsSlugKey => org("Acme 2", "acme"),
        Constraint::FactoriesPk => factory(", id", &format!(", {FACTORY}")),
        Constraint::FactoriesOrganizationFk => format!("DELETE FROM organizations WHERE id = {ORG}"),
        Constraint::FactoriesNameTrimmed => factory("", "").replace("'Plant 2'", "'Plant 2 '"),
        Constraint::FactoriesNameLength => factory("", "").replace("'Plant 2'", &format!("'{long}'")),
        Constraint::FactoriesCountryCodeIso => factory("", "").replace("'DE'", "'XX'"),
        Constraint::FactoriesCityTrimmed => factory("", "").replace("'Berlin'", "''"),
        Constraint::FactoriesAddressTrimmed => factory(", address", ", ' Hauptstraße 1'"),
        Constraint::FactoriesTimezoneIana => factory("", "").replace("'Europe/Berlin'", "'CEST'"),
        Constraint::FactoriesLatitudeRange => factory(", latitude, longitude", ", 91, 0"),
        Constraint::FactoriesLongitudeRange => factory(", latitude, longitude", ", 0, 181"),
        Constraint::FactoriesCoordinatesTogether => factory(", latitude", ", 48.1"),
        Constraint::FactoriesOrganizationNameKey => factory("", "").replace("'Plant 2'", "'PLANT 1'"),
        Constraint::GatewaysPk => gateway(", id", ", 'cccccccc-0000-4000-8000-000000000001'"),
        Constraint::GatewaysFactoryFk => format!("DELETE FROM factories WHERE id = {FACTORY}"),
        Constraint::GatewaysSerialNumberFormat => gateway("", "").replace("'GW-0002'", "'gw-0002'"),
        Constraint::GatewaysSerialNumberKey => gateway("", "").replace("'GW-0002'", "'GW-0001'"),
        Constraint::GatewaysMacAddressKey => gateway(", mac_address", ", '00:1b:63:84:45:e6'"),
        Constraint::GatewaysFirmwareVersionSemver => gateway("", "").replace("'1.0.0'", "'v1'"),
        Constraint::GatewaysIpAddressHost => gateway(", ip_address", ", '10.0.0.0/8'"),
        Constraint::GatewaysMetadataObject => gateway(", metadata", ", '[]'"),
        Constraint::GatewaysOnlineSeen => gateway(", status", ", 'online'"),
    }
}

/// An organization, a factory and a gateway that the violations collide with.
async fn setup(pool: &mut PgConnection) {
    org_and_factory(pool).await;
    exec(
        pool,
        &format!(
            "INSERT INTO gateways (id, factory_id, serial_number, mac_address, firmware_version) \
             VALUES ('cccccccc-0000-4000-8000-000000000001', {FACTORY}, 'GW-0001', '00:1b:63:84:45:e6', '1.0.0')"
        ),
    )
    .await;
}

#[tokio::test]
async fn each_constraint_is_told_from_a_real_violation() {
    let mut tx = EMPTY.transaction().await;
    let pool = &mut *tx;
    setup(pool).await;
    for &constraint in Constraint::ALL {
        let sql = violation(constraint);
        let err = match refused(pool, &sql).await {
            Ok(_) => panic!("{constraint}: the database accepted\n{sql}"),
            Err(err) => err,
        };
        assert_eq!(Constraint::of(&err), Some(constraint), "{sql}\nfailed with: {err}");
    }
}

#[tokio::test]
async fn errors_that_violate_no_named_constraint_are_told_apart() {
    let mut tx = EMPTY.transaction().await;
    let pool = &mut *tx;
    setup(pool).await;
    for sql in [
        // 22P02: not a value of the enum.
        format!(
            "INSERT INTO gateways (factory_id, serial_number, firmware_version, status) VALUES ({FACTORY}, 'GW-0003', '1.0.0', 'exploded')"
        ),
        // 23502: NOT NULL names a column, not a constraint.
        "INSERT INTO organizations (name, slug) VALUES (NULL, 'acme-3')".to_owned(),
        // 42P01: no such table.
        "SELECT * FROM gateway".to_owned(),
    ] {
        let err = refused(pool, &sql).await.expect_err(&sql);
        assert_eq!(Constraint::of(&err), None, "{sql}\nfailed with: {err}");
    }
    let missing = sqlx::query("SELECT 1 WHERE false").fetch_one(pool).await.expect_err("no row");
    assert_eq!(Constraint::of(&missing), None);
}

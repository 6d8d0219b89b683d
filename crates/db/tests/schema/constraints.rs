//! One test per rule the database enforces, and the valid edge cases it must still accept.

use db::Constraint;
use sqlx::types::time::OffsetDateTime;

use crate::support::{EMPTY, FACTORY, ORG, SEEDED, exec, org_and_factory, rejects, rejects_with_code};

fn org(name: &str, slug: &str) -> String {
    format!("INSERT INTO organizations (name, slug) VALUES ('{name}', '{slug}')")
}

fn factory(name: &str, country: &str, timezone: &str, coordinates: &str) -> String {
    format!(
        "INSERT INTO factories (organization_id, name, country_code, city, timezone, latitude, longitude) \
         VALUES ({ORG}, '{name}', '{country}', 'Somewhere', '{timezone}', {coordinates})"
    )
}

fn gateway(serial: &str, mac: &str, extra_columns: &str, extra_values: &str) -> String {
    format!(
        "INSERT INTO gateways (factory_id, serial_number, mac_address, firmware_version{extra_columns}) \
         VALUES ({FACTORY}, '{serial}', {mac}, '1.0.0'{extra_values})"
    )
}

#[tokio::test]
async fn organization_names_must_be_non_empty_trimmed_and_bounded() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    // A no-break space is whitespace too (ICU says so whatever the server's locale).
    for name in ["", " ", " Acme", "Acme ", "\tAcme", "Acme\n", "\u{a0}Acme", "Acme\u{a0}"] {
        let name = name.replace('\t', "' || chr(9) || '").replace('\n', "' || chr(10) || '");
        rejects(pool, Constraint::OrganizationsNameTrimmed, &org(&name, "acme")).await;
    }
    rejects(pool, Constraint::OrganizationsNameLength, &org(&"x".repeat(201), "acme")).await;
}

#[tokio::test]
async fn slugs_must_be_url_safe_and_bounded() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    let too_long = "a".repeat(64);
    for slug in ["Acme", "acme_corp", "-acme", "acme-", "acme--corp", "a", "acmé", "acme corp", too_long.as_str()] {
        rejects(pool, Constraint::OrganizationsSlugFormat, &org("Acme", slug)).await;
    }
}

#[tokio::test]
async fn slugs_are_unique() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    exec(pool, &org("Acme", "acme")).await;
    rejects(pool, Constraint::OrganizationsSlugKey, &org("Acme Two", "acme")).await;
}

#[tokio::test]
async fn valid_organization_edge_cases_are_accepted() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    exec(pool, &org("Nordlicht Präzisionstechnik GmbH", "praezision")).await;
    exec(pool, &org("田中製作所", "tanaka")).await;
    exec(pool, &org("Joe''s Machine Shop", "j0")).await;
    exec(pool, &org(&"x".repeat(200), &"a".repeat(63))).await;
    exec(pool, &org("A", "a-b-c-1")).await;
}

#[tokio::test]
async fn factory_names_are_unique_per_organization_ignoring_case() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    rejects(pool, Constraint::FactoriesOrganizationNameKey, &factory("PLANT 1", "DE", "Europe/Berlin", "NULL, NULL"))
        .await;
    // The same name is fine in another organization.
    exec(
        pool,
        "INSERT INTO organizations (id, name, slug) VALUES ('aaaaaaaa-0000-4000-8000-000000000002', 'Other', 'other')",
    )
    .await;
    exec(
        pool,
        "INSERT INTO factories (organization_id, name, country_code, city, timezone) \
         VALUES ('aaaaaaaa-0000-4000-8000-000000000002', 'plant 1', 'FR', 'Lyon', 'Europe/Paris')",
    )
    .await;
}

#[tokio::test]
async fn country_codes_are_assigned_iso_3166_alpha_2() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    for code in ["de", "XX", "DEU", "D", "", "UK"] {
        rejects(pool, Constraint::FactoriesCountryCodeIso, &factory(&format!("F {code}"), code, "UTC", "NULL, NULL"))
            .await;
    }
}

#[tokio::test]
async fn time_zones_are_iana_names_the_server_knows() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    for (i, tz) in ["Mars/Olympus_Mons", "CEST", "UTC+5", "EST5EDT,M3.2.0,M11.1.0", "europe/berlin", "", "Europe/"]
        .iter()
        .enumerate()
    {
        rejects(pool, Constraint::FactoriesTimezoneIana, &factory(&format!("F{i}"), "DE", tz, "NULL, NULL")).await;
    }
    for (i, tz) in ["Asia/Kolkata", "Australia/Adelaide", "Asia/Kathmandu", "America/St_Johns", "Etc/GMT+5", "UTC"]
        .iter()
        .enumerate()
    {
        exec(pool, &factory(&format!("Valid {i}"), "DE", tz, "NULL, NULL")).await;
    }
}

#[tokio::test]
async fn coordinates_are_in_range_and_come_in_pairs() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    rejects(pool, Constraint::FactoriesLatitudeRange, &factory("A", "DE", "UTC", "90.0001, 0")).await;
    rejects(pool, Constraint::FactoriesLatitudeRange, &factory("B", "DE", "UTC", "-90.5, 0")).await;
    rejects(pool, Constraint::FactoriesLongitudeRange, &factory("C", "DE", "UTC", "0, 180.5")).await;
    rejects(pool, Constraint::FactoriesCoordinatesTogether, &factory("D", "DE", "UTC", "48.1, NULL")).await;
    rejects(pool, Constraint::FactoriesCoordinatesTogether, &factory("E", "DE", "UTC", "NULL, 9.2")).await;
    exec(pool, &factory("North Pole", "NO", "UTC", "90, 180")).await;
    exec(pool, &factory("South Pole", "AQ", "UTC", "-90, -180")).await;
    exec(pool, &factory("Nowhere", "DE", "UTC", "NULL, NULL")).await;
}

#[tokio::test]
async fn factories_need_an_existing_organization() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    rejects(pool, Constraint::FactoriesOrganizationFk, &factory("Orphan", "DE", "UTC", "NULL, NULL")).await;
}

#[tokio::test]
async fn serial_numbers_are_unique_and_well_formed() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    exec(pool, &gateway("GW-0001", "NULL", "", "")).await;
    rejects(pool, Constraint::GatewaysSerialNumberKey, &gateway("GW-0001", "NULL", "", "")).await;
    for serial in ["gw-0002", "GW", "-GW2", "GW2-", "GW 2", "GW_2"] {
        rejects(pool, Constraint::GatewaysSerialNumberFormat, &gateway(serial, "NULL", "", "")).await;
    }
}

#[tokio::test]
async fn mac_addresses_are_unique_when_present() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    exec(pool, &gateway("GW-0001", "'ac:de:48:00:11:22'", "", "")).await;
    rejects(pool, Constraint::GatewaysMacAddressKey, &gateway("GW-0002", "'AC-DE-48-00-11-22'", "", "")).await;
    exec(pool, &gateway("GW-0003", "NULL", "", "")).await;
    exec(pool, &gateway("GW-0004", "NULL", "", "")).await;
    rejects_with_code(pool, "22P02", &gateway("GW-0005", "'not-a-mac'", "", "")).await;
}

#[tokio::test]
async fn metadata_must_be_a_json_object() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    for (i, value) in ["'[]'", "'\"text\"'", "'null'", "'42'"].iter().enumerate() {
        rejects(
            pool,
            Constraint::GatewaysMetadataObject,
            &gateway(&format!("GW-{i}0"), "NULL", ", metadata", &format!(", {value}")),
        )
        .await;
    }
    exec(pool, &gateway("GW-OK1", "NULL", ", metadata", ", '{\"nested\": {\"a\": [1, 2]}, \"ü\": \"✓\"}'")).await;
}

#[tokio::test]
async fn unknown_statuses_are_refused() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    // 22P02: invalid input value for enum gateway_status.
    rejects_with_code(pool, "22P02", &gateway("GW-0001", "NULL", ", status", ", 'exploded'")).await;
    rejects_with_code(pool, "22P02", &gateway("GW-0002", "NULL", ", status", ", 'Online'")).await;
}

#[tokio::test]
async fn gateway_rules_on_addresses_firmware_and_reporting() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    rejects(pool, Constraint::GatewaysIpAddressHost, &gateway("GW-0001", "NULL", ", ip_address", ", '10.0.0.0/8'"))
        .await;
    rejects(pool, Constraint::GatewaysIpAddressHost, &gateway("GW-0002", "NULL", ", ip_address", ", '2001:db8::/64'"))
        .await;
    rejects(
        pool,
        Constraint::GatewaysFirmwareVersionSemver,
        &gateway("GW-0003", "NULL", "", "").replace("'1.0.0'", "'v1'"),
    )
    .await;
    rejects(pool, Constraint::GatewaysOnlineSeen, &gateway("GW-0004", "NULL", ", status", ", 'online'")).await;
    exec(pool, &gateway("GW-0005", "NULL", ", ip_address, status, last_seen_at", ", '2001:db8::1', 'online', now()"))
        .await;
    exec(pool, &gateway("GW-0006", "NULL", ", ip_address", ", '192.168.0.10/32'")).await;
    exec(pool, &gateway("GW-0007", "NULL", "", "").replace("'1.0.0'", "'2.0.0-rc.1+build.7'")).await;
}

#[tokio::test]
async fn gateways_need_an_existing_factory() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    rejects(
        pool,
        Constraint::GatewaysFactoryFk,
        &gateway("GW-0001", "NULL", "", "").replace(FACTORY, "'bbbbbbbb-0000-4000-8000-00000000dead'"),
    )
    .await;
}

#[tokio::test]
async fn deletes_never_cascade_through_the_fleet() {
    let mut tx = SEEDED.transaction().await;
    let pool = &mut *tx;
    org_and_factory(pool).await;
    exec(pool, &gateway("GW-0001", "NULL", "", "")).await;
    rejects(pool, Constraint::FactoriesOrganizationFk, &format!("DELETE FROM organizations WHERE id = {ORG}")).await;
    rejects(pool, Constraint::GatewaysFactoryFk, &format!("DELETE FROM factories WHERE id = {FACTORY}")).await;
    // Bottom-up, each delete is allowed.
    exec(pool, &format!("DELETE FROM gateways WHERE factory_id = {FACTORY}")).await;
    exec(pool, &format!("DELETE FROM factories WHERE id = {FACTORY}")).await;
    exec(pool, &format!("DELETE FROM organizations WHERE id = {ORG}")).await;
}

#[tokio::test]
async fn updated_at_is_maintained_by_the_database() {
    // Its own database: it alters the tables (DDL takes locks every other test would wait for)
    // and expects one row per table.
    let db = EMPTY.copy().await;
    let mut conn = db.pool().acquire().await.unwrap();
    let pool = &mut *conn;
    org_and_factory(pool).await;
    exec(pool, &gateway("GW-0001", "NULL", "", "")).await;
    let past = "'2000-01-01 00:00:00+00'";
    for table in ["organizations", "factories", "gateways"] {
        exec(pool, &format!("ALTER TABLE {table} DISABLE TRIGGER {table}_set_updated_at")).await;
        exec(pool, &format!("UPDATE {table} SET created_at = {past}, updated_at = {past}")).await;
        exec(pool, &format!("ALTER TABLE {table} ENABLE TRIGGER {table}_set_updated_at")).await;
        // Even an update that tries to set updated_at itself gets the real time.
        exec(pool, &format!("UPDATE {table} SET updated_at = {past}, created_at = created_at")).await;
        let (created, updated): (OffsetDateTime, OffsetDateTime) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT created_at, updated_at FROM {table}")))
                .fetch_one(&mut *pool)
                .await
                .unwrap();
        assert_eq!(created.year(), 2000, "{table}: created_at must not change on update");
        assert!(
            updated > OffsetDateTime::now_utc() - std::time::Duration::from_secs(60),
            "{table}: updated_at = {updated}"
        );
    }
}

//! The seed data, loaded as `cargo xtask db-reset` loads it (the test databases' template is
//! seeded by the same code), maps onto the row types and holds the scenarios the README promises.

use db::{Factory, Gateway, GatewayStatus, Organization};
use sqlx::{AssertSqlSafe, PgPool};

use crate::support::{SEEDED, uuid};

/// Runs every file in db/seeds into a database of the test's making, as `cargo xtask db-reset`
/// does (the same code: `testdb::seed`).
pub async fn load_seeds(pool: &PgPool) {
    testdb::seed(&mut pool.acquire().await.unwrap(), db::SEEDS_DIR).await;
}

#[tokio::test]
async fn seeds_hold_the_documented_counts() {
    let mut tx = SEEDED.transaction().await;

    let by_status: Vec<(GatewayStatus, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM gateways GROUP BY status ORDER BY status")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(
        by_status,
        [
            (GatewayStatus::Provisioning, 26),
            (GatewayStatus::Online, 268),
            (GatewayStatus::Offline, 98),
            (GatewayStatus::Maintenance, 50),
            (GatewayStatus::Decommissioned, 50),
        ]
    );

    let by_org: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT o.slug, count(DISTINCT f.id), count(g.id) \
         FROM organizations o LEFT JOIN factories f ON f.organization_id = o.id LEFT JOIN gateways g ON g.factory_id = f.id \
         GROUP BY o.slug ORDER BY o.slug",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let expected = [
        ("acme-industrial", 7, 295),
        ("greenfield-robotics", 0, 0),
        ("joes-machine-shop", 1, 1),
        ("nordlicht", 2, 98),
        ("scop-lyon", 1, 49),
        ("tanaka-seisakusho", 1, 49),
    ];
    let by_org: Vec<(&str, i64, i64)> = by_org.iter().map(|(s, f, g)| (s.as_str(), *f, *g)).collect();
    assert_eq!(by_org, expected);
}

#[tokio::test]
async fn seeds_cover_the_edge_cases() {
    let mut tx = SEEDED.transaction().await;
    assert!(
        scalar(&mut tx, "SELECT count(*) FROM organizations WHERE name !~ '^[ -~]*$'").await >= 2,
        "non-ASCII names"
    );
    assert!(scalar(&mut tx, "SELECT count(DISTINCT timezone) FROM factories").await >= 10, "many time zones");
    // Half- and quarter-hour offsets: Kolkata, Adelaide, St. John's, Kathmandu.
    assert!(
        scalar(&mut tx, "SELECT count(*) FROM factories WHERE extract(minute FROM now() AT TIME ZONE timezone - now() AT TIME ZONE 'UTC') <> 0").await
            >= 4
    );
    assert!(scalar(&mut tx, "SELECT count(*) FROM factories WHERE latitude IS NULL AND address IS NULL").await >= 1);
    assert!(
        scalar(
            &mut tx,
            "SELECT count(*) FROM factories f WHERE NOT EXISTS (SELECT 1 FROM gateways g WHERE g.factory_id = f.id)"
        )
        .await
            >= 1
    );
    assert!(
        scalar(&mut tx, "SELECT count(*) FROM gateways WHERE status = 'provisioning' AND last_seen_at IS NULL").await
            >= 1
    );
    assert!(
        scalar(
            &mut tx,
            "SELECT count(*) FROM gateways WHERE status = 'decommissioned' AND last_seen_at < now() - interval '1 year'"
        )
        .await
            >= 1
    );
    assert!(scalar(&mut tx, "SELECT count(*) FROM gateways WHERE family(ip_address) = 6").await >= 10, "IPv6");
    assert!(scalar(&mut tx, "SELECT count(*) FROM gateways WHERE family(ip_address) = 4").await >= 100, "IPv4");
    assert!(
        scalar(&mut tx, "SELECT count(*) FROM gateways WHERE ip_address IS NULL AND mac_address IS NULL").await >= 1
    );
    assert!(scalar(&mut tx, "SELECT count(*) FROM gateways WHERE metadata = '{}'").await >= 1, "empty metadata");
    assert!(
        scalar(&mut tx, "SELECT count(*) FROM gateways WHERE metadata ? 'hardware'").await >= 400,
        "structured metadata"
    );
}

#[tokio::test]
async fn seeded_rows_decode_into_the_row_types() {
    let mut tx = SEEDED.transaction().await;
    let orgs: Vec<Organization> =
        sqlx::query_as("SELECT * FROM organizations ORDER BY slug").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(orgs.len(), 6);
    assert!(orgs.iter().any(|o| o.name == "田中製作所"));
    let factories: Vec<Factory> = sqlx::query_as("SELECT * FROM factories").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(factories.len(), 12);
    let gateway: Gateway = sqlx::query_as("SELECT * FROM gateways WHERE id = '30000000-0000-4000-8000-000000000002'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(gateway.serial_number, "GW-DET-0001");
    assert_eq!(gateway.status, GatewayStatus::Online);
    assert!(gateway.ip_address.is_some_and(|ip| ip.is_ipv6()));
    assert_eq!(gateway.metadata["line"], "Body shop 3");
    let never_seen: Gateway =
        sqlx::query_as("SELECT * FROM gateways WHERE serial_number = 'GW-PNE-0100'").fetch_one(&mut *tx).await.unwrap();
    assert_eq!((never_seen.last_seen_at, never_seen.mac_address, never_seen.ip_address), (None, None, None));
}

/// The rows crates/db/README.md's "Which seeded rows to use" table names, as it describes them.
#[tokio::test]
async fn seeds_hold_the_rows_the_guide_names() {
    let mut tx = SEEDED.transaction().await;
    let stuttgart = uuid("20000000-0000-4000-8000-000000000001");
    let silent = "status = 'online' AND last_seen_at < now() - interval '10 minutes'";

    // Stuttgart Plant: gateways in every status, three of the online ones silent for hours.
    let by_status: Vec<(GatewayStatus, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT status, count(*), count(*) FILTER (WHERE {silent}) FROM gateways WHERE factory_id = $1 \
         GROUP BY status ORDER BY status"
    )))
    .bind(stuttgart)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        by_status,
        [
            (GatewayStatus::Provisioning, 3, 0),
            (GatewayStatus::Online, 28, 3),
            (GatewayStatus::Offline, 8, 0),
            (GatewayStatus::Maintenance, 4, 0),
            (GatewayStatus::Decommissioned, 7, 0),
        ]
    );

    // Every factory with generated gateways has all five statuses and silent online ones.
    let mixed: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM (SELECT factory_id FROM gateways GROUP BY factory_id \
         HAVING count(DISTINCT status) = 5 AND count(*) FILTER (WHERE {silent}) > 0) AS f"
    )))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(mixed, 10);

    let gateways_of = "SELECT count(*) FROM gateways WHERE factory_id = $1";
    let monterrey: i64 = sqlx::query_scalar(gateways_of)
        .bind(uuid("20000000-0000-4000-8000-000000000012"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(monterrey, 0, "Monterrey: no gateways yet");
    let joes: i64 = sqlx::query_scalar(gateways_of)
        .bind(uuid("20000000-0000-4000-8000-000000000010"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(joes, 1, "Joe's Main Shop: one gateway");
    let greenfield: i64 = sqlx::query_scalar("SELECT count(*) FROM factories WHERE organization_id = $1")
        .bind(uuid("10000000-0000-4000-8000-000000000005"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(greenfield, 0, "Greenfield Robotics: no factories");

    // The named gateways, each as the guide describes it.
    let named = [
        (
            "30000000-0000-4000-8000-000000000001",
            "GW-STG-0001",
            GatewayStatus::Online,
            "family(ip_address) = 4 AND metadata ? 'protocols'",
        ),
        ("30000000-0000-4000-8000-000000000002", "GW-DET-0001", GatewayStatus::Online, "family(ip_address) = 6"),
        (
            "30000000-0000-4000-8000-000000000003",
            "GW-PNE-0100",
            GatewayStatus::Provisioning,
            "last_seen_at IS NULL AND mac_address IS NULL AND ip_address IS NULL AND metadata = '{}'",
        ),
        (
            "30000000-0000-4000-8000-000000000004",
            "GW-ADL-0007",
            GatewayStatus::Offline,
            "last_seen_at < now() - interval '2 days'",
        ),
        ("30000000-0000-4000-8000-000000000005", "GW-SAO-0003", GatewayStatus::Maintenance, "metadata ? 'ticket'"),
        ("30000000-0000-4000-8000-000000000007", "GW-KTM-0001", GatewayStatus::Online, "metadata->>'note' LIKE '🛠%'"),
        (
            "30000000-0000-4000-8000-000000000006",
            "GW-STG-0000",
            GatewayStatus::Decommissioned,
            "last_seen_at < '2021-01-01' AND metadata->>'replaced_by' = 'GW-STG-0001'",
        ),
        (
            "30000000-0000-4000-8000-000000000008",
            "JOES-1",
            GatewayStatus::Offline,
            "last_seen_at > now() - interval '1 hour'",
        ),
        (
            "30000000-0000-4000-8000-000000000010",
            "TNK-OSK-0001",
            GatewayStatus::Provisioning,
            "last_seen_at IS NOT NULL",
        ),
        ("30000000-0000-4000-8000-000000000012", "NL-MMA-0001", GatewayStatus::Decommissioned, "last_seen_at IS NULL"),
    ];
    for (id, serial, status, property) in named {
        let found: Option<(String, GatewayStatus)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT serial_number, status FROM gateways WHERE id = $1 AND {property}"
        )))
        .bind(uuid(id))
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        assert_eq!(found, Some((serial.to_owned(), status)), "{id}: {property}");
    }
}

async fn scalar(tx: &mut testdb::Transaction, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut **tx).await.unwrap()
}

/// Compile-time checked queries (`query!`, `query_as!`): checked against the migrated dev
/// database when `DATABASE_URL` is set (`cargo xtask test`), else against the query data in
/// `.sqlx` (`cargo xtask db-prepare` writes it; CI's `db-prepare --check` finds it stale).
#[tokio::test]
async fn checked_queries_read_the_seeds() {
    let mut tx = SEEDED.transaction().await;
    let nordlicht = sqlx::query_as!(
        Organization,
        "SELECT id, name, slug, created_at, updated_at FROM organizations WHERE slug = $1",
        "nordlicht"
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(nordlicht.name, "Nordlicht Präzisionstechnik GmbH");

    let online = sqlx::query!(
        r#"SELECT count(*) AS "count!" FROM gateways WHERE status = $1"#,
        GatewayStatus::Online as GatewayStatus
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert!(online.count > 0);
}

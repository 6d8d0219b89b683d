//! The seed data loads into a freshly migrated database, maps onto the row types, and holds the
//! scenarios the README promises.

use std::path::Path;

use db::{Factory, Gateway, GatewayStatus, Organization};
use sqlx::{AssertSqlSafe, PgPool};

/// Runs every file in db/seeds, in name order, as `cargo xtask db-reset` does.
pub async fn load_seeds(pool: &PgPool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db/seeds");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut tx = pool.begin().await.unwrap();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "sql")) {
        let sql = std::fs::read_to_string(file).unwrap();
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn seeds_hold_the_documented_counts(pool: PgPool) {
    load_seeds(&pool).await;

    let by_status: Vec<(GatewayStatus, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM gateways GROUP BY status ORDER BY status")
            .fetch_all(&pool)
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
    .fetch_all(&pool)
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

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn seeds_cover_the_edge_cases(pool: PgPool) {
    load_seeds(&pool).await;
    let scalar = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert!(scalar("SELECT count(*) FROM organizations WHERE name !~ '^[ -~]*$'").await >= 2, "non-ASCII names");
    assert!(scalar("SELECT count(DISTINCT timezone) FROM factories").await >= 10, "many time zones");
    // Half- and quarter-hour offsets: Kolkata, Adelaide, St. John's, Kathmandu.
    assert!(
        scalar("SELECT count(*) FROM factories WHERE extract(minute FROM now() AT TIME ZONE timezone - now() AT TIME ZONE 'UTC') <> 0").await
            >= 4
    );
    assert!(scalar("SELECT count(*) FROM factories WHERE latitude IS NULL AND address IS NULL").await >= 1);
    assert!(
        scalar(
            "SELECT count(*) FROM factories f WHERE NOT EXISTS (SELECT 1 FROM gateways g WHERE g.factory_id = f.id)"
        )
        .await
            >= 1
    );
    assert!(scalar("SELECT count(*) FROM gateways WHERE status = 'provisioning' AND last_seen_at IS NULL").await >= 1);
    assert!(
        scalar(
            "SELECT count(*) FROM gateways WHERE status = 'decommissioned' AND last_seen_at < now() - interval '1 year'"
        )
        .await
            >= 1
    );
    assert!(scalar("SELECT count(*) FROM gateways WHERE family(ip_address) = 6").await >= 10, "IPv6");
    assert!(scalar("SELECT count(*) FROM gateways WHERE family(ip_address) = 4").await >= 100, "IPv4");
    assert!(scalar("SELECT count(*) FROM gateways WHERE ip_address IS NULL AND mac_address IS NULL").await >= 1);
    assert!(scalar("SELECT count(*) FROM gateways WHERE metadata = '{}'").await >= 1, "empty metadata");
    assert!(scalar("SELECT count(*) FROM gateways WHERE metadata ? 'hardware'").await >= 400, "structured metadata");
}

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn seeded_rows_decode_into_the_row_types(pool: PgPool) {
    load_seeds(&pool).await;
    let orgs: Vec<Organization> =
        sqlx::query_as("SELECT * FROM organizations ORDER BY slug").fetch_all(&pool).await.unwrap();
    assert_eq!(orgs.len(), 6);
    assert!(orgs.iter().any(|o| o.name == "田中製作所"));
    let factories: Vec<Factory> = sqlx::query_as("SELECT * FROM factories").fetch_all(&pool).await.unwrap();
    assert_eq!(factories.len(), 12);
    let gateway: Gateway = sqlx::query_as("SELECT * FROM gateways WHERE id = '30000000-0000-4000-8000-000000000002'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gateway.serial_number, "GW-DET-0001");
    assert_eq!(gateway.status, GatewayStatus::Online);
    assert!(gateway.ip_address.is_some_and(|ip| ip.is_ipv6()));
    assert_eq!(gateway.metadata["line"], "Body shop 3");
    let never_seen: Gateway =
        sqlx::query_as("SELECT * FROM gateways WHERE serial_number = 'GW-PNE-0100'").fetch_one(&pool).await.unwrap();
    assert_eq!((never_seen.last_seen_at, never_seen.mac_address, never_seen.ip_address), (None, None, None));
}

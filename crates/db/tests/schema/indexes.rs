//! The queries the API will run use an index, on a realistic volume: 2,000 organizations,
//! 10,000 factories and 100,000 gateways, most of them online and recently seen.

use db::Index;
use sqlx::{AssertSqlSafe, PgConnection};

use crate::support::{EMPTY, exec};

async fn fleet(pool: &mut PgConnection) {
    exec(
        pool,
        "INSERT INTO organizations (id, name, slug) \
         SELECT md5('org' || n)::uuid, 'Org ' || n, 'org-' || n FROM generate_series(1, 2000) AS n;
         INSERT INTO factories (id, organization_id, name, country_code, city, timezone) \
         SELECT md5('factory' || n)::uuid, md5('org' || (n % 2000 + 1))::uuid, 'Plant ' || n, 'DE', 'Berlin', 'Europe/Berlin' \
         FROM generate_series(1, 10000) AS n;
         INSERT INTO gateways (factory_id, serial_number, mac_address, firmware_version, status, last_seen_at) \
         SELECT md5('factory' || (n % 10000 + 1))::uuid, 'GW-' || n, \
                ('02' || lpad(to_hex(n), 10, '0'))::macaddr, '4.2.1', \
                CASE WHEN n % 50 = 0 THEN 'offline' WHEN n % 97 = 0 THEN 'decommissioned' ELSE 'online' END::gateway_status, \
                CASE WHEN n % 50 = 0 THEN now() - interval '2 hours' ELSE now() - (n % 120) * interval '1 second' END \
         FROM generate_series(1, 100000) AS n;
         ANALYZE;",
    )
    .await;
}

async fn plan(pool: &mut PgConnection, query: &str) -> String {
    let rows: Vec<String> =
        sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {query}"))).fetch_all(pool).await.unwrap();
    rows.join("\n")
}

#[tokio::test]
async fn each_api_query_uses_its_index() {
    // Its own database, without the seeds: the volume below, and the statistics ANALYZE takes
    // of it, are the test's alone.
    let db = EMPTY.copy().await;
    let mut conn = db.pool().acquire().await.unwrap();
    let pool = &mut *conn;
    fleet(pool).await;
    let org = "md5('org42')::uuid";
    let factory = "md5('factory42')::uuid";
    let cases = [
        (
            format!("SELECT * FROM factories WHERE organization_id = {org} ORDER BY lower(name) LIMIT 50"),
            "factories_organization_name_key",
        ),
        (
            format!("SELECT * FROM factories WHERE organization_id = {org} AND lower(name) = lower('Plant 42')"),
            "factories_organization_name_key",
        ),
        (
            format!("SELECT * FROM gateways WHERE factory_id = {factory} AND status = 'online'"),
            "gateways_factory_status_idx",
        ),
        (format!("SELECT * FROM gateways WHERE factory_id = {factory}"), "gateways_factory_status_idx"),
        (
            "SELECT * FROM gateways WHERE status <> 'decommissioned' AND last_seen_at < now() - interval '30 minutes'"
                .to_owned(),
            "gateways_last_seen_idx",
        ),
        ("SELECT * FROM gateways WHERE serial_number = 'GW-4242'".to_owned(), "gateways_serial_number_key"),
        ("SELECT * FROM gateways WHERE mac_address = '02:00:00:00:10:92'".to_owned(), "gateways_mac_address_key"),
    ];
    for (query, index) in cases {
        let plan = plan(pool, &query).await;
        println!("{query}\n{plan}\n");
        assert!(plan.contains(index), "{query}\nshould use {index}, but the plan is:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{query}\nscans a whole table:\n{plan}");
    }
}

/// The plan of `query` as a prepared statement's generic plan, the one sqlx's cached statement
/// may switch to after five executions (`plan_cache_mode = auto`): parameters are unknown
/// when it is made.
async fn generic_plan(conn: &mut PgConnection, parameter_types: &str, query: &str, arguments: &str) -> String {
    for statement in
        ["SET plan_cache_mode = force_generic_plan".to_owned(), format!("PREPARE q ({parameter_types}) AS {query}")]
    {
        sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *conn).await.unwrap();
    }
    let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN EXECUTE q ({arguments})")))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("DEALLOCATE q; RESET plan_cache_mode").execute(&mut *conn).await.unwrap();
    rows.join("\n")
}

/// The partial index `gateways_last_seen_idx` (`WHERE status <> 'decommissioned'`) serves a
/// generic plan only when the query writes its status condition as a literal: with the status
/// bound as a parameter, the planner cannot prove the index's predicate and scans the table.
/// The crate's docs and README say to write it literally.
#[tokio::test]
async fn the_partial_index_serves_generic_plans_when_the_status_is_literal() {
    // Its own database, without the seeds: the volume below, and the statistics ANALYZE takes
    // of it, are the test's alone.
    let db = EMPTY.copy().await;
    let mut conn = db.pool().acquire().await.unwrap();
    let pool = &mut *conn;
    fleet(pool).await;
    let index = Index::GatewaysLastSeenIdx.name();
    let literal = [
        "SELECT * FROM gateways WHERE status <> 'decommissioned' AND last_seen_at < $1",
        // Marking silent gateways offline: 'online' implies the index's predicate.
        "UPDATE gateways SET status = 'offline' WHERE status = 'online' AND last_seen_at < $1",
    ];
    for query in literal {
        let plan = generic_plan(pool, "timestamptz", query, "now() - interval '30 minutes'").await;
        println!("{query}\n{plan}\n");
        assert!(plan.contains(index), "{query}\nshould use {index} in a generic plan, but the plan is:\n{plan}");
    }
    let bound = "SELECT * FROM gateways WHERE status <> $1 AND last_seen_at < $2";
    let plan =
        generic_plan(pool, "gateway_status, timestamptz", bound, "'decommissioned', now() - interval '30 minutes'")
            .await;
    println!("{bound}\n{plan}\n");
    assert!(
        !plan.contains(index),
        "{bound}\nuses {index} in a generic plan: this PostgreSQL proves a partial index's predicate from a \
         parameter, and the docs' advice to write the status literally can be relaxed. The plan:\n{plan}"
    );
}

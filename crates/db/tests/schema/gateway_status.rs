//! `GatewayStatus` and the `gateway_status` enum are the same set, and every variant survives a
//! trip through the live database with sqlx and with postgres-types (tokio-postgres).

use std::collections::BTreeSet;

use db::GatewayStatus;

use crate::support::SEEDED;

#[tokio::test]
async fn rust_and_sql_have_the_same_variants_in_the_same_order() {
    let mut tx = SEEDED.transaction().await;
    let sql: Vec<String> =
        sqlx::query_scalar("SELECT unnest(enum_range(NULL::gateway_status))::text").fetch_all(&mut *tx).await.unwrap();
    let rust: Vec<&str> = GatewayStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(sql, rust);
    assert_eq!(sql.iter().map(String::as_str).collect::<BTreeSet<_>>(), rust.into_iter().collect());
}

#[tokio::test]
async fn every_variant_round_trips_through_sqlx() {
    let mut tx = SEEDED.transaction().await;
    for status in GatewayStatus::ALL {
        let (back, label): (GatewayStatus, String) =
            sqlx::query_as("SELECT $1::gateway_status, $1::gateway_status::text")
                .bind(status)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(back, status);
        assert_eq!(label, status.as_str());
    }
}

#[tokio::test]
async fn every_variant_round_trips_through_postgres_types() {
    let client = SEEDED.transaction_tokio_postgres().await;
    for status in GatewayStatus::ALL {
        let row = client.query_one("SELECT $1::gateway_status, $1::gateway_status::text", &[&status]).await.unwrap();
        assert_eq!(row.get::<_, GatewayStatus>(0), status);
        assert_eq!(row.get::<_, String>(1), status.as_str());
    }
}

#[tokio::test]
async fn a_copy_serves_tokio_postgres_too() {
    let db = SEEDED.copy().await;
    let client = db.tokio_postgres().await;
    let row = client.query_one("SELECT status FROM gateways WHERE serial_number = 'GW-DET-0001'", &[]).await.unwrap();
    assert_eq!(row.get::<_, GatewayStatus>(0), GatewayStatus::Online);
}

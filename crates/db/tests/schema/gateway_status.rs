//! `GatewayStatus` and the `gateway_status` enum are the same set, and every variant survives a
//! trip through the live database with sqlx and with postgres-types (tokio-postgres).

use std::collections::BTreeSet;
use std::str::FromStr;

use db::GatewayStatus;
use sqlx::PgPool;

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn rust_and_sql_have_the_same_variants_in_the_same_order(pool: PgPool) {
    let sql: Vec<String> =
        sqlx::query_scalar("SELECT unnest(enum_range(NULL::gateway_status))::text").fetch_all(&pool).await.unwrap();
    let rust: Vec<&str> = GatewayStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(sql, rust);
    assert_eq!(sql.iter().map(String::as_str).collect::<BTreeSet<_>>(), rust.into_iter().collect());
}

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn every_variant_round_trips_through_sqlx(pool: PgPool) {
    for status in GatewayStatus::ALL {
        let (back, label): (GatewayStatus, String) =
            sqlx::query_as("SELECT $1::gateway_status, $1::gateway_status::text")
                .bind(status)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(back, status);
        assert_eq!(label, status.as_str());
    }
}

#[sqlx::test(migrator = "db::MIGRATOR")]
async fn every_variant_round_trips_through_postgres_types(pool: PgPool) {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let mut config = tokio_postgres::Config::from_str(&server).expect("DATABASE_URL");
    config.dbname(&database);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect with tokio-postgres");
    let connection = tokio::spawn(connection);

    for status in GatewayStatus::ALL {
        let row = client.query_one("SELECT $1::gateway_status, $1::gateway_status::text", &[&status]).await.unwrap();
        assert_eq!(row.get::<_, GatewayStatus>(0), status);
        assert_eq!(row.get::<_, String>(1), status.as_str());
    }
    drop(client);
    connection.await.unwrap().unwrap();
}

//! The `serde` feature (switched on for the tests by the crate's dev-dependency on itself):
//! `GatewayStatus` as its snake_case label, the rows as JSON an API can send (RFC 3339 times,
//! ids, MAC and IP addresses as strings), and back to the same values.

use crate::support::SEEDED;
use db::types::{IpAddr, JsonValue, MacAddress, OffsetDateTime, Uuid};
use db::{Factory, Gateway, GatewayStatus, Organization};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[test]
fn gateway_statuses_are_their_snake_case_labels() {
    for status in GatewayStatus::ALL {
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(json, format!("\"{}\"", status.as_str()));
        assert_eq!(serde_json::from_str::<GatewayStatus>(&json).unwrap(), status);
    }
    assert!(serde_json::from_str::<GatewayStatus>("\"Online\"").is_err());
    assert!(serde_json::from_str::<GatewayStatus>("\"exploded\"").is_err());
}

/// Every row survives JSON and back unchanged.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(rows: &[T]) {
    for row in rows {
        let json = serde_json::to_string(row).unwrap();
        let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(&back, row, "{json}");
    }
}

#[tokio::test]
async fn seeded_rows_round_trip_through_json() {
    let mut tx = SEEDED.transaction().await;
    let organizations: Vec<Organization> =
        sqlx::query_as("SELECT * FROM organizations").fetch_all(&mut *tx).await.unwrap();
    let factories: Vec<Factory> = sqlx::query_as("SELECT * FROM factories").fetch_all(&mut *tx).await.unwrap();
    let gateways: Vec<Gateway> = sqlx::query_as("SELECT * FROM gateways").fetch_all(&mut *tx).await.unwrap();
    assert_eq!((organizations.len(), factories.len(), gateways.len()), (6, 12, 492));
    round_trips(&organizations);
    round_trips(&factories);
    round_trips(&gateways);
}

#[tokio::test]
async fn rows_are_json_an_api_can_send() {
    let mut tx = SEEDED.transaction().await;
    let gateway: Gateway = sqlx::query_as("SELECT * FROM gateways WHERE id = '30000000-0000-4000-8000-000000000001'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let json = serde_json::to_value(&gateway).unwrap();
    assert_eq!(json["id"], "30000000-0000-4000-8000-000000000001");
    assert_eq!(json["factory_id"], "20000000-0000-4000-8000-000000000001");
    assert_eq!(json["status"], "online");
    assert_eq!(json["mac_address"], "00:1B:63:84:45:E6");
    assert_eq!(json["ip_address"], "192.168.10.21");
    assert_eq!(json["metadata"]["hardware"]["model"], "EdgeBox 500");
    assert_eq!(json["created_at"], "2019-04-01T10:00:00Z");
    // RFC 3339 with the fraction the value has: "2026-12-06T21:40:10.12345Z".
    let last_seen = json["last_seen_at"].as_str().expect("a string");
    assert!(last_seen.as_bytes()[10] == b'T' && last_seen.ends_with('Z'), "{last_seen}");

    let never_seen: Gateway =
        sqlx::query_as("SELECT * FROM gateways WHERE serial_number = 'GW-PNE-0100'").fetch_one(&mut *tx).await.unwrap();
    let json = serde_json::to_value(&never_seen).unwrap();
    assert_eq!(
        (&json["last_seen_at"], &json["mac_address"], &json["ip_address"]),
        (&JsonValue::Null, &JsonValue::Null, &JsonValue::Null)
    );
    assert_eq!(json["status"], "provisioning");

    let factory: Factory = sqlx::query_as("SELECT * FROM factories WHERE id = '20000000-0000-4000-8000-000000000005'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let json = serde_json::to_value(&factory).unwrap();
    assert_eq!(json["name"], "São Paulo Fábrica");
    assert_eq!(json["latitude"], -23.5505);
}

/// The re-exported types are the ones the rows hold: a consumer names them through `db` alone.
#[test]
fn the_column_types_are_reexported() {
    fn holds<T>(_: &T) {}
    let gateway = Gateway {
        id: Uuid::nil(),
        factory_id: Uuid::nil(),
        serial_number: "GW-0001".to_owned(),
        mac_address: Some(MacAddress::new([2, 0, 0, 0, 0, 1])),
        ip_address: Some(IpAddr::from([10, 0, 0, 1])),
        firmware_version: "1.0.0".to_owned(),
        status: GatewayStatus::Online,
        last_seen_at: Some(OffsetDateTime::UNIX_EPOCH),
        metadata: JsonValue::Object(Default::default()),
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    holds::<Uuid>(&gateway.id);
    round_trips(&[gateway]);
}

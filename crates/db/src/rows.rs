//! One struct per table, field for field, for `sqlx::query_as`.

use std::net::IpAddr;

use sqlx::types::mac_address::MacAddress;
use sqlx::types::time::OffsetDateTime;
use sqlx::types::{JsonValue, Uuid};

use crate::GatewayStatus;

/// A row of `organizations`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// Unique, URL-safe: lower-case letters, digits and single dashes.
    pub slug: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A row of `factories`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Factory {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Unique within the organization, ignoring case.
    pub name: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country_code: String,
    pub city: String,
    pub address: Option<String>,
    /// IANA name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Both or neither.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A row of `gateways`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Gateway {
    pub id: Uuid,
    pub factory_id: Uuid,
    pub serial_number: String,
    pub mac_address: Option<MacAddress>,
    /// Always a host address (the database refuses networks).
    pub ip_address: Option<IpAddr>,
    pub firmware_version: String,
    pub status: GatewayStatus,
    /// `None` for a gateway that never reported.
    pub last_seen_at: Option<OffsetDateTime>,
    /// Always a JSON object.
    pub metadata: JsonValue,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

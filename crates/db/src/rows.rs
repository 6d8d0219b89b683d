//! One struct per table, field for field, for `sqlx::query_as`; with the `serde` feature, JSON
//! with the same field names and times as RFC 3339 strings.

use crate::GatewayStatus;
use crate::types::{IpAddr, JsonValue, MacAddress, OffsetDateTime, Uuid};

/// A row of `organizations`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// Unique, URL-safe: lower-case letters, digits and single dashes.
    pub slug: String,
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub created_at: OffsetDateTime,
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub updated_at: OffsetDateTime,
}

/// A row of `factories`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub created_at: OffsetDateTime,
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub updated_at: OffsetDateTime,
}

/// A row of `gateways`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339::option"))]
    pub last_seen_at: Option<OffsetDateTime>,
    /// Always a JSON object.
    pub metadata: JsonValue,
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub created_at: OffsetDateTime,
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub updated_at: OffsetDateTime,
}

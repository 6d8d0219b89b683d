//! The `gateway_status` PostgreSQL enum, usable with sqlx and with postgres-types clients
//! (tokio-postgres, deadpool-postgres) alike.

use std::fmt;
use std::str::FromStr;

/// Where a gateway is in its life. Mirrors `CREATE TYPE gateway_status` in db/migrations; a
/// test checks that both lists are the same.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, postgres_types::ToSql, postgres_types::FromSql,
)]
#[sqlx(type_name = "gateway_status", rename_all = "snake_case")]
#[postgres(name = "gateway_status", rename_all = "snake_case")]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum GatewayStatus {
    /// Registered, not yet (or no longer) reporting: may never have been seen.
    Provisioning,
    /// Reporting normally.
    Online,
    /// Expected to report, but silent.
    Offline,
    /// Deliberately out of service for work on site.
    Maintenance,
    /// Retired for good; kept for the record.
    Decommissioned,
}

impl GatewayStatus {
    /// Every variant, in the enum's SQL order.
    pub const ALL: [GatewayStatus; 5] = [
        GatewayStatus::Provisioning,
        GatewayStatus::Online,
        GatewayStatus::Offline,
        GatewayStatus::Maintenance,
        GatewayStatus::Decommissioned,
    ];

    /// The SQL label, e.g. `"online"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            GatewayStatus::Provisioning => "provisioning",
            GatewayStatus::Online => "online",
            GatewayStatus::Offline => "offline",
            GatewayStatus::Maintenance => "maintenance",
            GatewayStatus::Decommissioned => "decommissioned",
        }
    }
}

impl fmt::Display for GatewayStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a label that is not a gateway status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGatewayStatus(pub String);

impl fmt::Display for UnknownGatewayStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown gateway status {:?}; expected one of provisioning, online, offline, maintenance, decommissioned",
            self.0
        )
    }
}

impl std::error::Error for UnknownGatewayStatus {}

impl FromStr for GatewayStatus {
    type Err = UnknownGatewayStatus;

    fn from_str(label: &str) -> Result<Self, Self::Err> {
        GatewayStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == label)
            .ok_or_else(|| UnknownGatewayStatus(label.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::GatewayStatus;

    #[test]
    fn labels_round_trip() {
        for status in GatewayStatus::ALL {
            assert_eq!(status.as_str().parse::<GatewayStatus>(), Ok(status));
        }
        assert!("Online".parse::<GatewayStatus>().is_err());
    }
}

//! The name of every index of the schema, for tests and tools that check a plan
//! (`EXPLAIN … contains Index::GatewaysLastSeenIdx.name()`) rather than spell the name again.

use std::fmt;

/// Declares [`Index`] from one list: each variant's doc, SQL name and table.
macro_rules! indexes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal on $table:literal;)*) => {
        /// An index of the schema, the ones behind primary keys and unique constraints included
        /// (they carry the constraint's name). A test checks that this list and the catalog hold
        /// the same names and tables.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Index {
            $(
                $(#[doc = $doc])*
                #[doc = ""]
                #[doc = concat!("`", $name, "` on `", $table, "`.")]
                $variant,
            )*
        }

        impl Index {
            /// Every index, table by table.
            pub const ALL: &'static [Index] = &[$(Index::$variant),*];

            /// The name in the database, as `EXPLAIN` shows it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Index::$variant => $name,)*
                }
            }

            /// The table it indexes.
            pub const fn table(self) -> &'static str {
                match self {
                    $(Index::$variant => $table,)*
                }
            }
        }
    };
}

indexes! {
    /// The primary key.
    OrganizationsPk = "organizations_pk" on "organizations";
    /// An organization by slug.
    OrganizationsSlugKey = "organizations_slug_key" on "organizations";

    /// The primary key.
    FactoriesPk = "factories_pk" on "factories";
    /// Unique `(organization_id, lower(name))`: an organization's factories by name, a factory
    /// by name, and the foreign key to organizations.
    FactoriesOrganizationNameKey = "factories_organization_name_key" on "factories";

    /// The primary key.
    GatewaysPk = "gateways_pk" on "gateways";
    /// A gateway by serial number.
    GatewaysSerialNumberKey = "gateways_serial_number_key" on "gateways";
    /// A gateway by MAC address.
    GatewaysMacAddressKey = "gateways_mac_address_key" on "gateways";
    /// `(factory_id, status)`: a factory's gateways, by status; the foreign key to factories.
    GatewaysFactoryStatusIdx = "gateways_factory_status_idx" on "gateways";
    /// `(last_seen_at) WHERE status <> 'decommissioned'`: gateways not seen for a while. Only a
    /// query that writes its status condition literally can use it in a generic plan (see the
    /// crate's documentation, "Queries that use the partial index").
    GatewaysLastSeenIdx = "gateways_last_seen_idx" on "gateways";
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

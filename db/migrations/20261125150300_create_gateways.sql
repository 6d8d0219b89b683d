-- Gateways: the edge devices that connect a factory's machines to the cloud.

CREATE TYPE gateway_status AS ENUM ('provisioning', 'online', 'offline', 'maintenance', 'decommissioned');

CREATE TABLE gateways (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- RESTRICT: a factory with gateways can't be deleted; its devices are decommissioned or
    -- moved to another factory first, so no device record disappears with a site.
    factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE RESTRICT,
    serial_number text NOT NULL,
    mac_address macaddr,
    ip_address inet,
    firmware_version text NOT NULL,
    status gateway_status NOT NULL DEFAULT 'provisioning',
    last_seen_at timestamptz,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),

    -- Upper-case letters, digits and dashes, 3 to 64 characters, as printed on the device label.
    CONSTRAINT gateways_serial_number_format CHECK (serial_number ~ '^[A-Z0-9][A-Z0-9-]{1,62}[A-Z0-9]$'),
    CONSTRAINT gateways_serial_number_key UNIQUE (serial_number),
    -- Unique when present; any number of gateways may have none.
    CONSTRAINT gateways_mac_address_key UNIQUE (mac_address),
    -- Semantic versions: 1.4.2, 2.0.0-rc.1, 3.1.0+build.7.
    CONSTRAINT gateways_firmware_version_semver CHECK (
        firmware_version ~ '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
        AND char_length(firmware_version) <= 64
    ),
    -- One device, one address: a host address, never a network such as 10.0.0.0/8.
    CONSTRAINT gateways_ip_address_host CHECK (masklen(ip_address) = CASE family(ip_address) WHEN 4 THEN 32 ELSE 128 END),
    CONSTRAINT gateways_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    -- A gateway that reports online has been seen.
    CONSTRAINT gateways_online_seen CHECK (status <> 'online' OR last_seen_at IS NOT NULL)
);

-- The foreign key's index, and "gateways of a factory by status":
-- WHERE factory_id = $1 AND status = $2.
CREATE INDEX gateways_factory_status_idx ON gateways (factory_id, status);

-- "Gateways not seen for N minutes": WHERE status <> 'decommissioned' AND last_seen_at < $1.
-- Decommissioned devices are never expected to report, so they stay out of the index.
CREATE INDEX gateways_last_seen_idx ON gateways (last_seen_at) WHERE status <> 'decommissioned';

CREATE TRIGGER gateways_set_updated_at
    BEFORE UPDATE ON gateways
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE gateways IS 'Edge devices installed in a factory.';
COMMENT ON COLUMN gateways.last_seen_at IS 'Last heartbeat; NULL for a gateway that never reported (still provisioning).';
COMMENT ON COLUMN gateways.metadata IS 'Free-form device facts (hardware, location in the hall, ...); always a JSON object.';

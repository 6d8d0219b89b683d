-- Factories: the sites of an organization, where its gateways are installed.

CREATE TABLE factories (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- RESTRICT: deleting an organization that still has factories is refused. Removing a
    -- customer's sites is a deliberate, reviewable step, never a side effect.
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name text NOT NULL,
    country_code text NOT NULL,
    city text NOT NULL,
    address text,
    timezone text NOT NULL,
    latitude double precision,
    longitude double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT factories_name_trimmed CHECK (name ~ '^[^[:space:]](.*[^[:space:]])?$'),
    CONSTRAINT factories_name_length CHECK (char_length(name) <= 200),
    CONSTRAINT factories_country_code_iso CHECK (is_iso_country_code(country_code)),
    CONSTRAINT factories_city_trimmed CHECK (city ~ '^[^[:space:]](.*[^[:space:]])?$' AND char_length(city) <= 200),
    CONSTRAINT factories_address_trimmed CHECK (address ~ '^[^[:space:]](.*[^[:space:]])?$' AND char_length(address) <= 500),
    CONSTRAINT factories_timezone_iana CHECK (is_iana_timezone(timezone)),
    CONSTRAINT factories_latitude_range CHECK (latitude BETWEEN -90 AND 90),
    CONSTRAINT factories_longitude_range CHECK (longitude BETWEEN -180 AND 180),
    CONSTRAINT factories_coordinates_together CHECK ((latitude IS NULL) = (longitude IS NULL))
);

-- One name per organization, whatever its case ("Plant 1" and "plant 1" are the same site).
-- Also the index behind the foreign key (organization_id leads), and the one that lists an
-- organization's factories by name: WHERE organization_id = $1 ORDER BY lower(name).
CREATE UNIQUE INDEX factories_organization_name_key ON factories (organization_id, lower(name));

CREATE TRIGGER factories_set_updated_at
    BEFORE UPDATE ON factories
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE factories IS 'Sites of an organization; each hosts gateways.';
COMMENT ON COLUMN factories.timezone IS 'IANA time zone name, e.g. Europe/Berlin; validated against the server''s tz database.';

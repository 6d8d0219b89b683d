-- The schema db/migrations produce, written by `cargo xtask db-migrate` and `cargo xtask db-reset`.
-- Generated: do not edit. `cargo xtask db-check` fails when it differs from what the migrations produce.

SET check_function_bodies = false;

-- Types

CREATE TYPE public.gateway_status AS ENUM (
    'provisioning',
    'online',
    'offline',
    'maintenance',
    'decommissioned'
);

-- Functions

CREATE OR REPLACE FUNCTION public.is_iana_timezone(name text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE STRICT
AS $function$
BEGIN
    IF name !~ '^([A-Z][A-Za-z0-9_+-]*(/[A-Z][A-Za-z0-9_+-]*)+|UTC)$' THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$function$;

CREATE OR REPLACE FUNCTION public.is_iso_country_code(code text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
    SELECT code = ANY (ARRAY[
        'AD', 'AE', 'AF', 'AG', 'AI', 'AL', 'AM', 'AO', 'AQ', 'AR', 'AS', 'AT', 'AU', 'AW', 'AX', 'AZ', 'BA', 'BB', 'BD', 'BE',
        'BF', 'BG', 'BH', 'BI', 'BJ', 'BL', 'BM', 'BN', 'BO', 'BQ', 'BR', 'BS', 'BT', 'BV', 'BW', 'BY', 'BZ', 'CA', 'CC', 'CD',
        'CF', 'CG', 'CH', 'CI', 'CK', 'CL', 'CM', 'CN', 'CO', 'CR', 'CU', 'CV', 'CW', 'CX', 'CY', 'CZ', 'DE', 'DJ', 'DK', 'DM',
        'DO', 'DZ', 'EC', 'EE', 'EG', 'EH', 'ER', 'ES', 'ET', 'FI', 'FJ', 'FK', 'FM', 'FO', 'FR', 'GA', 'GB', 'GD', 'GE', 'GF',
        'GG', 'GH', 'GI', 'GL', 'GM', 'GN', 'GP', 'GQ', 'GR', 'GS', 'GT', 'GU', 'GW', 'GY', 'HK', 'HM', 'HN', 'HR', 'HT', 'HU',
        'ID', 'IE', 'IL', 'IM', 'IN', 'IO', 'IQ', 'IR', 'IS', 'IT', 'JE', 'JM', 'JO', 'JP', 'KE', 'KG', 'KH', 'KI', 'KM', 'KN',
        'KP', 'KR', 'KW', 'KY', 'KZ', 'LA', 'LB', 'LC', 'LI', 'LK', 'LR', 'LS', 'LT', 'LU', 'LV', 'LY', 'MA', 'MC', 'MD', 'ME',
        'MF', 'MG', 'MH', 'MK', 'ML', 'MM', 'MN', 'MO', 'MP', 'MQ', 'MR', 'MS', 'MT', 'MU', 'MV', 'MW', 'MX', 'MY', 'MZ', 'NA',
        'NC', 'NE', 'NF', 'NG', 'NI', 'NL', 'NO', 'NP', 'NR', 'NU', 'NZ', 'OM', 'PA', 'PE', 'PF', 'PG', 'PH', 'PK', 'PL', 'PM',
        'PN', 'PR', 'PS', 'PT', 'PW', 'PY', 'QA', 'RE', 'RO', 'RS', 'RU', 'RW', 'SA', 'SB', 'SC', 'SD', 'SE', 'SG', 'SH', 'SI',
        'SJ', 'SK', 'SL', 'SM', 'SN', 'SO', 'SR', 'SS', 'ST', 'SV', 'SX', 'SY', 'SZ', 'TC', 'TD', 'TF', 'TG', 'TH', 'TJ', 'TK',
        'TL', 'TM', 'TN', 'TO', 'TR', 'TT', 'TV', 'TW', 'TZ', 'UA', 'UG', 'UM', 'US', 'UY', 'UZ', 'VA', 'VC', 'VE', 'VG', 'VI',
        'VN', 'VU', 'WF', 'WS', 'YE', 'YT', 'ZA', 'ZM', 'ZW'
    ])
$function$;

CREATE OR REPLACE FUNCTION public.set_updated_at()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$function$;

-- Tables

CREATE TABLE public.factories (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    name text COLLATE pg_catalog."und-x-icu" NOT NULL,
    country_code text COLLATE pg_catalog."C" NOT NULL,
    city text COLLATE pg_catalog."und-x-icu" NOT NULL,
    address text COLLATE pg_catalog."und-x-icu",
    timezone text COLLATE pg_catalog."C" NOT NULL,
    latitude double precision,
    longitude double precision,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT factories_address_trimmed CHECK (((address ~ '^[^[:space:]](.*[^[:space:]])?$'::text) AND (char_length(address) <= 500))),
    CONSTRAINT factories_city_trimmed CHECK (((city ~ '^[^[:space:]](.*[^[:space:]])?$'::text) AND (char_length(city) <= 200))),
    CONSTRAINT factories_coordinates_together CHECK (((latitude IS NULL) = (longitude IS NULL))),
    CONSTRAINT factories_country_code_iso CHECK (public.is_iso_country_code(country_code)),
    CONSTRAINT factories_latitude_range CHECK (((latitude >= ('-90'::integer)::double precision) AND (latitude <= (90)::double precision))),
    CONSTRAINT factories_longitude_range CHECK (((longitude >= ('-180'::integer)::double precision) AND (longitude <= (180)::double precision))),
    CONSTRAINT factories_name_length CHECK ((char_length(name) <= 200)),
    CONSTRAINT factories_name_trimmed CHECK ((name ~ '^[^[:space:]](.*[^[:space:]])?$'::text)),
    CONSTRAINT factories_pk PRIMARY KEY (id),
    CONSTRAINT factories_timezone_iana CHECK (public.is_iana_timezone(timezone))
);

CREATE TABLE public.gateways (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    factory_id uuid NOT NULL,
    serial_number text COLLATE pg_catalog."C" NOT NULL,
    mac_address macaddr,
    ip_address inet,
    firmware_version text COLLATE pg_catalog."C" NOT NULL,
    status public.gateway_status NOT NULL DEFAULT 'provisioning'::public.gateway_status,
    last_seen_at timestamp with time zone,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT gateways_firmware_version_semver CHECK (((firmware_version ~ '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'::text) AND (char_length(firmware_version) <= 64))),
    CONSTRAINT gateways_ip_address_host CHECK ((masklen(ip_address) =
CASE family(ip_address)
    WHEN 4 THEN 32
    ELSE 128
END)),
    CONSTRAINT gateways_mac_address_key UNIQUE (mac_address),
    CONSTRAINT gateways_metadata_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT gateways_online_seen CHECK (((status <> 'online'::public.gateway_status) OR (last_seen_at IS NOT NULL))),
    CONSTRAINT gateways_pk PRIMARY KEY (id),
    CONSTRAINT gateways_serial_number_format CHECK ((serial_number ~ '^[A-Z0-9][A-Z0-9-]{1,62}[A-Z0-9]$'::text)),
    CONSTRAINT gateways_serial_number_key UNIQUE (serial_number)
);

CREATE TABLE public.organizations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text COLLATE pg_catalog."und-x-icu" NOT NULL,
    slug text COLLATE pg_catalog."C" NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT organizations_name_length CHECK ((char_length(name) <= 200)),
    CONSTRAINT organizations_name_trimmed CHECK ((name ~ '^[^[:space:]](.*[^[:space:]])?$'::text)),
    CONSTRAINT organizations_pk PRIMARY KEY (id),
    CONSTRAINT organizations_slug_format CHECK (((slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text) AND ((char_length(slug) >= 2) AND (char_length(slug) <= 63)))),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);

-- Indexes

CREATE UNIQUE INDEX factories_organization_name_key ON public.factories USING btree (organization_id, lower(name));
CREATE INDEX gateways_factory_status_idx ON public.gateways USING btree (factory_id, status);
CREATE INDEX gateways_last_seen_idx ON public.gateways USING btree (last_seen_at) WHERE (status <> 'decommissioned'::public.gateway_status);

-- Foreign keys

ALTER TABLE ONLY public.factories
    ADD CONSTRAINT factories_organization_fk FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.gateways
    ADD CONSTRAINT gateways_factory_fk FOREIGN KEY (factory_id) REFERENCES public.factories(id) ON DELETE RESTRICT;

-- Triggers

CREATE TRIGGER factories_set_updated_at BEFORE UPDATE ON public.factories FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER gateways_set_updated_at BEFORE UPDATE ON public.gateways FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER organizations_set_updated_at BEFORE UPDATE ON public.organizations FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Comments

COMMENT ON TABLE public.factories IS 'Sites of an organization; each hosts gateways.';
COMMENT ON COLUMN public.factories.timezone IS 'IANA time zone name, e.g. Europe/Berlin; validated against the server''s tz database.';
COMMENT ON TABLE public.gateways IS 'Edge devices installed in a factory.';
COMMENT ON COLUMN public.gateways.last_seen_at IS 'Last heartbeat; NULL for a gateway that never reported (still provisioning).';
COMMENT ON COLUMN public.gateways.metadata IS 'Free-form device facts (hardware, location in the hall, ...); always a JSON object.';
COMMENT ON TABLE public.organizations IS 'Customers of the fleet service; each owns factories.';
COMMENT ON COLUMN public.organizations.slug IS 'Unique, URL-safe identifier: lower-case letters, digits and single dashes.';

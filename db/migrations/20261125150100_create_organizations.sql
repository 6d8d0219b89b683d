-- Organizations: the customers. Each owns factories; the slug names it in URLs.

CREATE TABLE organizations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    slug text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),

    -- Non-empty, no leading or trailing whitespace, at most 200 characters.
    CONSTRAINT organizations_name_trimmed CHECK (name ~ '^[^[:space:]](.*[^[:space:]])?$'),
    CONSTRAINT organizations_name_length CHECK (char_length(name) <= 200),
    -- Lower-case ASCII words joined by single dashes, 2 to 63 characters: safe in any URL.
    CONSTRAINT organizations_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) BETWEEN 2 AND 63),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);

CREATE TRIGGER organizations_set_updated_at
    BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE organizations IS 'Customers of the fleet service; each owns factories.';
COMMENT ON COLUMN organizations.slug IS 'Unique, URL-safe identifier: lower-case letters, digits and single dashes.';

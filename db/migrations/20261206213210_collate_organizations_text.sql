-- Migration 20261206213210: collate_organizations_text
-- Created 2026-12-06 21:32:10 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- One sort order on every server. Until now every text column sorted by the database's default
-- collation, which is whatever the server was initialised with: C.UTF-8 on the local cluster,
-- en_US.utf8 in the official images, anything on a DATABASE_URL server. "Stuttgart Plant" came
-- before "São Paulo Fábrica" on one and after it on the other. Each text column now names its
-- collation, so the order travels with the schema (this file and the next two, one per table):
--
-- * Text people read and sort by (names, cities, addresses): "und-x-icu", ICU's root collation
--   (the Unicode Collation Algorithm with CLDR's root order, no language's tailoring). Accents
--   sort next to their letter, case is a tie-breaker rather than a first key, and lower() folds
--   every script (under "C" it folds ASCII only, which would let "TROMSØ" and "tromsø" be two
--   factories of one organization). It is deterministic: equal means byte-equal, so unique
--   indexes mean what they meant.
-- * Identifiers that machines compare (slug, serial_number, firmware_version, country_code,
--   timezone; their CHECKs keep them ASCII): "C", byte order. The fastest comparison, a btree
--   on it also serves LIKE 'GW-%' prefixes, and no library upgrade can change its order, so
--   their unique indexes never need a REINDEX.
--
-- "und-x-icu" exists on every server built with ICU (Debian's and the official images'
-- packages; PostgreSQL 16 and newer build with ICU by default); on one without ICU this
-- migration fails with: collation "und-x-icu" for encoding "UTF8" does not exist.
--
-- Safe for this pre-production schema, not free on a live one: changing a column's collation
-- does not rewrite the table, but it scans it to check the CHECK constraints on those columns
-- again, and rebuilds the indexes on them (organizations_slug_key,
-- factories_organization_name_key, gateways_serial_number_key), holding an ACCESS EXCLUSIVE
-- lock on each table meanwhile. On a production-sized table, do this in a maintenance window
-- instead (or add new columns and backfill). Both checks can refuse rows the old collation let
-- through, and then this migration fails and changes nothing: a name, city or address padded
-- with a no-break space (whitespace to ICU, not to glibc's C.UTF-8, so the *_trimmed CHECKs now
-- refuse it), or two names of one organization that ICU's lower() folds alike and the old
-- locale did not ("C" folds ASCII only).

SET LOCAL lock_timeout = '2s';

-- db-check allow(rewrite): pre-production schema, no live traffic yet; on a live table use a new column and a backfill
ALTER TABLE organizations
    ALTER COLUMN name TYPE text COLLATE "und-x-icu",
    ALTER COLUMN slug TYPE text COLLATE "C";

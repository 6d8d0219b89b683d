-- Migration 20261206212944: name_gateways_constraints
-- Created 2026-12-06 21:29:44 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- The gateways' generated constraint names, renamed (see 20261206212942_name_organizations_constraints.sql
-- for the naming rule and why a rename is safe on a live database).

SET LOCAL lock_timeout = '2s';

ALTER TABLE gateways
    RENAME CONSTRAINT gateways_pkey TO gateways_pk;
ALTER TABLE gateways
    RENAME CONSTRAINT gateways_factory_id_fkey TO gateways_factory_fk;

-- Migration 20261206212943: name_factories_constraints
-- Created 2026-12-06 21:29:43 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- The factories' generated constraint names, renamed (see 20261206212942_name_organizations_constraints.sql
-- for the naming rule and why a rename is safe on a live database).

SET LOCAL lock_timeout = '2s';

ALTER TABLE factories
    RENAME CONSTRAINT factories_pkey TO factories_pk;
ALTER TABLE factories
    RENAME CONSTRAINT factories_organization_id_fkey TO factories_organization_fk;

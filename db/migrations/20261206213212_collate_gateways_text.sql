-- Migration 20261206213212: collate_gateways_text
-- Created 2026-12-06 21:32:12 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- The gateways' text columns name their collation (see 20261206213210_collate_organizations_text.sql
-- for the decision, and why this is acceptable before launch and not on a live table).

SET LOCAL lock_timeout = '2s';

-- db-check allow(rewrite): pre-production schema, no live traffic yet; on a live table use a new column and a backfill
ALTER TABLE gateways
    ALTER COLUMN serial_number TYPE text COLLATE "C",
    ALTER COLUMN firmware_version TYPE text COLLATE "C";

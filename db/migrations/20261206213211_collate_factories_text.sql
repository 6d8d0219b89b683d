-- Migration 20261206213211: collate_factories_text
-- Created 2026-12-06 21:32:11 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- The factories' text columns name their collation (see 20261206213210_collate_organizations_text.sql
-- for the decision, and why this is acceptable before launch and not on a live table).

SET LOCAL lock_timeout = '2s';

-- db-check allow(rewrite): pre-production schema, no live traffic yet; on a live table use a new column and a backfill
ALTER TABLE factories
    ALTER COLUMN name TYPE text COLLATE "und-x-icu",
    ALTER COLUMN city TYPE text COLLATE "und-x-icu",
    ALTER COLUMN address TYPE text COLLATE "und-x-icu",
    ALTER COLUMN country_code TYPE text COLLATE "C",
    ALTER COLUMN timezone TYPE text COLLATE "C";

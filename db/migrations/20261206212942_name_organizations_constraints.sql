-- Migration 20261206212942: name_organizations_constraints
-- Created 2026-12-06 21:29:42 UTC.
--
-- Append-only: once this file is shared, never edit it; fix mistakes in a new migration.
-- Runs in one transaction.
--
-- Names chosen here (this file and the next two, one per table) for the five constraints
-- PostgreSQL named when the tables were created (the primary keys and the foreign keys), so every constraint and index of the schema is named in a
-- migration. An API maps a violation to a typed error by name (db::Constraint in crates/db): a
-- generated name is known only from the catalog, and a table rebuilt by a later migration could
-- get a different one (gateways_factory_id_fkey1).
--
-- Naming: <table>_pk for a primary key, <table>_<referenced row>_fk for a foreign key,
-- <table>_<columns>_key for a unique constraint or index, <table>_<columns>_idx for any other
-- index, and <table>_<rule> for a CHECK. A test in crates/db/tests/schema/names.rs fails on any
-- name that no migration writes.
--
-- Safe on a live database: a rename changes the catalog only (no table scan, no index rebuild;
-- a primary key's index is renamed with it). Each ALTER TABLE takes a brief ACCESS EXCLUSIVE
-- lock, so it waits for the transactions using the table to finish: the lock_timeout makes it
-- fail (and the deploy retry) rather than queue every other session behind it; one table per
-- migration, so no lock is held while the next table's is awaited.

SET LOCAL lock_timeout = '2s';

ALTER TABLE organizations RENAME CONSTRAINT organizations_pkey TO organizations_pk;

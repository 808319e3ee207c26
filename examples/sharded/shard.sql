-- One shard: the extension and the account-level tables of the demo
-- warehouse, holding this shard's accounts (the coordinator routes each
-- row here by the hash of its account_id). Run on every shard.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
-- A newer build of the extension replaces the old one.
DROP SCHEMA IF EXISTS demo CASCADE;
DROP EXTENSION IF EXISTS customer_health CASCADE;
CREATE EXTENSION customer_health;
CREATE SCHEMA demo;

CREATE TABLE demo.accounts (
    account_id int PRIMARY KEY, name text, crm_id text, parent_account_id int, segment text, plan text,
    seats int, arr numeric(12, 2), signup_date date, renewal_date date);
CREATE TABLE demo.metric_snapshots (
    account_id int NOT NULL, metric text NOT NULL, value float8, measured_at date NOT NULL,
    PRIMARY KEY (account_id, metric, measured_at));
CREATE TABLE demo.score_history (
    account_id int NOT NULL, scored_at timestamptz NOT NULL, score float8, tier text, card health.scorecard,
    PRIMARY KEY (account_id, scored_at));
CREATE TABLE demo.renewals (account_id int PRIMARY KEY, renewal_date date, churned boolean);
CREATE TABLE demo.survey_responses (account_id int, user_id bigint, survey text, answered_on date, rating int);
CREATE INDEX ON demo.survey_responses (account_id);

-- The role the coordinator connects as (its user mapping): it reads and loads these tables.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ch_shard_reader') THEN
        CREATE ROLE ch_shard_reader LOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA demo TO ch_shard_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA demo TO ch_shard_reader;

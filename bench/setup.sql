-- Benchmark data: :accounts accounts x 10 metrics, wide (one row per account)
-- and long (one row per account and metric), made with generate_series.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS customer_health CASCADE;  -- pick up a freshly installed build
CREATE EXTENSION customer_health;
DROP TABLE IF EXISTS bench_wide, bench_long, bench_models, bench_hash_int8, bench_hash_int4;

-- A shard of the sharded benchmark (bench/sharded.sql) keeps only the
-- accounts that hash to it: -v part_modulus=2 -v part_remainder=0|1 (the
-- coordinator's hash partitioning of account_id). Default: every account.
\if :{?part_modulus}
\else
  \set part_modulus 1
  \set part_remainder 0
\endif
CREATE TABLE bench_hash_int8 (account_id bigint) PARTITION BY HASH (account_id);
CREATE TABLE bench_hash_int4 (account_id int) PARTITION BY HASH (account_id);

-- Ten raw metrics per account; metrics 8-10 are "lower is better" (tickets,
-- days late, resolution hours). Values spill beyond [lo, hi] so clamping works.
CREATE TABLE bench_wide AS
SELECT a AS account_id,
       (a * 7919 % 31)::float8            AS m1,   -- active days, 0..30, range 0..20
       (a * 104729 % 101)::float8         AS m2,   -- seats used %, range 0..100
       (a * 1299709 % 120)::float8        AS m3,   -- features used %, range 0..100
       (a * 15485863 % 11)::float8        AS m4,   -- NPS 0..10
       (a * 32452843 % 101)::float8       AS m5,   -- CSAT %
       (a * 49979687 % 110)::float8       AS m6,   -- onboarding %, range 0..100
       (a * 67867967 % 500)::float8       AS m7,   -- logins, range 0..400
       (a * 86028121 % 12)::float8        AS m8,   -- open tickets, range 0..10, lower is better
       (a * 104395301 % 61)::float8       AS m9,   -- days late, range 0..45, lower is better
       (a * 122949823 % 97)::float8       AS m10   -- resolution hours, range 0..72, lower is better
FROM generate_series(1::bigint, :accounts) AS a
WHERE satisfies_hash_partition('bench_hash_int8'::regclass, :part_modulus, :part_remainder, a);

-- The same accounts in long form, with the sub-scores already normalised
-- (the long-form benchmark measures the weighting, not the normalising).
CREATE TABLE bench_long AS
SELECT account_id, 'metric_' || lpad(m::text, 2, '0') AS metric,
       ((account_id * 2654435761 + m * 40503) % 10001) / 100.0::float8 AS score,
       (ARRAY[25, 20, 15, 10, 10, 5, 5, 4, 3, 3])[m]::float8 AS weight
FROM generate_series(1, :accounts) AS account_id, generate_series(1, 10) AS m
WHERE satisfies_hash_partition('bench_hash_int4'::regclass, :part_modulus, :part_remainder, account_id);

-- The same ten-metric score as a model (bench/models.sql, bench/parallel.sql).
CREATE TABLE bench_models (name text PRIMARY KEY, model health.model);
INSERT INTO bench_models VALUES ('bench', '{"metrics": [
  {"name": "m1",  "weight": 25, "scale": {"method": "linear", "lo": 0, "hi": 20}},
  {"name": "m2",  "weight": 20, "scale": {"method": "linear", "lo": 0, "hi": 100}},
  {"name": "m3",  "weight": 15, "scale": {"method": "linear", "lo": 0, "hi": 100}},
  {"name": "m4",  "weight": 10, "scale": {"method": "linear", "lo": 0, "hi": 10}},
  {"name": "m5",  "weight": 10, "scale": {"method": "linear", "lo": 0, "hi": 100}},
  {"name": "m6",  "weight": 5,  "scale": {"method": "linear", "lo": 0, "hi": 100}},
  {"name": "m7",  "weight": 5,  "scale": {"method": "linear", "lo": 0, "hi": 400}},
  {"name": "m8",  "weight": 4,  "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}},
  {"name": "m9",  "weight": 3,  "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 45}},
  {"name": "m10", "weight": 3,  "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 72}}]}');

-- The same model in the catalogue, for model_for.
INSERT INTO health.models SELECT 'bench', 'v1', '2026-01-01', model FROM bench_models;

VACUUM ANALYZE bench_wide;
VACUUM ANALYZE bench_models;
VACUUM ANALYZE bench_long;

-- Runs a query :reps times after one warm-up run and returns the median
-- wall time in seconds. The query's result is consumed by the caller's
-- wrapper, so every expression is evaluated.
CREATE OR REPLACE FUNCTION bench_median(query text, reps int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times float8[] := '{}'; dummy text;
BEGIN
    EXECUTE query INTO dummy;
    FOR i IN 1..reps LOOP
        t0 := clock_timestamp();
        EXECUTE query INTO dummy;
        times := times || extract(epoch FROM clock_timestamp() - t0)::float8;
    END LOOP;
    RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;

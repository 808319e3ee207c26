-- Sharded: the same :accounts accounts over two shards (bench/run starts
-- them; each holds the accounts that hash to it, made by bench/setup.sql
-- there) against this server alone. The coordinator is this server:
-- bench_long and bench_wide are partitioned by hash of account_id into
-- postgres_fdw foreign partitions (examples/sharded explains each option).
--   full scoring:          score(scorecard(metric, score, weight)) GROUP BY account, 10 rows an account
--   per-segment profiles:  profile of each of 10 metrics for 4 segments; on the shards, rollup here
-- Answers are checked equal first. Times: medians of :reps runs; "shard
-- work" is the same aggregate run on one shard by itself (no transfer).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET work_mem = '2GB';
SET jit = off;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
DROP SERVER IF EXISTS bench_shard1 CASCADE;
DROP SERVER IF EXISTS bench_shard2 CASCADE;
SELECT format($$CREATE SERVER bench_shard%1$s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
                  host '127.0.0.1', port %2$L, dbname 'postgres', extensions 'customer_health',
                  fetch_size '100000', async_capable 'true', use_remote_estimate 'true')$$, n, port)
FROM (VALUES (1, :'shard1_port'), (2, :'shard2_port')) AS s(n, port) \gexec
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_shard1 OPTIONS (user 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_shard2 OPTIONS (user 'postgres');
DROP TABLE IF EXISTS sh_long, sh_wide;
CREATE TABLE sh_long (LIKE bench_long) PARTITION BY HASH (account_id);
CREATE TABLE sh_wide (LIKE bench_wide) PARTITION BY HASH (account_id);
SELECT format('CREATE FOREIGN TABLE %1$s_%2$s PARTITION OF %1$s FOR VALUES WITH (MODULUS 2, REMAINDER %3$s)
               SERVER bench_shard%2$s OPTIONS (table_name %4$L)', t, n, n - 1, source)
FROM (VALUES ('sh_long', 'bench_long'), ('sh_wide', 'bench_wide')) AS tables(t, source), generate_series(1, 2) AS n \gexec
-- Statistics of the partitions here too (sampled from the shards): without
-- them the planner guesses 200 accounts a partition and aggregates here.
ANALYZE sh_long, sh_wide;
SET enable_partitionwise_aggregate = on;

\ir sharded-queries.sql
INSERT INTO sharded_bench VALUES
(2, 'full scoring', 'one server, 2 parallel workers', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM bench_long GROUP BY account_id) x $q$),
(3, 'full scoring', 'two shards', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM sh_long GROUP BY account_id) x $q$),
(5, 'per-segment profiles', 'one server, 2 parallel workers', NULL),
(6, 'per-segment profiles', 'two shards', $q$
SELECT md5(string_agg(concat_ws(',', segment, health.profile_count(p1), health.quantile(p1, 0.5), health.quantile(p7, 0.9),
                                health.quantile(p10, 0.25)), ';' ORDER BY segment)) FROM (
    SELECT segment, health.rollup(p1) p1, health.rollup(p7) p7, health.rollup(p10) p10 FROM (
        SELECT account_id % 4 AS segment, health.profile(m1) p1, health.profile(m2) p2, health.profile(m3) p3,
               health.profile(m4) p4, health.profile(m5) p5, health.profile(m6) p6, health.profile(m7) p7,
               health.profile(m8) p8, health.profile(m9) p9, health.profile(m10) p10
        FROM sh_wide_1 GROUP BY 1
        UNION ALL
        SELECT account_id % 4, health.profile(m1), health.profile(m2), health.profile(m3), health.profile(m4),
               health.profile(m5), health.profile(m6), health.profile(m7), health.profile(m8), health.profile(m9),
               health.profile(m10)
        FROM sh_wide_2 GROUP BY 1) per_shard
    GROUP BY segment) x $q$);
UPDATE sharded_bench SET query = (SELECT query FROM sharded_bench WHERE id = 4) WHERE id = 5;

-- The plan settings of each row: parallel workers only where named.
CREATE OR REPLACE FUNCTION sharded_run(id int, query text, reps int) RETURNS TABLE (answer text, median_s float8) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', CASE WHEN id IN (2, 5) THEN '2' ELSE '0' END, true);
    IF id IN (2, 5) THEN
        PERFORM set_config('parallel_setup_cost', '0', true);
        PERFORM set_config('parallel_tuple_cost', '0', true);
    END IF;
    EXECUTE query INTO answer;
    median_s := CASE WHEN reps > 0 THEN bench_median(query, reps) END;
    RETURN NEXT;
END $$;

\echo 'sharded: the plan of the full scoring (one remote query per shard, the extension inside):'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM sh_long GROUP BY account_id;

CREATE TEMP TABLE sharded_times AS
SELECT b.id, b.what, b.place, r.answer, r.median_s FROM sharded_bench b, LATERAL sharded_run(b.id, b.query, :reps) r;
SELECT what, count(DISTINCT answer) = 1 AS same_answers FROM sharded_times GROUP BY what ORDER BY what;

\echo
\echo 'Median wall time of' :reps 'runs (after a warm-up) on' :accounts 'accounts x 10 metrics:'
SELECT t.what, t.place, round(t.median_s::numeric, 3) AS median_s,
       round((s.median_s / t.median_s)::numeric, 2) AS speedup_vs_one_core
FROM sharded_times t JOIN sharded_times s ON s.what = t.what AND s.place = 'one server, one core'
ORDER BY t.id;

\echo 'Where the time of the two-shard runs goes: each shard by itself (the same aggregate, no transfer), the rest is'
\echo 'sending the results to the coordinator and merging them there (the shards run at once):'
SELECT t.what, round(t.median_s::numeric, 3) AS two_shards_s,
       round(w.shard1::numeric, 3) AS shard1_alone_s, round(w.shard2::numeric, 3) AS shard2_alone_s,
       round((t.median_s - greatest(w.shard1, w.shard2))::numeric, 3) AS transfer_and_merge_s
FROM sharded_times t
JOIN (VALUES ('full scoring', :shard1_scoring::float8, :shard2_scoring::float8),
             ('per-segment profiles', :shard1_profiles::float8, :shard2_profiles::float8)) AS w(what, shard1, shard2)
  ON w.what = t.what
WHERE t.place = 'two shards' ORDER BY t.id;

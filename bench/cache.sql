-- The call-site cache (src/callsite.rs over health_core::cache) against the
-- number of distinct values a call site sees: 100 000 rows, each joined to
-- one of N per-row models (evaluate) or per-row tier cutoffs (tier), the
-- keys cycling (row g takes value g % N), the worst order for a
-- least-recently-used cache. N = 1 is the anchor: every row after the first
-- a hit. Goal: every N within 2x of the anchor's time per row. The floor
-- is the same join reading the column without calling the extension.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';
SET jit = off;

DROP TABLE IF EXISTS cache_models, cache_cutoffs;
-- 100 000 distinct two-metric models and tier schemes; a run with N keys
-- uses the first N.
CREATE TABLE cache_models AS
SELECT i, format('{"metrics": [{"name": "logins", "weight": %s, "scale": {"method": "linear", "lo": 0, "hi": 20}},
                               {"name": "seats", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": %s}}]}',
                 1 + i % 97, 10 + i)::health.model AS m
FROM generate_series(0, 99999) i;
CREATE TABLE cache_cutoffs AS
SELECT i, ARRAY[30 + (i % 1000) / 100.0, 60 + i / 10000.0]::float8[] AS cutoffs FROM generate_series(0, 99999) i;
CREATE UNIQUE INDEX ON cache_models (i);
CREATE UNIQUE INDEX ON cache_cutoffs (i);
VACUUM ANALYZE cache_models, cache_cutoffs;

CREATE TEMP TABLE cache_runs (kind text, n int, query text, floor_query text);
INSERT INTO cache_runs
SELECT 'evaluate(m, ARRAY[3, 4]), m per row', n,
       format($q$SELECT sum(health.evaluate(c.m, ARRAY[3.0, 4.0])) FROM generate_series(1, 100000) g
                 JOIN cache_models c ON c.i = g %% %s$q$, n),
       format($q$SELECT sum(pg_column_size(c.m)) FROM generate_series(1, 100000) g
                 JOIN cache_models c ON c.i = g %% %s$q$, n)
FROM unnest(ARRAY[1, 1000, 2000, 5000, 10000, 20000, 50000, 100000]) n
UNION ALL
SELECT 'tier(score, cutoffs), cutoffs per row', n,
       format($q$SELECT count(*) FILTER (WHERE health.tier(g %% 100, c.cutoffs) = 'healthy') FROM generate_series(1, 100000) g
                 JOIN cache_cutoffs c ON c.i = g %% %s$q$, n),
       format($q$SELECT count(*) FILTER (WHERE c.cutoffs[1] > 0) FROM generate_series(1, 100000) g
                 JOIN cache_cutoffs c ON c.i = g %% %s$q$, n)
FROM unnest(ARRAY[1, 1000, 2000, 5000, 10000, 20000, 50000, 100000]) n;

-- The answers do not depend on the cache: per-row models and cutoffs
-- against the same scores and tiers written out in SQL.
SELECT abs(sum(health.evaluate(c.m, ARRAY[3.0, 4.0])) - (SELECT sum(s) FROM (
         SELECT (w * 15.0 + least(100 * 4.0 / (10 + i), 100.0)) / (w + 1) AS s
         FROM (SELECT g % 100000 AS i, 1 + (g % 100000) % 97 AS w FROM generate_series(1, 100000) g) x) y)) < 1e-6
       AS evaluate_answers_agree
FROM generate_series(1, 100000) g JOIN cache_models c ON c.i = g % 100000 \gset
SELECT count(*) FILTER (WHERE health.tier(g % 100, c.cutoffs) IS DISTINCT FROM
                             CASE WHEN g % 100 <= c.cutoffs[1] THEN 'at_risk' WHEN g % 100 <= c.cutoffs[2] THEN 'neutral' ELSE 'healthy' END) = 0
       AS tier_answers_agree
FROM generate_series(1, 100000) g JOIN cache_cutoffs c ON c.i = g % 100000 \gset
\if :evaluate_answers_agree
\else
  \echo 'evaluate with per-row models differs from the same score written out: not timing'
  SELECT 1/0;
\endif
\if :tier_answers_agree
\else
  \echo 'tier with per-row cutoffs differs from the same CASE: not timing'
  SELECT 1/0;
\endif

CREATE TEMP TABLE cache_times AS
SELECT kind, n, bench_median(query, :reps) AS median_s, bench_median(floor_query, :reps) AS floor_s FROM cache_runs;

\echo
\echo 'Call-site cache: 100 000 rows, N distinct values cycling; median of' :reps 'runs, one core:'
SELECT t.kind, t.n AS distinct_values, round(t.median_s::numeric, 3) AS median_s,
       round((100000 / t.median_s)::numeric) AS rows_per_s,
       round((t.median_s / a.median_s)::numeric, 2) AS ratio_vs_all_hits,
       round(((t.median_s - t.floor_s) / 100000 * 1e6)::numeric, 2) AS us_per_call_over_join,
       round(((t.median_s - t.floor_s) / nullif(a.median_s - a.floor_s, 0))::numeric, 2) AS call_ratio_vs_all_hits
FROM cache_times t JOIN cache_times a ON a.kind = t.kind AND a.n = 1
ORDER BY t.kind, t.n;

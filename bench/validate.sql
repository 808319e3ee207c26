-- Validation (docs/reference.md §7): health.auc against the rank-based AUC written with
-- window functions (Mann–Whitney: average ranks of the retained accounts),
-- over all accounts and per segment; and health.fit_weights on all accounts
-- x 10 sub-scores, with the backend's peak private memory.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET jit = off;

-- Sub-scores of bench_wide's ten metrics, a score rounded to 0.1 (ties),
-- a segment, and churn drawn from a known logistic relation with a
-- deterministic hash as the random number.
DROP TABLE IF EXISTS bench_outcomes;
CREATE TABLE bench_outcomes AS
SELECT account_id, 'segment_' || (account_id % 10) AS segment, f AS features,
       round(health.weighted_score(f, '{25,20,15,10,10,5,5,4,3,3}')::numeric, 1)::float8 AS score,
       (hashint8(account_id) & 1048575) / 1048576.0 <
           1 / (1 + exp(-(1.5 - 0.03 * f[1] - 0.02 * f[2] - 0.01 * f[3] + 0.005 * f[8]))) AS churned
FROM (SELECT account_id, ARRAY[
        health.scale_linear(m1, 0, 20), health.scale_linear(m2, 0, 100), health.scale_linear(m3, 0, 100),
        health.scale_linear(m4, 0, 10), health.scale_linear(m5, 0, 100), health.scale_linear(m6, 0, 100),
        health.scale_linear(m7, 0, 400), health.scale_linear(m8, 0, 10, false), health.scale_linear(m9, 0, 45, false),
        health.scale_linear(m10, 0, 72, false)] AS f
      FROM bench_wide) w;
VACUUM ANALYZE bench_outcomes;

CREATE TEMP TABLE validate_queries (id int, name text, query text);
INSERT INTO validate_queries VALUES
(1, 'auc: window functions, rank-based (Mann-Whitney)', $q$
SELECT round(((sum(r) FILTER (WHERE NOT churned) - count(*) FILTER (WHERE NOT churned) * (count(*) FILTER (WHERE NOT churned) + 1) / 2.0)
              / (count(*) FILTER (WHERE NOT churned) * count(*) FILTER (WHERE churned)))::numeric, 9)
FROM (SELECT churned, rank() OVER w + (count(*) OVER (w RANGE BETWEEN CURRENT ROW AND CURRENT ROW) - 1) / 2.0 AS r
      FROM bench_outcomes WINDOW w AS (ORDER BY score)) ranked $q$),
(2, 'auc: health.auc(score, churned)', $q$
SELECT round(health.auc(score, churned)::numeric, 9) FROM bench_outcomes $q$),
(3, 'auc per segment (10): window functions', $q$
SELECT string_agg(a::text, ',' ORDER BY segment) FROM (
  SELECT segment, round(((sum(r) FILTER (WHERE NOT churned) - count(*) FILTER (WHERE NOT churned) * (count(*) FILTER (WHERE NOT churned) + 1) / 2.0)
                         / (count(*) FILTER (WHERE NOT churned) * count(*) FILTER (WHERE churned)))::numeric, 9) AS a
  FROM (SELECT segment, churned, rank() OVER w + (count(*) OVER (w RANGE BETWEEN CURRENT ROW AND CURRENT ROW) - 1) / 2.0 AS r
        FROM bench_outcomes WINDOW w AS (PARTITION BY segment ORDER BY score)) ranked
  GROUP BY segment) s $q$),
(4, 'auc per segment (10): health.auc ... GROUP BY segment', $q$
SELECT string_agg(a::text, ',' ORDER BY segment) FROM (
  SELECT segment, round(health.auc(score, churned)::numeric, 9) AS a FROM bench_outcomes GROUP BY segment) s $q$);

CREATE TEMP TABLE validate_answers AS SELECT id, NULL::text AS answer FROM validate_queries;
DO $$ DECLARE r record; a text; BEGIN
  FOR r IN SELECT * FROM validate_queries LOOP
    EXECUTE r.query INTO a; UPDATE validate_answers SET answer = a WHERE id = r.id;
  END LOOP; END $$;
SELECT q.name, left(a.answer, 60) AS answer FROM validate_queries q JOIN validate_answers a USING (id) ORDER BY id;
SELECT (SELECT answer FROM validate_answers WHERE id = 1) = (SELECT answer FROM validate_answers WHERE id = 2)
   AND (SELECT answer FROM validate_answers WHERE id = 3) = (SELECT answer FROM validate_answers WHERE id = 4) AS auc_answers_agree \gset
\if :auc_answers_agree
\else
  \echo 'health.auc differs from the rank formula: not timing'
  SELECT 1/0;
\endif

CREATE TEMP TABLE validate_times AS
SELECT id, name, bench_median(query, :reps) AS median_s FROM validate_queries ORDER BY id;

\echo
\echo 'Validation: median wall time of' :reps 'runs, one core, on' :accounts 'accounts:'
SELECT t.name, round(t.median_s::numeric, 3) AS median_s,
       round((t.median_s / w.median_s)::numeric, 2) AS ratio_vs_window_functions
FROM validate_times t JOIN validate_times w ON w.id = CASE WHEN t.id <= 2 THEN 1 ELSE 3 END
ORDER BY t.id;

-- Peak private memory (RssAnon) of a fresh backend while one query runs,
-- sampled every 10 ms by bench/peak-memory; shared buffers are not counted.
\echo
\echo 'Memory: private memory of a fresh backend, MiB (before -> peak):'
\ir fresh_backend.sql
\! "$BENCH_ROOT/bench/peak-memory" start
SELECT round(health.auc(score, churned)::numeric, 9) AS auc FROM bench_outcomes;
\! "$BENCH_ROOT/bench/peak-memory" stop "health.auc over all accounts"

\ir fresh_backend.sql
\timing on
\! "$BENCH_ROOT/bench/peak-memory" start
SELECT f -> 'converged' AS converged, f -> 'iterations' AS iterations, f -> 'rows' AS rows,
       round((f ->> 'auc')::numeric, 4) AS fitted_auc,
       (SELECT string_agg(round(w::numeric, 1)::text, ', ') FROM jsonb_array_elements_text(f -> 'weights') w) AS weights
FROM (SELECT health.fit_weights(features, churned) AS f FROM bench_outcomes) x;
\! "$BENCH_ROOT/bench/peak-memory" stop "health.fit_weights, 10 features"
\timing off

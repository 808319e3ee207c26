-- Each query returns one row; extension and hand-written SQL compute the
-- same numbers with the same floating-point operations in the same order
-- (checked below before timing). Parallelism off: one core each. The tier
-- rule is the documented one: a score within 1e-9 of a cutoff is on it
-- (without that, a score that is 40 up to the last bit of rounding, such as
-- 40.00000000000001, would be neutral: 2 accounts of this data).
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET jit = off;

CREATE TEMP TABLE bench_queries (id int, form text, name text, query text);
INSERT INTO bench_queries VALUES
(1, 'wide', 'extension: tier(weighted_score(ARRAY[scale_linear(...) x10], weights))', $q$
SELECT count(*) FILTER (WHERE t = 'at_risk') || '/' || count(*) FILTER (WHERE t = 'neutral') || '/' || count(*) FILTER (WHERE t = 'healthy')
FROM (SELECT health.tier(health.weighted_score(ARRAY[
        health.scale_linear(m1, 0, 20), health.scale_linear(m2, 0, 100), health.scale_linear(m3, 0, 100),
        health.scale_linear(m4, 0, 10), health.scale_linear(m5, 0, 100), health.scale_linear(m6, 0, 100),
        health.scale_linear(m7, 0, 400), health.scale_linear(m8, 0, 10, false), health.scale_linear(m9, 0, 45, false),
        health.scale_linear(m10, 0, 72, false)], '{25,20,15,10,10,5,5,4,3,3}')) AS t
      FROM bench_wide) x $q$),
(2, 'wide', 'hand-written SQL: CASE over least/greatest arithmetic', $q$
SELECT count(*) FILTER (WHERE t = 'at_risk') || '/' || count(*) FILTER (WHERE t = 'neutral') || '/' || count(*) FILTER (WHERE t = 'healthy')
FROM (SELECT CASE WHEN s <= 40.000000001 THEN 'at_risk' WHEN s <= 70.000000001 THEN 'neutral' ELSE 'healthy' END AS t
      FROM (SELECT (25 * least(greatest(100 * ((m1 - 0) / 20), 0), 100)
                  + 20 * least(greatest(100 * ((m2 - 0) / 100), 0), 100)
                  + 15 * least(greatest(100 * ((m3 - 0) / 100), 0), 100)
                  + 10 * least(greatest(100 * ((m4 - 0) / 10), 0), 100)
                  + 10 * least(greatest(100 * ((m5 - 0) / 100), 0), 100)
                  +  5 * least(greatest(100 * ((m6 - 0) / 100), 0), 100)
                  +  5 * least(greatest(100 * ((m7 - 0) / 400), 0), 100)
                  +  4 * least(greatest(100 * ((10 - m8) / 10), 0), 100)
                  +  3 * least(greatest(100 * ((45 - m9) / 45), 0), 100)
                  +  3 * least(greatest(100 * ((72 - m10) / 72), 0), 100)) / 100 AS s
            FROM bench_wide) y) x $q$),
(3, 'long', 'extension: score(scorecard(metric, score, weight)) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM bench_long GROUP BY account_id) x $q$),
(4, 'long', 'extension: score_agg(score, weight) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score_agg(score, weight) AS s FROM bench_long GROUP BY account_id) x $q$),
(5, 'long', 'hand-written SQL: sum(w*s)/sum(w) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT sum(weight * score) / sum(weight) AS s FROM bench_long GROUP BY account_id) x $q$);

-- Same answers first: a benchmark of different computations means nothing.
CREATE TEMP TABLE bench_answers AS SELECT id, NULL::text AS answer FROM bench_queries;
DO $$ DECLARE r record; a text; BEGIN
  FOR r IN SELECT * FROM bench_queries LOOP
    EXECUTE r.query INTO a; UPDATE bench_answers SET answer = a WHERE id = r.id;
  END LOOP; END $$;
SELECT q.form, q.name, a.answer FROM bench_queries q JOIN bench_answers a USING (id) ORDER BY id;
SELECT (SELECT count(DISTINCT answer) FROM bench_answers WHERE id IN (1, 2)) = 1 AS wide_answers_agree,
       (SELECT count(DISTINCT answer) FROM bench_answers WHERE id IN (3, 4, 5)) = 1 AS long_answers_agree \gset
\if :wide_answers_agree
\else
  \echo 'wide-form answers differ: not timing'
  SELECT 1/0;
\endif
\if :long_answers_agree
\else
  \echo 'long-form answers differ: not timing'
  SELECT 1/0;
\endif

CREATE TEMP TABLE bench_times AS
SELECT id, form, name, bench_median(query, :reps) AS median_s FROM bench_queries ORDER BY id;

\echo
\echo 'Median wall time of' :reps 'runs (after a warm-up), one core, on' :accounts 'accounts:'
SELECT t.form, t.name, round(t.median_s::numeric, 3) AS median_s,
       round((t.median_s / h.median_s)::numeric, 2) AS ratio_vs_hand_sql
FROM bench_times t
JOIN bench_times h ON h.form = t.form AND h.name LIKE 'hand-written%'
ORDER BY t.id;

SELECT round(((SELECT median_s FROM bench_times WHERE id = 3) / (SELECT median_s FROM bench_times WHERE id = 4))::numeric, 2)
       AS scorecard_over_score_agg;

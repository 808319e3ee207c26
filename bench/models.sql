-- Scoring models as data (docs/reference.md §6): evaluate(model, float8[]) and
-- evaluate(model, jsonb) against the same score composed by hand with
-- weighted_score(ARRAY[scale_linear(...) x10], weights), on bench_wide.
-- Goals: positional form within 1.5x, jsonb form within 3x. Also the
-- catalogue: model_for(name) called on every row against a join to the
-- model resolved once (goal: within 2x). The floor: a bare scan that reads
-- the same ten columns and adds them up (goal for evaluate: within 2x).
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET jit = off;

DROP TABLE IF EXISTS bench_json;
-- The metrics as a jsonb document per account, as an event pipeline or a
-- feature store would hand them over.
CREATE TABLE bench_json AS SELECT account_id, to_jsonb(w) - 'account_id' AS metrics FROM bench_wide w;
VACUUM ANALYZE bench_json;

CREATE TEMP TABLE model_queries (id int, name text, query text);
INSERT INTO model_queries VALUES
(1, 'hand-composed: weighted_score(ARRAY[scale_linear(...) x10], weights)', $q$
SELECT round(sum(s)::numeric, 6) FROM (SELECT health.weighted_score(ARRAY[
        health.scale_linear(m1, 0, 20), health.scale_linear(m2, 0, 100), health.scale_linear(m3, 0, 100),
        health.scale_linear(m4, 0, 10), health.scale_linear(m5, 0, 100), health.scale_linear(m6, 0, 100),
        health.scale_linear(m7, 0, 400), health.scale_linear(m8, 0, 10, false), health.scale_linear(m9, 0, 45, false),
        health.scale_linear(m10, 0, 72, false)], '{25,20,15,10,10,5,5,4,3,3}') AS s
      FROM bench_wide) x $q$),
(2, 'evaluate(model, ARRAY[m1, ..., m10])', $q$
SELECT round(sum(health.evaluate(m.model, ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide, bench_models m WHERE m.name = 'bench' $q$),
(3, 'evaluate(model, metrics jsonb) over a jsonb column', $q$
SELECT round(sum(health.evaluate(m.model, j.metrics))::numeric, 6)
FROM bench_json j, bench_models m WHERE m.name = 'bench' $q$),
(4, 'catalogue, joined: evaluate(m.model, ...) FROM (SELECT model_for(''bench'')) m', $q$
SELECT round(sum(health.evaluate(m.model, ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide, (SELECT health.model_for('bench') AS model) m $q$),
(5, 'catalogue, per row: evaluate(model_for(''bench''), ...)', $q$
SELECT round(sum(health.evaluate(health.model_for('bench'), ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide $q$),
(6, 'catalogue, per row with 12 moments: model_for(''bench'', month of the row)', $q$
SELECT round(sum(health.evaluate(health.model_for('bench', '2026-01-01'::timestamptz + (account_id % 12) * interval '1 month'),
                                 ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide $q$);

CREATE TEMP TABLE model_answers AS SELECT id, NULL::text AS answer FROM model_queries;
DO $$ DECLARE r record; a text; BEGIN
  FOR r IN SELECT * FROM model_queries LOOP
    EXECUTE r.query INTO a; UPDATE model_answers SET answer = a WHERE id = r.id;
  END LOOP; END $$;
SELECT q.name, a.answer FROM model_queries q JOIN model_answers a USING (id) ORDER BY id;
SELECT count(DISTINCT answer) = 1 AS model_answers_agree FROM model_answers \gset
\if :model_answers_agree
\else
  \echo 'model answers differ from the hand-composed score: not timing'
  SELECT 1/0;
\endif

CREATE TEMP TABLE model_times AS
SELECT id, name, bench_median(query, :reps) AS median_s FROM model_queries ORDER BY id;
-- The floor (another answer, so not among the checked queries).
INSERT INTO model_times VALUES (0, 'floor: bare scan, sum(m1 + ... + m10)', bench_median(
    'SELECT sum(m1 + m2 + m3 + m4 + m5 + m6 + m7 + m8 + m9 + m10) FROM bench_wide', :reps));

\echo
\echo 'Models: median wall time of' :reps 'runs, one core, on' :accounts 'accounts:'
SELECT t.name, round(t.median_s::numeric, 3) AS median_s,
       round((t.median_s / h.median_s)::numeric, 2) AS ratio_vs_hand_composed,
       CASE WHEN t.id >= 4 THEN round((t.median_s / j.median_s)::numeric, 2) END AS ratio_vs_joined_model,
       round((t.median_s / f.median_s)::numeric, 2) AS ratio_vs_bare_scan
FROM model_times t, model_times h, model_times j, model_times f WHERE h.id = 1 AND j.id = 4 AND f.id = 0
ORDER BY t.id;

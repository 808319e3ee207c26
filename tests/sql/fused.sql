-- The wide form fused at plan time: weighted_score(ARRAY[scale_*(column,
-- constants), ...], constant weights, ...) is planned as one call,
-- weighted_score_fused, with the same answers to the last bit and the same
-- errors. Checked against the expression planned as written
-- (customer_health.fuse_wide_scores = off) on rows with NULLs, values out of
-- range, every normaliser and every missing policy.
CREATE TABLE fused_rows AS
SELECT g AS id,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (hashint4(g) % 4000) / 100.0 END::float8 AS a,
       CASE WHEN g % 13 = 0 THEN NULL ELSE abs(hashint4(g * 3) % 100000) / 100.0 END::float8 AS b,
       CASE WHEN g % 17 = 0 THEN NULL ELSE (hashint4(g * 5) % 1000) / 10.0 END::float8 AS c,
       (abs(hashint4(g * 7)) % 12)::float8 AS d
FROM generate_series(1, 20000) g;

-- EXPLAIN VERBOSE shows the fused call and what it computes.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT health.tier(health.weighted_score(ARRAY[health.scale_linear(a, 0, 20), health.scale_target(c, 50, higher_is_better => false), d],
                                         '{3,2,1}', 'zero'))
FROM fused_rows;

CREATE TABLE fused_forms (name text, score text);
INSERT INTO fused_forms VALUES
 ('every normaliser, renormalize',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 20), health.scale_log(b, 0, 400), health.scale_target(b, 50),
      health.scale_zscore(c, 10, 30, false), health.scale_bands(d, '{3,6,9}', '{0,40,70,100}'),
      health.scale_piecewise(c, '{-10,0,10,30}', '{0,20,80,100}')], '{25,20,15,10,10,5}')$$),
 ('out of range as NULL, lower is better, zero',
  $$health.weighted_score(ARRAY[health.scale_linear(a, -10, 10, false, 'null'), health.scale_log(b, 1, 100, true, 'null'),
      health.scale_target(b, 200, false)], '{0.1,0.2,0.3}', 'zero')$$),
 ('another function of the extension as a value',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 40), health.percentile_rank(b, (SELECT health.profile(b) FROM fused_rows))], '{1,1}')$$),
 ('plain values and a constant NULL, neutral',
  $$health.weighted_score(ARRAY[d * 8, health.scale_linear(a, 0, 40), NULL, abs(c)], '{1,1,1,1}', 'neutral')$$),
 ('a plain value out of 0..100: the same error',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 40), c], '{1,1}')$$),
 ('min_coverage, null policy',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 40), health.scale_linear(c, -100, 100), health.scale_log(b, 0, 1000)],
      '{2,1,1}', 'null', 0.5)$$),
 ('coverage below the minimum, renormalised',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 40), health.scale_linear(c, -100, 100, out_of_range => 'null')],
      '{1,3}', min_coverage => 0.7)$$),
 ('negative values for scale_log: the same error',
  $$health.weighted_score(ARRAY[health.scale_log(c, 0, 100)], '{1}')$$),
 ('zscore_linear, both directions, neutral',
  $$health.weighted_score(ARRAY[health.scale_zscore_linear(c, 10, 30), health.scale_zscore_linear(a, 5, 8, 1.5, false)],
      '{1,2}', 'neutral')$$),
 ('a weight of 0 and a weight above 100',
  $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 40), health.scale_linear(d, 0, 11)], '{0,150}')$$);

-- Each form as a query over every row; its answers as text (PostgreSQL
-- prints the shortest text that reads back as the same double, so equal
-- text is equal bits), or its error.
CREATE FUNCTION fused_run(score text, fuse boolean) RETURNS TABLE (plan_fused boolean, answers text, scores bigint)
LANGUAGE plpgsql AS $$
DECLARE
    q text := format('SELECT md5(string_agg(coalesce(s::text, %L), %L ORDER BY id)), count(s) FROM (SELECT id, %s AS s FROM fused_rows) x',
                     'null', ',', score);
    line text;
BEGIN
    PERFORM set_config('customer_health.fuse_wide_scores', fuse::text, true);
    plan_fused := false;
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE) ' || q LOOP
        plan_fused := plan_fused OR line ~ '(weighted_score|evaluate)_fused\(';
    END LOOP;
    BEGIN
        EXECUTE q INTO answers, scores;
    EXCEPTION WHEN OTHERS THEN
        answers := SQLSTATE || ' ' || SQLERRM;
    END;
    RETURN NEXT;
END $$;

SELECT f.name, fused.plan_fused AS fused, written.plan_fused AS written_fused,
       fused.answers = written.answers AS same_answers, fused.scores,
       CASE WHEN fused.answers !~ '^[0-9a-f]{32}$' THEN fused.answers END AS error
FROM fused_forms f, LATERAL fused_run(f.score, true) fused, LATERAL fused_run(f.score, false) written
ORDER BY f.name;

-- Every scale_* function in the catalogue fuses, with the same answers as
-- written: a new normaliser without its step in the fused form shows here
-- as not fused, or without an example.
CREATE TABLE scale_examples (function text, call text);
INSERT INTO scale_examples VALUES
 ('scale_linear', $$health.scale_linear(a, 0, 20, false, 'null')$$),
 ('scale_log', $$health.scale_log(b, 1, 400)$$),
 ('scale_target', $$health.scale_target(b, 50, false)$$),
 ('scale_zscore', $$health.scale_zscore(c, 10, 30, false)$$),
 ('scale_zscore_linear', $$health.scale_zscore_linear(c, 10, 30, clip => 2)$$),
 ('scale_bands', $$health.scale_bands(d, '{3,6,9}', '{0,40,70,100}')$$),
 ('scale_piecewise', $$health.scale_piecewise(c, '{-10,0,10,30}', '{0,20,80,100}')$$),
 ('scale_profile', format($$health.scale_profile(c, %L::health.profile, 'percentile', false)$$,
                          (SELECT health.profile(c)::text FROM fused_rows)));
SELECT p.proname AS function, e.call IS NOT NULL AS has_example, fused.plan_fused AS fused,
       written.plan_fused AS written_fused, fused.answers = written.answers AS same_answers, fused.scores
FROM (SELECT DISTINCT proname FROM pg_proc
      WHERE pronamespace = 'health'::regnamespace AND proname LIKE 'scale\_%') p
LEFT JOIN scale_examples e ON e.function = p.proname
LEFT JOIN LATERAL fused_run(format('health.weighted_score(ARRAY[%s, health.scale_linear(a, 0, 40)], %L)', e.call, '{2,1}'), true) fused ON true
LEFT JOIN LATERAL fused_run(format('health.weighted_score(ARRAY[%s, health.scale_linear(a, 0, 40)], %L)', e.call, '{2,1}'), false) written ON true
ORDER BY p.proname;
DROP TABLE scale_examples;

-- Not fused: constants a scale or weighted_score would refuse, weights or a
-- scale parameter that are not constant; each still answers (or fails) as
-- written.
SELECT f.name, fused.plan_fused AS fused, fused.answers = written.answers AS same_answers,
       CASE WHEN fused.answers !~ '^[0-9a-f]{32}$' THEN fused.answers END AS error
FROM (VALUES
  ('lo equal to hi', $$health.weighted_score(ARRAY[health.scale_linear(a, 5, 5)], '{1}')$$),
  ('weights from a subquery', $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 20)], (SELECT '{1}'::float8[]))$$),
  ('a scale bound from a column', $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 20 + d)], '{1}')$$),
  ('weights of another length', $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 20), a], '{1}')$$),
  ('an unknown policy', $$health.weighted_score(ARRAY[health.scale_linear(a, 0, 20)], '{1}', 'drop')$$)
) f(name, score), LATERAL fused_run(f.score, true) fused, LATERAL fused_run(f.score, false) written
ORDER BY f.name;

-- The fused function checks what it is given when called by hand.
SELECT e AS called_by_hand FROM (VALUES
  (sql_error($$SELECT health.weighted_score_fused('linear 0.0 20.0 higher clamp; weights 1.0; missing zero; min_coverage 0.0', 5::float8)$$)),
  (sql_error($$SELECT health.weighted_score_fused('linear 0.0 20.0 higher clamp; weights 1.0; missing zero; min_coverage 0.0', 5)$$)),
  (sql_error($$SELECT health.weighted_score_fused('linear 0.0 20.0 higher clamp; weights 1.0; missing zero; min_coverage 0.0', 5::float8, 6::float8)$$)),
  (sql_error($$SELECT health.weighted_score_fused('garbage', 5::float8)$$)),
  (sql_error($$SELECT health.weighted_score_fused(NULL, 5::float8)$$))
) t(e);

-- evaluate(model, ARRAY[value, ...]) is planned as evaluate_fused(model,
-- value, ...), without the array: the same answers and errors.
CREATE TABLE fused_models (name text, model health.model);
INSERT INTO fused_models VALUES ('three', '{"metrics": [
  {"name": "a", "weight": 3, "scale": {"method": "linear", "lo": 0, "hi": 40}},
  {"name": "b", "weight": 2, "scale": {"method": "log", "lo": 0, "hi": 1000}, "critical_floor": 10},
  {"name": "d", "weight": 1, "higher_is_better": false, "scale": {"method": "bands", "cutoffs": [3, 6, 9], "scores": [100, 70, 40, 0]}}],
  "missing": "neutral"}');
EXPLAIN (VERBOSE, COSTS OFF)
SELECT health.evaluate(m.model, ARRAY[a, b, d]) FROM fused_rows, fused_models m;
SELECT f.name, fused.plan_fused AS fused, written.plan_fused AS written_fused,
       fused.answers = written.answers AS same_answers, fused.scores,
       CASE WHEN fused.answers !~ '^[0-9a-f]{32}$' THEN fused.answers END AS error
FROM (VALUES
  ('evaluate, joined model', $$health.evaluate((SELECT model FROM fused_models), ARRAY[a, b, d])$$),
  ('evaluate, a value per metric missing', $$health.evaluate((SELECT model FROM fused_models), ARRAY[a, b])$$),
  ('evaluate, negative values for the log scale', $$health.evaluate((SELECT model FROM fused_models), ARRAY[a, c, d])$$),
  ('evaluate, a NULL model', $$health.evaluate(NULL::health.model, ARRAY[a, b, d])$$)
) f(name, score), LATERAL fused_run(f.score, true) fused, LATERAL fused_run(f.score, false) written
ORDER BY f.name;
SELECT e AS evaluate_fused_by_hand FROM (VALUES
  (sql_error($$SELECT health.evaluate_fused(model, 10::float8, 20::float8, 1::float8) FROM fused_models$$)),
  (sql_error($$SELECT health.evaluate_fused(model, 10, 20, 1) FROM fused_models$$)),
  (sql_error($$SELECT health.evaluate_fused(model, 10::float8) FROM fused_models$$))
) t(e);
DROP TABLE fused_models;

DROP FUNCTION fused_run(text, boolean);
DROP TABLE fused_rows, fused_forms;

-- What an analyst trying customer_health for the first time ran into, each
-- now either right or a clear error: no silent wrong answers.
CREATE TEMP TABLE first_models AS
SELECT '{"metrics": [{"name": "frequency", "weight": 2, "scale": {"method": "linear", "lo": 0, "hi": 10}},
                     {"name": "nps", "weight": 1, "scale": {"method": "linear", "lo": -100, "hi": 100}}]}'::health.model AS model;

-- 1. A misspelt metric is an error that names it and what it probably
--    meant, not a score of 100 from the other metric renormalised.
SELECT sql_error($$SELECT health.evaluate(model, '{"frequncy": 2, "nps": 100}'::jsonb) FROM first_models$$) AS typo;
SELECT sql_error($$SELECT health.explain(model, '{"frequency": 2, "NPS": 100}'::jsonb) FROM first_models$$) AS wrong_case;
SELECT sql_error($$SELECT health.tier(model, '{"frequency": 2, "nps": 100, "region": "emea"}'::jsonb) FROM first_models$$) AS extra;
-- Ignoring keys the model does not use is a choice the caller writes down.
SELECT health.evaluate(model, '{"frequency": 2, "nps": 100, "region": "emea"}'::jsonb, extra_keys => 'ignore') AS score,
       health.evaluate(model, '{"frequency": 2, "nps": 100}'::jsonb) AS same_score,
       health.tier(model, '{"frequency": 2, "nps": 100, "region": "emea"}'::jsonb, 'ignore') AS tier,
       health.explain(model, '{"frequency": 2, "region": "emea"}'::jsonb, 'ignore') ->> 'coverage' AS coverage
FROM first_models;
SELECT sql_error($$SELECT health.evaluate(model, '{"frequency": 2}'::jsonb, extra_keys => 'warn') FROM first_models$$) AS bad_option;

-- 2. A mean of equal sub-scores is that sub-score, whatever the weights, and
--    noise in the last bits never changes a tier or a grade.
SELECT health.weighted_score('{70,70,70}', '{0.1,0.2,0.3}') AS wide,
       health.grade(health.weighted_score('{70,70,70}', '{0.1,0.2,0.3}')) AS grade,
       (SELECT health.score(health.scorecard(m, 70, w)) FROM (VALUES ('a', 0.1), ('b', 0.2), ('c', 0.3)) v(m, w)) AS long,
       (SELECT health.score_agg(70, w) FROM unnest('{0.1,0.2,0.3}'::float8[]) w) AS score_agg;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TEMP TABLE seventies AS SELECT 70::float8 AS s, (1 + i % 3) / 10.0 AS w FROM generate_series(1, 30000) i;
ANALYZE seventies;
SELECT health.score_agg(s, w) AS parallel_score_agg FROM seventies;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT health.tier(40.00000000000001) AS just_above_40, health.tier(40.000001) AS clearly_above_40,
       health.grade(79.99999999999999) AS just_below_80, health.color(70.00000000000001) AS just_above_70;
-- A position a rounding error past a fraction is on it: 59 of 177 is the
-- bottom third exactly.
SELECT health.quantile_tier(59, p, '{0.3333333333333333,0.6666666666666666}', '{low,mid,high}') AS value_59_of_177
FROM (SELECT health.profile(x) AS p FROM generate_series(1, 177) x) t;

-- 4. Arguments in the wrong order: a literal read as a model says what was meant.
\set VERBOSITY default
SELECT health.tier('{40,70}', 55);
-- Named arguments make swaps impossible.
SELECT health.weighted_score(weights => '{30,25,45}', scores => '{80,60,40}') AS named;

-- 7. 'renormalise' is the same policy as 'renormalize'.
SELECT health.weighted_score('{80,NULL,40}', '{30,25,45}', 'renormalise') AS british,
       health.weighted_score('{80,NULL,40}', '{30,25,45}', 'renormalize') AS american;

-- Every bad input is an ERROR with a specific SQLSTATE and a message naming
-- the argument and the bad value. sql_error() (see setup.sql) shows
-- "SQLSTATE message" so the cases can be listed side by side.
--   22023 invalid_parameter_value     22003 numeric_value_out_of_range
--   2202E array_subscript_error       22004 null_value_not_allowed
--   22P02 invalid_text_representation 21000 cardinality_violation

-- NaN and +-Infinity where a number is needed
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.scale_linear('NaN', 0, 10)$$),
    ($$SELECT health.scale_linear(5, '-Infinity', 10)$$),
    ($$SELECT health.scale_linear(5, 0, 'Infinity')$$),
    ($$SELECT health.scale_log('Infinity', 0, 10)$$),
    ($$SELECT health.scale_target('NaN', 10)$$),
    ($$SELECT health.scale_bands('NaN', '{1}', '{0,100}')$$),
    ($$SELECT health.scale_bands(1, '{1,Infinity}', '{0,50,100}')$$),
    ($$SELECT health.scale_piecewise('Infinity', '{0,1}', '{0,100}')$$),
    ($$SELECT health.scale_zscore(1, 'NaN', 1)$$),
    ($$SELECT health.weighted_score('{NaN}', '{1}')$$),
    ($$SELECT health.weighted_score('{50}', '{Infinity}')$$),
    ($$SELECT health.weighted_score('{50}', '{1}', min_coverage => 'NaN')$$),
    ($$SELECT health.tier('NaN')$$),
    ($$SELECT health.tier(50, '{40,NaN}')$$),
    ($$SELECT health.grade('Infinity')$$),
    ($$SELECT health.score_agg(s, 1) FROM (VALUES ('NaN'::float8)) t(s)$$),
    ($$SELECT health.scorecard('nps', 'NaN', 1)$$)
) AS cases(q);

-- lo >= hi, and other parameters outside their domain
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.scale_linear(5, 10, 0)$$),
    ($$SELECT health.scale_linear(5, 10, 10)$$),
    ($$SELECT health.scale_log(5, 10, 1)$$),
    ($$SELECT health.scale_log(-1, 0, 10)$$),
    ($$SELECT health.scale_log(5, -1, 10)$$),
    ($$SELECT health.scale_target(5, 0)$$),
    ($$SELECT health.scale_target(-5, 10)$$),
    ($$SELECT health.scale_zscore(1, 0, 0)$$),
    ($$SELECT health.scale_zscore(1, 0, -2)$$),
    ($$SELECT health.weighted_score('{50}', '{1}', min_coverage => 1.5)$$),
    ($$SELECT health.weakest('[{"metric":"a","score":1,"weight":1}]', -1)$$)
) AS cases(q);

-- negative or all-zero weights
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.weighted_score('{50,60}', '{1,-1}')$$),
    ($$SELECT health.weighted_score('{50,60}', '{0,0}')$$),
    ($$SELECT health.weighted_score('{}', '{}')$$),
    ($$SELECT health.score_agg(50, -1)$$),
    ($$SELECT health.scorecard('nps', 50, -1)$$),
    ($$SELECT health.score(health.scorecard(m, 50, 0)) FROM (VALUES ('a'), ('b')) t(m)$$)
) AS cases(q);

-- arrays of different or wrong lengths
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.weighted_score('{50,60}', '{1}')$$),
    ($$SELECT health.scale_bands(1, '{1,2}', '{0,100}')$$),
    ($$SELECT health.scale_piecewise(1, '{1,2,3}', '{0,100}')$$),
    ($$SELECT health.scale_piecewise(1, '{1}', '{100}')$$),
    ($$SELECT health.tier(50, '{40,70}', '{low,high}')$$),
    ($$SELECT health.color(50, '{40}')$$)
) AS cases(q);

-- cutoffs or knots not strictly ascending
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.scale_bands(1, '{5,2}', '{0,50,100}')$$),
    ($$SELECT health.scale_bands(1, '{2,2}', '{0,50,100}')$$),
    ($$SELECT health.scale_piecewise(1, '{0,10,10}', '{0,50,100}')$$),
    ($$SELECT health.tier(50, '{70,40}')$$),
    ($$SELECT health.color(50, '{70,40}')$$)
) AS cases(q);

-- sub-scores outside [0, 100]
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.weighted_score('{50,101}', '{1,1}')$$),
    ($$SELECT health.weighted_score('{-0.5}', '{1}')$$),
    ($$SELECT health.scale_bands(1, '{1}', '{0,120}')$$),
    ($$SELECT health.scale_piecewise(1, '{0,1}', '{-10,100}')$$),
    ($$SELECT health.score_agg(100.5, 1)$$),
    ($$SELECT health.scorecard('nps', 150, 1)$$),
    ($$SELECT health.tier(100.01)$$),
    ($$SELECT health.color(-1)$$),
    ($$SELECT health.grade(101)$$)
) AS cases(q);

-- unknown policy names
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.scale_linear(5, 0, 10, true, 'ignore')$$),
    ($$SELECT health.scale_log(5, 0, 10, true, 'CLAMP')$$),
    ($$SELECT health.weighted_score('{50}', '{1}', 'average')$$),
    ($$SELECT health.score('[{"metric":"a","score":1,"weight":1}]', 'skip')$$),
    ($$SELECT health.contributions('[{"metric":"a","score":1,"weight":1}]', 'mean')$$)
) AS cases(q);

-- NULL elements where a value is required
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.weighted_score('{50,60}', '{1,NULL}')$$),
    ($$SELECT health.scale_bands(1, '{NULL}', '{0,100}')$$),
    ($$SELECT health.scale_piecewise(1, '{0,1}', '{0,NULL}')$$),
    ($$SELECT health.tier(50, '{40,70}', '{a,NULL,c}')$$),
    ($$SELECT health.score_agg(50, NULL)$$),
    ($$SELECT health.scorecard('nps', 50, NULL)$$)
) AS cases(q);

-- a metric twice in one scorecard group
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.scorecard(m, 50, 1) FROM (VALUES ('nps'), ('usage'), ('nps')) t(m)$$),
    ($$SELECT '[{"metric":"a","score":1,"weight":1},{"metric":"a","score":2,"weight":1}]'::health.scorecard$$)
) AS cases(q);

-- malformed scorecard text, and rollups of differently weighted metrics
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT 'not json'::health.scorecard$$),
    ($$SELECT '[{"metric":"a","score":1}]'::health.scorecard$$),
    ($$SELECT '[{"metric":"a","score":1,"weight":1,"note":"x"}]'::health.scorecard$$),
    ($$SELECT health.rollup(sc) FROM (VALUES ('[{"metric":"a","score":1,"weight":1}]'::health.scorecard),
                                            ('[{"metric":"a","score":2,"weight":2}]'::health.scorecard)) t(sc)$$)
) AS cases(q);

-- How an error looks in psql
SELECT health.scale_linear(5, 10, 0);
SELECT health.weighted_score('{50,60}', '{1}');

-- weakest(model, metrics, n) and the cast jsonb::health.model
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.weakest('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'::health.model, '{"a": 5}'::jsonb, -1)$$),
    ($$SELECT health.weakest('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'::health.model, '{"b": 5}'::jsonb)$$),
    ($$SELECT health.weakest('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'::health.model, '{"a": "five"}'::jsonb)$$),
    ($$SELECT '[1, 2]'::jsonb::health.model$$),
    ($$SELECT '{"metrics": [{"name": "a", "weight": 1}]}'::jsonb::health.model$$)
) AS cases(q);

-- with_weights, fit_weights' names and missing policy, and model_for on a
-- table that is not a catalogue
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.with_weights('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}', '{"b": 2}')$$),
    ($$SELECT health.with_weights('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}', '{"a": 0}')$$),
    ($$SELECT health.with_weights('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}', '{"a": null}')$$),
    ($$SELECT health.fit_weights(ARRAY[s, NULL], s > 5, 0, '{a,b}') FROM generate_series(1, 10) s$$),
    ($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, '{a,b}', 'skip') FROM generate_series(1, 10) s$$),
    ($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, '{NULL}', 'skip') FROM generate_series(1, 10) s$$),
    ($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, NULL, 'drop') FROM generate_series(1, 10) s$$),
    ($$SELECT health.model_for('m', now(), 'pg_catalog.pg_class')$$),
    ($$SELECT health.model_for('m', now(), 'no_such_table')$$)
) AS cases(q);

-- fit_model, fold, the linear and log z-scores: every error path with its SQLSTATE
-- (the rows: x protects, y is noise; a NULL account, bad metrics, bad options,
-- one class, too few accounts, an all-NULL or constant metric, separation)
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.fit_model(NULL, '{"x": 1}', true)$$),
    ($$SELECT health.fit_model('a', '[1, 2]', true)$$),
    ($$SELECT health.fit_model('a', '{"x": "five"}', true)$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s % 3 = 0, '{"fold": 3, "l2": -1}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s % 3 = 0, '{"at_risk_share": 0.6, "healthy_share": 0.5}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s % 3 = 0, CASE WHEN s < 10 THEN '{"folds": 0}' ELSE '{"folds": 2}' END::jsonb) FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), false) FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s, 'y', s % 7), s % 3 = 0) FROM generate_series(1, 3) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s, 'y', NULL), s % 3 = 0) FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s, 'y', 4), s % 3 = 0) FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s, 'y', 2 * s), s % 3 = 0, '{"normalisers": ["zscore"]}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s > 10, '{"folds": 0}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s > 10) FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s), s % 3 = 0, '{"metrics": ["z"]}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fit_model(s::text, jsonb_build_object('x', s - 10), s % 3 = 0, '{"normalisers": ["log_zscore"]}') FROM generate_series(1, 20) s$$),
    ($$SELECT health.fold('a', 0)$$),
    ($$SELECT health.scale_zscore_linear(1, 0, 1, clip => 0)$$),
    ($$SELECT health.scale_zscore_linear(1, 0, 0)$$),
    ($$SELECT health.scale_zscore_linear('NaN', 0, 1)$$),
    ($$SELECT health.evaluate('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "log_zscore", "mean": 1, "stddev": 1}}]}', '{"a": -1}'::jsonb)$$),
    ($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "zscore_linear", "mean": 1, "stddev": 1, "clip": -2}}]}'::health.model$$),
    ($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "zscore", "mean": 1, "stddev": 1, "clip": 2}}]}'::health.model$$),
    ($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "zscore", "mean": 1, "stddev": 1}}], "fit": [1]}'::health.model$$)
) AS cases(q);

-- score_change: the missing policy is checked, as score's
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.score_change('[{"metric": "a", "score": 1, "weight": 1}]', '[{"metric": "a", "score": 2, "weight": 1}]', 'drop')$$),
    ($$SELECT health.score_change('[{"metric": "a", "score": 1, "weight": 1}]', '[{"metric": "a", "score": 101, "weight": 1}]')$$)
) AS cases(q);

-- tier_changes: a drop rule needs both points and a positive window, rules must agree across rows, timestamps are finite
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.tier_changes(now(), 50, 'a', NULL, 5, NULL)$$),
    ($$SELECT health.tier_changes(now(), 50, 'a', NULL, NULL, '1 day')$$),
    ($$SELECT health.tier_changes(now(), 50, 'a', NULL, -5, '1 day')$$),
    ($$SELECT health.tier_changes(t, 50, 'a', NULL, CASE WHEN t < '2026-02-01' THEN 5 ELSE 6 END, '1 day') FROM (VALUES (timestamptz '2026-01-01'), ('2026-03-01')) v(t)$$),
    ($$SELECT health.tier_changes('infinity', 50, 'a')$$)
) AS cases(q);

-- health.outcomes: text that is not a valid value (22P02), a score that is
-- not a number, and the accessors' parameters
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT '{"retained": [[60, 1], [20, 1]], "churned": []}'::health.outcomes$$),
    ($$SELECT '{"retained": [[60, 0]], "churned": []}'::health.outcomes$$),
    ($$SELECT '{"retained": [[60, -1]], "churned": []}'::health.outcomes$$),
    ($$SELECT '{"retained": [], "churned": [], "parameter": 1}'::health.outcomes$$),
    ($$SELECT '{"retained": []}'::health.outcomes$$),
    ($$SELECT 'not json'::health.outcomes$$),
    ($$SELECT health.outcomes('NaN', true)$$),
    ($$SELECT health.lift('{"retained": [[60, 1]], "churned": [[20, 1]]}'::health.outcomes, 0)$$),
    ($$SELECT health.lift('{"retained": [[60, 1]], "churned": [[20, 1]]}'::health.outcomes, 'NaN')$$),
    ($$SELECT health.calibration('{"retained": [[60, 1]], "churned": [[20, 1]]}'::health.outcomes, 0)$$),
    ($$SELECT health.calibration('{"retained": [[160, 1]], "churned": [[20, 1]]}'::health.outcomes)$$)
) AS cases(q);

-- health.responses: ratings outside 0-100, text that is not a valid value
-- (22P02), and ratings off the scale the reading function needs
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.responses(101)$$),
    ($$SELECT health.responses(-1)$$),
    ($$SELECT '[[9, 1], [7, 1]]'::health.responses$$),
    ($$SELECT '[[9, 0]]'::health.responses$$),
    ($$SELECT '[[101, 1]]'::health.responses$$),
    ($$SELECT '{"9": 1}'::health.responses$$),
    ($$SELECT health.nps('[[9, 1], [42, 1]]'::health.responses)$$),
    ($$SELECT health.nps_breakdown('[[11, 1]]'::health.responses)$$),
    ($$SELECT health.csat('[[0, 1], [5, 2]]'::health.responses)$$),
    ($$SELECT health.csat('[[4, 1]]'::health.responses, 2)$$)
) AS cases(q);

-- health.fit_rows: text that is not a valid value (22P02), rows the
-- aggregate refuses, and the fit's own checks
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT '{"names": null, "features": [[1, 2]], "churned": []}'::health.fit_rows$$),
    ($$SELECT '{"names": null, "features": [[1, 2], [3]], "churned": [true, false]}'::health.fit_rows$$),
    ($$SELECT '{"names": ["a"], "features": [[1, 2]], "churned": [true]}'::health.fit_rows$$),
    ($$SELECT '{"names": null, "features": [], "churned": [], "l2": 1}'::health.fit_rows$$),
    ($$SELECT health.fit_rows(f, true) FROM (VALUES (ARRAY[1.0, NULL]::float8[])) v(f)$$),
    ($$SELECT health.fit_rows(f, true, '{a}') FROM (VALUES (ARRAY[1.0, 2.0]::float8[])) v(f)$$),
    ($$SELECT health.fit_rows(f, true, '{a,b}', 'maybe') FROM (VALUES (ARRAY[1.0, NULL]::float8[])) v(f)$$),
    ($$SELECT health.fit_weights('{"names": null, "features": [[1], [2]], "churned": [true, true]}'::health.fit_rows)$$),
    ($$SELECT health.fit_weights('{"names": null, "features": [[1], [2]], "churned": [true, false]}'::health.fit_rows, -1)$$)
) AS cases(q);

-- What 0.4.0 turns from a silent NULL or a wrong answer into an error:
-- several rows of one series at one moment (21000), a cross-validation fold
-- with no account (22023), a missing sub-score under missing => 'error'
-- (22004), a model with no version in force (22023), a catalogue row whose
-- version differs from its document's (23514).
SELECT q, sql_error(q) FROM (VALUES
    ($$SELECT health.trend(at, s) FROM (VALUES ('2026-01-01 00:00+00'::timestamptz, 50.0), ('2026-01-01 00:00+00', 60.0)) v(at, s)$$),
    ($$SELECT health.sparkline(at, s) FROM (VALUES ('2026-01-01 00:00+00'::timestamptz, 50.0), ('2026-01-01 00:00+00', 60.0)) v(at, s)$$),
    ($$SELECT health.fit_model(a::text, jsonb_build_object('usage', (a * 37) % 100, 'tickets', (a * 11) % 9), ((a * 37) % 100 < 30 AND a % 3 <> 0) OR (a * 11) % 9 > 6) FROM generate_series(1, 2000) a WHERE health.fold(a::text, 5) <> 5$$),
    ($$SELECT health.weighted_score('{50,NULL}', '{1,1}', 'error')$$),
    ($$SELECT health.score('[{"metric":"a","score":1,"weight":1},{"metric":"b","score":null,"weight":1}]', 'error')$$),
    ($$SELECT health.evaluate('{"missing": "error", "metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 1}}]}', '{"a": null}'::jsonb)$$),
    ($$SELECT health.weighted_score('{50}', '{1}', 'refuse')$$),
    ($$SELECT health.model_for('errors_test', '-infinity')$$),
    ($$SELECT health.model_for_or_null('errors_test', '-infinity')$$),
    ($$SELECT health.coverage('{50,NULL}', '{1}')$$),
    ($$SELECT health.coverage('{50,NULL}', '{1,-1}')$$),
    ($$SELECT health.coverage('{150}', '{1}')$$),
    ($$INSERT INTO health.models VALUES ('errors_test', 'v2', '2026-01-01', '{"version": "v1", "metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 1}}]}')$$)
) AS cases(q);

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

-- 3. A segment of 177 accounts ranks exactly as PostgreSQL does: a profile
--    holds up to 32 768 distinct values exactly, so percentile_rank equals
--    100 * cume_dist() and quantile_tier's quarters equal the same CASE on
--    cume_dist (ntile(4) deals rows out by count, so it splits ties and
--    differs by design). 0.2.0 erred by up to 4.5 points here.
CREATE TEMP TABLE segment_177 AS
SELECT a AS account, round(exp(3 + 2.4 * sin(a * 12.9898))::numeric, 2)::float8 AS logins FROM generate_series(1, 177) a;
SELECT count(*) AS accounts,
       round(max(abs(health.percentile_rank(s.logins, p.p) - 100 * s.cd))::numeric, 9) AS max_rank_difference,
       count(*) FILTER (WHERE health.quantile_tier(s.logins, p.p, '{0.25,0.5,0.75}', '{q1,q2,q3,q4}')
                              <> CASE WHEN s.cd <= 0.25 THEN 'q1' WHEN s.cd <= 0.5 THEN 'q2' WHEN s.cd <= 0.75 THEN 'q3' ELSE 'q4' END)
         AS quarters_differ,
       bool_and(health.quantile(p.p, 0.9) = (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY logins) FROM segment_177)) AS same_p90
FROM (SELECT logins, cume_dist() OVER (ORDER BY logins) AS cd FROM segment_177) s,
     (SELECT health.profile(logins) AS p FROM segment_177) p;
-- quantile_tier's default labels are its own: bottom / middle / top.
SELECT health.quantile_tier(logins, p) AS tier, count(*) AS accounts
FROM segment_177, (SELECT health.profile(logins) AS p FROM segment_177) p GROUP BY 1 ORDER BY 1;

-- 4. Arguments in the wrong order: a literal read as a model says what was meant.
\set VERBOSITY default
SELECT health.tier('{40,70}', 55);
-- Two arrays of numbers swapped: where it breaks a rule (a weight of 150 read
-- as a score), the hint says which comes first and how to name them; where
-- it breaks none, only naming helps (docs/reference.md §1 and §2).
SELECT health.weighted_score('{150,100,50}', '{80,60,40}');
SELECT health.scale_target(40, 0);
-- Named arguments make swaps impossible.
SELECT health.weighted_score(weights => '{30,25,45}', scores => '{80,60,40}') AS named;

-- 5. A model built as jsonb casts straight to a model, validated on the way.
SELECT health.evaluate(jsonb_build_object('metrics', jsonb_build_array(
           jsonb_build_object('name', 'logins', 'weight', 1, 'scale', jsonb_build_object('method', 'linear', 'lo', 0, 'hi', 20))))::health.model,
       '{"logins": 15}'::jsonb) AS from_jsonb;
SELECT sql_error($$SELECT '{"metrics": []}'::jsonb::health.model$$) AS empty_model;
--    The weakest metrics of an account under a model, without parsing explain:
--    the same answer as weakest() of the scorecard the model builds.
SELECT health.weakest(model, '{"frequency": 2, "nps": 100}'::jsonb) AS weakest_one,
       health.weakest(model, '{"frequency": 2, "nps": -20}'::jsonb, 2) AS weakest_two,
       health.explain(model, '{"frequency": 2, "nps": -20}'::jsonb) -> 'contributions' -> 0 ->> 'metric' AS explain_first
FROM first_models;

--    Weights set by name on a model, as fit_weights names them (frequency 2
--    of 10 is 20, nps 100 is 100; with weights 2 and 3: (40 + 300) / 5); a
--    misspelt name is an error, not a weight left unchanged.
SELECT health.evaluate(health.with_weights(model, '{"nps": 3}'), '{"frequency": 2, "nps": 100}'::jsonb) AS reweighted,
       sql_error($$SELECT health.with_weights(model, '{"frequncy": 3}') FROM first_models$$) AS misspelt
FROM first_models;
--    fit_weights names its weights when given names, and a NULL feature has
--    a policy ('skip' here) instead of an error without a hint.
SELECT f -> 'names' AS names, jsonb_typeof(f -> 'weights_by_name') AS weights_by_name, f -> 'rows' AS rows, f -> 'rows_skipped' AS rows_skipped
FROM (SELECT health.fit_weights(ARRAY[s % 50, CASE WHEN s % 10 <> 0 THEN (s * 37) % 101 END], s % 3 = 0, 1, '{frequency,nps}', 'skip') AS f
      FROM generate_series(1, 200) s) x;

-- 6. Models in a table of the analyst's own (the same columns as
--    health.models), read with the analyst's privileges.
CREATE TEMP TABLE my_models (LIKE health.models INCLUDING ALL);
INSERT INTO my_models SELECT 'first', 'v1', '2026-01-01', model FROM first_models;
SELECT health.evaluate(health.model_for('first', now(), 'my_models'), '{"frequency": 2, "nps": 100}'::jsonb) AS from_own_catalogue;
--    Not in health.models: an error, not a NULL model (see 12).
SELECT sql_error($$SELECT health.model_for('first')$$) AS not_in_health_models;

-- 7. A metric twice in one group: the error says which, how often, among how
--    many rows and with which scores, and the hint how to list the repeats.
SELECT health.score(health.scorecard(m, s, 1)) FROM (VALUES ('nps', 40), ('usage', 70), ('nps', 90)) t(m, s);
--    Metric names compare exactly: 'NPS', 'nps' and 'nps ' are three metrics
--    (documented); normalising them in the query makes them one, and then a
--    repeat is the error above.
SELECT health.coverage(health.scorecard(m, 50, 1)) AS coverage, jsonb_array_length(health.scorecard(m, 50, 1)::text::jsonb) AS metrics
FROM (VALUES ('NPS'), ('nps'), ('nps ')) t(m);
SELECT sql_error($$SELECT health.scorecard(lower(btrim(m)), 50, 1) FROM (VALUES ('NPS'), ('nps'), ('nps ')) t(m)$$) AS normalised;
--    A NULL policy gives a NULL score (the functions are STRICT; documented),
--    so a policy from a nullable column needs coalesce.
SELECT health.weighted_score('{80,40}', '{1,1}', NULL) IS NULL AS null_policy_gives_null,
       health.weighted_score('{80,40}', '{1,1}', coalesce(NULL, 'renormalize')) AS with_coalesce;
\set VERBOSITY terse

-- 7. 'renormalise' is the same policy as 'renormalize'.
SELECT health.weighted_score('{80,NULL,40}', '{30,25,45}', 'renormalise') AS british,
       health.weighted_score('{80,NULL,40}', '{30,25,45}', 'renormalize') AS american;

-- A second first try (of 0.3.0): what would have shipped a wrong dashboard.
-- 8. A score history aggregated without GROUP BY: every account's rows at
--    the same moments in one group. Two rows of one series at one moment
--    are an error naming the moment, with the GROUP BY the query lacks, for
--    every series aggregate; grouped, the same rows answer.
CREATE TEMP TABLE first_history AS
SELECT a AS account_id, '2026-09-01 00:00+00'::timestamptz + m * interval '1 month' AS scored_at,
       40 + (a * 7 + m * 13) % 60 AS score, CASE WHEN (a * 7 + m * 13) % 60 < 30 THEN 'at_risk' ELSE 'healthy' END AS tier
FROM generate_series(1, 50) a, generate_series(0, 2) m;
\set VERBOSITY default
SELECT health.trend(scored_at, score) FROM first_history;
SELECT health.tier_changes(scored_at, score, tier) FROM first_history;
SELECT health.sparkline(scored_at, score) FROM first_history;
\set VERBOSITY terse
SELECT count(*) AS accounts, sum(health.n(t)) AS points, count(DISTINCT s) AS sparklines, sum(jsonb_array_length(e)) AS events
FROM (SELECT health.trend(scored_at, score) AS t, health.sparkline(scored_at, score) AS s,
             health.tier_changes(scored_at, score, tier) AS e
      FROM first_history GROUP BY account_id) g;

-- 9. Learning on four folds of five, as for a held-out check, with the
--    default cross-validation of five folds: the empty fold is refused, not
--    averaged away; with cross-validation off, or another number of folds,
--    it learns.
CREATE TEMP TABLE first_churn AS
SELECT a::text AS account, jsonb_build_object('usage', (a * 37) % 100, 'tickets', (a * 11) % 9) AS metrics,
       ((a * 37) % 100 < 30 AND a % 3 <> 0) OR (a * 11) % 9 > 6 AS churned
FROM generate_series(1, 2000) a;
\set VERBOSITY default
SELECT health.fit_model(account, metrics, churned) FROM first_churn WHERE health.fold(account, 5) <> 5;
\set VERBOSITY terse
SELECT (m::text::jsonb -> 'fit' -> 'cross_validation') IS NULL OR (m::text::jsonb -> 'fit' ->> 'cross_validation') IS NULL AS no_cross_validation
FROM (SELECT health.fit_model(account, metrics, churned, '{"folds": 0}') AS m FROM first_churn WHERE health.fold(account, 5) <> 5) x;
SELECT jsonb_array_length(m::text::jsonb -> 'fit' -> 'cross_validation' -> 'auc_by_fold') AS folds,
       (SELECT bool_and(jsonb_typeof(f) = 'number') FROM jsonb_array_elements(m::text::jsonb -> 'fit' -> 'cross_validation' -> 'auc_by_fold') f) AS every_fold_scored
FROM (SELECT health.fit_model(account, metrics, churned, '{"folds": 4}') AS m FROM first_churn WHERE health.fold(account, 5) <> 5) x;

-- 10. A metric that arrives as a JSON string: the error quotes the value
--     (in 5 000 rows the row can then be found) and, when it is a number
--     written as a string, says how to build the JSON from a number.
\set VERBOSITY default
SELECT health.evaluate(model, jsonb_build_object('frequency', 2, 'nps', '40')) FROM first_models;
SELECT health.evaluate(model, '{"frequency": 2, "nps": "n/a"}'::jsonb) FROM first_models;

-- 11. A raw metric where a sub-score belongs: the hint names the scale_*
--     functions (every one of them) as well as the argument order.
SELECT health.weighted_score(ARRAY[144, 25], '{50,50}');
\set VERBOSITY terse
CREATE FUNCTION pg_temp.error_hint(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hint text;
BEGIN
    EXECUTE query;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN hint;
END
$$;
SELECT count(DISTINCT p.proname) AS scale_functions, bool_and(position(p.proname || ',' IN h.hint || ',') > 0
                                                              OR position(p.proname || ')' IN h.hint) > 0) AS all_named
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'health',
     (SELECT pg_temp.error_hint($$SELECT health.weighted_score(ARRAY[144, 25], '{50,50}')$$) AS hint) h
WHERE p.proname LIKE 'scale\_%';

-- 12. A misspelt model name scores nobody: an error naming the closest name
--     in the catalogue read (health.models or the caller's own), not a NULL
--     model and 0 scores of 5 000. A name whose versions all take effect
--     later is an error too, saying when the first does; model_for_or_null
--     answers NULL for such a moment (and still refuses a misspelt name).
INSERT INTO my_models SELECT 'analytics_health', 'v1', '2026-01-01 00:00+00', model FROM first_models;
\set VERBOSITY default
SELECT count(health.evaluate(health.model_for('analytics_helth', now(), 'my_models'), '{"frequency": 2, "nps": 100}'::jsonb))
FROM generate_series(1, 5000);
SET TIME ZONE 'UTC';
SELECT health.model_for('analytics_health', '2025-06-01 00:00+00', 'my_models');
SELECT health.model_for_or_null('analytics_helth', '2025-06-01 00:00+00', 'my_models');
RESET TIME ZONE;
\set VERBOSITY terse
SELECT count(health.evaluate(health.model_for('analytics_health', now(), 'my_models'), '{"frequency": 2, "nps": 100}'::jsonb)) AS scored,
       health.model_for_or_null('analytics_health', '2025-06-01', 'my_models') IS NULL AS before_its_first_version,
       health.model_for_or_null('analytics_health', now(), 'my_models') OPERATOR(health.=) health.model_for('analytics_health', now(), 'my_models')
           AS same_model_when_in_force
FROM generate_series(1, 5000);

-- 14. A misspelt segment gives a NULL profile, and 'renormalize' scores the
--     account on its other metric alone (80, from a 20 and an 80). The
--     coverage beside it shows it (0.3 of the weight); missing => 'error'
--     refuses, naming the element (22004), and so does a model's "missing".
CREATE TEMP TABLE segment_accounts AS
SELECT a AS account_id, CASE WHEN a % 2 = 0 THEN 'Enterprise' ELSE 'SMB' END AS segment, (a * 37) % 50 AS logins
FROM generate_series(1, 200) a;
SELECT health.weighted_score(ARRAY[health.scale_profile(20, (SELECT health.profile(logins) FROM segment_accounts WHERE segment = 'Enterprize')), 80],
                             '{70,30}') AS silently_80,
       health.coverage(ARRAY[health.scale_profile(20, (SELECT health.profile(logins) FROM segment_accounts WHERE segment = 'Enterprize')), 80],
                       '{70,30}') AS coverage,
       round(health.weighted_score(ARRAY[health.scale_profile(20, (SELECT health.profile(logins) FROM segment_accounts WHERE segment = 'Enterprise')), 80],
                                   '{70,30}', 'error')::numeric, 2) AS with_the_right_segment,
       -- by hand: the share of the 100 Enterprise accounts at or below 20 logins
       round((0.7 * 100.0 * (SELECT count(*) FILTER (WHERE logins <= 20) FROM segment_accounts WHERE segment = 'Enterprise') / 100 + 0.3 * 80)::numeric, 2)
           AS by_hand;
\set VERBOSITY default
SELECT health.weighted_score(ARRAY[health.scale_profile(20, (SELECT health.profile(logins) FROM segment_accounts WHERE segment = 'Enterprize')), 80],
                             '{70,30}', missing => 'error');
SELECT health.evaluate(jsonb_set(model::text::jsonb, '{missing}', '"error"')::health.model, '{"frequency": 2, "nps": null}'::jsonb)
FROM first_models;
SELECT health.score(health.scorecard(m, s, 1), 'error') FROM (VALUES ('logins', 50), ('nps', NULL)) v(m, s);
\set VERBOSITY terse

-- 15. A catalogue row and its document name one version: a document
--     without one takes the row's, a relabelled row is refused (23514),
--     and relabelling both works.
INSERT INTO health.models VALUES ('first_attempt', 'v2', '2026-01-01 00:00+00', (SELECT model FROM first_models));
SELECT version, health.explain(health.model_for('first_attempt'), '{"frequency": 2, "nps": 100}'::jsonb) ->> 'version' AS explained
FROM health.models WHERE name = 'first_attempt';
\set VERBOSITY default
UPDATE health.models SET version = 'v2.1' WHERE name = 'first_attempt';
\set VERBOSITY terse
INSERT INTO health.models VALUES ('first_attempt', 'v3', '2026-02-01 00:00+00',
    jsonb_set((SELECT model FROM first_models)::text::jsonb, '{version}', '"v1"')::health.model);
UPDATE health.models SET version = 'v2.1', model = jsonb_set(model::text::jsonb, '{version}', '"v2.1"')::health.model
WHERE name = 'first_attempt';
SELECT version, health.explain(health.model_for('first_attempt'), '{"frequency": 2, "nps": 100}'::jsonb) ->> 'version' AS explained
FROM health.models WHERE name = 'first_attempt';
DELETE FROM health.models WHERE name = 'first_attempt';

-- 16. DISTINCT, GROUP BY and UNION over stored values: equal when stored
--     the same, for every stored type (copies 1 and 2 are built from the
--     same 40 rows, copy 3 from 39 of them: two distinct values each);
--     <> is its negation.
WITH built AS (
    SELECT copy, health.profile(x) AS p, health.scorecard('m' || x, x, 1) AS card,
           health.trend('2026-01-01 00:00+00'::timestamptz + x * interval '1 day', x) AS t,
           health.responses((x % 11)::int) AS r, health.outcomes(x, x % 4 = 0) AS o,
           health.fit_rows(ARRAY[x::float8], x % 4 = 0) AS f
    FROM generate_series(1, 3) copy, generate_series(1, 40) x
    WHERE copy < 3 OR x < 40
    GROUP BY copy
)
SELECT (SELECT count(*) FROM (SELECT DISTINCT p FROM built) d) AS profiles,
       (SELECT count(*) FROM (SELECT card FROM built GROUP BY card) d) AS scorecards,
       (SELECT count(*) FROM (SELECT t FROM built UNION SELECT t FROM built) d) AS trends,
       (SELECT count(DISTINCT r::text) FROM built) AS responses_by_text,
       (SELECT count(*) FROM (SELECT DISTINCT r FROM built) d) AS responses,
       (SELECT count(*) FROM (SELECT DISTINCT o FROM built) d) AS outcomes,
       (SELECT count(*) FROM (SELECT DISTINCT f FROM built) d) AS fit_rows,
       (SELECT count(*) FROM (SELECT model FROM first_models UNION SELECT model FROM first_models) d) AS models,
       (SELECT bool_and((a.p OPERATOR(health.=) b.p) = same AND (a.p OPERATOR(health.<>) b.p) = NOT same)
        FROM built a, built b, LATERAL (SELECT a.copy = b.copy OR (a.copy < 3 AND b.copy < 3)) s(same)) AS equality_as_expected;

-- 17. A new analyst role: since PostgreSQL 15 nobody may create in public,
--     so the first CREATE TABLE fails; a schema of their own, as
--     docs/administration.md tells the DBA, and it works (last: a new
--     connection ends this session's temporary tables).
\c - postgres
CREATE ROLE ch_new_analyst LOGIN;
\c - ch_new_analyst
CREATE TABLE my_scores AS SELECT health.weighted_score('{80,40}', '{1,1}') AS score;
\c - postgres
CREATE SCHEMA ch_new_analyst AUTHORIZATION ch_new_analyst;
\c - ch_new_analyst
CREATE TABLE my_scores AS SELECT health.weighted_score('{80,40}', '{1,1}') AS score;
SELECT schemaname, tablename FROM pg_tables WHERE tablename = 'my_scores';
\c - postgres
DROP SCHEMA ch_new_analyst CASCADE;
DROP ROLE ch_new_analyst;

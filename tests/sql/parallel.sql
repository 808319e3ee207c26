-- Every aggregate gives the same answer in a forced-parallel plan as in a
-- serial one, on 250 000 rows (25 000 accounts x 10 metrics).
CREATE TABLE par_metrics AS
SELECT a AS account, 'metric_' || m AS metric,
       CASE WHEN (a * 7 + m) % 13 = 0 THEN NULL ELSE ((a * 37 + m * 101) % 1001) / 10.0 END::float8 AS score,
       (m + 1)::float8 AS weight
FROM generate_series(1, 25000) AS a, generate_series(0, 9) AS m;
ANALYZE par_metrics;

-- Does this plan aggregate in parallel workers?
CREATE FUNCTION plan_is_parallel(query text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text; found boolean := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line LIKE '%Partial%Aggregate%' THEN found := true; END IF;
    END LOOP;
    RETURN found;
END $$;

-- The queries, each written so that its result is one comparable row.
CREATE TEMP TABLE par_queries(name text, query text);
INSERT INTO par_queries VALUES
 ('score_agg, one group',
  $$SELECT health.score_agg(score, weight)::text FROM par_metrics$$),
 ('score_agg, per account',
  $$SELECT md5(string_agg(account || ':' || round(s::numeric, 9), ',' ORDER BY account)) FROM (SELECT account, health.score_agg(score, weight) AS s FROM par_metrics GROUP BY account) x$$),
 ('scorecard, one group of distinct metrics',
  $$SELECT health.scorecard(metric || '/' || account, score, weight)::text FROM par_metrics$$),
 ('scorecard, per account',
  $$SELECT md5(string_agg(account || ':' || sc::text, ',' ORDER BY account)) FROM (SELECT account, health.scorecard(metric, score, weight) AS sc FROM par_metrics GROUP BY account) x$$),
 ('rollup of stored scorecards',
  $$SELECT health.rollup(sc)::text FROM par_cards$$);

CREATE TABLE par_cards AS
SELECT account, health.scorecard(metric, score, weight) AS sc FROM par_metrics GROUP BY account;
ANALYZE par_cards;

-- fit_model reads one row per account: its metrics as one jsonb object.
CREATE TABLE par_wide AS
SELECT account, jsonb_object_agg(metric, score) AS metrics,
       (account * 13 + coalesce(sum(score) FILTER (WHERE metric IN ('metric_1', 'metric_2')), 0)::int) % 7 < 2 AS churned
FROM par_metrics GROUP BY account;
ANALYZE par_wide;

-- Profiles: the sketch must be identical; moments may differ in the last bits
-- with the merge order, so they are compared to 9 decimals.
CREATE FUNCTION profile_digest(p health.profile) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5((p::text::jsonb -> 'buckets')::text) || ' n=' || health.profile_count(p)
        || ' mean=' || round(health.profile_mean(p)::numeric, 9) || ' sd=' || round(health.profile_stddev(p)::numeric, 9)
$$;
CREATE TABLE par_profiles AS
SELECT account % 500 AS part, metric, health.profile(score) AS p FROM par_metrics GROUP BY 1, 2;
ANALYZE par_profiles;
INSERT INTO par_queries VALUES
 ('profile, one group',
  $$SELECT profile_digest(health.profile(score)) FROM par_metrics$$),
 ('profile, per metric',
  $$SELECT string_agg(metric || ' ' || profile_digest(p), ', ' ORDER BY metric) FROM (SELECT metric, health.profile(score) AS p FROM par_metrics GROUP BY metric) x$$),
 ('rollup of stored profiles',
  $$SELECT string_agg(metric || ' ' || profile_digest(p), ', ' ORDER BY metric) FROM (SELECT metric, health.rollup(p) AS p FROM par_profiles GROUP BY metric) x$$);

-- Signals (docs/reference.md §4) over the same rows: ratings, points and score series
-- derived from account, metric and score.
INSERT INTO par_queries VALUES
 ('nps and nps_breakdown, per metric',
  $$SELECT string_agg(metric || '=' || n || ' ' || b::text, ', ' ORDER BY metric) FROM (SELECT metric, health.nps(score::int % 11) AS n, health.nps_breakdown(score::int % 11) AS b FROM par_metrics GROUP BY metric) x$$),
 ('responses per metric: the value, nps, breakdown and csat',
  $$SELECT md5(string_agg(metric || r::text || health.nps(n) || health.nps_breakdown(n)::text || health.csat(c, 7), ',' ORDER BY metric))
     FROM (SELECT metric, health.responses(score::int % 101) AS r, health.responses(score::int % 11) AS n, health.responses(score::int % 7 + 1) AS c
           FROM par_metrics GROUP BY metric) x$$),
 ('rollup of stored responses, per metric',
  $$SELECT md5(string_agg(metric || r::text || health.nps(r), ',' ORDER BY metric)) FROM (SELECT metric, health.rollup(r) AS r FROM par_responses GROUP BY metric) x$$),
 ('csat, per metric',
  $$SELECT string_agg(metric || '=' || c, ', ' ORDER BY metric) FROM (SELECT metric, health.csat(score::int % 7 + 1, 7) AS c FROM par_metrics GROUP BY metric) x$$),
 ('points, per metric',
  $$SELECT string_agg(metric || '=' || round(p::numeric, 9), ', ' ORDER BY metric) FROM (SELECT metric, health.points(score - 50, '2026-01-01'::timestamptz + account * interval '1 hour', '2029-01-01', '90 days') AS p FROM par_metrics GROUP BY metric) x$$),
 ('trend and its accessors, per account',
  $$SELECT md5(string_agg(account || ':' || t::text || health.decline_streak(t) || coalesce(round(health.slope(t)::numeric, 9)::text, '-'), ',' ORDER BY account)) FROM (SELECT account, health.trend('2026-01-01'::timestamptz + (ascii(right(metric, 1)) - 48) * interval '1 day', score) AS t FROM par_metrics GROUP BY account) x$$),
 ('sparkline, per account',
  $$SELECT md5(string_agg(account || ':' || s, ',' ORDER BY account)) FROM (SELECT account, health.sparkline('2026-01-01'::timestamptz + (ascii(right(metric, 1)) - 48) * interval '1 day', score) AS s FROM par_metrics GROUP BY account) x$$);

-- Validation (docs/reference.md §7): churn derived from account and score.
INSERT INTO par_queries VALUES
 ('auc, lift, calibration, brier',
  $$SELECT round(health.auc(score, (account * 7 + score::int) % 5 = 0)::numeric, 12) || ' ' || round(health.lift(score, (account * 7 + score::int) % 5 = 0, 0.2)::numeric, 12)
          || ' ' || md5(health.calibration(score, (account * 7 + score::int) % 5 = 0)::text) || ' ' || round(health.brier(score / 100, account % 3 = 0)::numeric, 12) FROM par_metrics$$),
 ('outcomes, one group: the stored value, to the bit',
  $$SELECT md5(health.outcomes(score, (account * 7 + score::int) % 5 = 0)::text) FROM par_metrics$$),
 ('rollup of stored outcomes, per metric: the value and its auc and lift',
  $$SELECT md5(string_agg(metric || md5(o::text) || round(health.auc(o)::numeric, 12) || '/' || round(health.lift(o, 0.2)::numeric, 12), ',' ORDER BY metric))
     FROM (SELECT metric, health.rollup(o) AS o FROM par_outcomes GROUP BY metric) x$$),
 ('fit_rows, one group, fitted: coefficients and rows',
  $$SELECT round(((f -> 'coefficients' ->> 0)::float8)::numeric, 8) || ' ' || round(((f -> 'coefficients' ->> 1)::float8)::numeric, 8) || ' ' || (f ->> 'rows')
     FROM (SELECT health.fit_weights(health.fit_rows(ARRAY[coalesce(score, 50), weight], (account * 13 + coalesce(score, 0)::int) % 7 < 2)) AS f FROM par_metrics) x$$),
 ('rollup of stored fit rows, fitted',
  $$SELECT round(((f -> 'coefficients' ->> 0)::float8)::numeric, 8) || ' ' || round(((f -> 'coefficients' ->> 1)::float8)::numeric, 8) || ' ' || (f ->> 'rows')
     FROM (SELECT health.fit_weights(health.rollup(r)) AS f FROM par_fit_rows) x$$),
 ('fit_weights',
  $$SELECT round(((f -> 'coefficients' ->> 0)::float8)::numeric, 8) || ' ' || round(((f -> 'coefficients' ->> 1)::float8)::numeric, 8) || ' ' || (f ->> 'rows')
     FROM (SELECT health.fit_weights(ARRAY[coalesce(score, 50), weight], (account * 13 + coalesce(score, 0)::int) % 7 < 2) AS f FROM par_metrics) x$$),
 ('fit_model: the whole model, to the bit, with 3-fold cross-validation',
  $$SELECT md5(health.fit_model(account::text, metrics, churned, '{"folds": 3, "l2": 0.01}')::text) FROM par_wide$$),
 ('tier_changes per account, with drops and disappearance',
  $$SELECT md5(string_agg(account || ':' || e::text, ',' ORDER BY account)) FROM (SELECT account, health.tier_changes(timestamptz '2026-01-01' + (substr(metric, 8) || ' days')::interval, score, health.tier(coalesce(score, 50)), '2026-02-01', 10, '5 days') AS e FROM par_metrics GROUP BY account) x$$),
 ('fit_weights, named, NULL scores skipped or neutral',
  $$SELECT string_agg(round(((f -> 'weights_by_name' ->> 'score')::float8)::numeric, 8) || ' ' || (f ->> 'rows') || ' ' || (f ->> 'rows_skipped') || ' ' || (f ->> 'values_imputed'), ' | ' ORDER BY p)
     FROM (SELECT p, health.fit_weights(ARRAY[score, weight], (account * 13 + coalesce(score, 0)::int) % 7 < 2, 1, '{score,weight}', p) AS f
           FROM par_metrics, unnest('{skip,neutral}'::text[]) p GROUP BY p) x$$);

-- Stored regression rows of 500 parts, for rollup.
CREATE TABLE par_fit_rows AS
SELECT account % 500 AS part, health.fit_rows(ARRAY[coalesce(score, 50), weight], (account * 13 + coalesce(score, 0)::int) % 7 < 2) AS r
FROM par_metrics GROUP BY 1;
ANALYZE par_fit_rows;

-- Stored NPS answers of 500 parts per metric, for rollup.
CREATE TABLE par_responses AS
SELECT account % 500 AS part, metric, health.responses(score::int % 11) AS r FROM par_metrics GROUP BY 1, 2;
ANALYZE par_responses;

-- Stored outcomes of 500 parts per metric, for rollup.
CREATE TABLE par_outcomes AS
SELECT account % 500 AS part, metric, health.outcomes(score, (account * 7 + score::int) % 5 = 0) AS o
FROM par_metrics GROUP BY 1, 2;
ANALYZE par_outcomes;

-- Runs every query of par_queries: is its plan parallel, and what does it answer?
CREATE FUNCTION run_par_queries() RETURNS TABLE (name text, parallel boolean, answer text)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM par_queries LOOP
        name := r.name;
        parallel := plan_is_parallel(r.query);
        EXECUTE r.query INTO answer;
        RETURN NEXT;
    END LOOP;
END $$;

-- serial answers
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_answers AS SELECT * FROM run_par_queries();

-- forced-parallel answers
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
-- A serial HashAggregate over 25 000 small groups is cheap enough that the
-- planner skips partial aggregation even at zero parallel cost; sorted
-- grouping makes it split every query across the workers.
SET enable_hashagg = off;
CREATE TEMP TABLE parallel_answers AS SELECT * FROM run_par_queries();

SELECT s.name, s.parallel AS serial_plan_parallel, p.parallel AS forced_plan_parallel,
       s.answer = p.answer AS same_answer, length(s.answer) > 0 AS answered
FROM serial_answers s JOIN parallel_answers p USING (name) ORDER BY s.name;

-- the plan shape, for the record
EXPLAIN (COSTS OFF) SELECT account, health.scorecard(metric, score, weight) FROM par_metrics GROUP BY account;

-- and the answers are right: every account against the hand-written weighted mean
RESET ALL;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE abs(agg - hand) > 1e-9) AS score_agg_mismatches,
       count(*) FILTER (WHERE abs(card - hand) > 1e-9) AS scorecard_mismatches
FROM (SELECT account,
             health.score_agg(score, weight) AS agg,
             health.score(health.scorecard(metric, score, weight)) AS card,
             sum(score * weight) / sum(weight) FILTER (WHERE score IS NOT NULL) AS hand
      FROM par_metrics GROUP BY account) x;

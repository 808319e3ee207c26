-- Scoring models as data (docs/reference.md §6): health.model, evaluate, explain,
-- tier(score, model), the worst-of tier(model, metrics), the catalogue
-- health.models with model_for, and profiles referenced by name.

-- A model with every normaliser of docs/reference.md §1, a critical metric and tiers.
CREATE TABLE models_here (name text PRIMARY KEY, model health.model);
INSERT INTO models_here VALUES ('mature', '{
  "name": "mature", "version": "2026-Q4", "missing": "renormalize", "min_coverage": 0.5,
  "metrics": [
    {"name": "nps_rating",       "weight": 25, "scale": {"method": "bands", "cutoffs": [6, 8], "scores": [0, 60, 100]}},
    {"name": "active_days_30d",  "weight": 20, "scale": {"method": "target", "target": 20}, "critical_floor": 25},
    {"name": "feature_adoption", "weight": 15, "scale": {"method": "piecewise", "knots": [0, 20, 50, 80], "scores": [0, 50, 80, 100]}},
    {"name": "open_tickets",     "weight": 10, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 8}},
    {"name": "logins_30d",       "weight": 10, "scale": {"method": "log", "lo": 0, "hi": 400}},
    {"name": "csat",             "weight": 10, "scale": {"method": "zscore", "mean": 80, "stddev": 10}},
    {"name": "seats_used_pct",   "weight": 10, "scale": {"method": "linear", "lo": 0, "hi": 100, "out_of_range": "null"}}
  ],
  "tiers": {"cutoffs": [40, 70], "labels": ["at_risk", "neutral", "healthy"]},
  "critical_tier": "at_risk"}');

-- The stored text is canonical: every field, defaults written out, one line.
SELECT model FROM models_here;
-- text -> model -> text is unchanged.
SELECT model::text::health.model::text = model::text AS round_trip FROM models_here;
-- The metric order, which the positional form of evaluate expects.
SELECT health.model_metrics(model) FROM models_here;

-- evaluate (jsonb and positional) equals the hand-composed expression on
-- 100 000 generated accounts, with missing values.
CREATE TABLE model_accounts AS
SELECT a AS account_id,
       CASE WHEN a % 7 = 0 THEN NULL ELSE (a * 7) % 11 END::float8 AS nps_rating,
       ((a * 13) % 31)::float8 AS active_days_30d,
       ((a * 17) % 101)::float8 AS feature_adoption,
       CASE WHEN a % 5 = 0 THEN NULL ELSE (a * 19) % 12 END::float8 AS open_tickets,
       ((a * 23) % 600)::float8 AS logins_30d,
       (50 + (a * 29) % 50)::float8 AS csat,
       ((a * 31) % 130)::float8 AS seats_used_pct
FROM generate_series(1, 100000) a;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE by_json IS NOT DISTINCT FROM hand) AS jsonb_equal,
       count(*) FILTER (WHERE by_array IS NOT DISTINCT FROM hand) AS array_equal,
       count(*) FILTER (WHERE hand IS NULL) AS below_min_coverage
FROM (SELECT health.evaluate(m.model, jsonb_build_object(
                 'nps_rating', nps_rating, 'active_days_30d', active_days_30d, 'feature_adoption', feature_adoption,
                 'open_tickets', open_tickets, 'logins_30d', logins_30d, 'csat', csat, 'seats_used_pct', seats_used_pct)) AS by_json,
             health.evaluate(m.model, ARRAY[nps_rating, active_days_30d, feature_adoption, open_tickets, logins_30d, csat, seats_used_pct]) AS by_array,
             health.weighted_score(ARRAY[
                 health.scale_bands(nps_rating, '{6,8}', '{0,60,100}'),
                 health.scale_target(active_days_30d, 20),
                 health.scale_piecewise(feature_adoption, '{0,20,50,80}', '{0,50,80,100}'),
                 health.scale_linear(open_tickets, 0, 8, higher_is_better => false),
                 health.scale_log(logins_30d, 0, 400),
                 health.scale_zscore(csat, 80, 10),
                 health.scale_linear(seats_used_pct, 0, 100, out_of_range => 'null')],
                 '{25,20,15,10,10,10,10}', min_coverage => 0.5) AS hand
      FROM model_accounts, models_here m) x;

-- explain: score, coverage, tier, the critical metrics and the contributions;
-- the points add up to the score.
SELECT jsonb_pretty(health.explain(model, '{"nps_rating": 9, "active_days_30d": 4, "feature_adoption": 60, "open_tickets": 1, "csat": 90}'::jsonb))
FROM models_here;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE abs((e->>'score')::float8 - (SELECT sum((c->>'points')::float8) FROM jsonb_array_elements(e->'contributions') c)) < 1e-9) AS points_add_up,
       count(*) FILTER (WHERE (e->>'score')::float8 = health.evaluate(m.model, ARRAY[nps_rating, active_days_30d, feature_adoption, open_tickets, logins_30d, csat, seats_used_pct])) AS same_as_evaluate
FROM model_accounts, models_here m,
     LATERAL (SELECT health.explain(m.model, to_jsonb(model_accounts) - 'account_id') AS e) x
WHERE account_id <= 10000 AND e->>'score' IS NOT NULL;

-- The docs/reference.md §3 call with literal cutoffs still resolves to the cutoffs form
-- (the model form takes the model first, so the literal is not ambiguous).
SELECT health.tier(50, '{40,70}') AS cutoffs_form;
-- Tiers: the model's scheme, and the worst-of rule. Account values below give
-- a high score, but active_days_30d = 4 scores 20 < its critical floor 25.
SELECT health.tier(model, 75) AS tier_75, health.tier(model, 40) AS tier_40,
       health.evaluate(model, v) AS score, health.tier(model, v) AS worst_of_tier
FROM models_here, (SELECT '{"nps_rating": 10, "active_days_30d": 4, "feature_adoption": 90, "open_tickets": 0, "logins_30d": 300, "csat": 95, "seats_used_pct": 90}'::jsonb AS v) x;
SELECT health.tier('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "target", "target": 1}}], "tiers": {"scheme": "color"}}', s) AS color,
       health.tier('{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "target", "target": 1}}], "tiers": {"scheme": "grade"}}', s) AS grade
FROM unnest(ARRAY[40, 70.5, 90]::float8[]) s;

-- Every validation problem is reported at once, with its JSON path.
SELECT e FROM (VALUES
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 10, "hi": 5}}]}'::health.model$$)),
  (sql_error($$SELECT '{"missing": "drop", "min_coverage": 2, "metrics": [{"name": "a", "weight": -1, "scale": {"method": "target", "target": 0}}, {"name": "a", "weight": 1, "scale": {"method": "bands", "cutoffs": [2, 1], "scores": [0, 50, 100]}}], "tiers": {"labels": ["low", "high"]}}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weigth": 1, "scale": {"method": "target", "target": "20"}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "cubic"}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "piecewise", "knots": [0], "scores": [0]}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "zscore", "mean": 1, "stddev": 0}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 1, "out_of_range": "drop"}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "profile", "by": "rank"}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 0, "scale": {"method": "target", "target": 1}}]}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": []}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "critical_floor": 120, "scale": {"method": "target", "target": 1}}], "critical_tier": "red"}'::health.model$$)),
  (sql_error($$SELECT '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "target", "target": 1}}], "tiers": {"scheme": "stars"}}'::health.model$$)),
  (sql_error($$SELECT 'not json'::health.model$$))
) t(e);
-- ... and bad input to evaluate:
SELECT e FROM (VALUES
  (sql_error($$SELECT health.evaluate(model, '{"nps_rating": "nine"}'::jsonb) FROM models_here$$)),
  (sql_error($$SELECT health.evaluate(model, '[1, 2]'::jsonb) FROM models_here$$)),
  (sql_error($$SELECT health.evaluate(model, ARRAY[1, 2]::float8[]) FROM models_here$$)),
  (sql_error($$SELECT health.evaluate(model, '{"logins_30d": -1}'::jsonb) FROM models_here$$))
) t(e);

-- The catalogue: versions take effect at effective_from; model_for(name, at)
-- returns the one in force (the boundary belongs to the new version);
-- model_for_or_null answers NULL before the first (model_for: an error).
INSERT INTO health.models VALUES
  ('mature', 'v1', '2026-01-01 00:00+00', '{"version": "v1", "metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'),
  ('mature', 'v2', '2026-07-01 00:00+00', '{"version": "v2", "metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 20}}]}'),
  ('onboarding', 'v1', '2026-01-01 00:00+00', '{"version": "v1", "metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 5}}]}');
SELECT at AT TIME ZONE 'UTC' AS at_utc, health.model_for_or_null('mature', at)::text::jsonb ->> 'version' AS version_in_force,
       health.evaluate(health.model_for_or_null('mature', at), '{"logins_30d": 5}'::jsonb) AS score_of_5_logins
FROM unnest(ARRAY['2025-12-31 23:59:59.999999+00', '2026-01-01 00:00+00', '2026-06-30 23:59:59.999999+00',
                  '2026-07-01 00:00+00', '2027-01-01 00:00+00']::timestamptz[]) at;
SELECT sql_error($$SELECT health.model_for('no such model')$$) AS unknown_model,
       sql_error($$SELECT health.model_for('mature', '2025-12-31 23:59:59.999999+00')$$) AS before_the_first_version;

-- Per-segment models are rows with different names: JOIN on the segment.
CREATE TABLE lifecycle_accounts (account_id int, lifecycle text, logins_30d float8);
INSERT INTO lifecycle_accounts VALUES (1, 'onboarding', 4), (2, 'mature', 4), (3, 'mature', 15);
SELECT a.account_id, a.lifecycle, health.evaluate(m.model, jsonb_build_object('logins_30d', a.logins_30d)) AS score
FROM lifecycle_accounts a
JOIN LATERAL (SELECT health.model_for(a.lifecycle, '2026-11-01') AS model) m ON true
ORDER BY a.account_id;

-- A metric can reference a stored profile by name: model_for resolves it from
-- health.profiles (or call health.resolve_profiles(model) yourself).
INSERT INTO health.profiles (name, profile)
SELECT 'all/logins_30d', health.profile(logins_30d) FROM model_accounts;
INSERT INTO health.models VALUES ('relative', 'v1', '2026-01-01 00:00+00',
  '{"metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "all/logins_30d"}}]}');
SELECT sql_error($$SELECT health.evaluate(model, '{"logins_30d": 300}'::jsonb) FROM health.models WHERE name = 'relative'$$) AS unresolved;
-- (The profile holds every distinct value, so the score is the exact share
-- of accounts at or below 300.)
SELECT health.evaluate(health.model_for('relative'), '{"logins_30d": 300}'::jsonb) AS score_of_300,
       (SELECT 100.0 * count(*) FILTER (WHERE logins_30d <= 300) / count(*) FROM model_accounts) AS exact_percentile;

-- A catalogue of the team's own: model_for(name, at, models [, profiles])
-- reads any table with the columns of health.models (and of
-- health.profiles), with the caller's privileges; profiles come from
-- health.profiles unless a profiles table is named. In one statement each
-- table gives its own model.
CREATE TABLE team_models (LIKE health.models INCLUDING ALL);
CREATE TABLE team_profiles (LIKE health.profiles INCLUDING ALL);
INSERT INTO team_profiles (name, effective_from, profile)
SELECT 'logins', '2026-03-01 00:00+00', health.profile(x) FROM generate_series(1, 200) x;
INSERT INTO team_models VALUES
  ('mature', 'team-v1', '2026-01-01 00:00+00', '{"metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 40}}]}'),
  ('relative', 'team-v1', '2026-01-01 00:00+00', '{"metrics": [{"name": "logins_30d", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "logins"}}]}');
-- 10 logins: 10/20 under health.models' mature v2, 10/40 under the team's;
-- 50 of the values 1..200 are at or below 50.
SELECT health.evaluate(health.model_for('mature', '2026-11-01'), '{"logins_30d": 10}'::jsonb) AS extension_catalogue,
       health.evaluate(health.model_for('mature', '2026-11-01', 'team_models'), '{"logins_30d": 10}'::jsonb) AS team_catalogue,
       health.evaluate(health.model_for('relative', '2026-11-01', 'team_models', 'team_profiles'), '{"logins_30d": 50}'::jsonb) AS team_profiles,
       health.model_for_or_null('mature', '2025-06-01', 'team_models') IS NULL AS none_in_force_then;
SELECT i, c AS catalogue, health.evaluate(health.model_for('mature', '2026-11-01', c), '{"logins_30d": 10}'::jsonb) AS score
FROM unnest(ARRAY['health.models', 'team_models', 'health.models', 'team_models']::regclass[]) WITH ORDINALITY t(c, i);
-- A table that is not a catalogue, a profile the named table lacks, or has
-- no version of in force at the moment asked.
CREATE TABLE not_a_catalogue (name text, model jsonb);
SELECT e AS catalogue_errors FROM (VALUES
  (sql_error($$SELECT health.model_for('mature', now(), 'not_a_catalogue')$$)),
  (sql_error($$SELECT health.model_for('relative', now(), 'team_models')$$)),
  (sql_error($$SELECT health.model_for('relative', now(), 'team_models', 'not_a_catalogue')$$)),
  (sql_error($$SELECT health.model_for('relative', '2026-02-01', 'team_models', 'team_profiles')$$))
) t(e);

-- Weights by name: with_weights(model, weights) replaces the weights the
-- object names and keeps the others (fit_weights' weights_by_name fits it).
SELECT jsonb_path_query_array(health.with_weights(model, '{"nps_rating": 40, "csat": 0}')::text::jsonb, '$.metrics[*].weight') AS weights,
       health.with_weights(model, '{}')::text = model::text AS empty_object_changes_nothing
FROM models_here;
SELECT e AS with_weights_errors FROM (VALUES
  (sql_error($$SELECT health.with_weights(model, '{"nps": 40}') FROM models_here$$)),
  (sql_error($$SELECT health.with_weights(model, '{"csat": "ten"}') FROM models_here$$)),
  (sql_error($$SELECT health.with_weights(model, '{"csat": -1}') FROM models_here$$)),
  (sql_error($$SELECT health.with_weights(model, '[40, 20]') FROM models_here$$))
) t(e);

-- pg_dump keeps the catalogue and its history: the DBA dumps a database with
-- models and profiles and restores it into another one; the rows are the
-- same, and the restore adds no history of its own (the trigger sees that
-- the restored history already holds each row).
\! "$PG_BIN/psql" -U postgres -q -X -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ch_models_src" -c "DROP DATABASE IF EXISTS ch_models_dst" -c "CREATE DATABASE ch_models_src" -c "CREATE DATABASE ch_models_dst"
\! "$PG_BIN/psql" -U postgres -q -X -d ch_models_src -c "CREATE EXTENSION customer_health" -c "INSERT INTO health.models VALUES ('mature', 'v1', '2026-01-01', '{\"metrics\": [{\"name\": \"a\", \"weight\": 1, \"scale\": {\"method\": \"target\", \"target\": 5}}]}'), ('mature', 'v2', '2026-07-01', '{\"metrics\": [{\"name\": \"a\", \"weight\": 2, \"scale\": {\"method\": \"target\", \"target\": 9}}]}')" -c "INSERT INTO health.profiles (name, effective_from, profile) SELECT 'all/a', '2026-01-01', health.profile(x) FROM generate_series(1, 10) x" -c "UPDATE health.models SET version = 'v2.1', model = jsonb_set(model::text::jsonb, '{version}', '\"v2.1\"')::health.model WHERE version = 'v2'" >/dev/null
\! "$PG_BIN/pg_dump" -U postgres ch_models_src | "$PG_BIN/psql" -U postgres -q -X -d ch_models_dst >/dev/null 2>&1
\! "$PG_BIN/psql" -U postgres -At -X -d ch_models_dst -c "SELECT 'models: ' || name || ' ' || version || ' ' || model::text FROM health.models UNION ALL SELECT 'profiles: ' || name || ' from ' || effective_from || ', ' || health.profile_count(profile) || ' values' FROM health.profiles UNION ALL SELECT 'history: #' || id || ' ' || operation || ' ' || catalogue || ' ' || name || ' ' || coalesce(old_row ->> 'version', '') || ' -> ' || coalesce(new_row ->> 'version', '') FROM health.catalogue_history ORDER BY 1" > /tmp/customer_health_restored_models.txt
CREATE TEMP TABLE restored(line text);
\copy restored FROM '/tmp/customer_health_restored_models.txt'
SELECT line AS restored_catalogue_row FROM restored;
\! "$PG_BIN/psql" -U postgres -q -X -d postgres -c "DROP DATABASE ch_models_src" -c "DROP DATABASE ch_models_dst"

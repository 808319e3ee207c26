-- Upgrading from 0.1.0 (what a DBA does, in its own database): install
-- 0.1.0 from its released script, use it, `ALTER EXTENSION customer_health
-- UPDATE`; every model, profile, stored value and view stays as it was, and
-- the extension's objects are then exactly those of a fresh install of the
-- current version. Then the same from every later release.
\set regress_db :DBNAME
\set analyst :USER
\set fixtures `grep -v '^#' "$CH_ROOT/tests/upgrade/written-by-0.1.0.txt"`
\set describe_extension `echo "$CH_ROOT/tests/upgrade/describe-extension.sql"`
\set release_in_use `echo "$CH_ROOT/tests/upgrade/release-in-use.sql"`
\set release_updated `echo "$CH_ROOT/tests/upgrade/release-updated.sql"`
\c postgres postgres
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ch_upgraded;
DROP DATABASE IF EXISTS ch_fresh;
CREATE DATABASE ch_upgraded;
CREATE DATABASE ch_fresh;
DROP DATABASE IF EXISTS ch_from_0_2_0;
CREATE DATABASE ch_from_0_2_0;
DROP DATABASE IF EXISTS ch_from_0_3_0;
CREATE DATABASE ch_from_0_3_0;

-- 0.1.0, installed from its released script (sql/customer_health--0.1.0.sql)
-- and served by today's library: every C function it declares still exists.
\c ch_upgraded postgres
CREATE EXTENSION customer_health VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'customer_health';

-- What a 0.1.0 user has: a profile and a model that references it, two model
-- versions, a table with a column of every health.* type, a materialized
-- view over the functions.
INSERT INTO health.profiles (name, profile)
SELECT 'all/logins', health.profile(x) FROM generate_series(0, 200) x;
INSERT INTO health.models VALUES
  ('default', 'v1', '2026-01-01 00:00+00',
   '{"metrics": [{"name": "logins", "weight": 2, "scale": {"method": "profile", "by": "percentile", "profile_name": "all/logins"}},
                 {"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'),
  ('default', 'v2', '2026-07-01 00:00+00',
   '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "target", "target": 150}},
                 {"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}');
CREATE TABLE account_state (account_id int PRIMARY KEY, card health.scorecard, population health.profile,
                            history health.trend, model health.model);
INSERT INTO account_state
SELECT a, (SELECT health.scorecard(m, s, w) FROM (VALUES ('logins', (a * 7) % 101, 3), ('nps', CASE WHEN a % 3 > 0 THEN (a * 13) % 101 END, 1),
                                                         ('tickets', (a * 29) % 101, 2)) v(m, s, w)),
       (SELECT health.profile(x) FROM generate_series(1, 50 * a) x),
       (SELECT health.trend(d, 80 - a * i) FROM generate_series(0, 4) i, LATERAL (SELECT '2026-01-01 00:00+00'::timestamptz + i * interval '1 month') t(d)),
       (SELECT model FROM health.models WHERE version = 'v2')
FROM generate_series(1, 5) a;
CREATE MATERIALIZED VIEW account_scores AS
SELECT a.account_id,
       health.score(a.card) AS score, health.tier(health.score(a.card)) AS tier, health.weakest(a.card, 2) AS weakest,
       health.contributions(a.card) AS contributions,
       health.percentile_rank(40, a.population) AS rank_of_40, health.quantile(a.population, 0.9) AS p90,
       health.quantile_tier(40, a.population, '{0.25,0.75}', '{low,mid,high}') AS quarter_of_40,
       health.slope(a.history) AS slope, health.direction(a.history) AS direction,
       health.evaluate(a.model, jsonb_build_object('logins', 30 * a.account_id, 'tickets', a.account_id)) AS model_score,
       health.evaluate(health.model_for('default', '2026-03-01 00:00+00'), jsonb_build_object('logins', 30 * a.account_id)) AS march_score,
       health.evaluate(health.model_for('default', '2026-09-01 00:00+00'), jsonb_build_object('logins', 30 * a.account_id)) AS september_score
FROM account_state a;
CREATE TABLE before_update AS
SELECT s.*, md5(a.card::text || a.population::text || a.history::text || a.model::text) AS text_forms,
       md5(health.scorecard_send(a.card) || health.profile_send(a.population) || health.trend_send(a.history)
           || health.model_send(a.model)) AS binary_forms
FROM account_scores s JOIN account_state a USING (account_id);
CREATE TABLE catalogue_before AS
SELECT 'models' AS catalogue, name || ' ' || version || ' ' || model::text AS line FROM health.models
UNION ALL SELECT 'profiles', name || ' ' || profile::text FROM health.profiles;

-- And values exactly as 0.1.0's own build wrote them, placed on disk as they
-- were (tests/upgrade/written-by-0.1.0.txt: the bytes, the text form and the
-- answers 0.1.0 gave). A binary-coercible cast from bytea puts the bytes in
-- a column of each type untouched; it is dropped again at once.
CREATE TABLE fixtures AS
SELECT split_part(line, '|', 1) AS type, decode(split_part(line, '|', 2), 'hex') AS bytes,
       split_part(line, '|', 3) AS text_form, split_part(line, '|', 4) AS answers
FROM regexp_split_to_table(:'fixtures', E'\n') line WHERE line <> '';
CREATE CAST (bytea AS health.scorecard) WITHOUT FUNCTION;
CREATE CAST (bytea AS health.profile) WITHOUT FUNCTION;
CREATE CAST (bytea AS health.trend) WITHOUT FUNCTION;
CREATE CAST (bytea AS health.model) WITHOUT FUNCTION;
CREATE TABLE written_by_0_1_0 AS
SELECT (SELECT bytes::health.scorecard FROM fixtures WHERE type = 'scorecard') AS card,
       (SELECT bytes::health.profile FROM fixtures WHERE type = 'profile') AS population,
       (SELECT bytes::health.trend FROM fixtures WHERE type = 'trend') AS history,
       (SELECT bytes::health.model FROM fixtures WHERE type = 'model') AS model;
DROP CAST (bytea AS health.scorecard);
DROP CAST (bytea AS health.profile);
DROP CAST (bytea AS health.trend);
DROP CAST (bytea AS health.model);
-- The same text forms and answers as 0.1.0's build, before the update...
CREATE VIEW answers_to_0_1_0_values AS
SELECT f.type, f.text_form = v.text_form AS same_text, f.answers = v.answers AS same_answers
FROM fixtures f JOIN (
    SELECT 'scorecard' AS type, card::text AS text_form,
           concat_ws(' ', health.score(card), health.coverage(card), health.weakest(card, 2)::text) AS answers
    FROM written_by_0_1_0
    UNION ALL
    SELECT 'profile', population::text, concat_ws(' ', health.percentile_rank(30, population), health.quantile(population, 0.9),
                                                   health.profile_count(population), health.profile_mean(population))
    FROM written_by_0_1_0
    UNION ALL
    SELECT 'trend', history::text, concat_ws(' ', health.slope(history), health.delta(history), health.direction(history),
                                             health.decline_streak(history))
    FROM written_by_0_1_0
    UNION ALL
    SELECT 'model', model::text, concat_ws(' ', health.evaluate(model, '{"logins": 12, "tickets": 3, "nps": 45}'::jsonb),
                                           health.tier(model, 55::float8))
    FROM written_by_0_1_0
) v USING (type);
SELECT * FROM answers_to_0_1_0_values ORDER BY type;

-- The update.
ALTER EXTENSION customer_health UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'customer_health';

-- ...and after it: the values 0.1.0 wrote still read the same.
SELECT * FROM answers_to_0_1_0_values ORDER BY type;
-- A profile 0.1.0 wrote (format 1) rolls up with one written today: the
-- result is in today's format and counts both.
SELECT health.profile_count(r) AS count, r::text::jsonb ? 'block_shift' AS current_format,
       round(health.percentile_rank(30, r)::numeric, 1) AS rank_of_30
FROM (SELECT health.rollup(p) AS r
      FROM (SELECT population FROM written_by_0_1_0 UNION ALL SELECT health.profile(x) FROM generate_series(1, 10) x) t(p)) u;

-- The catalogue keeps every row; the 0.1.0 profile becomes the version in
-- force since -infinity, so past scores come out as before.
SELECT count(*) AS catalogue_rows,
       count(*) FILTER (WHERE (catalogue, line) IN (SELECT 'models', name || ' ' || version || ' ' || model::text FROM health.models
                                                  UNION ALL SELECT 'profiles', name || ' ' || profile::text FROM health.profiles)) AS unchanged
FROM catalogue_before;
SELECT name, effective_from FROM health.profiles;

-- The materialized view answers the same, before and after a refresh, and
-- the stored values keep their text and binary forms.
SELECT count(*) AS rows_differing_before_refresh
FROM (SELECT * FROM account_scores EXCEPT SELECT account_id, score, tier, weakest, contributions, rank_of_40, p90, quarter_of_40,
                                               slope, direction, model_score, march_score, september_score FROM before_update) d;
REFRESH MATERIALIZED VIEW account_scores;
SELECT count(*) AS rows_differing_after_refresh
FROM (SELECT * FROM account_scores EXCEPT SELECT account_id, score, tier, weakest, contributions, rank_of_40, p90, quarter_of_40,
                                               slope, direction, model_score, march_score, september_score FROM before_update) d;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE b.text_forms = md5(a.card::text || a.population::text || a.history::text || a.model::text)) AS same_text_forms,
       count(*) FILTER (WHERE b.binary_forms = md5(health.scorecard_send(a.card) || health.profile_send(a.population)
                                                   || health.trend_send(a.history) || health.model_send(a.model))) AS same_binary_forms
FROM account_state a JOIN before_update b USING (account_id);

-- What 0.2.0 adds works on the upgraded database: profiles by version, and
-- the history of changes.
INSERT INTO health.profiles (name, effective_from, profile)
SELECT 'all/logins', '2026-06-01 00:00+00', health.profile(x) FROM generate_series(0, 2000) x;
SELECT health.evaluate(health.model_for('default', at), '{"logins": 150, "tickets": 0}'::jsonb) AS score_of_150_logins, at
FROM unnest('{2026-03-01 00:00+00, 2026-06-15 00:00+00}'::timestamptz[]) at;
SELECT operation, catalogue, name, effective_from FROM health.catalogue_history;

-- The extension's objects after the update are exactly those of a fresh
-- install: every function (body, volatility, strictness, parallel safety,
-- C symbol, defaults), aggregate, type, table, column, constraint, index,
-- trigger, privilege and comment (tests/upgrade/describe-extension.sql).
\c ch_fresh postgres
CREATE EXTENSION customer_health;
\set ECHO none
\i :describe_extension
\set ECHO all
SELECT string_agg(line, E'\n' ORDER BY line) AS fresh_install FROM pg_temp.describe_extension() AS d(line) \gset
SELECT count(*) > 300 AS described_in_detail FROM pg_temp.describe_extension() AS d(line);
\c ch_upgraded postgres
\set ECHO none
\i :describe_extension
\set ECHO all
SELECT * FROM pg_temp.differences_from(:'fresh_install') AS difference;

-- Upgrading from 0.2.0 and from 0.3.0, each in a database of its own
-- (tests/upgrade/release-in-use.sql, release-updated.sql). The update
-- warns of a catalogue row whose version differs from its document's and
-- keeps it; writing it again is refused until the two agree.
\c ch_from_0_2_0 postgres
\set from_version 0.2.0
\i :release_in_use
ALTER EXTENSION customer_health UPDATE;
\i :release_updated
\set VERBOSITY terse
UPDATE health.models SET effective_from = '2026-02-01 00:00+00' WHERE name = 'relabelled';
SELECT health.weighted_score('{50,NULL}', '{3,1}', 'error');
\set VERBOSITY default
\c ch_from_0_3_0 postgres
\set from_version 0.3.0
\i :release_in_use
ALTER EXTENSION customer_health UPDATE;
\i :release_updated
\set VERBOSITY terse
UPDATE health.models SET effective_from = '2026-02-01 00:00+00' WHERE name = 'relabelled';
SELECT health.weighted_score('{50,NULL}', '{3,1}', 'error');
\set VERBOSITY default

\c postgres postgres
DROP DATABASE ch_upgraded;
DROP DATABASE ch_fresh;
DROP DATABASE ch_from_0_2_0;
DROP DATABASE ch_from_0_3_0;
\c :regress_db :analyst

-- A database using a release after 0.1.0 (:from_version), about to be
-- updated: installed from its released script
-- (sql/customer_health--VERSION.sql), served by today's library, used.
-- \i'd by upgrade.sql once per release, in a fresh database of its own.
CREATE EXTENSION customer_health VERSION :'from_version';
INSERT INTO health.profiles (name, effective_from, profile)
SELECT 'all/logins', '2026-01-01 00:00+00', health.profile(x) FROM generate_series(0, 200) x;
INSERT INTO health.models VALUES
  ('default', 'v1', '2026-01-01 00:00+00',
   '{"metrics": [{"name": "logins", "weight": 2, "scale": {"method": "profile", "by": "percentile", "profile_name": "all/logins"}},
                 {"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}');
-- A row whose version differs from its document's, as releases before
-- 0.4.0 let one be stored: the update names it in a warning and keeps it.
INSERT INTO health.models VALUES
  ('relabelled', 'v2', '2026-01-01 00:00+00',
   '{"version": "v1", "metrics": [{"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}');
CREATE TABLE account_metrics AS
SELECT a AS account_id, m AS metric, (a * k) % 101 AS score, w AS weight, '2026-01-01 00:00+00'::timestamptz + a * interval '1 day' AS at
FROM generate_series(1, 40) a, (VALUES ('logins', 7, 3), ('nps', 13, 1), ('tickets', 29, 2)) v(m, k, w);
-- Every aggregate over the same rows, and the accessors of what they built.
CREATE MATERIALIZED VIEW aggregates AS
SELECT health.score(health.scorecard(metric || account_id, score, weight)) AS scorecard_score,
       health.score(health.rollup(card)) AS rollup_score,
       health.score_agg(score, weight) AS score_agg,
       health.quantile(health.profile(score), 0.5) AS median,
       health.quantile(health.rollup(population), 0.9) AS p90,
       health.auc(score, score < 30) AS auc, health.lift(score, score < 30) AS lift,
       health.calibration(score, score < 30)::text AS calibration, health.brier(score / 100.0, score < 30) AS brier,
       health.nps(score::int / 10) AS nps, health.nps_breakdown(score::int / 10)::text AS breakdown,
       health.csat(1 + score::int % 5) AS csat, health.points(score, at, '2026-03-01 00:00+00', '30 days') AS points,
       -- one series: one row per moment (the logins of each account's day)
       health.slope(health.trend(at, score) FILTER (WHERE metric = 'logins')) AS slope,
       health.sparkline(at, score) FILTER (WHERE metric = 'logins') AS sparkline,
       (health.fit_weights(ARRAY[score, weight], score < 30, 1.0) -> 'coefficients')::text AS fit
FROM account_metrics
JOIN (SELECT account_id, health.scorecard(metric, score, weight) AS card, health.profile(score) AS population
      FROM account_metrics GROUP BY account_id) per_account USING (account_id)
WITH DATA;
SELECT a IS NOT NULL AS every_aggregate_answered FROM aggregates a;
CREATE TABLE aggregates_before AS SELECT * FROM aggregates;

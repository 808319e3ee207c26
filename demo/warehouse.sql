-- A small B2B SaaS warehouse to score: accounts, a long-format metric table
-- (one row per account, metric and month, as warehouses hold them), the
-- scoring configuration as a table, and the views that score every account.
-- Deterministic (setseed), idempotent (drops and recreates schema demo).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_health;
DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;

SELECT setseed(0.42);

-- 2 000 accounts; a hidden "true health" drives their metrics (with noise).
CREATE TABLE demo.accounts AS
SELECT i AS account_id,
       'Account ' || lpad(i::text, 4, '0') AS name,
       (ARRAY['SMB', 'Mid-Market', 'Enterprise'])[1 + (i % 10 >= 6)::int + (i % 10 >= 9)::int] AS segment,
       round((CASE WHEN i % 10 >= 9 THEN 120000 WHEN i % 10 >= 6 THEN 30000 ELSE 6000 END
              * (0.5 + random()))::numeric, -2) AS arr,
       random() AS true_health
FROM generate_series(1, 2000) AS i;
ALTER TABLE demo.accounts ADD PRIMARY KEY (account_id);

-- How each metric is normalised and weighted (the DOMAIN.md defaults):
-- sentiment 25, usage frequency 20, feature adoption 15, seats 10,
-- onboarding 10, support tickets 10, late invoices 10.
CREATE TABLE demo.metric_config (
    metric           text PRIMARY KEY,
    description      text NOT NULL,
    weight           float8 NOT NULL,
    method           text NOT NULL CHECK (method IN ('linear', 'log', 'target', 'bands', 'piecewise')),
    lo               float8,
    hi               float8,
    target           float8,
    points           float8[],   -- cutoffs (bands) or knots (piecewise)
    scores           float8[],
    higher_is_better boolean NOT NULL DEFAULT true
);
INSERT INTO demo.metric_config VALUES
 ('nps_rating',        'latest NPS answer, 0-10: detractor 0, passive 60, promoter 100',  25, 'bands',     NULL, NULL, NULL, '{6,8}',        '{0,60,100}',      true),
 ('active_days_30d',   'days with a login in the last 30, target 20',                     20, 'target',    NULL, NULL, 20,   NULL,           NULL,              true),
 ('feature_adoption',  '% of key features used: steep to 20 %, saturating at 80 %',       15, 'piecewise', NULL, NULL, NULL, '{0,20,50,80}', '{0,50,80,100}',   true),
 ('seats_used_pct',    '% of licensed seats active, target 85 %',                          10, 'target',    NULL, NULL, 85,   NULL,           NULL,              true),
 ('onboarding_pct',    '% of onboarding milestones done',                                 10, 'linear',    0,    100,  NULL, NULL,           NULL,              true),
 ('open_tickets',      'support tickets open: 0 is best, 8 or more is worst',             10, 'linear',    0,    8,    NULL, NULL,           NULL,              false),
 ('invoice_days_late', 'days the latest invoice is late: on time 100, >30 days 0',        10, 'bands',     NULL, NULL, NULL, '{0,15,30}',    '{100,60,25,0}',   true);

-- Three monthly measurements per account and metric. Some accounts never
-- answered the NPS survey (missing data), a few have no invoice yet.
CREATE TABLE demo.account_metrics (
    account_id  int NOT NULL REFERENCES demo.accounts,
    metric      text NOT NULL REFERENCES demo.metric_config,
    value       float8,
    measured_at date NOT NULL,
    PRIMARY KEY (account_id, metric, measured_at)
);
INSERT INTO demo.account_metrics
SELECT a.account_id, m.metric,
       CASE m.metric
         WHEN 'nps_rating'        THEN least(10, greatest(0, round(2 + 8 * h + 2.5 * (random() - 0.5))))
         WHEN 'active_days_30d'   THEN least(30, greatest(0, round(26 * h + 8 * (random() - 0.5))))
         WHEN 'feature_adoption'  THEN least(100, greatest(0, round(90 * h + 30 * (random() - 0.5))))
         WHEN 'seats_used_pct'    THEN least(100, greatest(0, round(30 + 70 * h + 30 * (random() - 0.5))))
         WHEN 'onboarding_pct'    THEN least(100, greatest(0, round(40 + 70 * h + 40 * (random() - 0.5))))
         WHEN 'open_tickets'      THEN greatest(0, round(9 * (1 - h) * random() * 1.6))
         WHEN 'invoice_days_late' THEN greatest(0, round(45 * (1 - h) * random() - 10))
       END,
       month
FROM (SELECT account_id,
             -- health drifts a little from month to month
             least(1, greatest(0, true_health + 0.1 * (random() - 0.5))) AS h,
             month
      FROM demo.accounts, generate_series(date '2026-09-01', date '2026-11-01', interval '1 month') AS month) a
CROSS JOIN demo.metric_config m
WHERE NOT (m.metric = 'nps_rating' AND a.account_id % 7 = 0)          -- never answered the survey
  AND NOT (m.metric = 'invoice_days_late' AND a.account_id % 50 = 1); -- not invoiced yet

-- The latest value of every metric.
CREATE VIEW demo.latest_metrics AS
SELECT DISTINCT ON (account_id, metric) account_id, metric, value, measured_at
FROM demo.account_metrics
ORDER BY account_id, metric, measured_at DESC;

-- A wide per-account view: one column per metric, as BI tools like it.
CREATE VIEW demo.account_metrics_wide AS
SELECT a.account_id,
       max(value) FILTER (WHERE metric = 'nps_rating')        AS nps_rating,
       max(value) FILTER (WHERE metric = 'active_days_30d')   AS active_days_30d,
       max(value) FILTER (WHERE metric = 'feature_adoption')  AS feature_adoption,
       max(value) FILTER (WHERE metric = 'seats_used_pct')    AS seats_used_pct,
       max(value) FILTER (WHERE metric = 'onboarding_pct')    AS onboarding_pct,
       max(value) FILTER (WHERE metric = 'open_tickets')      AS open_tickets,
       max(value) FILTER (WHERE metric = 'invoice_days_late') AS invoice_days_late
FROM demo.accounts a LEFT JOIN demo.latest_metrics m USING (account_id)
GROUP BY a.account_id;

-- Normalise: one metric value -> its 0-100 sub-score, by the metric's configuration.
CREATE FUNCTION demo.subscore(c demo.metric_config, value float8) RETURNS float8
IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE c.method
             WHEN 'linear'    THEN health.scale_linear(value, c.lo, c.hi, c.higher_is_better)
             WHEN 'log'       THEN health.scale_log(value, c.lo, c.hi, c.higher_is_better)
             WHEN 'target'    THEN health.scale_target(value, c.target, c.higher_is_better)
             WHEN 'bands'     THEN health.scale_bands(value, c.points, c.scores)
             WHEN 'piecewise' THEN health.scale_piecewise(value, c.points, c.scores)
           END
$$;

-- Every (account, metric) gets a sub-score; NULL = not measured.
CREATE VIEW demo.account_subscores AS
SELECT a.account_id, c.metric, c.weight, m.value, demo.subscore(c, m.value) AS subscore
FROM demo.accounts a
CROSS JOIN demo.metric_config c
LEFT JOIN demo.latest_metrics m ON m.account_id = a.account_id AND m.metric = c.metric;

-- Weight and tier: one scored row per account, with the reasons behind it.
CREATE VIEW demo.account_health AS
SELECT a.account_id, a.name, a.segment, a.arr,
       round(health.score(s.card, min_coverage => 0.6)::numeric, 1) AS score,
       health.tier(health.score(s.card, min_coverage => 0.6))       AS tier,
       health.color(health.score(s.card, min_coverage => 0.6))      AS color,
       health.grade(health.score(s.card, min_coverage => 0.6))      AS grade,
       round(health.coverage(s.card)::numeric, 2)                    AS coverage,
       health.weakest(s.card, 2)                                     AS weakest,
       s.card
FROM demo.accounts a
JOIN (SELECT account_id, health.scorecard(metric, subscore, weight) AS card
      FROM demo.account_subscores GROUP BY account_id) s USING (account_id);

-- The same score from the wide view, in one expression per account.
CREATE VIEW demo.account_health_wide AS
SELECT account_id,
       health.weighted_score(
           ARRAY[health.scale_bands(nps_rating, '{6,8}', '{0,60,100}'),
                 health.scale_target(active_days_30d, 20),
                 health.scale_piecewise(feature_adoption, '{0,20,50,80}', '{0,50,80,100}'),
                 health.scale_target(seats_used_pct, 85),
                 health.scale_linear(onboarding_pct, 0, 100),
                 health.scale_linear(open_tickets, 0, 8, higher_is_better => false),
                 health.scale_bands(invoice_days_late, '{0,15,30}', '{100,60,25,0}')],
           '{25,20,15,10,10,10,10}') AS score
FROM demo.account_metrics_wide;

-- Population-relative scoring (API.md §5): where does an account stand in
-- its own segment? One profile per segment and metric, refreshed on a
-- schedule (REFRESH MATERIALIZED VIEW CONCURRENTLY), joined back to the rows.
CREATE MATERIALIZED VIEW demo.segment_profiles AS
SELECT a.segment, m.metric, health.profile(m.value) AS profile
FROM demo.latest_metrics m JOIN demo.accounts a USING (account_id)
GROUP BY a.segment, m.metric;
CREATE UNIQUE INDEX ON demo.segment_profiles (segment, metric);

-- Each latest value as a percentile within the segment, 0-100, better = higher.
-- (invoice_days_late is "lower is better" too; its bands encode that.)
CREATE VIEW demo.account_percentiles AS
SELECT m.account_id, a.segment, m.metric, m.value,
       health.scale_profile(m.value, p.profile, 'percentile',
                            higher_is_better => c.higher_is_better AND m.metric <> 'invoice_days_late') AS segment_percentile,
       health.quantile_tier(m.value, p.profile) AS segment_position
FROM demo.latest_metrics m
JOIN demo.accounts a USING (account_id)
JOIN demo.metric_config c USING (metric)
JOIN demo.segment_profiles p ON p.segment = a.segment AND p.metric = m.metric
WHERE m.value IS NOT NULL;

-- Score history (API.md §4): one snapshot per month, as a scheduled job
-- would write from demo.account_health. Here the three monthly measurements
-- are scored as they were on their day.
CREATE TABLE demo.score_history (
    account_id int NOT NULL REFERENCES demo.accounts,
    scored_at  timestamptz NOT NULL,
    score      float8,
    tier       text,
    PRIMARY KEY (account_id, scored_at)
);
INSERT INTO demo.score_history
SELECT account_id, measured_at, s, health.tier(s)
FROM (SELECT m.account_id, m.measured_at,
             health.score(health.scorecard(c.metric, demo.subscore(c, m.value), c.weight), min_coverage => 0.6) AS s
      FROM demo.account_metrics m JOIN demo.metric_config c USING (metric)
      GROUP BY m.account_id, m.measured_at) monthly
WHERE s IS NOT NULL;

-- Each account's trend over the snapshots.
CREATE VIEW demo.account_trends AS
SELECT account_id, health.trend(scored_at, score) AS trend, health.sparkline(scored_at, score) AS sparkline
FROM demo.score_history GROUP BY account_id;

ANALYZE demo.accounts, demo.metric_config, demo.account_metrics;

-- Scoring the demo warehouse (demo/generate.sql made the raw tables):
-- metrics computed from the raw tables, the scoring configuration as a
-- table, the views and the materialized view that score every account, the
-- score history and the scheduled refresh. Idempotent: run it again after
-- generate.sql.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- How each metric is normalised and weighted (the usual customer-success defaults):
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
 ('nps_rating',        'mean NPS answer of 180 days, 0-10: below 6 = 0, 6-8 = 60, above 8 = 100', 25, 'bands',     NULL, NULL, NULL, '{6,8}',        '{0,60,100}',      true),
 ('active_days_30d',   'days with a login in the last 30, target 20',                     20, 'target',    NULL, NULL, 20,   NULL,           NULL,              true),
 ('feature_adoption',  '% of key features used: steep to 20 %, saturating at 80 %',       15, 'piecewise', NULL, NULL, NULL, '{0,20,50,80}', '{0,50,80,100}',   true),
 ('seats_used_pct',    '% of licensed seats active, target 85 %',                          10, 'target',    NULL, NULL, 85,   NULL,           NULL,              true),
 ('onboarding_pct',    '% of onboarding milestones done',                                 10, 'linear',    0,    100,  NULL, NULL,           NULL,              true),
 ('open_tickets',      'support tickets open: 0 is best, 3 or more is worst',             10, 'linear',    0,    3,    NULL, NULL,           NULL,              false),
 ('invoice_days_late', 'most days an invoice of 180 days was late: on time 100, >30 days 0', 10, 'bands',     NULL, NULL, NULL, '{0,15,30}',    '{100,60,25,0}',   true);

-- The metrics of an account on day d, computed from the raw tables:
--   nps_rating         mean NPS answer (0-10) of the 180 days before d
--   active_days_30d    days with a login in the 30 days before d (frequency)
--   feature_adoption   % of the key features used in those days (depth)
--   seats_used_pct     users active in those days per licensed seat (breadth)
--   onboarding_pct     % of the onboarding milestones due by d that were done by d
--   open_tickets       support tickets open on d
--   invoice_days_late  the most days an invoice due in the 180 days before d
--                      was paid (or still unpaid on d) after its due date
-- Product events are kept for the last 30 days only, so for an earlier d
-- the usage comes from the generator's simulation of that month.
CREATE FUNCTION demo.usage_on(d date)
RETURNS TABLE (account_id int, active_days bigint, active_users bigint, features_used bigint)
STABLE LANGUAGE plpgsql AS $$
BEGIN
    IF d = (SELECT as_of FROM demo.generation) THEN
        RETURN QUERY
        SELECT e.account_id, count(DISTINCT (e.occurred_at AT TIME ZONE 'UTC')::date),
               count(DISTINCT e.user_id), count(DISTINCT e.feature)
        FROM demo.product_events e
        WHERE e.occurred_at >= (d - 30) AT TIME ZONE 'UTC' AND e.occurred_at < d AT TIME ZONE 'UTC'
        GROUP BY e.account_id;
    ELSE
        RETURN QUERY
        SELECT e.account_id, count(DISTINCT (e.occurred_at AT TIME ZONE 'UTC')::date),
               count(DISTINCT e.user_id), count(DISTINCT e.feature)
        FROM demo.simulated_product_events(d) e
        GROUP BY e.account_id;
    END IF;
END $$;

CREATE FUNCTION demo.metrics_on(d date)
RETURNS TABLE (account_id int, measured_at date, nps_rating float8, active_days_30d float8,
               feature_adoption float8, seats_used_pct float8, onboarding_pct float8,
               open_tickets float8, invoice_days_late float8)
STABLE LANGUAGE sql AS $$
SELECT a.account_id, d,
       n.nps_rating,
       coalesce(e.active_days, 0)::float8,
       round(100.0 * coalesce(e.features_used, 0) / (SELECT count(*) FROM demo.key_features))::float8,
       least(100, round(100.0 * coalesce(e.active_users, 0) / a.seats))::float8,
       o.onboarding_pct,
       coalesce(t.open_tickets, 0)::float8,
       i.invoice_days_late
FROM demo.accounts a
LEFT JOIN demo.usage_on(d) e USING (account_id)
LEFT JOIN (SELECT r.account_id, round(avg(r.rating), 1)::float8 AS nps_rating
           FROM demo.survey_responses r
           WHERE r.survey = 'nps' AND r.answered_on > d - 180 AND r.answered_on <= d
           GROUP BY r.account_id) n USING (account_id)
LEFT JOIN (SELECT m.account_id, round(100.0 * count(*) FILTER (WHERE m.completed_on <= d) / count(*))::float8 AS onboarding_pct
           FROM demo.onboarding_milestones m
           WHERE m.due_on <= d
           GROUP BY m.account_id) o USING (account_id)
LEFT JOIN (SELECT k.account_id, count(*) AS open_tickets
           FROM demo.support_tickets k
           WHERE k.opened_at < d AT TIME ZONE 'UTC' AND (k.resolved_at IS NULL OR k.resolved_at >= d AT TIME ZONE 'UTC')
           GROUP BY k.account_id) t USING (account_id)
LEFT JOIN (SELECT v.account_id, greatest(0, max(least(coalesce(v.paid_on, d), d) - v.due_on))::float8 AS invoice_days_late
           FROM demo.invoices v
           WHERE v.due_on > d - 180 AND v.due_on < d
           GROUP BY v.account_id) i USING (account_id)
WHERE a.signup_date < d
$$;

-- The same metrics in long format, one row per account and metric, as the
-- nightly job appends them to demo.metric_snapshots.
CREATE FUNCTION demo.metric_values_on(d date)
RETURNS TABLE (account_id int, metric text, value float8, measured_at date)
STABLE LANGUAGE sql AS $$
SELECT w.account_id, v.metric, v.value, w.measured_at
FROM demo.metrics_on(d) AS w,
     LATERAL (VALUES ('nps_rating', w.nps_rating), ('active_days_30d', w.active_days_30d),
                     ('feature_adoption', w.feature_adoption), ('seats_used_pct', w.seats_used_pct),
                     ('onboarding_pct', w.onboarding_pct), ('open_tickets', w.open_tickets),
                     ('invoice_days_late', w.invoice_days_late)) AS v(metric, value)
$$;

-- Today's metrics, wide and long.
CREATE VIEW demo.current_metrics_wide AS
SELECT * FROM demo.metrics_on((SELECT as_of FROM demo.generation));

CREATE VIEW demo.current_metrics AS
SELECT * FROM demo.metric_values_on((SELECT as_of FROM demo.generation));

-- Monthly snapshots of the metrics, as the nightly job keeps them (the
-- history of the score): the as-of day and the first of the two months
-- before it.
CREATE TABLE demo.metric_snapshots (
    account_id  int NOT NULL REFERENCES demo.accounts,
    metric      text NOT NULL REFERENCES demo.metric_config,
    value       float8,
    measured_at date NOT NULL,
    PRIMARY KEY (account_id, metric, measured_at)
);
INSERT INTO demo.metric_snapshots
SELECT m.*
FROM demo.generation g,
     generate_series(0, 2) AS months_back,
     LATERAL demo.metric_values_on((g.as_of - months_back * interval '1 month')::date) AS m;

-- The latest value of every metric.
CREATE VIEW demo.latest_metrics AS
SELECT DISTINCT ON (account_id, metric) account_id, metric, value, measured_at
FROM demo.metric_snapshots
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
                 health.scale_linear(open_tickets, 0, 3, higher_is_better => false),
                 health.scale_bands(invoice_days_late, '{0,15,30}', '{100,60,25,0}')],
           '{25,20,15,10,10,10,10}') AS score
FROM demo.account_metrics_wide;

-- Population-relative scoring (docs/reference.md §5): where does an account stand in
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

-- The scored accounts as a BI tool reads them: plain columns (numeric,
-- text, date) plus the explanation as jsonb, one row per account. A
-- materialized view with a unique index, so the scheduled job
-- (demo/schedule.sql) can refresh it CONCURRENTLY while dashboards keep
-- reading the previous rows.
CREATE MATERIALIZED VIEW demo.scored_accounts AS
SELECT h.account_id, h.name, h.segment, a.plan, a.arr, a.seats, a.renewal_date,
       h.score, h.tier, h.color, h.grade, h.coverage,
       array_to_string(h.weakest, ', ') AS weakest_metrics,
       health.contributions(h.card) AS explanation,
       (SELECT max(measured_at) FROM demo.metric_snapshots) AS metrics_as_of,
       now() AS refreshed_at
FROM demo.account_health h JOIN demo.accounts a USING (account_id);
CREATE UNIQUE INDEX ON demo.scored_accounts (account_id);

-- Score history (docs/reference.md §4): one snapshot per day the metrics were
-- measured. The monthly snapshots of the past are scored as they were on
-- their day; demo.snapshot_scores() adds the current one from
-- demo.scored_accounts (the scheduled job calls it after each refresh).
CREATE TABLE demo.score_history (
    account_id int NOT NULL REFERENCES demo.accounts,
    scored_at  timestamptz NOT NULL,
    score      float8,
    tier       text,
    card       health.scorecard,  -- what the score was made of: why it moved (health.score_change)
    PRIMARY KEY (account_id, scored_at)
);
INSERT INTO demo.score_history
SELECT account_id, measured_at::timestamp AT TIME ZONE 'UTC', health.score(card, min_coverage => 0.6),
       health.tier(health.score(card, min_coverage => 0.6)), card
FROM (SELECT m.account_id, m.measured_at,
             health.scorecard(c.metric, demo.subscore(c, m.value), c.weight) AS card
      FROM demo.metric_snapshots m JOIN demo.metric_config c USING (metric)
      WHERE m.measured_at < (SELECT as_of FROM demo.generation)
      GROUP BY m.account_id, m.measured_at) monthly
WHERE health.score(card, min_coverage => 0.6) IS NOT NULL;

-- Writes the scores of demo.scored_accounts into the history, dated by the
-- day the metrics were measured (running it twice a day changes nothing).
-- The scorecard is rebuilt from the view's explanation (its metrics, sub-scores
-- and weights), so it is the one the materialized score was computed from.
-- Returns the number of rows written.
CREATE FUNCTION demo.snapshot_scores() RETURNS bigint LANGUAGE sql AS $$
    WITH written AS (
        INSERT INTO demo.score_history (account_id, scored_at, score, tier, card)
        SELECT s.account_id, s.metrics_as_of::timestamp AT TIME ZONE 'UTC', s.score, s.tier,
               (SELECT health.scorecard(c ->> 'metric', (c ->> 'score')::float8, (c ->> 'weight')::float8)
                FROM jsonb_array_elements(s.explanation) AS c)
        FROM demo.scored_accounts s WHERE s.score IS NOT NULL
        ON CONFLICT (account_id, scored_at)
            DO UPDATE SET score = excluded.score, tier = excluded.tier, card = excluded.card
        RETURNING 1)
    SELECT count(*) FROM written
$$;
SELECT demo.snapshot_scores() AS current_scores_written \gset

-- The nightly job (demo/schedule.sql schedules it with pg_cron): refresh the
-- materialized views CONCURRENTLY, so dashboards keep reading the previous
-- rows until the new ones are committed, then snapshot the scores.
CREATE PROCEDURE demo.refresh_scores() LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY demo.segment_profiles;
    REFRESH MATERIALIZED VIEW CONCURRENTLY demo.scored_accounts;
    PERFORM demo.snapshot_scores();
END $$;

-- The scores shaped for a CRM import (HubSpot companies, Salesforce
-- accounts): the CRM's own account id, plain text and numbers, the time in
-- ISO 8601 UTC. Export with
--   \copy (SELECT * FROM demo.crm_export ORDER BY external_id) TO 'health_scores.csv' WITH (FORMAT csv, HEADER)
-- (docs/acting-on-scores.md maps each column to a CRM field).
CREATE VIEW demo.crm_export AS
SELECT a.crm_id AS external_id, a.name AS account_name,
       s.score AS health_score, s.tier AS health_tier, s.color AS health_color, s.grade AS health_grade,
       s.weakest_metrics,
       to_char(s.refreshed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS health_updated_at
FROM demo.scored_accounts s JOIN demo.accounts a USING (account_id)
WHERE s.score IS NOT NULL;

-- Each account's trend over the snapshots.
CREATE VIEW demo.account_trends AS
SELECT account_id, health.trend(scored_at, score) AS trend, health.sparkline(scored_at, score) AS sparkline
FROM demo.score_history GROUP BY account_id;

ANALYZE demo.accounts, demo.metric_config, demo.metric_snapshots, demo.scored_accounts, demo.score_history;

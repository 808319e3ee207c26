-- The report a customer-success lead reads on Monday morning.
\pset footer off
\echo
\echo '== Accounts per tier =='
SELECT coalesce(tier, 'unscored') AS tier, color, count(*) AS accounts,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct_accounts,
       sum(arr) AS arr, round(avg(score), 1) AS avg_score
FROM demo.account_health
GROUP BY tier, color
ORDER BY min(score) NULLS LAST;

\echo '== Accounts per segment and tier =='
SELECT segment,
       count(*) FILTER (WHERE tier = 'at_risk') AS at_risk,
       count(*) FILTER (WHERE tier = 'neutral') AS neutral,
       count(*) FILTER (WHERE tier = 'healthy') AS healthy,
       round(avg(score), 1) AS avg_score
FROM demo.account_health
GROUP BY segment ORDER BY avg_score;

\echo '== The ten most at-risk accounts (by score, then ARR at stake) =='
SELECT account_id, name, segment, arr, score, tier, grade, coverage,
       array_to_string(weakest, ', ') AS weakest_metrics
FROM demo.account_health
WHERE score IS NOT NULL
ORDER BY score, arr DESC
LIMIT 10;

\echo '== Why is the riskiest account at risk? (contributions, most points lost first) =='
SELECT c->>'metric' AS metric, round((c->>'score')::numeric, 1) AS sub_score, c->>'weight' AS weight,
       round((c->>'points')::numeric, 1) AS points, round((c->>'points_lost')::numeric, 1) AS points_lost
FROM (SELECT card FROM demo.account_health WHERE score IS NOT NULL ORDER BY score, arr DESC LIMIT 1) h,
     jsonb_array_elements(health.contributions(h.card)) AS c;

\echo '== Within its segment: percentiles of the ten most at-risk accounts (100 = best in segment) =='
SELECT h.account_id, h.segment, h.score,
       round(max(p.segment_percentile) FILTER (WHERE p.metric = 'active_days_30d')) AS active_days,
       round(max(p.segment_percentile) FILTER (WHERE p.metric = 'feature_adoption')) AS adoption,
       round(max(p.segment_percentile) FILTER (WHERE p.metric = 'seats_used_pct')) AS seats,
       round(max(p.segment_percentile) FILTER (WHERE p.metric = 'open_tickets')) AS tickets
FROM (SELECT * FROM demo.account_health WHERE score IS NOT NULL ORDER BY score, arr DESC LIMIT 10) h
JOIN demo.account_percentiles p USING (account_id)
GROUP BY h.account_id, h.segment, h.score, h.arr
ORDER BY h.score, h.arr DESC;

\echo '== What is normal per segment? Quartiles of active days (from the stored profiles) =='
SELECT segment, health.profile_count(profile) AS accounts,
       health.quantile(profile, 0.25) AS p25, health.quantile(profile, 0.5) AS median,
       health.quantile(profile, 0.75) AS p75, round(health.profile_mean(profile)::numeric, 1) AS mean
FROM demo.segment_profiles WHERE metric = 'active_days_30d'
ORDER BY median;

\echo '== NPS and CSAT-style signals per segment (latest NPS answers) =='
SELECT a.segment, round(health.nps(m.value::int)::numeric, 1) AS nps,
       (health.nps_breakdown(m.value::int) ->> 'responses')::int AS responses,
       round(100 * (health.nps_breakdown(m.value::int) ->> 'promoter_share')::numeric, 1) AS pct_promoters,
       round(100 * (health.nps_breakdown(m.value::int) ->> 'detractor_share')::numeric, 1) AS pct_detractors
FROM demo.latest_metrics m JOIN demo.accounts a USING (account_id)
WHERE m.metric = 'nps_rating'
GROUP BY a.segment ORDER BY nps;

\echo '== Tier dropped since last month (biggest ARR first), with the trend =='
WITH ranked AS (
  SELECT h.*, lag(tier) OVER (PARTITION BY account_id ORDER BY scored_at) AS previous_tier,
         row_number() OVER (PARTITION BY account_id ORDER BY scored_at DESC) AS recency
  FROM demo.score_history h)
SELECT r.account_id, a.segment, a.arr, r.previous_tier, r.tier, round(r.score::numeric, 1) AS score,
       round(health.delta(t.trend)::numeric, 1) AS delta, health.direction(t.trend) AS direction,
       health.decline_streak(t.trend) AS declines, t.sparkline
FROM ranked r JOIN demo.accounts a USING (account_id) JOIN demo.account_trends t USING (account_id)
WHERE r.recency = 1
  AND array_position('{at_risk,neutral,healthy}'::text[], r.tier)
    < array_position('{at_risk,neutral,healthy}'::text[], r.previous_tier)
ORDER BY a.arr DESC
LIMIT 10;

\echo '== Check: the wide form (weighted_score) and the long form (scorecard) agree =='
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE abs(round(w.score::numeric, 1) - h.score) < 0.05) AS same_score
FROM demo.account_health h JOIN demo.account_health_wide w USING (account_id)
WHERE h.score IS NOT NULL;

\echo '== Does the score predict churn? (outcomes at renewal; 0.5 = no signal, 1 = perfect) =='
SELECT coalesce(h.segment, 'all') AS segment, count(*) AS accounts,
       round(avg(r.churned::int), 3) AS churn_rate,
       round(health.auc(h.score, r.churned)::numeric, 3) AS auc,
       round(health.lift(h.score, r.churned, 0.1)::numeric, 2) AS lift_bottom_10pct
FROM demo.scored_accounts h JOIN demo.renewals r USING (account_id)
WHERE h.score IS NOT NULL
GROUP BY ROLLUP (h.segment)
ORDER BY h.segment NULLS LAST;

\echo '== Churn per tier =='
SELECT h.tier, count(*) AS accounts, round(avg(r.churned::int), 3) AS churn_rate
FROM demo.scored_accounts h JOIN demo.renewals r USING (account_id)
WHERE h.score IS NOT NULL
GROUP BY h.tier
ORDER BY churn_rate DESC;

\echo '== Let the data choose the model: fit_model learns on four folds of accounts, both models are checked on the fifth =='
WITH data AS (
  SELECT w.account_id, to_jsonb(w) - 'account_id' AS metrics, r.churned, h.score AS hand_score
  FROM demo.account_metrics_wide w JOIN demo.renewals r USING (account_id) JOIN demo.scored_accounts h USING (account_id)),
learned AS (
  SELECT health.fit_model(account_id::text, metrics, churned, '{"name": "learned", "folds": 0}') AS model
  FROM data WHERE health.fold(account_id::text, 5) <> 5),
held_out AS (
  SELECT d.churned, d.hand_score, health.evaluate(l.model, d.metrics, extra_keys => 'ignore') AS learned_score
  FROM data d, learned l WHERE health.fold(d.account_id::text, 5) = 5 AND d.hand_score IS NOT NULL)
SELECT model, count(*) AS held_out_accounts, round(health.auc(score, churned)::numeric, 3) AS auc,
       round(health.lift(score, churned, 0.1)::numeric, 2) AS lift_bottom_10pct
FROM held_out,
     LATERAL (VALUES ('hand-written (demo.metric_config)', hand_score), ('learned by fit_model', learned_score)) AS s(model, score)
GROUP BY model ORDER BY model;

\echo '== Alerts the last refresh queued (demo.alert_outbox; examples/alerts/listener.py delivers them) =='
SELECT event, coalesce(direction, '') AS direction, count(*) AS alerts, count(delivered_at) AS delivered,
       sum((payload ->> 'arr')::numeric) AS arr
FROM (SELECT o.*, o.payload ->> 'direction' AS direction FROM demo.alert_outbox o
      WHERE o.at = (SELECT max(at) FROM demo.alert_outbox)) last_refresh
GROUP BY event, direction ORDER BY event, direction;

\echo '== The ten largest accounts among them: what moved the score, and the next step =='
SELECT payload ->> 'account_id' AS account_id, event,
       concat_ws(' -> ', payload ->> 'previous_tier', payload ->> 'tier') AS tiers,
       payload ->> 'score' AS score, payload ->> 'delta' AS delta,
       (SELECT string_agg(format('%s %s', m ->> 'metric', m ->> 'points'), ', ')
        FROM jsonb_array_elements(payload -> 'moved_by') AS m) AS moved_by,
       payload ->> 'suggested_action' AS next_step
FROM demo.alert_outbox
WHERE at = (SELECT max(at) FROM demo.alert_outbox) AND payload ->> 'direction' IS DISTINCT FROM 'up'
ORDER BY (payload ->> 'arr')::numeric DESC, alert_id
LIMIT 10;

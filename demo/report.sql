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

\echo '== Check: the wide form (weighted_score) and the long form (scorecard) agree =='
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE abs(round(w.score::numeric, 1) - h.score) < 0.05) AS same_score
FROM demo.account_health h JOIN demo.account_health_wide w USING (account_id)
WHERE h.score IS NOT NULL;

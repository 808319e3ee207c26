-- weighted_score(scores, weights, missing, min_coverage).
-- The running example: usage 80 (weight 30), NPS missing (weight 20), support 40 (weight 50).
--   present weight 80 of 100 -> coverage 0.8
--   renormalize: (80*30 + 40*50) / 80 = 4400/80 = 55
--   zero:        4400 / 100 = 44
--   neutral:     (4400 + 50*20) / 100 = 54
--   null:        NULL (a metric is missing)
SELECT health.weighted_score('{80,NULL,40}', '{30,20,50}')                 AS renormalize,
       health.weighted_score('{80,NULL,40}', '{30,20,50}', 'zero')         AS zero,
       health.weighted_score('{80,NULL,40}', '{30,20,50}', 'neutral')      AS neutral,
       health.weighted_score('{80,NULL,40}', '{30,20,50}', 'null')         AS "null";

-- min_coverage: coverage 0.8 passes 0.8 (not below it) and fails 0.81
SELECT health.weighted_score('{80,NULL,40}', '{30,20,50}', min_coverage => 0.8)  AS cov_08,    -- 55
       health.weighted_score('{80,NULL,40}', '{30,20,50}', min_coverage => 0.81) AS cov_081;   -- NULL

-- Only ratios of weights matter: 3/2/5 and 0.3/0.2/0.5 give the same 55
SELECT health.weighted_score('{80,NULL,40}', '{3,2,5}')       AS small_weights,
       health.weighted_score('{80,NULL,40}', '{0.3,0.2,0.5}') AS fraction_weights;

-- With nothing missing every policy is the plain weighted mean: (90*1 + 60*2)/3 = 70
SELECT health.weighted_score('{90,60}', '{1,2}', p) AS score, p AS policy
FROM unnest(ARRAY['renormalize', 'zero', 'neutral', 'null']) AS p;

-- Nothing measured: renormalize has nothing to average (NULL); neutral counts 50s
SELECT health.weighted_score('{NULL,NULL}', '{1,1}')            AS renormalize,
       health.weighted_score('{NULL,NULL}', '{1,1}', 'neutral') AS neutral,
       health.weighted_score('{NULL,NULL}', '{1,1}', 'zero')    AS zero;

-- A zero weight is allowed (the metric is tracked but not counted), a missing zero-weight metric
-- does not lower coverage: coverage = 1/1
SELECT health.weighted_score('{70,NULL}', '{1,0}', min_coverage => 1) AS full_coverage; -- 70

-- The ends of the scale
SELECT health.weighted_score('{0,0}', '{1,1}') AS all_zero, health.weighted_score('{100,100}', '{1,3}') AS all_hundred;

-- NULL arrays are "not measured": the score is NULL
SELECT health.weighted_score(NULL, '{1}') IS NULL AS null_scores;

-- score_agg(score, weight): weighted mean of present scores, an aggregate.
-- (80*30 + 40*50) / 80 = 55 again; the NULL score row is skipped.
SELECT health.score_agg(score, weight) AS score
FROM (VALUES (80.0, 30.0), (NULL, 20.0), (40.0, 50.0)) AS t(score, weight);

-- per group: a = (100*1 + 50*1)/2 = 75, b = 20, c has no measured score -> NULL
SELECT account, health.score_agg(score, weight) AS score
FROM (VALUES ('a', 100.0, 1.0), ('a', 50.0, 1.0), ('b', 20.0, 4.0), ('c', NULL, 1.0)) AS t(account, score, weight)
GROUP BY account ORDER BY account;

-- no rows, or only zero weights: no score
SELECT health.score_agg(s, w) FROM (VALUES (50.0, 0.0)) t(s, w);
SELECT health.score_agg(s, w) FROM (SELECT 1.0, 1.0 WHERE false) t(s, w);

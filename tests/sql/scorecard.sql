-- The long format: one row per account and metric, as warehouse tables are.
CREATE TABLE subscores (account text, metric text, score float8, weight float8);
INSERT INTO subscores VALUES
    -- acme: nps 40 (w 30), usage 80 (w 25), adoption 60 (w 20), support missing (w 10)
    ('acme', 'nps', 40, 30), ('acme', 'usage', 80, 25), ('acme', 'adoption', 60, 20), ('acme', 'support', NULL, 10),
    -- globex: everything measured and perfect except support
    ('globex', 'nps', 100, 30), ('globex', 'usage', 100, 25), ('globex', 'adoption', 100, 20), ('globex', 'support', 0, 10),
    -- initech: nothing measured
    ('initech', 'nps', NULL, 30), ('initech', 'usage', NULL, 25);

-- acme: present weight 75 of 85, weighted sum 40*30 + 80*25 + 60*20 = 1200+2000+1200 = 4400
--   renormalize 4400/75 = 58.666..., zero 4400/85 = 51.7647..., neutral (4400+500)/85 = 57.6470...
-- globex: (3000+2500+2000+0)/85 = 88.2352...
-- initech: nothing measured -> NULL score, coverage 0
SELECT account,
       round(health.score(sc)::numeric, 6)            AS renormalize,
       round(health.score(sc, 'zero')::numeric, 6)    AS zero,
       round(health.score(sc, 'neutral')::numeric, 6) AS neutral,
       health.score(sc, 'null')                        AS "null",
       round(health.coverage(sc)::numeric, 6)          AS coverage
FROM (SELECT account, health.scorecard(metric, score, weight) AS sc FROM subscores GROUP BY account) s
ORDER BY account;

-- score(scorecard) equals weighted_score over the same metrics
SELECT health.score(health.scorecard(metric, score, weight))
     = health.weighted_score(array_agg(score ORDER BY metric), array_agg(weight ORDER BY metric)) AS same
FROM subscores WHERE account = 'acme';

-- min_coverage: acme covers 75/85 = 0.882
SELECT health.score(sc, min_coverage => 0.88) IS NOT NULL AS passes_088,
       health.score(sc, min_coverage => 0.89) IS NULL     AS fails_089
FROM (SELECT health.scorecard(metric, score, weight) AS sc FROM subscores WHERE account = 'acme') s;

-- The text form: a JSON array sorted by metric (readable, and what pg_dump writes)
SELECT health.scorecard(metric, score, weight) FROM subscores WHERE account = 'acme';

-- contributions: who costs acme its points. weight_share = weight/75 for measured metrics.
--   nps:      share 0.4,      points 16,      lost 24
--   adoption: share 0.26667,  points 16,      lost 10.6667
--   usage:    share 0.33333,  points 26.6667, lost 6.6667
--   support:  missing, left out under renormalize: share 0, points 0, lost 0
-- points add up to the score (58.6667) and points_lost to 100 minus it (41.3333)
SELECT c->>'metric' AS metric, c->>'score' AS score, c->>'weight' AS weight,
       round((c->>'weight_share')::numeric, 5) AS weight_share,
       round((c->>'points')::numeric, 4) AS points,
       round((c->>'points_lost')::numeric, 4) AS points_lost
FROM (SELECT health.contributions(health.scorecard(metric, score, weight)) AS cs FROM subscores WHERE account = 'acme') s,
     jsonb_array_elements(cs) AS c;

SELECT round(sum((c->>'points')::numeric), 9) AS points, round(sum((c->>'points_lost')::numeric), 9) AS points_lost
FROM (SELECT health.contributions(health.scorecard(metric, score, weight)) AS cs FROM subscores WHERE account = 'acme') s,
     jsonb_array_elements(cs) AS c;

-- under 'zero' the missing support metric counts as 0 and loses its whole share: 100*10/85 = 11.7647
SELECT round((c->>'points_lost')::numeric, 4) AS support_points_lost
FROM (SELECT health.contributions(health.scorecard(metric, score, weight), 'zero') AS cs FROM subscores WHERE account = 'acme') s,
     jsonb_array_elements(cs) AS c
WHERE c->>'metric' = 'support';

-- the whole jsonb of a small scorecard
SELECT health.contributions(health.scorecard(m, s, w))
FROM (VALUES ('nps', 50.0, 1.0), ('usage', 100.0, 1.0)) t(m, s, w);

-- weakest: the n metrics losing the most points (default 1). Metrics losing nothing are not listed:
-- globex loses points only on support (share 10/85 * 100 = 11.8), so its two weakest are just {support}.
SELECT account, health.weakest(sc) AS weakest, health.weakest(sc, 2) AS weakest_two, health.weakest(sc, 0) AS none
FROM (SELECT account, health.scorecard(metric, score, weight) AS sc FROM subscores GROUP BY account) s
ORDER BY account;

-- rollup: average each metric's score across scorecards (child accounts into a parent).
-- nps (40+100)/2 = 70, usage 90, adoption 80, support only globex measured it: 0
-- initech's NULLs add nothing to the averages.
SELECT health.rollup(sc) AS parent, round(health.score(health.rollup(sc))::numeric, 6) AS parent_score
FROM (SELECT account, health.scorecard(metric, score, weight) AS sc FROM subscores GROUP BY account) s;
-- check: (70*30 + 90*25 + 80*20 + 0*10)/85 = (2100+2250+1600)/85 = 70

-- scorecards can be stored, cast from text, and compared by their content
CREATE TABLE stored_cards AS
SELECT account, health.scorecard(metric, score, weight) AS sc FROM subscores GROUP BY account;
SELECT account, health.score(sc) IS NOT DISTINCT FROM health.score(sc::text::health.scorecard) AS text_round_trip
FROM stored_cards ORDER BY account;
SELECT health.score('[{"metric": "nps", "score": 90, "weight": 1}, {"metric": "usage", "score": 60, "weight": 2}]'::health.scorecard); -- 70

-- binary send/receive: COPY BINARY out and back in
\copy stored_cards TO '/tmp/customer_health_regress_cards.bin' WITH (FORMAT binary)
CREATE TABLE cards_back (LIKE stored_cards);
\copy cards_back FROM '/tmp/customer_health_regress_cards.bin' WITH (FORMAT binary)
SELECT a.account, a.sc::text = b.sc::text AS identical
FROM stored_cards a JOIN cards_back b USING (account) ORDER BY 1;

-- an account LEFT JOINed to no metric rows gets no scorecard (NULL), not an error
SELECT a.account, health.scorecard(m.metric, m.score, m.weight) IS NULL AS no_card
FROM (VALUES ('newco')) a(account) LEFT JOIN subscores m ON m.account = a.account
GROUP BY a.account;

-- Customer signals (docs/reference.md §4): nps, nps_category, nps_breakdown, csat,
-- points, deadline_penalty, trend and its accessors, sparkline. Expected
-- values are worked out by hand in the comments.

-- NPS: all promoters = 100, all detractors = -100; passives (7, 8) only count
-- in the denominator: {10, 9, 8, 7, 3} = (2 - 1) / 5 = 20.
SELECT 'all promoters' AS answers, health.nps(r) FROM unnest(ARRAY[9, 10, 10]) r
UNION ALL SELECT 'all detractors', health.nps(r) FROM unnest(ARRAY[0, 6, 3]) r
UNION ALL SELECT 'all passives', health.nps(r) FROM unnest(ARRAY[7, 8]) r
UNION ALL SELECT '10 9 8 7 3', health.nps(r) FROM unnest(ARRAY[10, 9, 8, 7, 3]) r
UNION ALL SELECT 'with NULLs (skipped)', health.nps(r) FROM unnest(ARRAY[10, NULL, 3, NULL]) r
UNION ALL SELECT 'no answers', health.nps(r) FROM unnest('{}'::int[]) r;
SELECT r, health.nps_category(r) FROM unnest(ARRAY[0, 6, 7, 8, 9, 10]) r;
-- What is behind the number:
SELECT health.nps_breakdown(r) FROM unnest(ARRAY[10, 9, 8, 7, 3]) r;

-- CSAT: share of the top two boxes. On 1-5: {5, 4, 3, 2} -> 50. On 1-7 the
-- top two boxes are 6 and 7: {7, 6, 5, 1} -> 50; on 1-10, 9 and 10.
SELECT health.csat(r) AS csat_1_5 FROM unnest(ARRAY[5, 4, 3, 2]) r;
SELECT health.csat(r, 7) AS csat_1_7 FROM unnest(ARRAY[7, 6, 5, 1]) r;
SELECT health.csat(r, 10) AS csat_1_10 FROM unnest(ARRAY[10, 9, 8, 1]) r;

-- Action points decay by half every half-life: 10 points 30 days old with a
-- 30-day half-life count 5; 60 days old, 2.5; events after as_of count 0.
SELECT health.points(p, at, '2026-11-01', '30 days') AS decayed
FROM (VALUES (10.0, '2026-10-02'::timestamptz), (10.0, '2026-09-02'), (-4.0, '2026-11-01'), (100.0, '2026-11-02')) t(p, at);
-- deadline_penalty: 0 when done by the deadline or not yet due; else -penalty.
SELECT label, health.deadline_penalty(completed_at, due_at, '2026-11-01', 5) AS penalty
FROM (VALUES ('done in time', '2026-09-10'::timestamptz, '2026-09-15'::timestamptz),
             ('done late', '2026-09-20', '2026-09-15'),
             ('open, overdue', NULL, '2026-10-15'),
             ('open, not yet due', NULL, '2026-12-01'),
             ('due exactly now', NULL, '2026-11-01')) t(label, completed_at, due_at);
-- Points and penalties into a 0-100 sub-score: +/-20 points map to 0..100.
SELECT health.scale_linear(sum(p), -20, 20) AS engagement_subscore
FROM (SELECT health.points(p, at, '2026-11-01', '30 days') AS p
      FROM (VALUES (10.0, '2026-10-02'::timestamptz), (8.0, '2026-10-20')) e(p, at)
      UNION ALL
      SELECT health.deadline_penalty(NULL, '2026-10-15', '2026-11-01', 5)) parts;

-- trend: rows in any order. A known line: 80, 77, 74, 71 on days 0, 30, 60, 90
-- falls 3 points per 30 days; delta -9; three drops in a row at the end.
CREATE TABLE history (account_id int, scored_at timestamptz, score float8);
INSERT INTO history VALUES
  (1, '2026-08-31', 71), (1, '2026-06-02', 80), (1, '2026-08-01', 74), (1, '2026-07-02', 77),
  (2, '2026-06-02', 50), (2, '2026-07-02', 60), (2, '2026-08-01', 60), (2, '2026-08-31', 55),
  (3, '2026-06-02', 40), (3, '2026-07-02', 42),
  (4, '2026-06-02', 65);
SELECT account_id, health.n(t), health.first_score(t), health.last_score(t), health.delta(t),
       round(health.slope(t)::numeric, 9) AS slope_per_30_days, round(health.slope(t, '1 day')::numeric, 9) AS per_day,
       health.direction(t) AS direction, health.direction(t, 10) AS direction_10, health.decline_streak(t) AS streak
FROM (SELECT account_id, health.trend(scored_at, score) AS t FROM history GROUP BY account_id) x ORDER BY account_id;
-- The stored trend reads as JSON, sorted by time, and back.
SELECT t, t::text::health.trend::text = t::text AS round_trip
FROM (SELECT health.trend(scored_at, score) AS t FROM history WHERE account_id = 3) x;

-- Sparklines: eight levels, NULL as a space, a constant series flat.
SELECT health.sparkline(ARRAY[0, 1, 2, 3, 4, 5, 6, 7]::float8[]) AS ramp,
       health.sparkline(ARRAY[50, NULL, 100, 75]::float8[]) AS with_gap,
       health.sparkline(ARRAY[60, 60, 60]::float8[]) AS flat,
       health.sparkline('{}'::float8[]) AS empty;
SELECT account_id, health.sparkline(scored_at, score) FROM history GROUP BY account_id ORDER BY account_id;

-- Errors.
SELECT e FROM (VALUES
  (sql_error($$SELECT health.nps(11)$$)),
  (sql_error($$SELECT health.nps(-1)$$)),
  (sql_error($$SELECT health.nps_category(12)$$)),
  (sql_error($$SELECT health.csat(6)$$)),
  (sql_error($$SELECT health.csat(0, 7)$$)),
  (sql_error($$SELECT health.csat(2, 2)$$)),
  (sql_error($$SELECT health.csat(r, s) FROM (VALUES (5, 5), (6, 7)) t(r, s)$$)),
  (sql_error($$SELECT health.points(1, now(), now(), '0 days')$$)),
  (sql_error($$SELECT health.points('NaN', now(), now(), '1 day')$$)),
  (sql_error($$SELECT health.deadline_penalty(NULL, '2026-01-01', '2026-02-01', -5)$$)),
  (sql_error($$SELECT health.trend('infinity', 50)$$)),
  (sql_error($$SELECT health.trend(now(), 'NaN')$$)),
  (sql_error($$SELECT health.direction(health.trend(now(), 50), -1)$$)),
  (sql_error($$SELECT health.slope(health.trend(now(), 50), '-1 day')$$)),
  (sql_error($$SELECT health.sparkline(ARRAY['Infinity']::float8[])$$)),
  (sql_error($$SELECT '[["yesterday", 5]]'::health.trend$$))
) t(e);

-- Score history, the pattern for reports: snapshot the scored view into a
-- table, then show accounts whose tier dropped since the previous snapshot.
CREATE TABLE score_history (account_id int, scored_at timestamptz, score float8, tier text,
                            PRIMARY KEY (account_id, scored_at));
INSERT INTO score_history SELECT account_id, scored_at, score, health.tier(score) FROM history;
INSERT INTO score_history VALUES
  (5, '2026-07-02', 78, 'healthy'), (5, '2026-08-01', 74, 'healthy'), (5, '2026-08-31', 66, 'neutral'),
  (6, '2026-07-02', 52, 'neutral'), (6, '2026-08-01', 38, 'at_risk');
WITH ranked AS (
  SELECT *, lag(tier) OVER (PARTITION BY account_id ORDER BY scored_at) AS previous_tier,
         row_number() OVER (PARTITION BY account_id ORDER BY scored_at DESC) AS recency
  FROM score_history)
SELECT r.account_id, r.previous_tier, r.tier, t.delta, t.direction, t.sparkline
FROM ranked r
JOIN (SELECT account_id, health.delta(health.trend(scored_at, score)) AS delta,
             health.direction(health.trend(scored_at, score)) AS direction,
             health.sparkline(scored_at, score) AS sparkline
      FROM score_history GROUP BY account_id) t USING (account_id)
WHERE r.recency = 1 AND array_position('{at_risk,neutral,healthy}'::text[], r.tier)
                      < array_position('{at_risk,neutral,healthy}'::text[], r.previous_tier)
ORDER BY r.account_id;

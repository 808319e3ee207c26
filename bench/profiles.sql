-- Within-segment percentiles of 10 metrics for every account (docs/reference.md §5):
--   (a) the hand-written way, one window per metric:
--       percent_rank() OVER (PARTITION BY segment ORDER BY m) (and cume_dist(),
--       which has percentile_rank's meaning, to check the answers);
--   (b) one profile per segment and metric, then percentile_rank, end to end;
--   (c) the same against stored profiles (yesterday's, in a table).
-- Needs bench_wide from bench/setup.sql.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET jit = off;

DROP TABLE IF EXISTS bench_seg, bench_seg_profiles;
CREATE TABLE bench_seg AS
SELECT account_id,
       (ARRAY['smb', 'mid_market', 'enterprise', 'strategic'])[account_id % 4 + 1] AS segment,
       m1, m2, m3, m4, m5, m6,
       m7 + (account_id * 2654435761 % 1000) / 1000.0 AS m7,   -- continuous, few ties
       m8, m9, m10
FROM bench_wide;
VACUUM ANALYZE bench_seg;
-- "Yesterday's" profiles, stored as a materialized view would hold them.
CREATE TABLE bench_seg_profiles AS
SELECT segment, health.profile(m1) AS p1, health.profile(m2) AS p2, health.profile(m3) AS p3,
       health.profile(m4) AS p4, health.profile(m5) AS p5, health.profile(m6) AS p6,
       health.profile(m7) AS p7, health.profile(m8) AS p8, health.profile(m9) AS p9,
       health.profile(m10) AS p10
FROM bench_seg GROUP BY segment;
VACUUM ANALYZE bench_seg_profiles;

CREATE TEMP TABLE profile_queries (id int, name text, query text);
INSERT INTO profile_queries VALUES
(1, '(a) hand-written: percent_rank() OVER (PARTITION BY segment ORDER BY m) x10', $q$
SELECT round(sum(r1 + r2 + r3 + r4 + r5 + r6 + r7 + r8 + r9 + r10)::numeric, 0) FROM (
  SELECT 100 * percent_rank() OVER (PARTITION BY segment ORDER BY m1) AS r1,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m2) AS r2,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m3) AS r3,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m4) AS r4,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m5) AS r5,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m6) AS r6,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m7) AS r7,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m8) AS r8,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m9) AS r9,
         100 * percent_rank() OVER (PARTITION BY segment ORDER BY m10) AS r10
  FROM bench_seg) x $q$),
(2, '(a) hand-written: cume_dist() OVER (PARTITION BY segment ORDER BY m) x10', $q$
SELECT round(sum(r1 + r2 + r3 + r4 + r5 + r6 + r7 + r8 + r9 + r10)::numeric, 0) FROM (
  SELECT 100 * cume_dist() OVER (PARTITION BY segment ORDER BY m1) AS r1,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m2) AS r2,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m3) AS r3,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m4) AS r4,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m5) AS r5,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m6) AS r6,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m7) AS r7,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m8) AS r8,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m9) AS r9,
         100 * cume_dist() OVER (PARTITION BY segment ORDER BY m10) AS r10
  FROM bench_seg) x $q$),
(3, '(b) extension: profile per segment x metric, then percentile_rank', $q$
WITH p AS (
  SELECT segment, health.profile(m1) AS p1, health.profile(m2) AS p2, health.profile(m3) AS p3,
         health.profile(m4) AS p4, health.profile(m5) AS p5, health.profile(m6) AS p6,
         health.profile(m7) AS p7, health.profile(m8) AS p8, health.profile(m9) AS p9,
         health.profile(m10) AS p10
  FROM bench_seg GROUP BY segment)
SELECT round(sum(health.percentile_rank(m1, p1) + health.percentile_rank(m2, p2) + health.percentile_rank(m3, p3)
               + health.percentile_rank(m4, p4) + health.percentile_rank(m5, p5) + health.percentile_rank(m6, p6)
               + health.percentile_rank(m7, p7) + health.percentile_rank(m8, p8) + health.percentile_rank(m9, p9)
               + health.percentile_rank(m10, p10))::numeric, 0)
FROM bench_seg JOIN p USING (segment) $q$),
(4, '(c) extension: percentile_rank against stored profiles', $q$
SELECT round(sum(health.percentile_rank(m1, p1) + health.percentile_rank(m2, p2) + health.percentile_rank(m3, p3)
               + health.percentile_rank(m4, p4) + health.percentile_rank(m5, p5) + health.percentile_rank(m6, p6)
               + health.percentile_rank(m7, p7) + health.percentile_rank(m8, p8) + health.percentile_rank(m9, p9)
               + health.percentile_rank(m10, p10))::numeric, 0)
FROM bench_seg JOIN bench_seg_profiles USING (segment) $q$);

-- Check first: the profile answers are cume_dist's, to the sketch's error
-- (sums of 10 million sub-scores; the mean difference per sub-score must be
-- under 0.1 point; m7 is continuous and crowded, the others exact).
CREATE TEMP TABLE profile_answers AS SELECT id, NULL::numeric AS answer FROM profile_queries;
DO $$ DECLARE r record; a text; BEGIN
  FOR r IN SELECT * FROM profile_queries LOOP
    EXECUTE r.query INTO a; UPDATE profile_answers SET answer = a::numeric WHERE id = r.id;
  END LOOP; END $$;
SELECT q.name, a.answer FROM profile_queries q JOIN profile_answers a USING (id) ORDER BY id;
SELECT abs((SELECT answer FROM profile_answers WHERE id = 3) - (SELECT answer FROM profile_answers WHERE id = 2))
         / (10 * (SELECT count(*) FROM bench_seg)) AS mean_difference_points,
       (SELECT answer FROM profile_answers WHERE id = 3) = (SELECT answer FROM profile_answers WHERE id = 4) AS stored_same,
       abs((SELECT answer FROM profile_answers WHERE id = 3) - (SELECT answer FROM profile_answers WHERE id = 2))
         / (10 * (SELECT count(*) FROM bench_seg)) < 0.1 AS profile_answers_agree \gset
\echo 'mean |percentile_rank - 100 * cume_dist| per sub-score:' :mean_difference_points 'points; stored profiles give the same sum:' :stored_same
\if :profile_answers_agree
\else
  \echo 'profile answers differ from cume_dist: not timing'
  SELECT 1/0;
\endif

CREATE TEMP TABLE profile_times AS
SELECT id, name, bench_median(query, :reps) AS median_s FROM profile_queries ORDER BY id;

\echo
\echo 'Within-segment percentiles of 10 metrics: median wall time of' :reps 'runs, one core, on' :accounts 'accounts:'
SELECT t.name, round(t.median_s::numeric, 3) AS median_s,
       round((h.median_s / t.median_s)::numeric, 2) AS speedup_vs_percent_rank
FROM profile_times t, profile_times h WHERE h.id = 1
ORDER BY t.id;
SELECT pg_size_pretty(sum(pg_column_size(p1) + pg_column_size(p7))) AS stored_size_m1_and_m7_all_segments
FROM bench_seg_profiles;

-- The single-server queries of the sharded benchmark (bench/sharded.sql),
-- also timed on each shard by itself: the shard's work without transfer.
CREATE TEMP TABLE sharded_bench (id int, what text, place text, query text);
INSERT INTO sharded_bench VALUES
(1, 'full scoring', 'one server, one core', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM bench_long GROUP BY account_id) x $q$),
(4, 'per-segment profiles', 'one server, one core', $q$
SELECT md5(string_agg(concat_ws(',', segment, health.profile_count(p1), health.quantile(p1, 0.5), health.quantile(p7, 0.9),
                                health.quantile(p10, 0.25)), ';' ORDER BY segment)) FROM (
    SELECT account_id % 4 AS segment, health.profile(m1) p1, health.profile(m2) p2, health.profile(m3) p3,
           health.profile(m4) p4, health.profile(m5) p5, health.profile(m6) p6, health.profile(m7) p7,
           health.profile(m8) p8, health.profile(m9) p9, health.profile(m10) p10
    FROM bench_wide GROUP BY 1) x $q$);

-- Accuracy of profiles on 1 000 000 values per distribution, against the
-- exact answers PostgreSQL computes by sorting:
--   percentile_rank(v, p)  vs  100 * cume_dist() OVER (ORDER BY v), every row;
--   quantile(p, q)         vs  percentile_cont(q), q = 0, 0.01, ..., 1.
-- Promise: every rank within 0.1 percentile point (exact for up to 32 768
-- distinct values); every quantile between the smallest and largest value
-- of the buckets holding the ranks it interpolates between. A rollup of 10
-- partial profiles is the same sketch as one profile of all the values.
SELECT setseed(0.42);
CREATE TABLE acc(dist text, i int, v float8);
INSERT INTO acc SELECT 'uniform 0..1000', i, random() * 1000 FROM generate_series(1, 1000000) i;
-- lognormal, sigma 1.5: from 0.1 to 100 000, a fat right tail
INSERT INTO acc SELECT 'lognormal fat tail', i, exp(3 + 1.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
FROM generate_series(1, 1000000) i;
-- 20 distinct values, 5 % each
INSERT INTO acc SELECT 'ties: 20 integers', i, floor(random() * 20) FROM generate_series(1, 1000000) i;
-- logins per month: 30 % zeros, the rest a rounded fat tail
INSERT INTO acc SELECT 'zero-inflated counts', i,
    CASE WHEN random() < 0.3 THEN 0 ELSE round(exp(2 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))) END
FROM generate_series(1, 1000000) i;
-- normal around 0: negative and positive values
INSERT INTO acc SELECT 'normal around 0', i, 50 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
FROM generate_series(1, 1000000) i;
-- 250 heavily tied values (0.4 % each), several of them within 1 % of each
-- other: the case 1 % buckets handled worst (0.66 points in 0.2.0); with
-- fewer than 32 769 distinct values the profile holds them exactly.
INSERT INTO acc SELECT 'clustered ties', i, ((i::bigint * 4 * 67867967 % 500) + (i::bigint * 4 * 2654435761 % 1000) / 1000.0)
FROM generate_series(1, 1000000) i;
-- far from zero with a tiny spread (uptime percentages, one cohort's days
-- since signup): N(100, 0.3)
INSERT INTO acc SELECT 'narrow far from zero', i, 100 + 0.3 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
FROM generate_series(1, 1000000) i;
-- four price points (10, 50, 200, 1000) with the same small noise: narrow
-- clusters beside a wide spread
INSERT INTO acc SELECT 'clusters far apart', i,
    (ARRAY[10, 50, 200, 1000])[1 + i % 4] + 0.01 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
FROM generate_series(1, 1000000) i;
INSERT INTO acc SELECT 'constant', i, 7 FROM generate_series(1, 1000000) i;
INSERT INTO acc VALUES ('one value', 1, 42), ('two values', 1, 3), ('two values', 2, 5);
ANALYZE acc;

CREATE TABLE acc_profiles AS
SELECT dist, health.profile(v) AS whole FROM acc GROUP BY dist;
-- rollup of 10 parts, split by row number
CREATE TABLE acc_rolled AS
SELECT dist, health.rollup(p) AS rolled
FROM (SELECT dist, i % 10 AS part, health.profile(v) AS p FROM acc GROUP BY dist, part) parts
GROUP BY dist;
CREATE TABLE acc_exact AS
SELECT dist, v, 100 * cume_dist() OVER w AS exact_rank,
       row_number() OVER w - 1 AS r, count(*) OVER (PARTITION BY dist) AS n
FROM acc WINDOW w AS (PARTITION BY dist ORDER BY v);

-- Largest rank error over all rows, and the bound: the largest share of the
-- population in one bucket holding more than one distinct value (0 when
-- every bucket holds one value, as below 32 769 distinct values). The rollup
-- of ten parts is the same sketch.
CREATE TABLE acc_buckets AS
SELECT dist, (b ->> 0)::bigint AS count, (b ->> 1)::float8 AS lo, (CASE jsonb_array_length(b) WHEN 2 THEN b ->> 1 ELSE b ->> 2 END)::float8 AS hi,
       sum((b ->> 0)::bigint) OVER (PARTITION BY dist ORDER BY k) AS cumulative
FROM acc_profiles, jsonb_array_elements(whole::text::jsonb -> 'buckets') WITH ORDINALITY e(b, k);
SELECT dist, whole::text::jsonb ->> 'global_shift' AS global_shift, whole::text::jsonb ->> 'block_shift' AS block_shift,
       jsonb_array_length(whole::text::jsonb -> 'buckets') AS buckets, pg_column_size(whole) AS bytes
FROM acc_profiles ORDER BY dist;
CREATE TABLE acc_crowding AS
SELECT dist, coalesce(max(100.0 * count / health.profile_count(whole)) FILTER (WHERE lo < hi), 0) AS bound
FROM acc_buckets JOIN acc_profiles USING (dist)
GROUP BY dist;
SELECT e.dist,
       count(*) AS rows,
       round(max(abs(health.percentile_rank(e.v, p.whole) - e.exact_rank))::numeric, 3) AS max_rank_error,
       max(abs(health.percentile_rank(e.v, p.whole) - e.exact_rank)) <= 0.1 AS within_0_1_point,
       max(abs(health.percentile_rank(e.v, p.whole) - e.exact_rank)) <= max(c.bound) + 1e-9 AS within_bound
FROM acc_exact e JOIN acc_profiles p USING (dist) JOIN acc_crowding c USING (dist)
GROUP BY e.dist ORDER BY e.dist;
SELECT dist, r.rolled::text::jsonb - '{mean,stddev,m2,log_mean,log_m2}'::text[]
           = p.whole::text::jsonb - '{mean,stddev,m2,log_mean,log_m2}'::text[] AS rollup_same_sketch
FROM acc_profiles p JOIN acc_rolled r USING (dist) ORDER BY dist;

-- Quantiles over q = 0, 0.01, ..., 1: each lies between the smallest value
-- of the bucket holding the lower rank percentile_cont interpolates from
-- and the largest value of the bucket holding the upper one; the largest
-- error relative to the true value is shown.
CREATE TABLE acc_quantiles AS
SELECT c.dist, c.q, c.exact, floor(c.q * (c.n - 1)) AS r_lo, ceil(c.q * (c.n - 1)) AS r_hi
FROM (SELECT dist, unnest(qs) AS q,
             unnest(percentile_cont(qs) WITHIN GROUP (ORDER BY v)) AS exact, count(*) AS n
      FROM acc, (SELECT array_agg((k / 100.0)::float8 ORDER BY k) AS qs FROM generate_series(0, 100) k) g
      GROUP BY dist, qs) c;
SELECT x.dist,
       round(max(abs(health.quantile(p.whole, q) - x.exact) / greatest(abs(x.exact), 1e-300))::numeric, 6) AS max_relative_error,
       bool_and(health.quantile(p.whole, q) BETWEEN low.lo AND high.hi) AS within_buckets,
       bool_and(health.quantile(p.whole, q) = health.quantile(r.rolled, q)) AS rollup_same_answers
FROM acc_quantiles x JOIN acc_profiles p USING (dist) JOIN acc_rolled r USING (dist)
JOIN acc_buckets low ON low.dist = x.dist AND x.r_lo < low.cumulative AND x.r_lo >= low.cumulative - low.count
JOIN acc_buckets high ON high.dist = x.dist AND x.r_hi < high.cumulative AND x.r_hi >= high.cumulative - high.count
GROUP BY x.dist ORDER BY x.dist;

-- The rollup's moments equal the one-pass moments to 9 significant digits.
SELECT p.dist,
       health.profile_count(whole) = health.profile_count(rolled) AS same_count,
       round(health.profile_mean(whole)::numeric, 6) = round(health.profile_mean(rolled)::numeric, 6) AS same_mean,
       abs(health.profile_stddev(whole) - health.profile_stddev(rolled)) <= 1e-9 * greatest(health.profile_stddev(whole), 1) AS same_stddev,
       abs(health.profile_mean(whole) - a.mean) <= 1e-9 * greatest(abs(a.mean), 1) AS mean_matches_avg,
       abs(health.profile_stddev(whole) - coalesce(a.sd, 0)) <= 1e-9 * greatest(coalesce(a.sd, 0), 1) AS stddev_matches_stddev
FROM acc_profiles p JOIN acc_rolled USING (dist)
JOIN (SELECT dist, avg(v) AS mean, stddev(v) AS sd FROM acc GROUP BY dist) a USING (dist)
ORDER BY p.dist;

DROP TABLE acc, acc_profiles, acc_rolled, acc_exact, acc_quantiles, acc_crowding, acc_buckets;

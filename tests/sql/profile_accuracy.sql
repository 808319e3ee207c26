-- Accuracy of profiles on 1 000 000 values per distribution, against the
-- exact answers PostgreSQL computes by sorting:
--   percentile_rank(v, p)  vs  100 * cume_dist() OVER (ORDER BY v), every row;
--   quantile(p, q)         vs  percentile_cont(q), q = 0, 0.01, ..., 1.
-- Promise: ranks within 1 point, quantiles within 1 % of the true value.
-- The same holds for a rollup of 10 partial profiles.
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
-- the sketch's worst case: 250 heavily tied values (0.4 % each), several of
-- them within 1 % of each other, so they share buckets. Promised: the error is
-- at most the share of the population in the bucket of the value.
INSERT INTO acc SELECT 'clustered ties', i, ((i::bigint * 4 * 67867967 % 500) + (i::bigint * 4 * 2654435761 % 1000) / 1000.0)
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

-- Largest rank error over all rows, for one profile and for the rollup of ten,
-- and the bound: the largest share of the population in one bucket holding
-- more than one distinct value (0 when every bucket holds one value).
CREATE TABLE acc_crowding AS
SELECT dist, coalesce(max(share) FILTER (WHERE distinct_values > 1), 0) AS bound
FROM (SELECT dist, 100.0 * (b ->> 0)::numeric / health.profile_count(whole) AS share,
             CASE WHEN b ->> 1 = b ->> 2 THEN 1 ELSE 2 END AS distinct_values
      FROM acc_profiles, jsonb_array_elements(whole::text::jsonb -> 'buckets') b) x
GROUP BY dist;
SELECT e.dist,
       count(*) AS rows,
       round(max(abs(health.percentile_rank(e.v, p.whole) - e.exact_rank))::numeric, 3) AS max_rank_error,
       max(abs(health.percentile_rank(e.v, p.whole) - e.exact_rank)) <= max(c.bound) + 1e-9 AS within_bound,
       max(abs(health.percentile_rank(e.v, r.rolled) - e.exact_rank)) <= 1 AS rollup_within_1_point
FROM acc_exact e JOIN acc_profiles p USING (dist) JOIN acc_rolled r USING (dist) JOIN acc_crowding c USING (dist)
GROUP BY e.dist ORDER BY e.dist;

-- Largest relative quantile error over q = 0, 0.01, ..., 1. The error is
-- measured against the larger magnitude of the two ranks percentile_cont
-- interpolates between (their own estimates are each within 1 %).
CREATE TABLE acc_quantiles AS
SELECT c.dist, c.q, c.exact, greatest(abs(lo.v), abs(hi.v)) AS magnitude
FROM (SELECT dist, unnest(qs) AS q,
             unnest(percentile_cont(qs) WITHIN GROUP (ORDER BY v)) AS exact, count(*) AS n
      FROM acc, (SELECT array_agg((k / 100.0)::float8 ORDER BY k) AS qs FROM generate_series(0, 100) k) g
      GROUP BY dist, qs) c
JOIN acc_exact lo ON lo.dist = c.dist AND lo.r = floor(c.q * (c.n - 1))
JOIN acc_exact hi ON hi.dist = c.dist AND hi.r = ceil(c.q * (c.n - 1));
SELECT x.dist,
       round(max(abs(health.quantile(p.whole, q) - x.exact) / greatest(x.magnitude, 1e-300))::numeric, 5) AS max_relative_error,
       max(abs(health.quantile(r.rolled, q) - x.exact) / greatest(x.magnitude, 1e-300)) <= 0.01 AS rollup_within_1_percent,
       bool_and(health.quantile(p.whole, q) = health.quantile(r.rolled, q)) AS rollup_same_answers
FROM acc_quantiles x JOIN acc_profiles p USING (dist) JOIN acc_rolled r USING (dist)
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

DROP TABLE acc, acc_profiles, acc_rolled, acc_exact, acc_quantiles, acc_crowding;

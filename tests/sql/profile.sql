-- Population profiles (docs/reference.md §5): profile(), rollup(profile), percentile_rank,
-- quantile, scale_profile, quantile_tier. Expected values are worked out by
-- hand in the comments, or computed independently in SQL next to them.

-- A population of 1..100.
CREATE TABLE hundred AS SELECT x::float8 AS x FROM generate_series(1, 100) x;
CREATE TABLE hundred_profile AS SELECT health.profile(x) AS p FROM hundred;

-- 25 of 100 values are <= 25; none lie between 25 and 26; 0 and 1000 are outside.
SELECT v, health.percentile_rank(v, p) AS rank
FROM hundred_profile, unnest(ARRAY[0, 1, 25, 25.5, 26, 99.9, 100, 1000]::float8[]) v;

-- quantile interpolates as percentile_cont: q=0.25 -> 25.75, q=0.5 -> 50.5.
SELECT q, health.quantile(p, q) AS quantile,
       (SELECT percentile_cont(q) WITHIN GROUP (ORDER BY x) FROM hundred) AS percentile_cont
FROM hundred_profile, unnest(ARRAY[0, 0.01, 0.25, 0.5, 0.9, 1]::float8[]) q;

-- count, mean and sample standard deviation, next to count/avg/stddev.
SELECT health.profile_count(p), health.profile_mean(p), round(health.profile_stddev(p)::numeric, 12) AS stddev,
       (SELECT round(stddev(x)::numeric, 12) FROM hundred) AS sql_stddev
FROM hundred_profile;

-- scale_profile, every method, both directions:
--   percentile: 25 values <= 25 -> 25; lower is better: 76 values >= 25 -> 76
--   minmax: 100*(25-1)/(100-1) = 24.2424...; flipped 75.7575...
--   zscore at the mean (50.5) -> 50
SELECT method, higher,
       round(health.scale_profile(25, p, method, higher)::numeric, 6) AS at_25,
       round(health.scale_profile(50.5, p, method, higher)::numeric, 6) AS at_50_5
FROM hundred_profile, unnest(ARRAY['percentile', 'minmax', 'zscore', 'log_zscore']) method,
     unnest(ARRAY[true, false]) higher
ORDER BY method, higher DESC;

-- zscore and log_zscore agree with scale_zscore fed with avg/stddev (of ln(1+x) for log_zscore).
SELECT round(health.scale_profile(70, p, 'zscore')::numeric, 9) =
         (SELECT round(health.scale_zscore(70, avg(x), stddev(x))::numeric, 9) FROM hundred) AS zscore_agrees,
       round(health.scale_profile(70, p, 'log_zscore')::numeric, 9) =
         (SELECT round(health.scale_zscore(ln(71), avg(ln(1 + x)), stddev(ln(1 + x)))::numeric, 9) FROM hundred) AS log_zscore_agrees
FROM hundred_profile;

-- quantile_tier: bottom 25 % / middle / top 25 %, upper-inclusive like tier():
-- 25 is in the bottom quarter (25 % at or below), 26 is not; 75 is middle, 76 top.
SELECT v, health.quantile_tier(v, p) AS tier,
       health.quantile_tier(v, p, '{0.1,0.5,0.9}', '{D,C,B,A}') AS grade
FROM hundred_profile, unnest(ARRAY[1, 10, 11, 25, 26, 50, 51, 75, 76, 90, 91, 100]::float8[]) v;

-- The text form is readable JSON: moments, the two shifts of the sketch, then
-- the buckets. Up to 32 768 distinct values the profile is exact (both shifts
-- 0): one [count, value] per distinct value.
SELECT health.profile(x) FROM (VALUES (0.0), (1.0), (1.005), (2.5), (2.5)) t(x);
-- Above that it is a sketch: [count, min, max, count at min, count at max,
-- shift] per bucket, at most 1 536 of them. Buckets are as fine as the data
-- calls for: 1 000 000 values within 0.01 of 100 still get hundreds.
SELECT p::text::jsonb - 'buckets' AS header, jsonb_array_length(p::text::jsonb -> 'buckets') AS buckets,
       p::text::jsonb -> 'buckets' -> 0 AS first_bucket
FROM (SELECT health.profile(100 + (x % 100003) / 1e7) AS p FROM generate_series(1, 1000000) x) t;
-- ... and it reads back unchanged.
SELECT p::text::health.profile::text = p::text AS round_trip
FROM (SELECT health.profile(x) AS p FROM hundred) t;

-- Degenerate populations.
-- An empty group and a group of NULLs have no profile (NULL), so their scores are NULL.
SELECT health.profile(x) IS NULL AS empty_is_null FROM hundred WHERE x > 1000;
SELECT health.profile(NULL::float8) IS NULL AS nulls_only_is_null FROM generate_series(1, 3);
SELECT health.percentile_rank(5, NULL) IS NULL AS rank_of_no_profile_is_null;
-- All values equal (stddev 0): minmax and zscore put the common value at 50, above at 100, below at 0;
-- percentile puts it at 100 (every value is at or below it).
SELECT v, health.scale_profile(v, p, 'percentile') AS percentile, health.scale_profile(v, p, 'minmax') AS minmax,
       health.scale_profile(v, p, 'zscore') AS zscore, health.scale_profile(v, p, 'zscore', false) AS zscore_lower,
       health.quantile(p, 0.5) AS median, health.profile_stddev(p) AS stddev
FROM (SELECT health.profile(7) AS p FROM generate_series(1, 1000)) c, unnest(ARRAY[6, 7, 8]::float8[]) v;
-- One value and two values are exact.
SELECT health.quantile(p, 0.5) AS median, health.percentile_rank(42, p) AS rank, health.profile_stddev(p) AS stddev
FROM (SELECT health.profile(42) AS p) one;
SELECT health.quantile(p, 0.5) AS median, health.percentile_rank(3, p) AS rank_3, health.percentile_rank(4, p) AS rank_4
FROM (SELECT health.profile(x) AS p FROM (VALUES (3.0), (5.0)) t(x)) two;
-- Negative values: percentiles work, log_zscore refuses (it needs ln(1+x) of values >= 0).
SELECT health.percentile_rank(-5, p) AS rank, health.quantile(p, 0) AS min
FROM (SELECT health.profile(x) AS p FROM (VALUES (-10.0), (-5.0), (0.0), (5.0)) t(x)) n;
SELECT sql_error($$SELECT health.scale_profile(1, health.profile(x), 'log_zscore') FROM (VALUES (-10.0), (5.0)) t(x)$$);
SELECT sql_error($$SELECT health.scale_profile(-1, p, 'log_zscore') FROM hundred_profile$$);

-- Errors: SQLSTATE and message.
SELECT e FROM (VALUES
    (sql_error($$SELECT health.profile(x) FROM (VALUES (1.0), ('NaN')) t(x)$$)),
    (sql_error($$SELECT health.profile(x) FROM (VALUES ('Infinity'::float8)) t(x)$$)),
    (sql_error($$SELECT health.percentile_rank('NaN', p) FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile(p, 1.5) FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile(p, -0.1) FROM hundred_profile$$)),
    (sql_error($$SELECT health.scale_profile(1, p, 'rank') FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile_tier(1, p, '{0.75,0.25}') FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile_tier(1, p, '{0,0.5}', '{a,b,c}') FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile_tier(1, p, '{0.5,1}', '{a,b,c}') FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile_tier(1, p, '{0.5}') FROM hundred_profile$$)),
    (sql_error($$SELECT health.quantile_tier(1, p, '{0.5,NULL}', '{a,b,c}') FROM hundred_profile$$))
) t(e);

-- Text input is checked as thoroughly as what the aggregate writes. A text
-- form without the two shifts is the format of 0.1.0 and 0.2.0 ([count, min,
-- max] per 1 % bucket, "gamma": 1.01), still read so dumps restore.
SELECT e FROM (VALUES
    (sql_error($$SELECT 'not json'::health.profile$$)),
    (sql_error($$SELECT '{"count": 0, "mean": 0, "min": 0, "max": 0, "negatives": 0, "m2": 0, "log_mean": 0, "log_m2": 0, "buckets": []}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 2, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "buckets": [[1, 1, 1]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "buckets": [[2, 1, 2]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "buckets": [[1, 2, 2], [1, 1, 1]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 1, "mean": 1, "stddev": 3, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "buckets": [[1, 1, 1]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "gamma": 1.02, "buckets": [[1, 1, 1]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "colour": "red", "buckets": [[1, 1, 1]]}'::health.profile$$)),
    -- the current format: exact buckets are [count, value] ...
    (sql_error($$SELECT '{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "global_shift": 0, "block_shift": 0, "buckets": [[1, 1, 2], [1, 2]]}'::health.profile$$)),
    -- ... and a sketch's buckets lie within one bucket at their shift, with
    -- consistent counts at their extremes
    (sql_error($$SELECT '{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "global_shift": 52, "block_shift": 52, "buckets": [[2, 1, 2, 1, 1, 52]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 3, "mean": 1.5, "min": 1, "max": 1.5, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "global_shift": 52, "block_shift": 52, "buckets": [[3, 1, 1.5, 2, 2, 52]]}'::health.profile$$)),
    (sql_error($$SELECT '{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "global_shift": 0, "block_shift": 0, "gamma": 1.01, "buckets": [[1, 1]]}'::health.profile$$))
) t(e);

-- rollup(profile): ten parts merge into exactly the sketch of the whole, and
-- the same moments (to rounding). Exact profiles stay exact; parts that
-- together hold more than 32 768 distinct values merge into a sketch, the same
-- one a single profile of all the values is.
CREATE TABLE parts AS SELECT (x::int % 10) AS part, health.profile(x) AS p FROM hundred GROUP BY 1;
SELECT (r::text::jsonb -> 'buckets') = (w::text::jsonb -> 'buckets') AS same_sketch,
       health.profile_count(r) AS count, health.profile_mean(r) AS mean,
       round(health.profile_stddev(r)::numeric, 9) = round(health.profile_stddev(w)::numeric, 9) AS same_stddev
FROM (SELECT health.rollup(p) AS r FROM parts) a, hundred_profile h(w);
SELECT whole::text::jsonb - '{mean,stddev,m2,log_mean,log_m2}'::text[] = rolled::text::jsonb - '{mean,stddev,m2,log_mean,log_m2}'::text[] AS same_sketch,
       whole::text::jsonb ->> 'block_shift' <> '0' AS is_sketch
FROM (SELECT health.profile(sqrt(x) * 7.3) AS whole FROM generate_series(1, 200000) x) w,
     (SELECT health.rollup(p) AS rolled
      FROM (SELECT x % 7 AS part, health.profile(sqrt(x) * 7.3) AS p FROM generate_series(1, 200000) x GROUP BY 1) parts) r;

-- Per-segment use: a materialized view of (segment, metric, profile), joined
-- back to the metric rows. Each account is placed within its own segment.
CREATE TABLE account_metric(account int, segment text, metric text, value float8);
INSERT INTO account_metric
SELECT a, CASE WHEN a <= 60 THEN 'smb' ELSE 'enterprise' END, m,
       CASE m WHEN 'logins' THEN (a * 7) % 31 ELSE (a * 13) % 17 END
FROM generate_series(1, 100) a, unnest(ARRAY['logins', 'tickets']) m;
CREATE MATERIALIZED VIEW segment_profiles AS
SELECT segment, metric, health.profile(value) AS profile
FROM account_metric GROUP BY segment, metric;
CREATE UNIQUE INDEX ON segment_profiles (segment, metric);
-- The profile's rank equals 100 * cume_dist() within the segment, for every row.
SELECT m.metric, count(*) AS rows,
       count(*) FILTER (WHERE round(health.percentile_rank(m.value, s.profile)::numeric, 9) = round(w.exact::numeric, 9)) AS exact
FROM account_metric m
JOIN segment_profiles s USING (segment, metric)
JOIN (SELECT account, metric, 100 * cume_dist() OVER (PARTITION BY segment, metric ORDER BY value) AS exact
      FROM account_metric) w USING (account, metric)
GROUP BY m.metric ORDER BY m.metric;
-- A sub-score per account: logins (higher is better) and tickets (lower is better).
SELECT m.account, m.segment,
       round(health.scale_profile(m.value, s.profile)::numeric, 1) AS logins_percentile,
       round(health.scale_profile(t.value, st.profile, 'percentile', false)::numeric, 1) AS tickets_percentile
FROM account_metric m
JOIN segment_profiles s ON s.segment = m.segment AND s.metric = m.metric
JOIN account_metric t ON t.account = m.account AND t.metric = 'tickets'
JOIN segment_profiles st ON st.segment = t.segment AND st.metric = 'tickets'
WHERE m.metric = 'logins' AND m.account IN (1, 2, 61, 62)
ORDER BY m.account;

-- Stored profiles: binary COPY out and back in (psql's \copy, as any client does) gives identical profiles.
CREATE TABLE stored_profiles AS SELECT segment, metric, profile FROM segment_profiles;
\copy stored_profiles TO '/tmp/customer_health_regress_profiles.bin' WITH (FORMAT binary)
CREATE TABLE profiles_back (LIKE stored_profiles);
\copy profiles_back FROM '/tmp/customer_health_regress_profiles.bin' WITH (FORMAT binary)
SELECT count(*) AS rows, bool_and(a.profile::text = b.profile::text) AS identical
FROM stored_profiles a JOIN profiles_back b USING (segment, metric);

-- pg_dump of a table of profiles restores to equal profiles (dumped, renamed, restored here).
\! "$PG_BIN/pg_dump" --no-owner --table=public.stored_profiles "$PGDATABASE_REGRESS" | sed 's/stored_profiles/restored_profiles/g' | "$PG_BIN/psql" -q -X -U "$CH_ANALYST" -d "$PGDATABASE_REGRESS" >/dev/null
SELECT count(*) AS rows, bool_and(a.profile::text = b.profile::text) AS identical
FROM stored_profiles a JOIN restored_profiles b USING (segment, metric);

-- Size: a profile of 1 000 000 values (a fat-tailed metric spanning six
-- orders of magnitude, and a 0..100 integer metric, which is exact).
SELECT setseed(0.5);
SELECT pg_column_size(health.profile(exp(3 + 2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))) AS fat_tail_bytes,
       pg_column_size(health.profile(floor(random() * 101))) AS integer_bytes
FROM generate_series(1, 1000000);

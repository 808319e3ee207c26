-- What a function works out from an argument (a profile fetched from its
-- TOAST table with its lookup table, a parsed model, a validated tier
-- scheme) is kept per call site for the rest of the query, keyed by the
-- argument's TOAST pointer, its position (a constant), or its bytes. The
-- answers are the same whichever way a value arrives.

-- 200 segments, each with a stored profile kept out of line by TOAST,
-- joined to 100 000 accounts: every percentile_rank and quantile_tier is
-- the same as with the same profiles passed as fresh in-memory values.
SELECT setseed(0.3);
CREATE TABLE cache_accounts AS
SELECT a AS account, (a * 7919) % 200 AS segment, floor(random() * 5000)::float8 AS logins
FROM generate_series(1, 100000) a;
CREATE TABLE cache_profiles AS
SELECT segment, health.profile(logins) AS p FROM cache_accounts GROUP BY segment;
SELECT count(*) AS segments, count(*) FILTER (WHERE pg_column_size(p) > 2048) AS over_2_kb,
       pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'cache_profiles'::regclass)) > 0 AS stored_out_of_line
FROM cache_profiles;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE health.percentile_rank(a.logins, s.p)
                              <> health.percentile_rank(a.logins, s.p::text::health.profile)) AS ranks_differ_in_memory,
       count(*) FILTER (WHERE health.quantile_tier(a.logins, s.p)
                              <> health.quantile_tier(a.logins, s.p::text::health.profile)) AS tiers_differ_in_memory,
       count(DISTINCT health.quantile_tier(a.logins, s.p)) AS tiers_used
FROM cache_accounts a JOIN cache_profiles s USING (segment);

-- A 2 MB model (20 000 metrics), stored in a table (compressed and out of
-- line) and evaluated for 1 000 accounts, each measured on two metrics: the
-- score is the weighted mean of those two (the model's scale is 0..100).
CREATE TABLE cache_big_model AS
SELECT ('{"metrics": [' || string_agg(format('{"name": "m%s", "weight": %s, "scale": {"method": "linear", "lo": 0, "hi": 100}}', i, 1 + i % 5), ', ')
        || '], "missing": "renormalize"}')::health.model AS model
FROM generate_series(1, 20000) i;
SELECT octet_length(model::text) > 2000000 AS over_2_mb, pg_column_size(model) < octet_length(model::text) AS stored_compressed
FROM cache_big_model;
CREATE TABLE cache_metrics AS
SELECT a AS account, jsonb_build_object('m' || (a % 20000 + 1), a % 101, 'm' || ((a * 7) % 20000 + 1), (a * 3) % 101) AS metrics
FROM generate_series(1, 1000) a;
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE abs(health.evaluate(m.model, c.metrics) - (
           SELECT sum((1 + substr(k, 2)::int % 5) * v::float8) / sum(1 + substr(k, 2)::int % 5)
           FROM jsonb_each_text(c.metrics) e(k, v))) < 1e-9) AS weighted_mean_of_their_metrics
FROM cache_metrics c, cache_big_model m;

-- Tier schemes: a different scheme per row is validated per scheme, and a
-- bad one is still an error.
SELECT health.tier(s, c, l) AS tier, count(*)
FROM generate_series(0, 100, 10) s,
     (VALUES ('{40,70}'::float8[], '{at_risk,neutral,healthy}'::text[]), ('{50}', '{low,high}')) v(c, l)
GROUP BY 1 ORDER BY 1;
SELECT sql_error($$SELECT health.tier(s, CASE WHEN s > 50 THEN '{70,40}'::float8[] ELSE '{40,70}' END) FROM generate_series(0, 100, 10) s$$) AS unsorted_scheme_on_some_rows;

DROP TABLE cache_accounts, cache_profiles, cache_big_model, cache_metrics;

-- After `ALTER EXTENSION customer_health UPDATE` of a database that
-- tests/upgrade/release-in-use.sql set up: the same answers, what 0.4.0
-- adds working, and the objects of a fresh install. \i'd by upgrade.sql.
SELECT extversion FROM pg_extension WHERE extname = 'customer_health';
REFRESH MATERIALIZED VIEW aggregates;
SELECT count(*) AS aggregates_differing_after_update
FROM (SELECT * FROM aggregates EXCEPT SELECT * FROM aggregates_before) d;
SELECT health.evaluate(health.model_for('default', '2026-03-01 00:00+00'), '{"logins": 150, "tickets": 0}'::jsonb) AS score_of_150_logins;
-- What 0.4.0 adds works on the updated database: equality of stored
-- values, model_for_or_null, the missing policy 'error', and the trigger
-- that keeps a row's version and its document's the same (the old
-- disagreeing row stays until someone changes it, and must then agree).
SELECT count(*) AS profiles, count(DISTINCT population::text) AS distinct_by_text,
       (SELECT count(*) FROM (SELECT DISTINCT population FROM (SELECT health.profile(score) AS population
                                                             FROM account_metrics GROUP BY account_id) p) d) AS distinct_by_equality
FROM (SELECT health.profile(score) AS population FROM account_metrics GROUP BY account_id) p;
SELECT health.model_for_or_null('default', '2025-01-01 00:00+00') IS NULL AS before_the_first_version,
       health.coverage('{50,NULL}', '{3,1}') AS coverage;
SELECT name, version, model::text::jsonb ->> 'version' AS document_says FROM health.models ORDER BY name, version;
\set ECHO none
\i :describe_extension
\set ECHO all
SELECT * FROM pg_temp.differences_from(:'fresh_install') AS difference;

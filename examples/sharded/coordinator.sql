-- The coordinator: the demo warehouse's account-level tables hash-partitioned
-- by account_id over two shards with PostgreSQL's own sharding (declarative
-- partitioning whose partitions are postgres_fdw foreign tables), loaded
-- from the single-server copy in schema demo, and the views that score
-- every account on the shard that holds it.
--   psql -v shard1_port=55441 -v shard2_port=55442 -v shard_db=customer_health_shard -f coordinator.sql
-- (after demo/generate.sql and demo/warehouse.sql; examples/sharded/run does it all)
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE EXTENSION IF NOT EXISTS customer_health;
DROP SCHEMA IF EXISTS sharded CASCADE;
DROP SERVER IF EXISTS shard1 CASCADE;
DROP SERVER IF EXISTS shard2 CASCADE;

-- One foreign server per shard. The options that make sharding work:
--   extensions           the shard has customer_health too: its functions,
--                        aggregates, operators and types may be sent there,
--                        so scoring runs on the shard (without it every row
--                        is fetched and scored here)
--   fetch_size           rows per round trip of a scan (default 100)
--   async_capable        the Append over the shards scans them at once
--   use_remote_estimate  plans with the shard's own row estimates
--   batch_size           rows per round trip of an INSERT (loading)
SELECT format($$CREATE SERVER shard%1$s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
                  host '127.0.0.1', port %2$L, dbname %3$L, extensions 'customer_health',
                  fetch_size '100000', async_capable 'true', use_remote_estimate 'true', batch_size '1000')$$,
              n, port, :'shard_db')
FROM (VALUES (1, :'shard1_port'), (2, :'shard2_port')) AS s(n, port) \gexec
-- Every coordinator role connects to the shards as ch_shard_reader. These
-- test clusters trust local connections, so no password is asked; in
-- production give the mapping a password (and drop password_required).
CREATE USER MAPPING FOR PUBLIC SERVER shard1 OPTIONS (user 'ch_shard_reader', password_required 'false');
CREATE USER MAPPING FOR PUBLIC SERVER shard2 OPTIONS (user 'ch_shard_reader', password_required 'false');

-- The partitioned tables: same columns as demo's, hash of account_id picks
-- the shard (remainder 0 on shard1, 1 on shard2).
CREATE SCHEMA sharded;
SELECT format('CREATE TABLE sharded.%1$I (LIKE demo.%1$I) PARTITION BY HASH (account_id)', t),
       format('CREATE FOREIGN TABLE sharded.%1$I PARTITION OF sharded.%2$I FOR VALUES WITH (MODULUS 2, REMAINDER 0)
                   SERVER shard1 OPTIONS (schema_name ''demo'', table_name %2$L)', t || '_1', t),
       format('CREATE FOREIGN TABLE sharded.%1$I PARTITION OF sharded.%2$I FOR VALUES WITH (MODULUS 2, REMAINDER 1)
                   SERVER shard2 OPTIONS (schema_name ''demo'', table_name %2$L)', t || '_2', t)
FROM unnest('{accounts,metric_snapshots,score_history,renewals,survey_responses}'::text[]) AS t \gexec

-- Load: each row goes to its shard.
INSERT INTO sharded.accounts SELECT account_id, name, crm_id, parent_account_id, segment, plan, seats, arr,
                                    signup_date, renewal_date FROM demo.accounts;
INSERT INTO sharded.metric_snapshots SELECT account_id, metric, value, measured_at FROM demo.metric_snapshots;
INSERT INTO sharded.score_history SELECT account_id, scored_at, score, tier, card FROM demo.score_history;
INSERT INTO sharded.renewals SELECT account_id, renewal_date, churned FROM demo.renewals;
INSERT INTO sharded.survey_responses SELECT account_id, user_id, survey, answered_on, rating FROM demo.survey_responses;

-- Plans: a GROUP BY account_id (the partition key) is done per partition,
-- which postgres_fdw sends to the shard as one query; a join of two tables
-- partitioned alike is done per shard.
ALTER DATABASE :"DBNAME" SET enable_partitionwise_aggregate = on;
ALTER DATABASE :"DBNAME" SET enable_partitionwise_join = on;
SET enable_partitionwise_aggregate = on;
SET enable_partitionwise_join = on;

-- Each metric's sub-score and weight (the demo's scorecard,
-- demo.metric_config), written with the extension's functions only, so the
-- shard can compute it. A plain view: the planner folds it into the query.
CREATE VIEW sharded.subscores AS
SELECT account_id, metric, value, measured_at,
       CASE metric
         WHEN 'nps_rating'        THEN health.scale_bands(value, '{6,8}', '{0,60,100}')
         WHEN 'active_days_30d'   THEN health.scale_target(value, 20)
         WHEN 'feature_adoption'  THEN health.scale_piecewise(value, '{0,20,50,80}', '{0,50,80,100}')
         WHEN 'seats_used_pct'    THEN health.scale_target(value, 85)
         WHEN 'onboarding_pct'    THEN health.scale_linear(value, 0, 100)
         WHEN 'open_tickets'      THEN health.scale_linear(value, 0, 3, higher_is_better => false)
         WHEN 'invoice_days_late' THEN health.scale_bands(value, '{0,15,30}', '{100,60,25,0}')
       END AS subscore,
       CASE metric WHEN 'nps_rating' THEN 25 WHEN 'active_days_30d' THEN 20 WHEN 'feature_adoption' THEN 15
                   ELSE 10 END::float8 AS weight
FROM sharded.metric_snapshots;

-- Per account, computed on its shard: scorecard, score (no score below
-- 60 % coverage), tier, colour, grade, coverage, the two weakest metrics.
-- The metrics as of the warehouse's day (2026-11-01, demo.generation).
CREATE VIEW sharded.account_scores AS
SELECT account_id,
       health.scorecard(metric, subscore, weight) AS card,
       round(health.score(health.scorecard(metric, subscore, weight), min_coverage => 0.6)::numeric, 1) AS score,
       health.tier(health.score(health.scorecard(metric, subscore, weight), min_coverage => 0.6)) AS tier,
       health.color(health.score(health.scorecard(metric, subscore, weight), min_coverage => 0.6)) AS color,
       health.grade(health.score(health.scorecard(metric, subscore, weight), min_coverage => 0.6)) AS grade,
       round(health.coverage(health.scorecard(metric, subscore, weight))::numeric, 2) AS coverage,
       health.weakest(health.scorecard(metric, subscore, weight), 2) AS weakest
FROM sharded.subscores
WHERE measured_at = date '2026-11-01'
GROUP BY account_id;

-- Per account, on its shard: the trend and sparkline of the score history,
-- and its tier-change events.
CREATE VIEW sharded.account_trends AS
SELECT account_id, health.trend(scored_at, score) AS trend, health.sparkline(scored_at, score) AS sparkline,
       health.tier_changes(scored_at, score, tier) AS events
FROM sharded.score_history GROUP BY account_id;

-- Population statistics, two steps: a profile per segment and metric on
-- each shard (one remote query each: the join and the aggregate run
-- there), merged here with rollup. Exact: a profile of the union is the
-- rollup of the profiles. One UNION ALL branch per shard.
CREATE VIEW sharded.segment_profiles AS
SELECT segment, metric, health.rollup(profile) AS profile
FROM (SELECT a.segment, m.metric, health.profile(m.value) AS profile
      FROM sharded.metric_snapshots_1 m JOIN sharded.accounts_1 a USING (account_id)
      WHERE m.measured_at = date '2026-11-01' GROUP BY a.segment, m.metric
      UNION ALL
      SELECT a.segment, m.metric, health.profile(m.value)
      FROM sharded.metric_snapshots_2 m JOIN sharded.accounts_2 a USING (account_id)
      WHERE m.measured_at = date '2026-11-01' GROUP BY a.segment, m.metric) per_shard
GROUP BY segment, metric;

-- Account families: a parent account with its subsidiaries, whose
-- scorecards are computed on whichever shard holds each account and merged
-- here (health.rollup averages each metric over the family).
CREATE VIEW sharded.family_scores AS
SELECT coalesce(a.parent_account_id, a.account_id) AS parent_account_id, count(*) AS accounts,
       health.rollup(s.card) AS card, round(health.score(health.rollup(s.card))::numeric, 1) AS score
FROM sharded.accounts a JOIN sharded.account_scores s USING (account_id)
WHERE a.parent_account_id IS NOT NULL
   OR a.account_id IN (SELECT parent_account_id FROM sharded.accounts WHERE parent_account_id IS NOT NULL)
GROUP BY 1;

-- NPS and CSAT per segment, over all shards: each shard counts its answers
-- per rating (health.responses, the join and the aggregate run there); the
-- coordinator merges them with rollup and reads nps, nps_breakdown, csat.
CREATE VIEW sharded.segment_surveys AS
SELECT segment, health.nps(health.rollup(nps_answers)) AS nps,
       health.nps_breakdown(health.rollup(nps_answers)) AS nps_breakdown,
       health.csat(health.rollup(csat_answers)) AS csat
FROM (SELECT a.segment, health.responses(r.rating) FILTER (WHERE r.survey = 'nps') AS nps_answers,
             health.responses(r.rating) FILTER (WHERE r.survey = 'csat') AS csat_answers
      FROM sharded.survey_responses_1 r JOIN sharded.accounts_1 a USING (account_id) GROUP BY a.segment
      UNION ALL
      SELECT a.segment, health.responses(r.rating) FILTER (WHERE r.survey = 'nps'),
             health.responses(r.rating) FILTER (WHERE r.survey = 'csat')
      FROM sharded.survey_responses_2 r JOIN sharded.accounts_2 a USING (account_id) GROUP BY a.segment) per_shard
GROUP BY segment;

-- Does the score predict churn, over all shards? Each shard keeps the
-- (score, churned) pairs of its accounts as one health.outcomes value (the
-- join and the aggregate run there); the coordinator merges them with
-- rollup: auc, lift and calibration equal those over all the rows.
CREATE VIEW sharded.score_validation AS
SELECT health.auc(o) AS auc, health.lift(o) AS lift_bottom_10pct, health.calibration(o) AS calibration
FROM (SELECT health.rollup(o) AS o
      FROM (SELECT health.outcomes(h.score, r.churned) AS o
            FROM sharded.score_history_1 h JOIN sharded.renewals_1 r USING (account_id)
            WHERE h.scored_at = timestamptz '2026-11-01 00:00+00'
            UNION ALL
            SELECT health.outcomes(h.score, r.churned)
            FROM sharded.score_history_2 h JOIN sharded.renewals_2 r USING (account_id)
            WHERE h.scored_at = timestamptz '2026-11-01 00:00+00') per_shard) merged;

-- Which way does the score push churn, over all shards? The rows of the
-- regression are kept on each shard as one health.fit_rows value, merged
-- here and fitted: the same fit as over all the rows on one server. (No
-- names: postgres_fdw keeps an aggregate with a text constant argument on
-- the coordinator, as that constant's collation is not a remote column's.)
CREATE VIEW sharded.score_fit AS
SELECT health.fit_weights(health.rollup(r), 0.01) AS fit
FROM (SELECT health.fit_rows(ARRAY[h.score], r.churned) AS r
      FROM sharded.score_history_1 h JOIN sharded.renewals_1 r USING (account_id)
      WHERE h.scored_at = timestamptz '2026-11-01 00:00+00'
      UNION ALL
      SELECT health.fit_rows(ARRAY[h.score], r.churned)
      FROM sharded.score_history_2 h JOIN sharded.renewals_2 r USING (account_id)
      WHERE h.scored_at = timestamptz '2026-11-01 00:00+00') per_shard;

-- What BI tools read: refreshed on the coordinator (pg_cron, below),
-- reading through the shards.
CREATE MATERIALIZED VIEW sharded.scored_accounts AS
SELECT a.account_id, a.name, a.segment, a.plan, a.arr, a.renewal_date, s.score, s.tier, s.color, s.grade,
       s.coverage, array_to_string(s.weakest, ', ') AS weakest_metrics, now() AS refreshed_at
FROM sharded.accounts a JOIN sharded.account_scores s USING (account_id);
CREATE UNIQUE INDEX ON sharded.scored_accounts (account_id);

CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule('customer_health sharded scores', '0 5 * * *',
                     'REFRESH MATERIALIZED VIEW CONCURRENTLY sharded.scored_accounts') AS job_id;

-- Analysts read the sharded schema like any other: members of ch_analyst
-- (GRANT ch_analyst TO a LOGIN role). The user mapping is FOR PUBLIC, so
-- they need nothing on the foreign servers.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ch_analyst') THEN CREATE ROLE ch_analyst NOLOGIN; END IF;
END $$;
GRANT USAGE ON SCHEMA sharded TO ch_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA sharded TO ch_analyst;

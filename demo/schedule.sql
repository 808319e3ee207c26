-- The scheduled refresh, with pg_cron. The server must load it
-- (shared_preload_libraries = 'pg_cron', cron.database_name = this
-- database); scripts/demo starts the demo cluster so.
-- Every night at 05:00 (server time) CALL demo.refresh_scores():
--   REFRESH MATERIALIZED VIEW CONCURRENTLY demo.segment_profiles and
--   demo.scored_accounts (dashboards keep reading the previous rows while
--   the new ones are computed, then see all new rows at once), then
--   demo.snapshot_scores() writes the scores into demo.score_history.
-- See the runs: SELECT * FROM cron.job_run_details ORDER BY start_time DESC;
-- Idempotent: the job is replaced by name.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule('customer_health nightly scores', '0 5 * * *', 'CALL demo.refresh_scores()') AS job_id;

-- Privileges (docs/administration.md): every function, aggregate and type is
-- usable by every role that can log in; the catalogue (health.models,
-- health.profiles, health.catalogue_history) is readable by every role and
-- writable only by the roles the DBA grants it to; every change to it is
-- recorded with the role that made it.
\set analyst :USER

-- The DBA makes a BI service account with no grants of its own, and a group
-- role for the people who maintain models, with one member.
\c - postgres
SET client_min_messages = warning;
DROP ROLE IF EXISTS ch_bi_service, ch_alice, ch_modelers;
CREATE ROLE ch_bi_service LOGIN;
CREATE ROLE ch_modelers NOLOGIN;
CREATE ROLE ch_alice LOGIN IN ROLE ch_modelers;
GRANT INSERT, UPDATE, DELETE ON health.models, health.profiles TO ch_modelers;
RESET client_min_messages;

-- The BI account can use the schema, call every function and aggregate,
-- use every type and read the catalogue, with nothing granted to it.
\c - ch_bi_service
SELECT has_schema_privilege('health', 'USAGE') AS schema_usage,
       count(*) AS functions_and_aggregates,
       count(*) FILTER (WHERE has_function_privilege(p.oid, 'EXECUTE')) AS executable
FROM pg_proc p WHERE p.pronamespace = 'health'::regnamespace;
SELECT t.typname, has_type_privilege(t.oid, 'USAGE') AS usable
FROM pg_type t WHERE t.typnamespace = 'health'::regnamespace AND t.typtype = 'b' AND t.typname NOT LIKE '\_%'
ORDER BY 1;
SELECT c.relname, has_table_privilege(c.oid, 'SELECT') AS can_read,
       has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
       OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE') AS can_write
FROM pg_class c WHERE c.relnamespace = 'health'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT health.tier(health.weighted_score('{80,40}', '{3,1}')) AS tier,
       health.score(health.scorecard(m, s, w)) AS score
FROM (VALUES ('logins', 80.0, 3.0), ('tickets', 40.0, 1.0)) v(m, s, w);

-- It cannot change a model or a profile, nor write history of its own.
SELECT e AS plain_role_writes FROM (VALUES
  (sql_error($$INSERT INTO health.models VALUES ('x', 'v1', now(), '{"metrics": [{"name": "a", "weight": 1, "scale": {"method": "target", "target": 1}}]}')$$)),
  (sql_error($$UPDATE health.models SET version = 'hacked'$$)),
  (sql_error($$DELETE FROM health.models$$)),
  (sql_error($$TRUNCATE health.models$$)),
  (sql_error($$INSERT INTO health.profiles (name, profile) SELECT 'x', health.profile(1)$$)),
  (sql_error($$INSERT INTO health.catalogue_history (changed_by, login_role, catalogue, operation, name, effective_from) VALUES ('ch_alice', 'ch_alice', 'models', 'DELETE', 'x', now())$$))
) t(e);

-- A modeler changes a model through the group role; the history records the
-- role in effect (SET ROLE counts) and the role that logged in.
\c - ch_alice
SET ROLE ch_modelers;
INSERT INTO health.models VALUES ('privileges_demo', 'v1', '2026-01-01 00:00+00',
  '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "target", "target": 10}}]}');
UPDATE health.models SET version = 'v1.1', model = jsonb_set(model::text::jsonb, '{version}', '"v1.1"')::health.model
WHERE name = 'privileges_demo';
RESET ROLE;
DELETE FROM health.models WHERE name = 'privileges_demo';
SELECT changed_by, login_role, catalogue, operation, name, effective_from AT TIME ZONE 'UTC' AS effective_from_utc,
       old_row ->> 'version' AS old_version, new_row ->> 'version' AS new_version,
       jsonb_typeof(coalesce(new_row, old_row) -> 'model') AS model_recorded_as
FROM health.catalogue_history WHERE name = 'privileges_demo' ORDER BY id;

-- Nobody rewrites the history: not the modeler (no privilege), not the DBA
-- (the table refuses updates, deletes and truncation).
SELECT sql_error($$UPDATE health.catalogue_history SET changed_by = 'someone_else'$$) AS modeler_rewrites;
\c - postgres
SELECT e AS owner_rewrites FROM (VALUES
  (sql_error($$UPDATE health.catalogue_history SET changed_by = 'someone_else'$$)),
  (sql_error($$DELETE FROM health.catalogue_history$$)),
  (sql_error($$TRUNCATE health.catalogue_history$$))
) t(e);

-- Every SQL and PL/pgSQL function of the extension runs with a fixed
-- search_path, so objects a user creates cannot take the place of the
-- built-ins they call (CVE-2018-1058): none is listed here.
SELECT p.oid::regprocedure AS function_without_fixed_search_path
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'health'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);

-- The attempt itself: the analyst plants look-alikes of two built-ins the
-- catalogue's functions call and puts its schema first. The history trigger
-- (which runs as the extension's owner) and resolve_profiles ignore them.
\c - :analyst
CREATE TABLE public.hijack_log (who name);
CREATE FUNCTION public.jsonb_set(j jsonb, path text[], replacement jsonb) RETURNS jsonb LANGUAGE sql AS
  $$ INSERT INTO public.hijack_log VALUES (current_user) RETURNING j $$;
CREATE FUNCTION public.jsonb_array_length(j jsonb) RETURNS int LANGUAGE sql AS $$ SELECT 0 $$;
GRANT SELECT, INSERT ON public.hijack_log TO PUBLIC;
SET search_path = public, pg_catalog;
\c - ch_alice
SET search_path = public, pg_catalog;
-- (an unqualified call of her own does reach the look-alike: one logged call)
SELECT jsonb_set('{"a": 0}', '{a}', '1') AS own_call_unchanged_by_the_look_alike;
SELECT count(*) AS logged_calls FROM public.hijack_log;
INSERT INTO health.profiles (name, effective_from, profile)
SELECT 'privileges_demo/logins', '2026-01-01 00:00+00', health.profile(x) FROM generate_series(1, 100) x;
INSERT INTO health.models VALUES ('privileges_demo', 'v2', '2026-01-01 00:00+00',
  '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "privileges_demo/logins"}}]}');
SELECT health.evaluate(health.model_for('privileges_demo', '2026-06-01 00:00+00'), '{"logins": 25}'::jsonb) AS percentile_of_25,
       (SELECT count(*) FROM public.hijack_log) AS logged_calls,
       (SELECT count(*) FROM health.catalogue_history WHERE name LIKE 'privileges_demo%' AND operation = 'INSERT'
          AND new_row ? 'effective_from') AS inserts_recorded_in_full;
DELETE FROM health.models WHERE name = 'privileges_demo';
DELETE FROM health.profiles WHERE name = 'privileges_demo/logins';

-- A team keeps its models in a schema of its own, under its own privileges:
-- model_for(name, at, models, profiles) reads the tables with the caller's
-- privileges, so the BI account sees the team's models once the team grants
-- them, and the analyst, who was granted nothing, does not.
\c - postgres
CREATE SCHEMA cs_team AUTHORIZATION ch_modelers;
\c - ch_alice
SET ROLE ch_modelers;
CREATE TABLE cs_team.models (LIKE health.models INCLUDING ALL);
CREATE TABLE cs_team.profiles (LIKE health.profiles INCLUDING ALL);
INSERT INTO cs_team.profiles (name, effective_from, profile)
SELECT 'logins', '2026-01-01 00:00+00', health.profile(x) FROM generate_series(1, 100) x;
INSERT INTO cs_team.models VALUES ('team_demo', 'v1', '2026-01-01 00:00+00',
  '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "logins"}}]}');
GRANT USAGE ON SCHEMA cs_team TO ch_bi_service;
GRANT SELECT ON cs_team.models TO ch_bi_service;
\c - ch_bi_service
SELECT sql_error($$SELECT health.model_for('team_demo', '2026-06-01 00:00+00', 'cs_team.models', 'cs_team.profiles')$$) AS before_profiles_granted;
\c - ch_alice
SET ROLE ch_modelers;
GRANT SELECT ON cs_team.profiles TO ch_bi_service;
\c - ch_bi_service
SELECT health.evaluate(health.model_for('team_demo', '2026-06-01 00:00+00', 'cs_team.models', 'cs_team.profiles'),
                       '{"logins": 25}'::jsonb) AS percentile_of_25;
\c - :analyst
SELECT sql_error($$SELECT health.model_for('team_demo', now(), 'cs_team.models', 'cs_team.profiles')$$) AS analyst_not_granted;

\c - postgres
SET client_min_messages = warning;
DROP FUNCTION public.jsonb_set(jsonb, text[], jsonb), public.jsonb_array_length(jsonb);
DROP TABLE public.hijack_log;
DROP SCHEMA cs_team CASCADE;
REVOKE ALL ON health.models, health.profiles FROM ch_modelers;
DROP ROLE ch_bi_service, ch_alice, ch_modelers;
\c - :analyst

-- Every regression test runs in the same database, as a plain LOGIN role
-- (no superuser, no CREATEDB, no CREATEROLE): the way analysts, dbt and BI
-- service accounts use the extension.
\set analyst :USER
SELECT rolsuper AS superuser, rolcreatedb AS createdb, rolcreaterole AS createrole
FROM pg_roles WHERE rolname = current_user;

-- Only installing it takes the DBA: CREATE EXTENSION loads a C library,
-- which PostgreSQL allows superusers only. The catalogue of models and
-- profiles is readable by everyone and writable by the roles the DBA
-- chooses: here the analyst maintains the models (the privileges test shows
-- a role without the grant). Then back to the analyst.
\c - postgres
CREATE EXTENSION customer_health;
GRANT INSERT, UPDATE, DELETE ON health.models, health.profiles TO :analyst;
\c - :analyst

-- A helper that shows an error as "SQLSTATE message" in a result row, so one
-- query can list many error cases side by side.
SELECT extname, extversion, nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'customer_health';

CREATE FUNCTION public.sql_error(query text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;

-- Every function of the extension is IMMUTABLE (provolatile i) and PARALLEL SAFE (proparallel s),
-- so it can be used in indexes, generated columns and parallel plans; only model_for and
-- resolve_profiles are STABLE (s), as they read the catalogue tables health.models and health.profiles,
-- and the catalogue's triggers are VOLATILE (v), as triggers are.
SELECT p.proname, p.prokind, p.provolatile, p.proparallel, p.proisstrict,
       pg_get_function_identity_arguments(p.oid) AS arguments
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'health'
  AND pg_get_function_identity_arguments(p.oid) NOT LIKE '%internal%'
ORDER BY p.proname, arguments;

-- Every function, aggregate, type and table of the extension carries a one-line
-- comment, shown by \df+, \dT+, \dt+ and BI tools' field pickers: none is listed here.
SELECT pg_describe_object(d.classid, d.objid, 0) AS object_without_comment
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_health'
WHERE d.deptype = 'e' AND d.classid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
  AND obj_description(d.objid, d.classid::regclass::name) IS NULL
  AND NOT (d.classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('S', 'i'))
  AND NOT (d.classid = 'pg_type'::regclass AND (SELECT typcategory FROM pg_type WHERE oid = d.objid) = 'A')
  -- a table's row type, a member of the extension itself on PostgreSQL 18:
  -- the table carries the comment
  AND NOT (d.classid = 'pg_type'::regclass AND (SELECT typrelid FROM pg_type WHERE oid = d.objid) <> 0)
ORDER BY 1;
SELECT obj_description('health.weighted_score(float8[], float8[], text, float8)'::regprocedure, 'pg_proc') AS weighted_score,
       obj_description('health.profile_trans(internal, float8)'::regprocedure, 'pg_proc') AS a_support_function;

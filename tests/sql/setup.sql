-- Every regression test runs in the same database: install the extension once
-- and add a helper that shows an error as "SQLSTATE message" in a result row,
-- so one query can list many error cases side by side.
CREATE EXTENSION customer_health;
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
-- resolve_profiles are STABLE (s), as they read the catalogue tables health.models and health.profiles.
SELECT p.proname, p.prokind, p.provolatile, p.proparallel, p.proisstrict,
       pg_get_function_identity_arguments(p.oid) AS arguments
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'health'
  AND pg_get_function_identity_arguments(p.oid) NOT LIKE '%internal%'
ORDER BY p.proname, arguments;

-- customer_health 0.2.0 -> 0.3.0 (ALTER EXTENSION customer_health UPDATE TO '0.3.0').
-- Hand-written: each step below says what 0.3.0 changes and keeps every row
-- of health.models and health.profiles, and every user table, view or column
-- that uses a health.* type (see CHANGELOG.md).

\echo Use "ALTER EXTENSION customer_health UPDATE TO '0.3.0'" to load this file. \quit

-- Every aggregate is now built from one definition in the code; the SQL
-- objects it declares (functions, C symbols, aggregates, comments) are those
-- of 0.2.0, so this step changes no object.

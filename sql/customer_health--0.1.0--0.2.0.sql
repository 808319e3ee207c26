-- customer_health 0.1.0 -> 0.2.0 (ALTER EXTENSION customer_health UPDATE TO '0.2.0').
-- Hand-written: each step below says what 0.2.0 changes and keeps every row
-- of health.models and health.profiles, and every user table, view or column
-- that uses a health.* type. Stored values of 0.1.0 need no rewrite: 0.2.0
-- reads them as they are (see CHANGELOG.md, "Stored formats").

\echo Use "ALTER EXTENSION customer_health UPDATE TO '0.2.0'" to load this file. \quit

-- 1. Profiles are versioned by effective_from, like models. Every 0.1.0
--    profile was in force at every moment (model_for resolved it whatever
--    the moment), so it becomes the version in force since -infinity: every
--    answer of 0.1.0 stays as it was. New rows take effect now by default.
ALTER TABLE profiles DROP CONSTRAINT profiles_pkey;
ALTER TABLE profiles ADD COLUMN effective_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE profiles ALTER COLUMN effective_from SET DEFAULT now();
ALTER TABLE profiles ADD CONSTRAINT profiles_pkey PRIMARY KEY (name, effective_from);

-- 2. Profiles are resolved as of a moment; functions written in SQL run with
--    a fixed search_path, so no object a user creates can take the place of
--    one they call (CVE-2018-1058).
-- Replaces every "profile_name" of a model by the profile of that name in
-- force at a moment.
CREATE FUNCTION resolve_profiles(m model, at timestamptz) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := m::text::jsonb;
    i int;
    wanted text;
    found_profile health.profile;
BEGIN
    FOR i IN 0 .. jsonb_array_length(doc -> 'metrics') - 1 LOOP
        wanted := doc -> 'metrics' -> i -> 'scale' ->> 'profile_name';
        CONTINUE WHEN wanted IS NULL;
        SELECT p.profile INTO found_profile FROM health.profiles p
        WHERE p.name = wanted AND p.effective_from <= at
        ORDER BY p.effective_from DESC LIMIT 1;
        IF NOT FOUND THEN
            IF EXISTS (SELECT FROM health.profiles p WHERE p.name = wanted) THEN
                RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" has no version in health.profiles in force at %', i, wanted, at
                    USING ERRCODE = '22023',
                          HINT = 'Every version of that profile has an effective_from later than that moment.';
            END IF;
            RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" is not in health.profiles', i, wanted
                USING ERRCODE = '22023';
        END IF;
        doc := jsonb_set(doc, ARRAY['metrics', i::text, 'scale', 'profile'], found_profile::text::jsonb);
    END LOOP;
    RETURN doc::text::health.model;
END
$$;

-- The same, with the profiles in force now.
CREATE OR REPLACE FUNCTION resolve_profiles(m model) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT health.resolve_profiles(m, now())
$$;

-- 3. model_for is a C function that reads the catalogue once per distinct
--    (name, at) and statement, not once per row (its 0.1.0 SQL body is gone;
--    its signature, default and behaviour are unchanged).
CREATE OR REPLACE FUNCTION "model_for"(
	"name" TEXT,
	"at" timestamp with time zone DEFAULT now()
) RETURNS Model
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'model_for_wrapper';

-- 4. The history of every change to the catalogue, and the privileges
--    (docs/administration.md).
-- Every change to health.models and health.profiles, appended by triggers:
-- who (the role in effect, and the role that logged in), when, what the row
-- was before and after. Nobody can change or remove what is recorded.
CREATE TABLE catalogue_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    changed_by     name NOT NULL,
    login_role     name NOT NULL,
    catalogue      text NOT NULL CHECK (catalogue IN ('models', 'profiles')),
    operation      text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    name           text NOT NULL,
    effective_from timestamptz NOT NULL,
    old_row        jsonb,
    new_row        jsonb
);
CREATE INDEX catalogue_history_row ON catalogue_history (catalogue, name, effective_from, id);
SELECT pg_catalog.pg_extension_config_dump('catalogue_history', '');
SELECT pg_catalog.pg_extension_config_dump('catalogue_history_id_seq', '');

-- Runs as the extension's owner, so that roles allowed to change the
-- catalogue can append to its history without being able to write to it
-- themselves. The role recorded is the one in effect for the statement (SET
-- ROLE counts), read from the role setting because current_user inside a
-- SECURITY DEFINER function is the owner.
CREATE FUNCTION record_catalogue_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    actor name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    -- the column holding the model or profile, recorded as its JSON document
    doc_column text := CASE TG_TABLE_NAME WHEN 'models' THEN 'model' ELSE 'profile' END;
    key_name text;
    key_from timestamptz;
    old_json jsonb;
    new_json jsonb;
    last health.catalogue_history;
BEGIN
    IF TG_OP = 'DELETE' THEN
        key_name := OLD.name; key_from := OLD.effective_from;
    ELSE
        key_name := NEW.name; key_from := NEW.effective_from;
        new_json := to_jsonb(NEW);
        new_json := jsonb_set(new_json, ARRAY[doc_column], (new_json ->> doc_column)::jsonb);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_json := to_jsonb(OLD);
        old_json := jsonb_set(old_json, ARRAY[doc_column], (old_json ->> doc_column)::jsonb);
    END IF;
    IF TG_OP = 'UPDATE' AND old_json = new_json THEN
        RETURN NULL; -- nothing changed
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- A restore (pg_dump) inserts rows that its restored history already
        -- holds as present: when the latest entry about this row says it
        -- exists with exactly this content, the insert is not a change.
        SELECT h.* INTO last FROM health.catalogue_history h
        WHERE h.catalogue = TG_TABLE_NAME
          AND ((h.name = key_name AND h.effective_from = key_from)
               OR (h.old_row ->> 'name' = key_name AND (h.old_row ->> 'effective_from')::timestamptz = key_from))
        ORDER BY h.id DESC LIMIT 1;
        IF FOUND AND last.operation <> 'DELETE' AND last.name = key_name
           AND last.effective_from = key_from AND last.new_row = new_json THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO health.catalogue_history (changed_by, login_role, catalogue, operation, name, effective_from, old_row, new_row)
    VALUES (actor, session_user, TG_TABLE_NAME, TG_OP, key_name, key_from, old_json, new_json);
    RETURN NULL;
END
$$;

CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change();
CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change();

CREATE FUNCTION refuse_history_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'health.catalogue_history is append-only: its rows cannot be changed or removed'
        USING ERRCODE = '42501',
              HINT = 'The history is written by the triggers on health.models and health.profiles.';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON catalogue_history
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON catalogue_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- Privileges (docs/administration.md): every function, aggregate and type is
-- usable by every role (EXECUTE and USAGE are PostgreSQL's defaults); the
-- catalogue is readable by every role and writable only by roles the DBA
-- grants it to.
GRANT USAGE ON SCHEMA health TO PUBLIC;
GRANT SELECT ON models, profiles, catalogue_history TO PUBLIC;

-- 5. quantile_tier's default labels: 0.1.0's '{unhealthy,at_risk,healthy}'
--    reused tier()'s at_risk for the middle half. Calls that name their
--    labels are unchanged.
CREATE OR REPLACE FUNCTION "quantile_tier"(
	"score" double precision,
	"p" Profile,
	"fractions" double precision[] DEFAULT '{0.25,0.75}',
	"labels" TEXT[] DEFAULT '{bottom,middle,top}'
) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'quantile_tier_wrapper';

-- 6. One line of documentation on every function, aggregate, type and table.
COMMENT ON TYPE scorecard IS
    'One account''s metrics with score and weight, from the scorecard aggregate: read it with score(), coverage(), contributions(), weakest().';
COMMENT ON TYPE trend IS
    'A score series from the trend aggregate: read it with slope(), delta(), direction(), decline_streak(), first_score(), last_score(), n().';

-- normalise a metric to a 0-100 sub-score
COMMENT ON FUNCTION scale_linear(double precision, double precision, double precision, boolean, text) IS
    'Sub-score 0-100 on a linear scale from lo to hi (flipped when lower is better); out_of_range ''clamp'' or ''null''.';
COMMENT ON FUNCTION scale_log(double precision, double precision, double precision, boolean, text) IS
    'Sub-score 0-100 on a linear scale of ln(1+x) from lo to hi, for fat-tailed counts.';
COMMENT ON FUNCTION scale_target(double precision, double precision, boolean) IS
    'Sub-score 0-100: share of a target reached (or, lower is better, 100 at or below the target).';
COMMENT ON FUNCTION scale_bands(double precision, double precision[], double precision[]) IS
    'Sub-score from piecewise-constant bands: value <= cutoffs[1] gives scores[1], and so on (upper-inclusive).';
COMMENT ON FUNCTION scale_piecewise(double precision, double precision[], double precision[]) IS
    'Sub-score by linear interpolation through the points (knots[i], scores[i]), flat beyond the ends.';
COMMENT ON FUNCTION scale_zscore(double precision, double precision, double precision, boolean) IS
    'Sub-score 100 * Phi((value - mean) / stddev), Phi the standard normal CDF.';

-- combine sub-scores
COMMENT ON FUNCTION weighted_score(double precision[], double precision[], text, double precision) IS
    'Health score 0-100: weighted mean of sub-scores; NULL sub-scores follow the missing policy; NULL below min_coverage.';
COMMENT ON FUNCTION score(scorecard, text, double precision) IS
    'The weighted score of a scorecard, as weighted_score computes it.';
COMMENT ON FUNCTION coverage(scorecard) IS
    'Weight share of the measured metrics of a scorecard, 0-1.';
COMMENT ON FUNCTION contributions(scorecard, text) IS
    'Per metric of a scorecard: score, weight, weight share, points and points lost, as jsonb, most points lost first.';
COMMENT ON FUNCTION weakest(scorecard, integer) IS
    'The n metrics of a scorecard that lose the most points.';

-- tiers
COMMENT ON FUNCTION tier(double precision, double precision[], text[]) IS
    'Tier label of a score by upper-inclusive cutoffs: <= 40 at_risk, <= 70 neutral, else healthy by default.';
COMMENT ON FUNCTION color(double precision, double precision[]) IS
    'red / yellow / green by the same upper-inclusive cutoffs as tier.';
COMMENT ON FUNCTION grade(double precision) IS
    'Letter grade of a score: A >= 90, B >= 80, C >= 70, D >= 60, else F.';

-- signals and trends
COMMENT ON FUNCTION nps_category(integer) IS
    'promoter (9-10), passive (7-8) or detractor (0-6).';
COMMENT ON FUNCTION deadline_penalty(timestamptz, timestamptz, timestamptz, double precision) IS
    'Penalty points for a milestone: 0 when done by its due date, the penalty when late or overdue as of a moment.';
COMMENT ON FUNCTION slope(trend, interval) IS
    'Least-squares slope of a score series, in points per interval (default 30 days).';
COMMENT ON FUNCTION delta(trend) IS
    'Last score minus first score of a series.';
COMMENT ON FUNCTION direction(trend, double precision) IS
    'improving / declining / stable: whether the series moved by more than the threshold (default 5 points).';
COMMENT ON FUNCTION decline_streak(trend) IS
    'Number of consecutive drops at the end of a score series.';
COMMENT ON FUNCTION first_score(trend) IS
    'The earliest score of a series.';
COMMENT ON FUNCTION last_score(trend) IS
    'The latest score of a series.';
COMMENT ON FUNCTION n(trend) IS
    'Number of points in a score series.';
COMMENT ON FUNCTION sparkline(double precision[]) IS
    'A text sparkline of the values, for tables in BI tools.';

-- population profiles
COMMENT ON FUNCTION quantile(profile, double precision) IS
    'The value at quantile q (0-1) of a profiled population.';
COMMENT ON FUNCTION scale_profile(double precision, profile, text, boolean) IS
    'Sub-score 0-100 by position in a profiled population: percentile, minmax, zscore or log_zscore.';
COMMENT ON FUNCTION quantile_tier(double precision, profile, double precision[], text[]) IS
    'Tier by position in a profiled population: bottom 25 %, middle, top 25 % by default.';
COMMENT ON FUNCTION profile_count(profile) IS
    'Number of values in a profile.';
COMMENT ON FUNCTION profile_mean(profile) IS
    'Mean of the profiled values.';
COMMENT ON FUNCTION profile_stddev(profile) IS
    'Sample standard deviation of the profiled values (0 for one value).';

-- scoring models
COMMENT ON FUNCTION evaluate(model, jsonb) IS
    'Health score of one account under a model, from a jsonb object of raw metric values by name.';
COMMENT ON FUNCTION evaluate(model, double precision[]) IS
    'Health score of one account under a model, from raw values in the model''s metric order.';
COMMENT ON FUNCTION explain(model, jsonb) IS
    'Score, coverage, tier and per-metric contributions of one account under a model, as jsonb.';
COMMENT ON FUNCTION tier(model, double precision) IS
    'Tier of a score under the model''s tier scheme.';
COMMENT ON FUNCTION tier(model, jsonb) IS
    'Tier of an account under a model, with the model''s worst-of rule on critical metrics applied.';
COMMENT ON FUNCTION model_metrics(model) IS
    'The metric names of a model, in the order evaluate(model, float8[]) expects.';

-- the catalogue
COMMENT ON TABLE models IS
    'Scoring models by name and version; model_for(name, at) returns the one in force at a moment.';
COMMENT ON TABLE profiles IS
    'Named population profiles that models reference by profile_name, one row per version (effective_from).';
COMMENT ON TABLE catalogue_history IS
    'Append-only history of every change to health.models and health.profiles: who, when, the row before and after.';
COMMENT ON FUNCTION model_for(text, timestamptz) IS
    'The version of a named model in force at a moment (default now), its profiles resolved as of the same moment.';
COMMENT ON FUNCTION resolve_profiles(model, timestamptz) IS
    'A model with every profile_name replaced by the profile of that name in force at a moment.';
COMMENT ON FUNCTION resolve_profiles(model) IS
    'A model with every profile_name replaced by the profile of that name in force now.';
COMMENT ON FUNCTION record_catalogue_change() IS
    'Trigger of health.models and health.profiles: appends each change to health.catalogue_history.';
COMMENT ON FUNCTION refuse_history_change() IS
    'Trigger of health.catalogue_history: refuses to change or remove recorded history.';

-- validation aggregates declared with fewer arguments elsewhere
COMMENT ON AGGREGATE lift(double precision, boolean) IS
    'Churn rate among the lowest-scored 10 % of accounts over the overall churn rate.';
COMMENT ON AGGREGATE calibration(double precision, boolean, integer) IS
    'Per score bucket (the given number of equal-width buckets on 0..100): count, churned, churn rate, mean score.';
COMMENT ON AGGREGATE fit_weights(double precision[], boolean, double precision) IS
    'Logistic regression of churn on the features with an L2 penalty: coefficients, standard errors, suggested weights.';

-- Support functions (aggregate steps, type input and output) are named after
-- what they serve; they are called by PostgreSQL, not by queries.
DO $comments$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, pg_catalog.string_agg(DISTINCT r.role, '; ') AS role
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_health'
        JOIN LATERAL (
            SELECT 'step of aggregate ' || a.aggfnoid::regprocedure::text AS role
            FROM pg_catalog.pg_aggregate a
            WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn)
            UNION ALL
            SELECT 'input/output function of type ' || t.oid::regtype::text
            FROM pg_catalog.pg_type t
            WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend)
        ) r ON true
        WHERE pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
        GROUP BY p.oid
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', f.fn,
            'Support function: ' || f.role || '; called by PostgreSQL, not directly.');
    END LOOP;
END
$comments$;

-- customer_health 0.2.0 -> 0.3.0 (ALTER EXTENSION customer_health UPDATE TO '0.3.0').
-- Hand-written: each step below says what 0.3.0 changes and keeps every row
-- of health.models and health.profiles, and every user table, view or column
-- that uses a health.* type (see CHANGELOG.md).

\echo Use "ALTER EXTENSION customer_health UPDATE TO '0.3.0'" to load this file. \quit

-- Every aggregate is now built from one definition in the code; the SQL
-- objects it declares (functions, C symbols, aggregates, comments) are those
-- of 0.2.0: nothing to do for them here.

-- A key of the metrics object that the model does not know is now an error
-- in evaluate, explain and tier(model, metrics) (a misspelt metric used to
-- count as missing and move the score silently). These overloads take
-- extra_keys => 'ignore' for objects that hold more than the model uses.
CREATE FUNCTION "evaluate"("model" model, "metrics" jsonb, "extra_keys" TEXT) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'evaluate_jsonb_extra_keys_wrapper';
CREATE FUNCTION "explain"("model" model, "metrics" jsonb, "extra_keys" TEXT) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'explain_extra_keys_wrapper';
CREATE FUNCTION "tier"("model" model, "metrics" jsonb, "extra_keys" TEXT) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_of_metrics_extra_keys_wrapper';
COMMENT ON FUNCTION evaluate(model, jsonb) IS
    'Health score of one account under a model, from a jsonb object of raw metric values by name; a key the model does not know is an error.';
COMMENT ON FUNCTION evaluate(model, jsonb, text) IS
    'As evaluate(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';
COMMENT ON FUNCTION explain(model, jsonb, text) IS
    'As explain(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';
COMMENT ON FUNCTION tier(model, jsonb, text) IS
    'As tier(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';

-- Profiles are stored in format 2: exact up to 32768 distinct values, then a
-- sketch whose buckets follow the data (values clustered far from zero keep
-- their ranks). Profiles stored by 0.1.0 and 0.2.0 (format 1) are read as
-- they were and give the same answers; rollup() of them writes format 2.
COMMENT ON TYPE profile IS
    'A population profile: count, mean, variance, min, max, moments of ln(1+x) and a mergeable quantile sketch (exact up to 32768 distinct values).';

-- A jsonb document casts to a model ('{...}'::jsonb::health.model), validated
-- as the text form is (a cast through text was needed before).
CREATE FUNCTION "model_from_jsonb"("document" jsonb) RETURNS model
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_from_jsonb_wrapper';
CREATE CAST (jsonb AS model) WITH FUNCTION model_from_jsonb(jsonb);
COMMENT ON FUNCTION model_from_jsonb(jsonb) IS
    'The cast jsonb::health.model: validates the document as the text form does.';

-- weakest(model, metrics, n): the metrics that cost an account the most
-- points under a model, as weakest(scorecard, n) reads a scorecard.
CREATE FUNCTION "weakest"("model" model, "metrics" jsonb, "n" INT DEFAULT 1) RETURNS TEXT[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'weakest_of_model_wrapper';
COMMENT ON FUNCTION weakest(model, jsonb, integer) IS
    'The n metrics that lose one account the most points under a model (as weakest(scorecard, n)).';

-- weights by name: with_weights(model, weights) replaces the weights of the
-- metrics a jsonb object names; fit_weights names its features when given
-- names (weights_by_name) and takes a policy for NULL features.
CREATE FUNCTION "with_weights"("model" model, "weights" jsonb) RETURNS model
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'with_weights_wrapper';
COMMENT ON FUNCTION with_weights(model, jsonb) IS
    'The model with the weights of the metrics named in a jsonb object (name to weight) replaced; the others keep theirs.';
CREATE FUNCTION "fit_trans_named"("state" internal, "features" double precision[], "churned" bool,
    "l2" double precision, "names" TEXT[]) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_trans_named_wrapper';
CREATE FUNCTION "fit_trans_policy"("state" internal, "features" double precision[], "churned" bool,
    "l2" double precision, "names" TEXT[], "missing" TEXT) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_trans_policy_wrapper';
CREATE AGGREGATE fit_weights(features double precision[], churned boolean, l2 double precision, names text[]) (
    sfunc = fit_trans_named, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_weights(double precision[], boolean, double precision, text[]) IS
    'As fit_weights(features, churned, l2), with the features named: the answer adds names and weights_by_name (for with_weights).';
CREATE AGGREGATE fit_weights(features double precision[], churned boolean, l2 double precision, names text[], missing text) (
    sfunc = fit_trans_policy, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_weights(double precision[], boolean, double precision, text[], text) IS
    'As fit_weights(features, churned, l2, names), with a policy for NULL features: ''error'' (the default), ''skip'' the row, count it as ''zero'' or ''neutral'' (50).';

-- A catalogue the analyst may own: model_for(name, at, models [, profiles])
-- reads a models table (and a profiles table) the caller names, with the
-- caller's privileges. model_for(name, at) and resolve_profiles(model, at)
-- now go through the same look-up (model_in_force) on health.models and
-- health.profiles, with the same answers and messages.
-- The columns a table needs to serve as a catalogue (those of health.models
-- or health.profiles) that it lacks, or NULL; column types other than the
-- document's are left to the query's own comparisons.
CREATE FUNCTION catalogue_lacks(catalogue regclass, document_column text, document_type regtype) RETURNS text
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(format('%I %s', want.col, want.typ), ', ' ORDER BY want.i)
    FROM (VALUES (1, 'name', 'text'), (2, 'effective_from', 'timestamptz'),
                 (3, document_column, format_type(document_type, NULL))) want(i, col, typ)
    WHERE NOT EXISTS (
        SELECT FROM pg_attribute a
        WHERE a.attrelid = catalogue AND a.attname = want.col AND a.attnum > 0 AND NOT a.attisdropped
          AND (want.col <> document_column OR a.atttypid = document_type))
$$;

-- Replaces every "profile_name" of a model by the profile of that name in
-- force at a moment, read from a profiles table (health.profiles or one with
-- its columns). The table is read with the caller's privileges.
CREATE FUNCTION resolve_profiles(m model, at timestamptz, profiles regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := m::text::jsonb;
    i int;
    wanted text;
    found_profile health.profile;
    found_rows bigint;
    lacking text;
    checked boolean := false;
BEGIN
    FOR i IN 0 .. jsonb_array_length(doc -> 'metrics') - 1 LOOP
        wanted := doc -> 'metrics' -> i -> 'scale' ->> 'profile_name';
        CONTINUE WHEN wanted IS NULL;
        IF NOT checked THEN
            lacking := health.catalogue_lacks(profiles, 'profile', 'health.profile');
            IF lacking IS NOT NULL THEN
                RAISE EXCEPTION 'resolve_profiles: % is not a profiles table: it has no column %', profiles, lacking
                    USING ERRCODE = '42703',
                          HINT = 'A profiles table has the columns of health.profiles: name text, effective_from timestamptz, profile health.profile.';
            END IF;
            checked := true;
        END IF;
        EXECUTE format('SELECT p.profile FROM %s p WHERE p.name = $1 AND p.effective_from <= $2 '
                       'ORDER BY p.effective_from DESC LIMIT 1', profiles)
            INTO found_profile USING wanted, at;
        GET DIAGNOSTICS found_rows = ROW_COUNT;
        IF found_rows = 0 THEN
            EXECUTE format('SELECT count(*) FROM %s p WHERE p.name = $1', profiles) INTO found_rows USING wanted;
            IF found_rows > 0 THEN
                RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" has no version in % in force at %', i, wanted, profiles, at
                    USING ERRCODE = '22023',
                          HINT = 'Every version of that profile has an effective_from later than that moment.';
            END IF;
            RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" is not in %', i, wanted, profiles
                USING ERRCODE = '22023';
        END IF;
        IF found_profile IS NULL THEN
            RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" is NULL in % in force at %', i, wanted, profiles, at
                USING ERRCODE = '22004';
        END IF;
        doc := jsonb_set(doc, ARRAY['metrics', i::text, 'scale', 'profile'], found_profile::text::jsonb);
    END LOOP;
    RETURN doc::text::health.model;
END
$$;

-- The same, from health.profiles.
CREATE OR REPLACE FUNCTION resolve_profiles(m model, at timestamptz) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT health.resolve_profiles(m, at, 'health.profiles')
$$;

-- model_for's look-up, uncached (model_for keeps its answers per statement):
-- the version of a model in force at a moment in a models table, with its
-- profiles resolved from a profiles table, both read with the caller's
-- privileges; NULL when the model has no version in force then.
CREATE FUNCTION model_in_force(model_name text, at timestamptz, models regclass, profiles regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lacking text := health.catalogue_lacks(models, 'model', 'health.model');
    found_model health.model;
BEGIN
    IF lacking IS NOT NULL THEN
        RAISE EXCEPTION 'model_for: % is not a model catalogue: it has no column %', models, lacking
            USING ERRCODE = '42703',
                  HINT = 'A model catalogue has the columns of health.models: name text, effective_from timestamptz, model health.model.';
    END IF;
    EXECUTE format('SELECT m.model FROM %s m WHERE m.name = $1 AND m.effective_from <= $2 '
                   'ORDER BY m.effective_from DESC LIMIT 1', models)
        INTO found_model USING model_name, at;
    IF found_model IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN health.resolve_profiles(found_model, at, profiles);
END
$$;
CREATE FUNCTION "model_for"("name" TEXT, "at" timestamp with time zone, "models" regclass) RETURNS model
STRICT STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_for_in_wrapper';
CREATE FUNCTION "model_for"("name" TEXT, "at" timestamp with time zone, "models" regclass, "profiles" regclass) RETURNS model
STRICT STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_for_in_with_profiles_wrapper';
COMMENT ON FUNCTION model_for(text, timestamptz, regclass) IS
    'As model_for(name, at), from a models table the caller names (the columns of health.models), read with the caller''s privileges.';
COMMENT ON FUNCTION model_for(text, timestamptz, regclass, regclass) IS
    'As model_for(name, at, models), with profiles from a table the caller names (the columns of health.profiles).';
COMMENT ON FUNCTION resolve_profiles(model, timestamptz, regclass) IS
    'A model with every profile_name replaced by the profile of that name in force at a moment in a profiles table.';
COMMENT ON FUNCTION model_in_force(text, timestamptz, regclass, regclass) IS
    'The look-up behind model_for, uncached: the version of a model in force at a moment in a models table, profiles resolved.';
COMMENT ON FUNCTION catalogue_lacks(regclass, text, regtype) IS
    'The columns a table lacks to serve as a model or profiles catalogue, or NULL.';

-- Learn the whole scoring model: scale_zscore_linear (a z-score kept on its
-- own scale; the model's zscore_linear, log_zscore and log_zscore_linear
-- methods are read by the library), fit_model(account, metrics, churned
-- [, options]) and fold(account, folds), and model::jsonb. fit_weights'
-- answer gains "directions".
CREATE FUNCTION "scale_zscore_linear"("value" double precision, "mean" double precision, "stddev" double precision,
    "clip" double precision DEFAULT 3, "higher_is_better" bool DEFAULT true) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'scale_zscore_linear_wrapper';
COMMENT ON FUNCTION scale_zscore_linear(double precision, double precision, double precision, double precision, boolean) IS
    'Sub-score 50 + 50 * clamp(z / clip, -1, 1), z = (value - mean) / stddev: a z-score kept on its own scale, reaching 0 and 100 at |z| = clip.';
CREATE FUNCTION "model_to_jsonb"("model" model) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_to_jsonb_wrapper';
CREATE CAST (model AS jsonb) WITH FUNCTION model_to_jsonb(model);
COMMENT ON FUNCTION model_to_jsonb(model) IS
    'The cast health.model::jsonb: the model''s canonical document.';
CREATE FUNCTION "fold"("account" TEXT, "folds" INT) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fold_wrapper';
COMMENT ON FUNCTION fold(text, integer) IS
    'The cross-validation fold (1 to folds) of an account, by a fixed hash of its key: the folds fit_model holds out.';
CREATE FUNCTION "fit_model_combine"("current" internal, "other" internal) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_combine_wrapper';
CREATE FUNCTION "fit_model_serial"("state" internal) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_serial_wrapper';
CREATE FUNCTION "fit_model_deserial"("bytes" bytea, "_unused" internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_deserial_wrapper';
CREATE FUNCTION "fit_model_trans"("state" internal, "account" TEXT, "metrics" jsonb, "churned" bool) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_trans_wrapper';
CREATE FUNCTION "fit_model_trans_options"("state" internal, "account" TEXT, "metrics" jsonb, "churned" bool,
    "options" jsonb) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_trans_options_wrapper';
CREATE FUNCTION "fit_model_final"("state" internal) RETURNS model
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_model_final_wrapper';
CREATE AGGREGATE fit_model(account text, metrics jsonb, churned boolean) (
    sfunc = fit_model_trans, stype = internal, combinefunc = fit_model_combine,
    serialfunc = fit_model_serial, deserialfunc = fit_model_deserial, finalfunc = fit_model_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_model(text, jsonb, boolean) IS
    'Learns a whole model from churn outcomes: a normaliser and direction per metric, non-negative weights summing to 100, tier cutoffs, and the fit''s statistics (AUC, lift, 5-fold cross-validation) in its fit field.';
CREATE AGGREGATE fit_model(account text, metrics jsonb, churned boolean, options jsonb) (
    sfunc = fit_model_trans_options, stype = internal, combinefunc = fit_model_combine,
    serialfunc = fit_model_serial, deserialfunc = fit_model_deserial, finalfunc = fit_model_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_model(text, jsonb, boolean, jsonb) IS
    'As fit_model(account, metrics, churned), with options: name, version, l2, folds, min_weight, clip, normalisers, metrics, min_coverage, at_risk_churn_ratio or at_risk_share, healthy_churn_ratio or healthy_share.';

-- The support functions of fit_weights now serve its new overloads too: their
-- comments are written again, as a fresh install writes them.
COMMENT ON FUNCTION fit_final(internal) IS NULL;
COMMENT ON FUNCTION fit_combine(internal, internal) IS NULL;
COMMENT ON FUNCTION fit_serial(internal) IS NULL;
COMMENT ON FUNCTION fit_deserial(bytea, internal) IS NULL;
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

-- The wide form in one call: weighted_score gets a planner support function
-- that rewrites weighted_score(ARRAY[scale_*(column, constants), ...],
-- constant weights, ...) into weighted_score_fused(spec, column, ...), with
-- the same answers and errors (customer_health.fuse_wide_scores = off
-- plans it as written).
CREATE FUNCTION weighted_score_fused(spec text, VARIADIC "any") RETURNS double precision
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'weighted_score_fused_v1';
COMMENT ON FUNCTION weighted_score_fused(text, "any") IS
    'What the planner writes for weighted_score(ARRAY[scale_*(column, constants), ...], constant weights): one call over the columns, the same answers.';
CREATE FUNCTION "weighted_score_support"("request" internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'weighted_score_support_wrapper';
COMMENT ON FUNCTION weighted_score_support(internal) IS
    'Planner support function of weighted_score: fuses ARRAY[scale_*(column, constants), ...] with constant weights into one weighted_score_fused call; called by PostgreSQL, not directly.';
ALTER FUNCTION weighted_score(double precision[], double precision[], text, double precision) SUPPORT weighted_score_support;

-- evaluate(model, ARRAY[value, ...]) is planned as evaluate_fused(model,
-- value, ...): the same answer without building the array.
CREATE FUNCTION evaluate_fused(model model, VARIADIC "any") RETURNS double precision
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'evaluate_fused_v1';
COMMENT ON FUNCTION evaluate_fused(model, "any") IS
    'What the planner writes for evaluate(model, ARRAY[value, ...]): the same answer without building the array.';
CREATE FUNCTION "evaluate_support"("request" internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'evaluate_support_wrapper';
COMMENT ON FUNCTION evaluate_support(internal) IS
    'Planner support function of evaluate(model, float8[]): plans evaluate(model, ARRAY[value, ...]) as one evaluate_fused call; called by PostgreSQL, not directly.';
ALTER FUNCTION evaluate(model, double precision[]) SUPPORT evaluate_support;

-- Why did a score move? score_change(before, after [, missing]) splits the
-- change between two scorecards of one account into per-metric parts.
CREATE FUNCTION "score_change"("before" scorecard, "after" scorecard, "missing" TEXT DEFAULT 'renormalize') RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'score_change_wrapper';
COMMENT ON FUNCTION score_change(scorecard, scorecard, text) IS
    'Why a score moved between two scorecards of one account: before, after, change, and per metric its part (points), split into sub-score and weight-share effects, with why (sub_score, weight, renormalised, appeared, went_missing).';

-- Tier-change events of an account's score history: tier_changes(at, score,
-- tier [, as_of, drop_points, drop_window]).
CREATE FUNCTION "tier_changes_combine"("current" internal, "other" internal) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_combine_wrapper';
CREATE FUNCTION "tier_changes_serial"("state" internal) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_serial_wrapper';
CREATE FUNCTION "tier_changes_deserial"("bytes" bytea, "_unused" internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_deserial_wrapper';
CREATE FUNCTION "tier_changes_trans"("state" internal, "at" timestamptz, "score" double precision, "tier" TEXT) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_trans_wrapper';
CREATE FUNCTION "tier_changes_trans_rule"("state" internal, "at" timestamptz, "score" double precision, "tier" TEXT,
    "as_of" timestamptz, "drop_points" double precision, "drop_window" interval) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_trans_rule_wrapper';
CREATE FUNCTION "tier_changes_final"("state" internal) RETURNS jsonb
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tier_changes_final_wrapper';
CREATE AGGREGATE tier_changes(at timestamptz, score double precision, tier text) (
    sfunc = tier_changes_trans, stype = internal, combinefunc = tier_changes_combine,
    serialfunc = tier_changes_serial, deserialfunc = tier_changes_deserial, finalfunc = tier_changes_final,
    parallel = safe
);
COMMENT ON AGGREGATE tier_changes(timestamptz, double precision, text) IS
    'One account''s score snapshots (at, score, tier) as events, in time order: the first snapshot and every tier change (from, to, delta, direction), as jsonb.';
CREATE AGGREGATE tier_changes(at timestamptz, score double precision, tier text, as_of timestamptz, drop_points double precision, drop_window interval) (
    sfunc = tier_changes_trans_rule, stype = internal, combinefunc = tier_changes_combine,
    serialfunc = tier_changes_serial, deserialfunc = tier_changes_deserial, finalfunc = tier_changes_final,
    parallel = safe
);
COMMENT ON AGGREGATE tier_changes(timestamptz, double precision, text, timestamptz, double precision, interval) IS
    'As tier_changes(at, score, tier), and a drop of at least drop_points within drop_window inside one tier, and the account''s disappearance when its last snapshot is before as_of (NULL: no such events).';

-- Validation across servers: the stored type outcomes (the (score, churned)
-- pairs of auc, lift and calibration as a value), its aggregates
-- outcomes(score, churned) and rollup(outcomes), and auc, lift and
-- calibration of a stored value.
CREATE TYPE outcomes;
CREATE FUNCTION "outcomes_in"("input" cstring) RETURNS outcomes
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_in_wrapper';
CREATE FUNCTION "outcomes_out"("input" outcomes) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_out_wrapper';
CREATE TYPE outcomes (
    INTERNALLENGTH = variable, INPUT = outcomes_in, OUTPUT = outcomes_out, STORAGE = extended
);
CREATE FUNCTION "outcomes_recv"("buffer" internal) RETURNS outcomes
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_recv_wrapper';
CREATE FUNCTION "outcomes_send"("value" outcomes) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_send_wrapper';
ALTER TYPE outcomes SET (RECEIVE = outcomes_recv, SEND = outcomes_send);
COMMENT ON TYPE outcomes IS
    'Scores and churn outcomes of a population (distinct scores with their counts, per outcome), from the outcomes aggregate: merge with rollup(), read with auc(), lift(), calibration().';
CREATE FUNCTION "outcomes_final"("state" internal) RETURNS outcomes
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_final_wrapper';
CREATE FUNCTION "outcomes_trans"("state" internal, "score" double precision, "churned" bool) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_trans_wrapper';
CREATE FUNCTION "outcomes_rollup_trans"("state" internal, "o" outcomes) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'outcomes_rollup_trans_wrapper';
CREATE AGGREGATE outcomes(score double precision, churned boolean) (
    sfunc = outcomes_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = outcomes_final,
    parallel = safe
);
COMMENT ON AGGREGATE outcomes(double precision, boolean) IS
    'The (score, churned) pairs of a group as a health.outcomes value (rows with a NULL skipped): build it where the rows are, merge with rollup(), read with auc(), lift(), calibration().';
CREATE AGGREGATE rollup(o outcomes) (
    sfunc = outcomes_rollup_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = outcomes_final,
    parallel = safe
);
COMMENT ON AGGREGATE rollup(outcomes) IS
    'Merges outcomes (shards, segments, months) into the outcomes of all their accounts: auc, lift and calibration of the result equal the aggregates over all the rows.';
CREATE FUNCTION "auc"("o" outcomes) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'auc_of_outcomes_wrapper';
CREATE FUNCTION "lift"("o" outcomes, "fraction" double precision DEFAULT 0.1) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'lift_of_outcomes_wrapper';
CREATE FUNCTION "calibration"("o" outcomes, "buckets" INT DEFAULT 10) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'calibration_of_outcomes_wrapper';
COMMENT ON FUNCTION auc(outcomes) IS
    'Exact ROC AUC of stored outcomes: the auc aggregate over the same rows.';
COMMENT ON FUNCTION lift(outcomes, double precision) IS
    'Lift of the lowest-scored fraction (default 0.1) of stored outcomes: the lift aggregate over the same rows.';
COMMENT ON FUNCTION calibration(outcomes, integer) IS
    'Calibration buckets (default 10) of stored outcomes: the calibration aggregate over the same rows.';
-- Survey answers across servers: the stored type responses (how many
-- answers gave each rating), its aggregates responses(rating) and
-- rollup(responses), and nps, nps_breakdown and csat of a stored value.
CREATE TYPE responses;
CREATE FUNCTION "responses_in"("input" cstring) RETURNS responses
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_in_wrapper';
CREATE FUNCTION "responses_out"("input" responses) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_out_wrapper';
CREATE TYPE responses (
    INTERNALLENGTH = variable, INPUT = responses_in, OUTPUT = responses_out, STORAGE = extended
);
CREATE FUNCTION "responses_recv"("buffer" internal) RETURNS responses
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_recv_wrapper';
CREATE FUNCTION "responses_send"("value" responses) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_send_wrapper';
ALTER TYPE responses SET (RECEIVE = responses_recv, SEND = responses_send);
COMMENT ON TYPE responses IS
    'Survey answers as how many of each rating (0-100), from the responses aggregate: merge with rollup(), read with nps(), nps_breakdown(), csat().';
CREATE FUNCTION "responses_combine"("current" internal, "other" internal) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_combine_wrapper';
CREATE FUNCTION "responses_serial"("state" internal) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_serial_wrapper';
CREATE FUNCTION "responses_deserial"("bytes" bytea, "_unused" internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_deserial_wrapper';
CREATE FUNCTION "responses_trans"("state" internal, "rating" INT) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_trans_wrapper';
CREATE FUNCTION "responses_rollup_trans"("state" internal, "r" responses) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_rollup_trans_wrapper';
CREATE FUNCTION "responses_final"("state" internal) RETURNS responses
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'responses_final_wrapper';
CREATE AGGREGATE responses(rating integer) (
    sfunc = responses_trans, stype = internal, combinefunc = responses_combine,
    serialfunc = responses_serial, deserialfunc = responses_deserial, finalfunc = responses_final,
    parallel = safe
);
COMMENT ON AGGREGATE responses(integer) IS
    'Survey answers (ratings 0-100, NULLs skipped) as a health.responses value: build it where the answers are, merge with rollup(), read with nps(), nps_breakdown(), csat().';
CREATE AGGREGATE rollup(r responses) (
    sfunc = responses_rollup_trans, stype = internal, combinefunc = responses_combine,
    serialfunc = responses_serial, deserialfunc = responses_deserial, finalfunc = responses_final,
    parallel = safe
);
COMMENT ON AGGREGATE rollup(responses) IS
    'Merges survey answers (shards, segments, months): nps, nps_breakdown and csat of the result equal the aggregates over all the answers.';
CREATE FUNCTION "nps"("r" responses) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'nps_of_responses_wrapper';
CREATE FUNCTION "nps_breakdown"("r" responses) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'nps_breakdown_of_responses_wrapper';
CREATE FUNCTION "csat"("r" responses, "scale" INT DEFAULT 5) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'csat_of_responses_wrapper';
COMMENT ON FUNCTION nps(responses) IS
    'Net Promoter Score of stored answers: the nps aggregate over the same answers (ratings must be 0-10).';
COMMENT ON FUNCTION nps_breakdown(responses) IS
    'Counts and shares of promoters, passives and detractors of stored answers: the nps_breakdown aggregate over the same answers.';
COMMENT ON FUNCTION csat(responses, integer) IS
    'CSAT of stored answers on a 1..scale survey (default 5): the csat aggregate over the same answers.';

-- A churn regression across servers: the stored type fit_rows (the rows
-- fit_weights fits, as a value), its aggregates fit_rows(features, churned
-- [, names [, missing]]) and rollup(fit_rows), and fit_weights(rows, l2).
CREATE TYPE fit_rows;
CREATE FUNCTION "fit_rows_in"("input" cstring) RETURNS fit_rows
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_in_wrapper';
CREATE FUNCTION "fit_rows_out"("input" fit_rows) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_out_wrapper';
CREATE TYPE fit_rows (
    INTERNALLENGTH = variable, INPUT = fit_rows_in, OUTPUT = fit_rows_out, STORAGE = extended
);
CREATE FUNCTION "fit_rows_recv"("buffer" internal) RETURNS fit_rows
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_recv_wrapper';
CREATE FUNCTION "fit_rows_send"("value" fit_rows) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_send_wrapper';
ALTER TYPE fit_rows SET (RECEIVE = fit_rows_recv, SEND = fit_rows_send);
COMMENT ON TYPE fit_rows IS
    'The rows of a churn regression (features, names, outcome), from the fit_rows aggregate: merge with rollup(), fit with fit_weights(rows, l2).';
CREATE FUNCTION "fit_rows_trans"("state" internal, "features" double precision[], "churned" bool) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_trans_wrapper';
CREATE FUNCTION "fit_rows_trans_named"("state" internal, "features" double precision[], "churned" bool,
    "names" TEXT[]) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_trans_named_wrapper';
CREATE FUNCTION "fit_rows_trans_policy"("state" internal, "features" double precision[], "churned" bool,
    "names" TEXT[], "missing" TEXT) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_trans_policy_wrapper';
CREATE FUNCTION "fit_rows_rollup_trans"("state" internal, "r" fit_rows) RETURNS internal
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_rollup_trans_wrapper';
CREATE FUNCTION "fit_rows_final"("state" internal) RETURNS fit_rows
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_rows_final_wrapper';
CREATE AGGREGATE fit_rows(features double precision[], churned boolean) (
    sfunc = fit_rows_trans, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_rows_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_rows(double precision[], boolean) IS
    'The rows of a churn regression as a health.fit_rows value: build it where the rows are, merge with rollup(), fit with fit_weights(rows, l2).';
CREATE AGGREGATE fit_rows(features double precision[], churned boolean, names text[]) (
    sfunc = fit_rows_trans_named, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_rows_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_rows(double precision[], boolean, text[]) IS
    'As fit_rows(features, churned), with the features named (fit_weights then answers weights_by_name).';
CREATE AGGREGATE fit_rows(features double precision[], churned boolean, names text[], missing text) (
    sfunc = fit_rows_trans_policy, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_rows_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_rows(double precision[], boolean, text[], text) IS
    'As fit_rows(features, churned, names), with a policy for NULL features: ''error'' (the default), ''skip'', ''zero'' or ''neutral'' (50).';
CREATE AGGREGATE rollup(r fit_rows) (
    sfunc = fit_rows_rollup_trans, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_rows_final,
    parallel = safe
);
COMMENT ON AGGREGATE rollup(fit_rows) IS
    'Merges the rows of churn regressions (shards, months): fit_weights of the result fits all their rows.';
CREATE FUNCTION "fit_weights"("rows" fit_rows, "l2" double precision DEFAULT 0.0) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fit_weights_of_rows_wrapper';
COMMENT ON FUNCTION fit_weights(fit_rows, double precision) IS
    'Logistic regression of churn on stored rows with the L2 penalty l2 (default 0): the fit_weights aggregate over the same rows.';

-- The support functions of tier_changes, outcomes, responses and fit_rows, commented as a fresh
-- install comments them.
DO $comments$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, pg_catalog.string_agg(DISTINCT r.role, '; ') AS role
        FROM pg_catalog.pg_proc p
        JOIN LATERAL (
            SELECT 'step of aggregate ' || a.aggfnoid::regprocedure::text AS role
            FROM pg_catalog.pg_aggregate a
            WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn)
            UNION ALL
            SELECT 'input/output function of type ' || t.oid::regtype::text
            FROM pg_catalog.pg_type t
            WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend)
        ) r ON true
        WHERE (p.proname LIKE 'tier\_changes\_%' OR p.proname LIKE 'responses\_%' OR p.proname LIKE 'fit\_%'
               OR p.proname IN ('outcomes_in', 'outcomes_out', 'outcomes_recv', 'outcomes_send', 'outcomes_final',
                                'outcomes_trans', 'outcomes_rollup_trans', 'outcomes_combine', 'outcomes_serial',
                                'outcomes_deserial'))
          AND p.pronamespace = 'health'::regnamespace
        GROUP BY p.oid
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', f.fn,
            'Support function: ' || f.role || '; called by PostgreSQL, not directly.');
    END LOOP;
END
$comments$;

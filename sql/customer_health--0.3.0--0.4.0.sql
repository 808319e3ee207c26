-- customer_health 0.3.0 -> 0.4.0 (ALTER EXTENSION customer_health UPDATE TO '0.4.0').
-- Hand-written: each step below says what 0.4.0 changes and keeps every row
-- of health.models and health.profiles, and every user table, view or column
-- that uses a health.* type (see CHANGELOG.md).

\echo Use "ALTER EXTENSION customer_health UPDATE TO '0.4.0'" to load this file. \quit

-- The missing policy 'error' (weighted_score, score(scorecard), a model's
-- "missing") refuses a missing sub-score, naming it; coverage(scores,
-- weights) says what a wide-form score stands on.
CREATE FUNCTION "coverage"("scores" double precision[], "weights" double precision[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'coverage_of_scores_wrapper';
COMMENT ON FUNCTION coverage(double precision[], double precision[]) IS
    'Weight share of the measured (non-NULL) sub-scores, 0-1: what weighted_score of the same arrays stands on.';
COMMENT ON FUNCTION weighted_score(double precision[], double precision[], text, double precision) IS
    'Health score 0-100: weighted mean of sub-scores; NULL sub-scores follow the missing policy (renormalize, zero, neutral, null, error); NULL below min_coverage.';

-- model_for(name, at) is an error when the model has no version in force at
-- `at` (it was NULL); model_for_or_null answers NULL for such moments.
COMMENT ON FUNCTION model_for(text, timestamptz) IS
    'The version of a named model in force at a moment (default now), its profiles resolved as of the same moment; an error when none is in force (model_for_or_null answers NULL).';
CREATE FUNCTION "model_for_or_null"("name" TEXT, "at" timestamp with time zone DEFAULT now()) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_for_or_null_wrapper';
CREATE FUNCTION "model_for_or_null"("name" TEXT, "at" timestamp with time zone, "models" regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_for_or_null_in_wrapper';
CREATE FUNCTION "model_for_or_null"("name" TEXT, "at" timestamp with time zone, "models" regclass, "profiles" regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'model_for_or_null_in_with_profiles_wrapper';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz) IS
    'As model_for(name, at), NULL at a moment no version of the model is in force (a name the catalogue does not hold is still an error).';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz, regclass) IS
    'As model_for_or_null(name, at), from a models table the caller names (the columns of health.models).';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz, regclass, regclass) IS
    'As model_for_or_null(name, at, models), with profiles from a table the caller names (the columns of health.profiles).';

-- A row of health.models and its document name one version: a document
-- without a version takes the row's, one whose version differs is refused.
-- Rows stored before this release are left as they are; those whose
-- versions already disagree are listed in a warning, for the DBA to fix.
CREATE FUNCTION model_version_agrees() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := NEW.model::text::jsonb;
BEGIN
    IF doc IS NULL OR NEW.version IS NULL THEN
        RETURN NEW;
    ELSIF NOT doc ? 'version' THEN
        NEW.model := jsonb_set(doc, '{version}', to_jsonb(NEW.version))::health.model;
    ELSIF doc ->> 'version' IS DISTINCT FROM NEW.version THEN
        RAISE EXCEPTION '%.%: the row of model "%" says version "%", its document says "%"',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, NEW.name, NEW.version, doc ->> 'version'
            USING ERRCODE = '23514',
                  HINT = 'Give both the same version: a new version of a model is a new row (with its effective_from); '
                         'to relabel one, set the document''s too: model = jsonb_set(model::text::jsonb, ''{version}'', to_jsonb(version))::health.model.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER version_agrees BEFORE INSERT OR UPDATE ON models
    FOR EACH ROW EXECUTE FUNCTION model_version_agrees();
COMMENT ON FUNCTION model_version_agrees() IS
    'Trigger of health.models (or a table with its columns): a document without a version takes the row''s; a different version is refused.';
DO $check$
DECLARE
    disagreeing text;
BEGIN
    SELECT string_agg(format('%s %s (document: %s)', m.name, m.version, m.model::text::jsonb ->> 'version'), '; '
                      ORDER BY m.name, m.effective_from)
    INTO disagreeing
    FROM health.models m
    WHERE m.model::text::jsonb ? 'version' AND m.model::text::jsonb ->> 'version' IS DISTINCT FROM m.version;
    IF disagreeing IS NOT NULL THEN
        RAISE WARNING 'health.models rows whose version differs from their document''s: %', disagreeing
            USING HINT = 'explain() reports the document''s version. Set one to the other; an UPDATE of such a row is refused until they agree.';
    END IF;
END
$check$;

-- Equality for every stored type: = and <> (equal when stored the same,
-- byte for byte) and a hash operator class, so DISTINCT, GROUP BY, UNION and
-- hash joins work over columns of them (they failed with "could not identify
-- an equality operator").
CREATE FUNCTION scorecard_eq(a scorecard, b scorecard) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION scorecard_ne(a scorecard, b scorecard) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION scorecard_hash(value scorecard) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION scorecard_hash_extended(value scorecard, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = scorecard_eq, LEFTARG = scorecard, RIGHTARG = scorecard,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = scorecard_ne, LEFTARG = scorecard, RIGHTARG = scorecard,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS scorecard_ops DEFAULT FOR TYPE scorecard USING hash AS
    OPERATOR 1 =, FUNCTION 1 scorecard_hash(scorecard), FUNCTION 2 scorecard_hash_extended(scorecard, bigint);
COMMENT ON FUNCTION scorecard_eq(scorecard, scorecard) IS
    'The = of two values of type scorecard: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION scorecard_ne(scorecard, scorecard) IS
    'The <> of two values of type scorecard: not stored the same.';
COMMENT ON FUNCTION scorecard_hash(scorecard) IS
    'Hash of a value of type scorecard (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION scorecard_hash_extended(scorecard, bigint) IS
    'Seeded 64-bit hash of a value of type scorecard (its operator class; hash partitioning).';
CREATE FUNCTION profile_eq(a profile, b profile) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION profile_ne(a profile, b profile) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION profile_hash(value profile) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION profile_hash_extended(value profile, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = profile_eq, LEFTARG = profile, RIGHTARG = profile,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = profile_ne, LEFTARG = profile, RIGHTARG = profile,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS profile_ops DEFAULT FOR TYPE profile USING hash AS
    OPERATOR 1 =, FUNCTION 1 profile_hash(profile), FUNCTION 2 profile_hash_extended(profile, bigint);
COMMENT ON FUNCTION profile_eq(profile, profile) IS
    'The = of two values of type profile: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION profile_ne(profile, profile) IS
    'The <> of two values of type profile: not stored the same.';
COMMENT ON FUNCTION profile_hash(profile) IS
    'Hash of a value of type profile (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION profile_hash_extended(profile, bigint) IS
    'Seeded 64-bit hash of a value of type profile (its operator class; hash partitioning).';
CREATE FUNCTION model_eq(a model, b model) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION model_ne(a model, b model) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION model_hash(value model) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION model_hash_extended(value model, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = model_eq, LEFTARG = model, RIGHTARG = model,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = model_ne, LEFTARG = model, RIGHTARG = model,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS model_ops DEFAULT FOR TYPE model USING hash AS
    OPERATOR 1 =, FUNCTION 1 model_hash(model), FUNCTION 2 model_hash_extended(model, bigint);
COMMENT ON FUNCTION model_eq(model, model) IS
    'The = of two values of type model: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION model_ne(model, model) IS
    'The <> of two values of type model: not stored the same.';
COMMENT ON FUNCTION model_hash(model) IS
    'Hash of a value of type model (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION model_hash_extended(model, bigint) IS
    'Seeded 64-bit hash of a value of type model (its operator class; hash partitioning).';
CREATE FUNCTION trend_eq(a trend, b trend) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION trend_ne(a trend, b trend) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION trend_hash(value trend) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION trend_hash_extended(value trend, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = trend_eq, LEFTARG = trend, RIGHTARG = trend,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = trend_ne, LEFTARG = trend, RIGHTARG = trend,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS trend_ops DEFAULT FOR TYPE trend USING hash AS
    OPERATOR 1 =, FUNCTION 1 trend_hash(trend), FUNCTION 2 trend_hash_extended(trend, bigint);
COMMENT ON FUNCTION trend_eq(trend, trend) IS
    'The = of two values of type trend: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION trend_ne(trend, trend) IS
    'The <> of two values of type trend: not stored the same.';
COMMENT ON FUNCTION trend_hash(trend) IS
    'Hash of a value of type trend (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION trend_hash_extended(trend, bigint) IS
    'Seeded 64-bit hash of a value of type trend (its operator class; hash partitioning).';
CREATE FUNCTION responses_eq(a responses, b responses) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION responses_ne(a responses, b responses) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION responses_hash(value responses) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION responses_hash_extended(value responses, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = responses_eq, LEFTARG = responses, RIGHTARG = responses,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = responses_ne, LEFTARG = responses, RIGHTARG = responses,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS responses_ops DEFAULT FOR TYPE responses USING hash AS
    OPERATOR 1 =, FUNCTION 1 responses_hash(responses), FUNCTION 2 responses_hash_extended(responses, bigint);
COMMENT ON FUNCTION responses_eq(responses, responses) IS
    'The = of two values of type responses: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION responses_ne(responses, responses) IS
    'The <> of two values of type responses: not stored the same.';
COMMENT ON FUNCTION responses_hash(responses) IS
    'Hash of a value of type responses (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION responses_hash_extended(responses, bigint) IS
    'Seeded 64-bit hash of a value of type responses (its operator class; hash partitioning).';
CREATE FUNCTION outcomes_eq(a outcomes, b outcomes) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION outcomes_ne(a outcomes, b outcomes) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION outcomes_hash(value outcomes) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION outcomes_hash_extended(value outcomes, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = outcomes_eq, LEFTARG = outcomes, RIGHTARG = outcomes,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = outcomes_ne, LEFTARG = outcomes, RIGHTARG = outcomes,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS outcomes_ops DEFAULT FOR TYPE outcomes USING hash AS
    OPERATOR 1 =, FUNCTION 1 outcomes_hash(outcomes), FUNCTION 2 outcomes_hash_extended(outcomes, bigint);
COMMENT ON FUNCTION outcomes_eq(outcomes, outcomes) IS
    'The = of two values of type outcomes: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION outcomes_ne(outcomes, outcomes) IS
    'The <> of two values of type outcomes: not stored the same.';
COMMENT ON FUNCTION outcomes_hash(outcomes) IS
    'Hash of a value of type outcomes (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION outcomes_hash_extended(outcomes, bigint) IS
    'Seeded 64-bit hash of a value of type outcomes (its operator class; hash partitioning).';
CREATE FUNCTION fit_rows_eq(a fit_rows, b fit_rows) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';
CREATE FUNCTION fit_rows_ne(a fit_rows, b fit_rows) RETURNS boolean
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';
CREATE FUNCTION fit_rows_hash(value fit_rows) RETURNS integer
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';
CREATE FUNCTION fit_rows_hash_extended(value fit_rows, seed bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';
CREATE OPERATOR = (FUNCTION = fit_rows_eq, LEFTARG = fit_rows, RIGHTARG = fit_rows,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR <> (FUNCTION = fit_rows_ne, LEFTARG = fit_rows, RIGHTARG = fit_rows,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS fit_rows_ops DEFAULT FOR TYPE fit_rows USING hash AS
    OPERATOR 1 =, FUNCTION 1 fit_rows_hash(fit_rows), FUNCTION 2 fit_rows_hash_extended(fit_rows, bigint);
COMMENT ON FUNCTION fit_rows_eq(fit_rows, fit_rows) IS
    'The = of two values of type fit_rows: equal when stored the same (byte for byte).';
COMMENT ON FUNCTION fit_rows_ne(fit_rows, fit_rows) IS
    'The <> of two values of type fit_rows: not stored the same.';
COMMENT ON FUNCTION fit_rows_hash(fit_rows) IS
    'Hash of a value of type fit_rows (its operator class for hash joins, DISTINCT and GROUP BY).';
COMMENT ON FUNCTION fit_rows_hash_extended(fit_rows, bigint) IS
    'Seeded 64-bit hash of a value of type fit_rows (its operator class; hash partitioning).';

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

//! One line of documentation on every function, aggregate, type and table of
//! the extension, as `COMMENT ON`, so `\df+`, `\dT+` and the field pickers of
//! BI tools show what each is. The aggregates and types declared in SQL
//! elsewhere carry their comments beside their definitions; this block comes
//! last and covers the functions pgrx declares, the catalogue, and (by a
//! catalogue query) the support functions of every aggregate and type.
//! The upgrade script that introduced it repeats it.

use pgrx::prelude::*;

extension_sql!(
    r#"
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
COMMENT ON FUNCTION scale_zscore_linear(double precision, double precision, double precision, double precision, boolean) IS
    'Sub-score 50 + 50 * clamp(z / clip, -1, 1), z = (value - mean) / stddev: a z-score kept on its own scale, reaching 0 and 100 at |z| = clip.';

-- combine sub-scores
COMMENT ON FUNCTION weighted_score(double precision[], double precision[], text, double precision) IS
    'Health score 0-100: weighted mean of sub-scores; NULL sub-scores follow the missing policy (renormalize, zero, neutral, null, error); NULL below min_coverage.';
COMMENT ON FUNCTION score(scorecard, text, double precision) IS
    'The weighted score of a scorecard, as weighted_score computes it.';
COMMENT ON FUNCTION coverage(scorecard) IS
    'Weight share of the measured metrics of a scorecard, 0-1.';
COMMENT ON FUNCTION coverage(double precision[], double precision[]) IS
    'Weight share of the measured (non-NULL) sub-scores, 0-1: what weighted_score of the same arrays stands on.';
COMMENT ON FUNCTION score_change(scorecard, scorecard, text) IS
    'Why a score moved between two scorecards of one account: before, after, change, and per metric its part (points), split into sub-score and weight-share effects, with why (sub_score, weight, renormalised, appeared, went_missing).';
COMMENT ON FUNCTION contributions(scorecard, text) IS
    'Per metric of a scorecard: score, weight, weight share, points and points lost, as jsonb, most points lost first.';
COMMENT ON FUNCTION weakest(scorecard, integer) IS
    'The n metrics of a scorecard that lose the most points.';

-- survey answers across servers (health.responses)
COMMENT ON FUNCTION nps(responses) IS
    'Net Promoter Score of stored answers: the nps aggregate over the same answers (ratings must be 0-10).';
COMMENT ON FUNCTION nps_breakdown(responses) IS
    'Counts and shares of promoters, passives and detractors of stored answers: the nps_breakdown aggregate over the same answers.';
COMMENT ON FUNCTION csat(responses, integer) IS
    'CSAT of stored answers on a 1..scale survey (default 5): the csat aggregate over the same answers.';

-- validation across servers (health.outcomes)
COMMENT ON FUNCTION auc(outcomes) IS
    'Exact ROC AUC of stored outcomes: the auc aggregate over the same rows.';
COMMENT ON FUNCTION lift(outcomes, double precision) IS
    'Lift of the lowest-scored fraction (default 0.1) of stored outcomes: the lift aggregate over the same rows.';
COMMENT ON FUNCTION fit_weights(fit_rows, double precision) IS
    'Logistic regression of churn on stored rows with the L2 penalty l2 (default 0): the fit_weights aggregate over the same rows.';
COMMENT ON FUNCTION calibration(outcomes, integer) IS
    'Calibration buckets (default 10) of stored outcomes: the calibration aggregate over the same rows.';

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
    'Health score of one account under a model, from a jsonb object of raw metric values by name; a key the model does not know is an error.';
COMMENT ON FUNCTION evaluate(model, jsonb, text) IS
    'As evaluate(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';
COMMENT ON FUNCTION evaluate(model, double precision[]) IS
    'Health score of one account under a model, from raw values in the model''s metric order.';
COMMENT ON FUNCTION explain(model, jsonb) IS
    'Score, coverage, tier and per-metric contributions of one account under a model, as jsonb.';
COMMENT ON FUNCTION weakest(model, jsonb, integer) IS
    'The n metrics that lose one account the most points under a model (as weakest(scorecard, n)).';
COMMENT ON FUNCTION explain(model, jsonb, text) IS
    'As explain(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';
COMMENT ON FUNCTION tier(model, double precision) IS
    'Tier of a score under the model''s tier scheme.';
COMMENT ON FUNCTION tier(model, jsonb) IS
    'Tier of an account under a model, with the model''s worst-of rule on critical metrics applied.';
COMMENT ON FUNCTION tier(model, jsonb, text) IS
    'As tier(model, metrics), with extra_keys => ''ignore'' to ignore keys the model does not use.';
COMMENT ON FUNCTION model_metrics(model) IS
    'The metric names of a model, in the order evaluate(model, float8[]) expects.';
COMMENT ON FUNCTION with_weights(model, jsonb) IS
    'The model with the weights of the metrics named in a jsonb object (name to weight) replaced; the others keep theirs.';
COMMENT ON FUNCTION fold(text, integer) IS
    'The cross-validation fold (1 to folds) of an account, by a fixed hash of its key: the folds fit_model holds out.';

COMMENT ON FUNCTION weighted_score_support(internal) IS
    'Planner support function of weighted_score: fuses ARRAY[scale_*(column, constants), ...] with constant weights into one weighted_score_fused call; called by PostgreSQL, not directly.';

COMMENT ON FUNCTION evaluate_support(internal) IS
    'Planner support function of evaluate(model, float8[]): plans evaluate(model, ARRAY[value, ...]) as one evaluate_fused call; called by PostgreSQL, not directly.';

-- the catalogue
COMMENT ON TABLE models IS
    'Scoring models by name and version; model_for(name, at) returns the one in force at a moment.';
COMMENT ON TABLE profiles IS
    'Named population profiles that models reference by profile_name, one row per version (effective_from).';
COMMENT ON TABLE catalogue_history IS
    'Append-only history of every change to health.models and health.profiles: who, when, the row before and after.';
COMMENT ON FUNCTION model_for(text, timestamptz) IS
    'The version of a named model in force at a moment (default now), its profiles resolved as of the same moment; an error when none is in force (model_for_or_null answers NULL).';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz) IS
    'As model_for(name, at), NULL at a moment no version of the model is in force (a name the catalogue does not hold is still an error).';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz, regclass) IS
    'As model_for_or_null(name, at), from a models table the caller names (the columns of health.models).';
COMMENT ON FUNCTION model_for_or_null(text, timestamptz, regclass, regclass) IS
    'As model_for_or_null(name, at, models), with profiles from a table the caller names (the columns of health.profiles).';
COMMENT ON FUNCTION model_version_agrees() IS
    'Trigger of health.models (or a table with its columns): a document without a version takes the row''s; a different version is refused.';
COMMENT ON FUNCTION resolve_profiles(model, timestamptz) IS
    'A model with every profile_name replaced by the profile of that name in force at a moment.';
COMMENT ON FUNCTION resolve_profiles(model) IS
    'A model with every profile_name replaced by the profile of that name in force now.';
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
"#,
    name = "comments",
    finalize
);

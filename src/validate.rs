//! SQL wrappers for docs/reference.md §7: `auc`, `lift`, `calibration`, `brier`,
//! `fit_weights` — aggregates, so they work inside any `SELECT ... GROUP BY` —
//! and the stored type `health.outcomes` with its aggregates `outcomes` and
//! `rollup` and the accessors `auc`, `lift` and `calibration`, and the
//! stored type `health.fit_rows` with `fit_rows`, `rollup` and
//! `fit_weights(rows, l2)`, so the validation of a score spread over
//! servers is merged exactly.

use health_core::validate::OutcomeRow;
use health_core::validate::{
    calibration_json, check_stored_outcomes, design_from_stored, design_to_stored, fit_logistic, fit_rows_from_text,
    fit_rows_text, outcomes_from_text, outcomes_text, Brier, Design, FitMissing, FitRow, Outcomes as CoreOutcomes,
};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::agg::aggregate;
use crate::args::{FloatArray, TextArray, Word};
use crate::errors::{raise, OrRaise};
use crate::stored::stored_type;

// ---- auc, lift, calibration: one state of scores split by outcome ----

/// A (score, churned) row, kept when both are known.
fn scored(score: Option<f64>, churned: Option<bool>) -> Option<(f64, bool)> {
    score.zip(churned)
}

aggregate! {
    aggregate "auc", state CoreOutcomes;
    defines support (outcomes_combine, outcomes_serial, outcomes_deserial);
    transition auc_trans(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: None })
    }
    finalize auc_final(outcomes) -> f64 { outcomes.auc() }
    sql "auc" {
        auc(score "double precision", churned "boolean") via auc_trans
            is "Exact ROC AUC of the score as a predictor of retention: P(retained scores higher than churned), ties half.";
    }
}

// The constant argument is recorded on every row, NULL scores included, so
// that a group's fraction or bucket count is checked whatever its rows hold.

aggregate! {
    aggregate "lift", state CoreOutcomes;
    shares support (outcomes_combine, outcomes_serial, outcomes_deserial);
    transition lift_trans(score: Option<f64>, churned: Option<bool>, fraction: Option<f64>) {
        let fraction = fraction.unwrap_or(0.1);
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((fraction, "fraction")) })
    }
    transition lift_trans_default(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((0.1, "fraction")) })
    }
    finalize lift_final(outcomes) -> f64 {
        if outcomes.is_empty() {
            return None;
        }
        outcomes.lift(outcomes.parameter().unwrap_or(0.1)).or_raise("lift")
    }
    sql "lift" {
        lift(score "double precision", churned "boolean", fraction "double precision") via lift_trans
            is "Churn rate among the lowest-scored fraction of accounts over the overall churn rate.";
        lift(score "double precision", churned "boolean") via lift_trans_default;
    }
}

aggregate! {
    aggregate "calibration", state CoreOutcomes;
    shares support (outcomes_combine, outcomes_serial, outcomes_deserial);
    transition calibration_trans(score: Option<f64>, churned: Option<bool>, buckets: Option<i32>) {
        let buckets = f64::from(buckets.unwrap_or(10));
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((buckets, "buckets")) })
    }
    transition calibration_trans_default(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((10.0, "buckets")) })
    }
    finalize calibration_final(outcomes) -> JsonB {
        let buckets = outcomes.parameter().unwrap_or(10.0) as i64;
        calibration_of(outcomes, buckets)
    }
    sql "calibration" {
        calibration(score "double precision", churned "boolean", buckets "integer") via calibration_trans;
        calibration(score "double precision", churned "boolean") via calibration_trans_default
            is "Per score bucket (10 equal-width buckets on 0..100): count, churned, churn rate, mean score.";
    }
}

// ---- health.outcomes: the (score, churned) pairs in a stored form ----

const OUTCOMES: &str = "outcomes";

stored_type! {
    /// A population's (score, churned) pairs as a value (see
    /// `CoreOutcomes::to_stored`): built where the rows are, merged with
    /// `rollup` (exactly: the same as one aggregate over all the rows), read
    /// with `auc`, `lift` and `calibration`. What crosses from a shard.
    pub struct Outcomes is "outcomes";
    text: outcomes_from_text, outcomes_text;
    binary { outcomes_send(value), outcomes_recv, check: check_stored_outcomes }
    schema "outcomes_type_options" {
        r#"
COMMENT ON TYPE outcomes IS
    'Scores and churn outcomes of a population (distinct scores with their counts, per outcome), from the outcomes aggregate: merge with rollup(), read with auc(), lift(), calibration().';
"#
    } requires [];
}

impl Outcomes {
    fn open(&self, function: &str) -> CoreOutcomes {
        CoreOutcomes::from_stored(&self.0).or_raise(function)
    }
}

aggregate! {
    aggregate "outcomes", state CoreOutcomes;
    shares support (outcomes_combine, outcomes_serial, outcomes_deserial);
    requires (Outcomes);
    transition outcomes_trans(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: None })
    }
    finalize outcomes_final(o) -> Outcomes {
        if o.is_empty() {
            return None;
        }
        Some(Outcomes(o.to_stored().or_raise(OUTCOMES)))
    }
    sql "outcomes_aggregate" {
        outcomes(score "double precision", churned "boolean") via outcomes_trans
            is "The (score, churned) pairs of a group as a health.outcomes value (rows with a NULL skipped): build it where the rows are, merge with rollup(), read with auc(), lift(), calibration().";
    }
}

aggregate! {
    aggregate "rollup", state CoreOutcomes;
    shares support (outcomes_combine, outcomes_serial, outcomes_deserial);
    requires (Outcomes);
    transition outcomes_rollup_trans(o: Option<Outcomes>) {
        Some(o?.open("rollup"))
    }
    shares final (outcomes_final);
    sql "outcomes_rollup" {
        rollup(o "outcomes") via outcomes_rollup_trans
            is "Merges outcomes (shards, segments, months) into the outcomes of all their accounts: auc, lift and calibration of the result equal the aggregates over all the rows.";
    }
}

/// `auc` of stored outcomes: as the aggregate over the same rows.
#[pg_extern(immutable, strict, parallel_safe, name = "auc")]
fn auc_of_outcomes(o: Outcomes) -> Option<f64> {
    o.open("auc").auc()
}

/// `lift` of stored outcomes: as the aggregate over the same rows.
#[pg_extern(immutable, strict, parallel_safe, name = "lift")]
fn lift_of_outcomes(o: Outcomes, fraction: default!(f64, 0.1)) -> Option<f64> {
    o.open("lift").lift(fraction).or_raise("lift")
}

/// `calibration` of stored outcomes: as the aggregate over the same rows.
#[pg_extern(immutable, strict, parallel_safe, name = "calibration")]
fn calibration_of_outcomes(o: Outcomes, buckets: default!(i32, 10)) -> Option<JsonB> {
    calibration_of(&mut o.open("calibration"), i64::from(buckets))
}

/// The calibration buckets of outcomes (aggregate or stored); NULL without rows.
fn calibration_of(outcomes: &mut CoreOutcomes, buckets: i64) -> Option<JsonB> {
    if outcomes.is_empty() {
        return None;
    }
    let buckets = outcomes.calibration(buckets).or_raise("calibration");
    Some(JsonB(calibration_json(&buckets)))
}

// ---- brier ----

aggregate! {
    aggregate "brier", state Brier;
    defines support (brier_combine, brier_serial, brier_deserial);
    transition brier_trans(probability: Option<f64>, churned: Option<bool>) {
        probability.zip(churned)
    }
    finalize brier_final(brier) -> f64 { brier.value() }
    sql "brier" {
        brier(probability "double precision", churned "boolean") via brier_trans, sspace 24
            is "Mean squared difference between a churn probability and the outcome.";
    }
}

// ---- fit_weights ----

const FIT: &str = "fit_weights";

/// A row of `fit_weights`' (or `fit_rows`') arguments, errors naming
/// `function`; NULL `names` means unnamed features.
fn fit_row(
    function: &str,
    features: &FloatArray,
    churned: bool,
    l2: Option<f64>,
    names: Option<&TextArray>,
    missing: Option<Option<&Word>>,
) -> FitRow {
    let missing = match missing {
        None => FitMissing::Error,
        Some(None) => raise(
            function,
            HealthError::null("missing must not be NULL (the default is 'error')"),
        ),
        Some(Some(word)) => FitMissing::parse(word.as_str(function, "missing")).or_raise(function),
    };
    FitRow {
        features: features.iter().collect(),
        churned,
        l2,
        names: names.map(|n| n.to_strings(function, "names")),
        missing,
    }
}

aggregate! {
    aggregate "fit_weights", state Design;
    defines support (fit_combine, fit_serial, fit_deserial);
    transition fit_trans_policy(
        features: Option<FloatArray>, churned: Option<bool>, l2: Option<f64>,
        names: Option<TextArray>, missing: Option<Word>
    ) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT, &features, churned, l2, names.as_ref(), Some(missing.as_ref())))
    }
    transition fit_trans_named(
        features: Option<FloatArray>, churned: Option<bool>, l2: Option<f64>, names: Option<TextArray>
    ) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT, &features, churned, l2, names.as_ref(), None))
    }
    transition fit_trans(features: Option<FloatArray>, churned: Option<bool>, l2: Option<f64>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT, &features, churned, l2, None, None))
    }
    transition fit_trans_unregularised(features: Option<FloatArray>, churned: Option<bool>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT, &features, churned, None, None, None))
    }
    finalize fit_final(design) -> JsonB {
        let fit = fit_logistic(design, design.l2).or_raise(FIT);
        Some(JsonB(fit.to_json(design)))
    }
    sql "fit_weights" {
        fit_weights(features "double precision[]", churned "boolean", l2 "double precision") via fit_trans;
        fit_weights(features "double precision[]", churned "boolean") via fit_trans_unregularised
            is "Logistic regression of churn on the features: coefficients, standard errors, AUC and suggested weights summing to 100.";
        fit_weights(features "double precision[]", churned "boolean", l2 "double precision", names "text[]") via fit_trans_named
            is "As fit_weights(features, churned, l2), with the features named: the answer adds names and weights_by_name (for with_weights).";
        fit_weights(features "double precision[]", churned "boolean", l2 "double precision", names "text[]", missing "text") via fit_trans_policy
            is "As fit_weights(features, churned, l2, names), with a policy for NULL features: ''error'' (the default), ''skip'' the row, count it as ''zero'' or ''neutral'' (50).";
    }
}

// ---- health.fit_rows: fit_weights' rows as a value ----

const FIT_ROWS: &str = "fit_rows";

stored_type! {
    /// The rows of a logistic regression (features and outcome) as a value:
    /// built where the rows are, merged with `rollup`, fitted by
    /// `fit_weights(rows, l2)` as the aggregate fits the same rows.
    // pgrx names the SQL type after the struct: `fit_rows`, as the SQL reads.
    #[allow(non_camel_case_types)]
    pub struct fit_rows is "fit_rows";
    text: fit_rows_from_text, fit_rows_text;
    binary { fit_rows_send(value), fit_rows_recv, check: design_from_stored }
    schema "fit_rows_type_options" {
        r#"
COMMENT ON TYPE fit_rows IS
    'The rows of a churn regression (features, names, outcome), from the fit_rows aggregate: merge with rollup(), fit with fit_weights(rows, l2).';
"#
    } requires [];
}

impl fit_rows {
    fn open(&self, function: &str) -> Design {
        design_from_stored(&self.0).or_raise(function)
    }
}

aggregate! {
    aggregate "fit_rows", state Design;
    shares support (fit_combine, fit_serial, fit_deserial);
    requires (fit_rows);
    transition fit_rows_trans(features: Option<FloatArray>, churned: Option<bool>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT_ROWS, &features, churned, None, None, None))
    }
    transition fit_rows_trans_named(features: Option<FloatArray>, churned: Option<bool>, names: Option<TextArray>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT_ROWS, &features, churned, None, names.as_ref(), None))
    }
    transition fit_rows_trans_policy(
        features: Option<FloatArray>, churned: Option<bool>, names: Option<TextArray>, missing: Option<Word>
    ) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(FIT_ROWS, &features, churned, None, names.as_ref(), Some(missing.as_ref())))
    }
    finalize fit_rows_final(design) -> fit_rows {
        if design.rows() == 0 && design.skipped == 0 {
            return None;
        }
        Some(fit_rows(design_to_stored(design).or_raise(FIT_ROWS)))
    }
    sql "fit_rows_aggregate" {
        fit_rows(features "double precision[]", churned "boolean") via fit_rows_trans
            is "The rows of a churn regression as a health.fit_rows value: build it where the rows are, merge with rollup(), fit with fit_weights(rows, l2).";
        fit_rows(features "double precision[]", churned "boolean", names "text[]") via fit_rows_trans_named
            is "As fit_rows(features, churned), with the features named (fit_weights then answers weights_by_name).";
        fit_rows(features "double precision[]", churned "boolean", names "text[]", missing "text") via fit_rows_trans_policy
            is "As fit_rows(features, churned, names), with a policy for NULL features: ''error'' (the default), ''skip'', ''zero'' or ''neutral'' (50).";
    }
}

aggregate! {
    aggregate "rollup", state Design;
    shares support (fit_combine, fit_serial, fit_deserial);
    requires (fit_rows);
    transition fit_rows_rollup_trans(r: Option<fit_rows>) {
        Some(r?.open("rollup"))
    }
    shares final (fit_rows_final);
    sql "fit_rows_rollup" {
        rollup(r "fit_rows") via fit_rows_rollup_trans
            is "Merges the rows of churn regressions (shards, months): fit_weights of the result fits all their rows.";
    }
}

/// `fit_weights` of stored rows, with the penalty `l2`: as the aggregate over the same rows.
#[pg_extern(immutable, strict, parallel_safe, name = "fit_weights")]
fn fit_weights_of_rows(rows: fit_rows, l2: default!(f64, 0.0)) -> JsonB {
    let mut design = rows.open(FIT);
    design.l2 = l2;
    let fit = fit_logistic(&design, design.l2).or_raise(FIT);
    JsonB(fit.to_json(&design))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn auc_and_lift() {
        let auc = Spi::get_one::<f64>(
            "SELECT health.auc(s, c) FROM (VALUES (80, false), (60, false), (60, true), (20, true)) t(s, c)",
        )
        .unwrap();
        assert_eq!(auc, Some(0.875));
        let lift =
            Spi::get_one::<f64>("SELECT health.lift(s, s IN (1, 7), 0.1) FROM generate_series(1, 10) s").unwrap();
        assert_eq!(lift, Some(5.0));
    }

    #[pg_test]
    fn fit_rows_merged_fit_as_one_aggregate() {
        let rows = "FROM (SELECT ARRAY[(s % 37)::float8, ((s * 7) % 23)::float8] AS f, (s % 37 + 2 * ((s * 7) % 23) + s % 5) < 30 AS c, s % 3 AS part FROM generate_series(1, 600) s) t";
        let direct = Spi::get_one::<String>(&format!(
            "SELECT (SELECT string_agg(round(v::numeric, 8)::text, ' ') FROM jsonb_array_elements_text(health.fit_weights(f, c, 0.5) -> 'coefficients') v) {rows}"
        ))
        .unwrap();
        let merged = Spi::get_one::<String>(&format!(
            "SELECT (SELECT string_agg(round(v::numeric, 8)::text, ' ') FROM jsonb_array_elements_text(health.fit_weights(r, 0.5) -> 'coefficients') v)
             FROM (SELECT health.rollup(r) AS r FROM (SELECT health.fit_rows(f, c) AS r {rows} GROUP BY part) p) m"
        ))
        .unwrap();
        assert_eq!(direct, merged);
    }

    #[pg_test]
    fn outcomes_merged_answer_as_one_aggregate() {
        let rows =
            "FROM (SELECT s / 3.0::float8 AS s, s % 7 = 0 OR s < 60 AS c, s % 3 AS part FROM generate_series(1, 300) s) t";
        let direct = Spi::get_one::<String>(&format!(
            "SELECT concat_ws(' ', health.auc(s, c), health.lift(s, c, 0.2), health.calibration(s, c, 5)) {rows}"
        ))
        .unwrap();
        let merged = Spi::get_one::<String>(&format!(
            "SELECT concat_ws(' ', health.auc(o), health.lift(o, 0.2), health.calibration(o, 5))
             FROM (SELECT health.rollup(o) AS o FROM (SELECT health.outcomes(s, c) AS o {rows} GROUP BY part) p) m"
        ))
        .unwrap();
        assert_eq!(direct, merged);
        let text = Spi::get_one::<String>(
            "SELECT health.outcomes(s, c)::text FROM (VALUES (80, false), (60, false), (60, true), (20, true), (60, true)) t(s, c)",
        )
        .unwrap();
        assert_eq!(
            text.as_deref(),
            Some(r#"{"retained":[[60,1],[80,1]],"churned":[[20,1],[60,2]]}"#)
        );
    }
}

//! SQL wrappers for docs/reference.md §7: `auc`, `lift`, `calibration`, `brier`,
//! `fit_weights` — aggregates, so they work inside any `SELECT ... GROUP BY`.

use health_core::aggregate::OutcomeRow;
use health_core::validate::{calibration_json, fit_logistic, Brier, Design, FitMissing, FitRow, Outcomes};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::agg::aggregate;
use crate::args::{FloatArray, TextArray, Word};
use crate::errors::{raise, OrRaise};

// ---- auc, lift, calibration: one state of scores split by outcome ----

/// A (score, churned) row, kept when both are known.
fn scored(score: Option<f64>, churned: Option<bool>) -> Option<(f64, bool)> {
    score.zip(churned)
}

aggregate! {
    aggregate "auc", state Outcomes;
    defines support (outcomes_combine, outcomes_serial, outcomes_deserial);
    transition auc_trans(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: None })
    }
    finalize auc_final(outcomes) -> f64 { outcomes.auc() }
    sql "auc" r#"
CREATE AGGREGATE auc(score double precision, churned boolean) (
    sfunc = auc_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = auc_final,
    parallel = safe
);
COMMENT ON AGGREGATE auc(double precision, boolean) IS
    'Exact ROC AUC of the score as a predictor of retention: P(retained scores higher than churned), ties half.';
"#;
}

// The constant argument is recorded on every row, NULL scores included, so
// that a group's fraction or bucket count is checked whatever its rows hold.

aggregate! {
    aggregate "lift", state Outcomes;
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
    sql "lift" r#"
CREATE AGGREGATE lift(score double precision, churned boolean, fraction double precision) (
    sfunc = lift_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = lift_final,
    parallel = safe
);
CREATE AGGREGATE lift(score double precision, churned boolean) (
    sfunc = lift_trans_default, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = lift_final,
    parallel = safe
);
COMMENT ON AGGREGATE lift(double precision, boolean, double precision) IS
    'Churn rate among the lowest-scored fraction of accounts over the overall churn rate.';
"#;
}

aggregate! {
    aggregate "calibration", state Outcomes;
    shares support (outcomes_combine, outcomes_serial, outcomes_deserial);
    transition calibration_trans(score: Option<f64>, churned: Option<bool>, buckets: Option<i32>) {
        let buckets = f64::from(buckets.unwrap_or(10));
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((buckets, "buckets")) })
    }
    transition calibration_trans_default(score: Option<f64>, churned: Option<bool>) {
        Some(OutcomeRow { scored: scored(score, churned), parameter: Some((10.0, "buckets")) })
    }
    finalize calibration_final(outcomes) -> JsonB {
        if outcomes.is_empty() {
            return None;
        }
        let buckets = outcomes
            .calibration(outcomes.parameter().unwrap_or(10.0) as i64)
            .or_raise("calibration");
        Some(JsonB(calibration_json(&buckets)))
    }
    sql "calibration" r#"
CREATE AGGREGATE calibration(score double precision, churned boolean, buckets integer) (
    sfunc = calibration_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = calibration_final,
    parallel = safe
);
CREATE AGGREGATE calibration(score double precision, churned boolean) (
    sfunc = calibration_trans_default, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = calibration_final,
    parallel = safe
);
COMMENT ON AGGREGATE calibration(double precision, boolean) IS
    'Per score bucket (10 equal-width buckets on 0..100): count, churned, churn rate, mean score.';
"#;
}

// ---- brier ----

aggregate! {
    aggregate "brier", state Brier;
    defines support (brier_combine, brier_serial, brier_deserial);
    transition brier_trans(probability: Option<f64>, churned: Option<bool>) {
        probability.zip(churned)
    }
    finalize brier_final(brier) -> f64 { brier.value() }
    sql "brier" r#"
CREATE AGGREGATE brier(probability double precision, churned boolean) (
    sfunc = brier_trans, stype = internal, combinefunc = brier_combine,
    serialfunc = brier_serial, deserialfunc = brier_deserial, finalfunc = brier_final,
    sspace = 24, parallel = safe
);
COMMENT ON AGGREGATE brier(double precision, boolean) IS 'Mean squared difference between a churn probability and the outcome.';
"#;
}

// ---- fit_weights ----

const FIT: &str = "fit_weights";

/// A row of `fit_weights`' arguments; NULL `names` means unnamed features.
fn fit_row(
    features: &FloatArray,
    churned: bool,
    l2: Option<f64>,
    names: Option<&TextArray>,
    missing: Option<Option<&Word>>,
) -> FitRow {
    let missing = match missing {
        None => FitMissing::Error,
        Some(None) => raise(
            FIT,
            HealthError::null("missing must not be NULL (the default is 'error')"),
        ),
        Some(Some(word)) => FitMissing::parse(word.as_str(FIT, "missing")).or_raise(FIT),
    };
    FitRow {
        features: features.iter().collect(),
        churned,
        l2,
        names: names.map(|n| n.to_strings(FIT, "names")),
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
        Some(fit_row(&features, churned, l2, names.as_ref(), Some(missing.as_ref())))
    }
    transition fit_trans_named(
        features: Option<FloatArray>, churned: Option<bool>, l2: Option<f64>, names: Option<TextArray>
    ) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(&features, churned, l2, names.as_ref(), None))
    }
    transition fit_trans(features: Option<FloatArray>, churned: Option<bool>, l2: Option<f64>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(&features, churned, l2, None, None))
    }
    transition fit_trans_unregularised(features: Option<FloatArray>, churned: Option<bool>) {
        let (features, churned) = (features?, churned?);
        Some(fit_row(&features, churned, None, None, None))
    }
    finalize fit_final(design) -> JsonB {
        let fit = fit_logistic(design, design.l2).or_raise(FIT);
        Some(JsonB(fit.to_json(design)))
    }
    sql "fit_weights" r#"
CREATE AGGREGATE fit_weights(features double precision[], churned boolean, l2 double precision) (
    sfunc = fit_trans, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_final,
    parallel = safe
);
CREATE AGGREGATE fit_weights(features double precision[], churned boolean) (
    sfunc = fit_trans_unregularised, stype = internal, combinefunc = fit_combine,
    serialfunc = fit_serial, deserialfunc = fit_deserial, finalfunc = fit_final,
    parallel = safe
);
COMMENT ON AGGREGATE fit_weights(double precision[], boolean) IS
    'Logistic regression of churn on the features: coefficients, standard errors, AUC and suggested weights summing to 100.';
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
"#;
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
}

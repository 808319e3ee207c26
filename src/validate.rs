//! SQL wrappers for docs/reference.md §7: `auc`, `lift`, `calibration`, `brier`,
//! `fit_weights` — aggregates, so they work inside any `SELECT ... GROUP BY`.

use health_core::score::CompensatedSum;
use health_core::validate::{calibration_json, fit_logistic, Brier, Design, Outcomes};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::{Internal, JsonB};

use crate::agg;
use crate::args::FloatArray;
use crate::errors::{raise, OrRaise};

// ---- auc, lift, calibration: one state of scores split by outcome ----

const OUTCOMES: &str = "auc";

/// Adds one (score, churned) row, and the aggregate's constant argument if
/// it has one (it must not change within a group); errors name `function`.
fn add_outcome(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    param: Option<(f64, &str)>,
    function: &'static str,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    // SAFETY: auc, lift and calibration only ever store Outcomes.
    unsafe {
        agg::update(
            fcinfo,
            function,
            state,
            || Ok(Outcomes::of(function)),
            |o| {
                if let Some((value, name)) = param {
                    o.set_parameter(value, name)?;
                }
                match (score, churned) {
                    (Some(score), Some(churned)) => o.add(score, churned),
                    _ => Ok(()),
                }
            },
        )
    }
}

#[pg_extern(immutable, parallel_safe)]
fn auc_trans(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    add_outcome(state, score, churned, None, "auc", fcinfo)
}

#[pg_extern(immutable, parallel_safe)]
fn lift_trans(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    fraction: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    add_outcome(
        state,
        score,
        churned,
        Some((fraction.unwrap_or(0.1), "fraction")),
        "lift",
        fcinfo,
    )
}

#[pg_extern(immutable, parallel_safe)]
fn lift_trans_default(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    lift_trans(state, score, churned, Some(0.1), fcinfo)
}

#[pg_extern(immutable, parallel_safe)]
fn calibration_trans(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    buckets: Option<i32>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    let buckets = f64::from(buckets.unwrap_or(10));
    add_outcome(state, score, churned, Some((buckets, "buckets")), "calibration", fcinfo)
}

#[pg_extern(immutable, parallel_safe)]
fn calibration_trans_default(
    state: Internal,
    score: Option<f64>,
    churned: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    calibration_trans(state, score, churned, Some(10), fcinfo)
}

#[pg_extern(immutable, parallel_safe)]
fn outcomes_combine(current: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Option<Internal> {
    agg::combine::<Outcomes>(fcinfo, OUTCOMES, current, other, |a, b| a.merge(b))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn outcomes_serial(mut state: Internal) -> Vec<u8> {
    // SAFETY: these aggregates only ever store Outcomes.
    let Some(o) = (unsafe { agg::state_mut::<Outcomes>(&mut state) }) else {
        return Vec::new();
    };
    let function = if o.aggregate.is_empty() { OUTCOMES } else { o.aggregate };
    agg::check_serial_size(function, o.len(), Outcomes::serial_size);
    o.to_bytes().or_raise(function)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn outcomes_deserial(bytes: &[u8], _unused: Internal) -> Option<Internal> {
    Some(Internal::new(Outcomes::from_bytes(bytes).or_raise(OUTCOMES)))
}

#[pg_extern(immutable, parallel_safe)]
fn auc_final(mut state: Internal) -> Option<f64> {
    // SAFETY: these aggregates only ever store Outcomes.
    unsafe { agg::state_mut::<Outcomes>(&mut state) }?.auc()
}

#[pg_extern(immutable, parallel_safe)]
fn lift_final(mut state: Internal) -> Option<f64> {
    // SAFETY: these aggregates only ever store Outcomes.
    let o = unsafe { agg::state_mut::<Outcomes>(&mut state) }?;
    if o.is_empty() {
        return None;
    }
    o.lift(o.parameter().unwrap_or(0.1)).or_raise("lift")
}

#[pg_extern(immutable, parallel_safe)]
fn calibration_final(mut state: Internal) -> Option<JsonB> {
    // SAFETY: these aggregates only ever store Outcomes.
    let o = unsafe { agg::state_mut::<Outcomes>(&mut state) }?;
    if o.is_empty() {
        return None;
    }
    let buckets = o
        .calibration(o.parameter().unwrap_or(10.0) as i64)
        .or_raise("calibration");
    Some(JsonB(calibration_json(&buckets)))
}

// ---- brier ----

#[pg_extern(immutable, parallel_safe)]
fn brier_trans(
    mut state: Internal,
    probability: Option<f64>,
    churned: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    const F: &str = "brier";
    let (Some(p), Some(c)) = (probability, churned) else {
        return Some(state);
    };
    // SAFETY: brier only ever stores a Brier.
    match unsafe { agg::state_mut::<Brier>(&mut state) } {
        Some(b) => {
            b.add(p, c).or_raise(F);
            Some(state)
        }
        None => {
            let mut b = Brier::default();
            b.add(p, c).or_raise(F);
            Some(agg::new_plain_state(fcinfo, F, b))
        }
    }
}

#[pg_extern(immutable, parallel_safe)]
fn brier_combine(current: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Option<Internal> {
    agg::combine::<Brier>(fcinfo, "brier", current, other, |a, b| {
        a.merge(b);
        Ok(())
    })
}

#[pg_extern(immutable, strict, parallel_safe)]
fn brier_serial(mut state: Internal) -> Vec<u8> {
    // SAFETY: brier only ever stores a Brier.
    match unsafe { agg::state_mut::<Brier>(&mut state) } {
        Some(b) => [&b.sum.to_bytes()[..], &b.count.to_le_bytes()[..]].concat(),
        None => Vec::new(),
    }
}

#[pg_extern(immutable, strict, parallel_safe)]
fn brier_deserial(bytes: &[u8], _unused: Internal) -> Option<Internal> {
    if bytes.len() != 24 {
        raise(
            "brier",
            HealthError::text(format!("invalid Brier state of {} bytes", bytes.len())),
        );
    }
    let sum = CompensatedSum::from_bytes(&bytes[..16]).or_raise("brier");
    let count = u64::from_le_bytes(bytes[16..].try_into().unwrap_or([0; 8]));
    Some(Internal::new(Brier { sum, count }))
}

#[pg_extern(immutable, parallel_safe)]
fn brier_final(mut state: Internal) -> Option<f64> {
    // SAFETY: brier only ever stores a Brier.
    unsafe { agg::state_mut::<Brier>(&mut state) }?.value()
}

// ---- fit_weights ----

const FIT: &str = "fit_weights";

#[pg_extern(immutable, parallel_safe)]
fn fit_trans(
    state: Internal,
    features: Option<FloatArray>,
    churned: Option<bool>,
    l2: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    let (Some(features), Some(churned)) = (features, churned) else {
        return Some(state);
    };
    let row: Vec<f64> = features.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    if let Some(i) = row.iter().position(|v| v.is_nan()) {
        if features.iter().nth(i).flatten().is_none() {
            raise(FIT, HealthError::null(format!("features[{}] must not be NULL", i + 1)));
        }
    }
    // SAFETY: fit_weights only ever stores a Design.
    unsafe {
        agg::update(
            fcinfo,
            FIT,
            state,
            || Ok(Design::default()),
            |design| {
                design.add(&row, churned)?;
                if let Some(l2) = l2 {
                    design.l2 = l2;
                }
                Ok(())
            },
        )
    }
}

#[pg_extern(immutable, parallel_safe)]
fn fit_trans_unregularised(
    state: Internal,
    features: Option<FloatArray>,
    churned: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Internal> {
    fit_trans(state, features, churned, None, fcinfo)
}

#[pg_extern(immutable, parallel_safe)]
fn fit_combine(current: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Option<Internal> {
    agg::combine::<Design>(fcinfo, FIT, current, other, |a, b| a.merge(b))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn fit_serial(mut state: Internal) -> Vec<u8> {
    // SAFETY: fit_weights only ever stores a Design.
    let Some(d) = (unsafe { agg::state_mut::<Design>(&mut state) }) else {
        return Vec::new();
    };
    agg::check_serial_size(FIT, d.rows(), |rows| Design::serial_size(rows, d.features));
    d.to_bytes().or_raise(FIT)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn fit_deserial(bytes: &[u8], _unused: Internal) -> Option<Internal> {
    Some(Internal::new(Design::from_bytes(bytes).or_raise(FIT)))
}

#[pg_extern(immutable, parallel_safe)]
fn fit_final(mut state: Internal) -> Option<JsonB> {
    // SAFETY: fit_weights only ever stores a Design.
    let d = unsafe { agg::state_mut::<Design>(&mut state) }?;
    let fit = fit_logistic(d, d.l2).or_raise(FIT);
    Some(JsonB(fit.to_json(d.rows(), d.l2)))
}

extension_sql!(
    r#"
CREATE AGGREGATE auc(score double precision, churned boolean) (
    sfunc = auc_trans, stype = internal, combinefunc = outcomes_combine,
    serialfunc = outcomes_serial, deserialfunc = outcomes_deserial, finalfunc = auc_final,
    parallel = safe
);
COMMENT ON AGGREGATE auc(double precision, boolean) IS
    'Exact ROC AUC of the score as a predictor of retention: P(retained scores higher than churned), ties half.';
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
CREATE AGGREGATE brier(probability double precision, churned boolean) (
    sfunc = brier_trans, stype = internal, combinefunc = brier_combine,
    serialfunc = brier_serial, deserialfunc = brier_deserial, finalfunc = brier_final,
    sspace = 24, parallel = safe
);
COMMENT ON AGGREGATE brier(double precision, boolean) IS 'Mean squared difference between a churn probability and the outcome.';
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
"#,
    name = "validation_aggregates",
    requires = [
        auc_trans,
        lift_trans,
        lift_trans_default,
        calibration_trans,
        calibration_trans_default,
        outcomes_combine,
        outcomes_serial,
        outcomes_deserial,
        auc_final,
        lift_final,
        calibration_final,
        brier_trans,
        brier_combine,
        brier_serial,
        brier_deserial,
        brier_final,
        fit_trans,
        fit_trans_unregularised,
        fit_combine,
        fit_serial,
        fit_deserial,
        fit_final
    ]
);

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

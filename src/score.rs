//! SQL wrappers for docs/reference.md §2, wide form: `weighted_score` and the fast
//! weighted-mean aggregate `score_agg`.

use health_core::score::{self as scoring, Missing, WeightedMean};
use health_core::HealthError;
use pgrx::prelude::*;

use crate::agg::aggregate;
use crate::args::{FloatArray, Word};
use crate::errors::{raise, OrRaise};

/// Weighted health score of an array of sub-scores (NULL = missing). Its
/// planner support function fuses `ARRAY[scale_*(...)]` forms (fused.rs).
#[pg_extern(immutable, strict, parallel_safe, support = weighted_score_support)]
fn weighted_score(
    scores: FloatArray,
    weights: FloatArray,
    missing: default!(Word, "'renormalize'"),
    min_coverage: default!(f64, 0),
) -> Option<f64> {
    const F: &str = "weighted_score";
    let policy = Missing::parse(missing.as_str(F, "missing")).or_raise(F);
    let weights = weights.values(F, "weights");
    let result = match scores.as_slice() {
        // Fast path: no missing metric.
        Some(s) => scoring::weighted_score(s.iter().map(|&v| Some(v)), weights, policy, min_coverage),
        None => scoring::weighted_score(scores.iter(), weights, policy, min_coverage),
    };
    result.or_raise(F)
}

/// The weight share of the measured (non-NULL) sub-scores, 0..1: what
/// `weighted_score` of the same arrays stands on.
#[pg_extern(immutable, strict, parallel_safe, name = "coverage")]
fn coverage_of_scores(scores: FloatArray, weights: FloatArray) -> Option<f64> {
    const F: &str = "coverage";
    scoring::coverage(scores.iter(), weights.values(F, "weights")).or_raise(F)
}

aggregate! {
    aggregate "score_agg", state WeightedMean;
    defines support (score_agg_combine, score_agg_serial, score_agg_deserial);
    transition score_agg_trans(score: Option<f64>, weight: Option<f64>) {
        let score = score?; // a missing score adds nothing
        let Some(weight) = weight else {
            raise(
                "score_agg",
                HealthError::null("weight must not be NULL for a measured score"),
            );
        };
        Some((score, weight))
    }
    finalize score_agg_final(mean) -> f64 { mean.mean().or_raise("score_agg") }
    sql "score_agg" {
        // sspace: the state is 4 float8s; lets the planner size hash aggregates right.
        score_agg(score "double precision", weight "double precision") via score_agg_trans, sspace 32
            is "Weighted mean of the measured (non-NULL) scores: the fast path when no breakdown is needed.";
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use crate::normalise::tests::float;
    use pgrx::prelude::*;

    #[pg_test]
    fn weighted_score_policies() {
        let s = "ARRAY[80, NULL, 40]::float8[], ARRAY[30, 20, 50]::float8[]";
        assert_eq!(float(&format!("SELECT health.weighted_score({s})")), Some(55.0));
        assert_eq!(float(&format!("SELECT health.weighted_score({s}, 'zero')")), Some(44.0));
        assert_eq!(
            float(&format!("SELECT health.weighted_score({s}, 'neutral')")),
            Some(54.0)
        );
        assert_eq!(float(&format!("SELECT health.weighted_score({s}, 'null')")), None);
        assert_eq!(float(&format!("SELECT health.coverage({s})")), Some(0.8));
        assert_eq!(
            float(&format!("SELECT health.weighted_score({s}, min_coverage => 0.9)")),
            None
        );
    }

    #[pg_test]
    fn score_agg_is_the_weighted_mean() {
        let v = float("SELECT health.score_agg(s, w) FROM (VALUES (80.0, 2.0), (20.0, 1.0), (NULL, 5.0)) t(s, w)");
        assert_eq!(v, Some(60.0));
        assert_eq!(
            float("SELECT health.score_agg(s, 1) FROM (VALUES (NULL::float8)) t(s)"),
            None
        );
    }

    #[pg_test(error = "weighted_score: the missing policy 'error' refuses a missing (NULL) sub-score: scores[2]")]
    fn weighted_score_refuses_a_missing_score_when_asked() {
        Spi::get_one::<f64>("SELECT health.weighted_score('{80,NULL}', '{1,1}', 'error')").unwrap();
    }

    #[pg_test(error = "weighted_score: scores and weights must have the same length, got 2 scores and 1 weights")]
    fn weighted_score_rejects_mismatched_arrays() {
        Spi::get_one::<f64>("SELECT health.weighted_score('{1,2}', '{1}')").unwrap();
    }
}

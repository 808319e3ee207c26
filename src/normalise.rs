//! SQL wrappers for docs/reference.md §1: metric value -> 0..100 sub-score.

use health_core::normalise::{self as norm, OutOfRange};
use pgrx::prelude::*;

use crate::args::{FloatArray, Word};
use crate::errors::OrRaise;

/// Linear scale between `lo` and `hi` (see docs/reference.md).
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_linear(
    value: f64,
    lo: f64,
    hi: f64,
    higher_is_better: default!(bool, true),
    out_of_range: default!(Word, "'clamp'"),
) -> Option<f64> {
    const F: &str = "scale_linear";
    let policy = OutOfRange::parse(out_of_range.as_str(F, "out_of_range")).or_raise(F);
    norm::scale_linear(value, lo, hi, higher_is_better, policy).or_raise(F)
}

/// Linear scale on ln(1+x), for fat-tailed counts.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_log(
    value: f64,
    lo: f64,
    hi: f64,
    higher_is_better: default!(bool, true),
    out_of_range: default!(Word, "'clamp'"),
) -> Option<f64> {
    const F: &str = "scale_log";
    let policy = OutOfRange::parse(out_of_range.as_str(F, "out_of_range")).or_raise(F);
    norm::scale_log(value, lo, hi, higher_is_better, policy).or_raise(F)
}

/// Share of a target reached.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_target(value: f64, target: f64, higher_is_better: default!(bool, true)) -> f64 {
    norm::scale_target(value, target, higher_is_better).or_raise("scale_target")
}

/// Piecewise-constant bands, upper-inclusive.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_bands(value: f64, cutoffs: FloatArray, scores: FloatArray) -> f64 {
    const F: &str = "scale_bands";
    norm::scale_bands(value, cutoffs.values(F, "cutoffs"), scores.values(F, "scores")).or_raise(F)
}

/// Linear interpolation through (knot, score) points, flat beyond the ends.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_piecewise(value: f64, knots: FloatArray, scores: FloatArray) -> f64 {
    const F: &str = "scale_piecewise";
    norm::scale_piecewise(value, knots.values(F, "knots"), scores.values(F, "scores")).or_raise(F)
}

/// 100 * Phi((value - mean) / stddev).
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_zscore(value: f64, mean: f64, stddev: f64, higher_is_better: default!(bool, true)) -> f64 {
    norm::scale_zscore(value, mean, stddev, higher_is_better).or_raise("scale_zscore")
}

/// 50 + 50 * clamp(z / clip, -1, 1): a z-score kept linear, clipped at +-clip.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_zscore_linear(
    value: f64,
    mean: f64,
    stddev: f64,
    clip: default!(f64, 3),
    higher_is_better: default!(bool, true),
) -> f64 {
    norm::scale_zscore_linear(value, mean, stddev, clip, higher_is_better).or_raise("scale_zscore_linear")
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn float(sql: &str) -> Option<f64> {
        Spi::get_one::<f64>(sql).expect("query failed")
    }

    #[pg_test]
    fn normalisers_from_sql() {
        assert_eq!(float("SELECT health.scale_linear(5, 0, 10)"), Some(50.0));
        assert_eq!(
            float("SELECT health.scale_linear(2.5, 0, 10, higher_is_better => false)"),
            Some(75.0)
        );
        assert_eq!(
            float("SELECT health.scale_linear(12, 0, 10, out_of_range => 'null')"),
            None
        );
        assert_eq!(float("SELECT health.scale_linear(NULL, 0, 10)"), None);
        assert_eq!(float("SELECT health.scale_target(15, 20)"), Some(75.0));
        assert_eq!(float("SELECT health.scale_target(40, 20, false)"), Some(50.0));
        assert_eq!(
            float("SELECT health.scale_bands(20, '{10,20}', '{0,50,100}')"),
            Some(50.0)
        );
        assert_eq!(
            float("SELECT health.scale_piecewise(15, '{10,20}', '{0,100}')"),
            Some(50.0)
        );
        assert_eq!(float("SELECT health.scale_zscore(3, 3, 1)"), Some(50.0));
        assert_eq!(float("SELECT health.scale_zscore_linear(4.5, 3, 1)"), Some(75.0));
        assert_eq!(
            float("SELECT health.scale_zscore_linear(4.5, 3, 1, clip => 1.5, higher_is_better => false)"),
            Some(0.0)
        );
        let log = float("SELECT health.scale_log(9, 0, 99)").unwrap();
        assert!((log - 50.0).abs() < 1e-12);
    }

    #[pg_test(error = "scale_linear: lo must be below hi, got lo=10 hi=5")]
    fn scale_linear_rejects_inverted_range() {
        Spi::get_one::<f64>("SELECT health.scale_linear(1, 10, 5)").unwrap();
    }

    #[pg_test(error = "scale_bands: cutoffs must not contain NULL elements")]
    fn scale_bands_rejects_null_cutoffs() {
        Spi::get_one::<f64>("SELECT health.scale_bands(1, '{1,NULL}', '{0,50,100}')").unwrap();
    }
}

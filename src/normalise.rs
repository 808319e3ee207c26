//! SQL wrappers for docs/reference.md §1: metric value -> 0..100 sub-score.

use health_core::normalise::{self as norm, Normaliser, OutOfRange};
use pgrx::prelude::*;

use crate::args::{FloatArray, Word};
use crate::errors::OrRaise;

/// `scale_linear` and `scale_log`: the same arguments, one normaliser
/// each (see docs/reference.md).
macro_rules! range_scale {
    ($(#[$doc:meta])* $function:ident => $normaliser:ident) => {
        $(#[$doc])*
        #[pg_extern(immutable, strict, parallel_safe)]
        fn $function(
            value: f64,
            lo: f64,
            hi: f64,
            higher_is_better: default!(bool, true),
            out_of_range: default!(Word, "'clamp'"),
        ) -> Option<f64> {
            const F: &str = stringify!($function);
            let out_of_range = OutOfRange::parse(out_of_range.as_str(F, "out_of_range")).or_raise(F);
            Normaliser::$normaliser { lo, hi, out_of_range }
                .apply(value, higher_is_better)
                .or_raise(F)
        }
    };
}

range_scale!(
    /// Linear scale between `lo` and `hi`.
    scale_linear => Linear
);
range_scale!(
    /// Linear scale on ln(1+x), for fat-tailed counts.
    scale_log => Log
);

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
pub(crate) mod tests {
    use pgrx::prelude::*;

    /// The one float8 a query answers (tests of other modules use it too).
    pub(crate) fn float(sql: &str) -> Option<f64> {
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

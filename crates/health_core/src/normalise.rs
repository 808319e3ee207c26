//! Normalisers: a raw metric value -> a sub-score on 0..100.
//!
//! All of them validate their parameters on every call (the checks cost a few
//! comparisons) so that a wrong configuration is an error, never a silently
//! wrong score. `Ok(None)` means "no score" (the `'null'` out-of-range policy).

use crate::error::{check_ascending, check_scores, finite, num, HealthError, Result};
use crate::profile::{Method, ProfileView};

/// What to do with a value outside `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRange {
    /// Below the range scores as the bottom of the range, above as the top.
    Clamp,
    /// Outside the range the metric has no score (it counts as missing).
    Null,
}

impl OutOfRange {
    pub fn parse(policy: &str) -> Result<Self> {
        match policy {
            "clamp" => Ok(OutOfRange::Clamp),
            "null" => Ok(OutOfRange::Null),
            other => Err(HealthError::invalid(format!(
                "out_of_range must be 'clamp' or 'null', got '{other}'"
            ))),
        }
    }
}

/// `100*(value-lo)/(hi-lo)`, or `100*(hi-value)/(hi-lo)` when lower is better.
/// `outside`: what to do with a value outside `[lo, hi]`.
pub fn scale_linear(value: f64, lo: f64, hi: f64, higher_is_better: bool, outside: OutOfRange) -> Result<Option<f64>> {
    finite("value", value)?;
    check_range(lo, hi)?;
    Ok(linear_unchecked(value, lo, hi, higher_is_better, outside))
}

/// `scale_linear` on `ln(1+x)`, for fat-tailed counts. Inputs must be >= 0.
pub fn scale_log(value: f64, lo: f64, hi: f64, higher_is_better: bool, outside: OutOfRange) -> Result<Option<f64>> {
    non_negative("value", value)?;
    non_negative("lo", lo)?;
    non_negative("hi", hi)?;
    check_range(lo, hi)?;
    // The range test is done on the raw values (ln_1p is increasing), so
    // 'null' means exactly "outside [lo, hi]" as the user wrote it.
    if outside == OutOfRange::Null && (value < lo || value > hi) {
        return Ok(None);
    }
    Ok(linear_unchecked(
        value.ln_1p(),
        lo.ln_1p(),
        hi.ln_1p(),
        higher_is_better,
        OutOfRange::Clamp,
    ))
}

/// Share of a target reached. Higher is better: `100*min(value/target, 1)`;
/// lower is better: 100 up to the target, then `100*target/value`.
pub fn scale_target(value: f64, target: f64, higher_is_better: bool) -> Result<f64> {
    const ORDER: &str = "scale_target takes the value first and the target second; \
                         name them to be sure: scale_target(value => ..., target => ...)";
    non_negative("value", value).map_err(|e| e.with_hint(ORDER))?;
    finite("target", target)?;
    if target <= 0.0 {
        return Err(
            HealthError::invalid(format!("target must be greater than 0, got {}", num(target))).with_hint(ORDER),
        );
    }
    Ok(if higher_is_better {
        if value >= target {
            100.0
        } else {
            100.0 * value / target
        }
    } else if value <= target {
        100.0
    } else {
        100.0 * target / value
    })
}

/// Piecewise constant bands, upper-inclusive: `value <= cutoffs[1]` ->
/// `scores[1]`, ..., `value > cutoffs[n]` -> `scores[n+1]`.
pub fn scale_bands(value: f64, cutoffs: &[f64], scores: &[f64]) -> Result<f64> {
    finite("value", value)?;
    check_bands(cutoffs, scores)?;
    Ok(scores[band_index(value, cutoffs)])
}

/// Validates a band table once; [`band_index`] then looks values up.
pub fn check_bands(cutoffs: &[f64], scores: &[f64]) -> Result<()> {
    check_ascending("cutoffs", cutoffs)?;
    if scores.len() != cutoffs.len() + 1 {
        return Err(HealthError::array(format!(
            "scores must have one more element than cutoffs, got {} scores for {} cutoffs",
            scores.len(),
            cutoffs.len()
        )));
    }
    check_scores("scores", scores)
}

/// Index of the upper-inclusive band that holds `value`: the number of
/// cutoffs strictly below it.
pub fn band_index(value: f64, cutoffs: &[f64]) -> usize {
    cutoffs.partition_point(|&c| c < value)
}

/// Linear interpolation through `(knots[i], scores[i])`, flat beyond the ends.
pub fn scale_piecewise(value: f64, knots: &[f64], scores: &[f64]) -> Result<f64> {
    finite("value", value)?;
    if knots.len() != scores.len() {
        return Err(HealthError::array(format!(
            "knots and scores must have the same length, got {} knots and {} scores",
            knots.len(),
            scores.len()
        )));
    }
    if knots.len() < 2 {
        return Err(HealthError::array(format!(
            "knots must have at least 2 elements, got {}",
            knots.len()
        )));
    }
    check_ascending("knots", knots)?;
    check_scores("scores", scores)?;
    let last = knots.len() - 1;
    if value <= knots[0] {
        return Ok(scores[0]);
    }
    if value >= knots[last] {
        return Ok(scores[last]);
    }
    // knots[i-1] < value <= knots[i]
    let i = knots.partition_point(|&k| k < value);
    let (x0, x1, y0, y1) = (knots[i - 1], knots[i], scores[i - 1], scores[i]);
    let t = (value - x0) / (x1 - x0);
    Ok((y0 + t * (y1 - y0)).clamp(0.0, 100.0))
}

/// `100*Phi(z)` with `z = (value-mean)/stddev`; `100*Phi(-z)` when lower is better.
pub fn scale_zscore(value: f64, mean: f64, stddev: f64, higher_is_better: bool) -> Result<f64> {
    finite("value", value)?;
    check_standardise(mean, stddev, None)?;
    let z = (value - mean) / stddev;
    Ok(100.0 * normal_cdf(if higher_is_better { z } else { -z }))
}

/// `50 + 50*clamp(z/clip, -1, 1)` with `z = (value-mean)/stddev`; `z` negated
/// when lower is better. Unlike [`scale_zscore`] the sub-score keeps the
/// z-score's scale (one standard deviation is always `50/clip` points), so a
/// weighted sum of such sub-scores is a linear model of the metrics, as a
/// logistic regression fits them; `clip` is the |z| at which it reaches 0 or 100.
pub fn scale_zscore_linear(value: f64, mean: f64, stddev: f64, clip: f64, higher_is_better: bool) -> Result<f64> {
    finite("value", value)?;
    check_standardise(mean, stddev, Some(clip))?;
    Ok(zscore_linear_unchecked(value, mean, stddev, clip, higher_is_better))
}

/// The |z| at which `zscore_linear` reaches 0 or 100 unless told otherwise:
/// 99.7 % of a normal population lies within it.
pub const DEFAULT_CLIP: f64 = 3.0;

/// `ln(1+x)` of a value that must be >= 0, as the `log_` z-scores take it
/// (the same rule and message as `scale_profile(..., 'log_zscore')`).
pub fn log_of_count(value: f64) -> Result<f64> {
    finite("value", value)?;
    if value < 0.0 {
        return Err(HealthError::out_of_range(format!(
            "value must be >= 0 for log_zscore, got {}",
            num(value)
        )));
    }
    Ok(libm::log1p(value))
}

/// Validates the parameters of a z-score normaliser (`clip` for the linear one).
pub fn check_standardise(mean: f64, stddev: f64, clip: Option<f64>) -> Result<()> {
    finite("mean", mean)?;
    finite("stddev", stddev)?;
    if stddev <= 0.0 {
        return Err(HealthError::invalid(format!(
            "stddev must be greater than 0, got {}",
            num(stddev)
        )));
    }
    if let Some(clip) = clip {
        finite("clip", clip)?;
        if clip <= 0.0 {
            return Err(HealthError::invalid(format!(
                "clip must be greater than 0, got {}",
                num(clip)
            )));
        }
    }
    Ok(())
}

/// [`scale_zscore_linear`] without the checks, for parameters checked once.
pub fn zscore_linear_unchecked(value: f64, mean: f64, stddev: f64, clip: f64, higher_is_better: bool) -> f64 {
    let z = (value - mean) / stddev;
    let t = (if higher_is_better { z } else { -z } / clip).clamp(-1.0, 1.0);
    (50.0 + 50.0 * t).clamp(0.0, 100.0)
}

/// The standard normal CDF, via erfc so both tails keep full precision.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Every normaliser with its parameters: the one description of a
/// `scale_*` function that the SQL functions' fused wide form and models
/// both use. The direction (`higher_is_better`) stays outside: a model
/// keeps it per metric, the wide form per array element. A new normaliser
/// is one more variant here, and the compiler lists every place to teach it.
#[derive(Clone, Debug, PartialEq)]
pub enum Normaliser {
    Linear {
        lo: f64,
        hi: f64,
        out_of_range: OutOfRange,
    },
    Log {
        lo: f64,
        hi: f64,
        out_of_range: OutOfRange,
    },
    Target {
        target: f64,
    },
    Bands {
        cutoffs: Vec<f64>,
        scores: Vec<f64>,
    },
    Piecewise {
        knots: Vec<f64>,
        scores: Vec<f64>,
    },
    /// `zscore` (`100*Phi(z)`) and `zscore_linear` (`clip`: z kept linear,
    /// clipped at ±clip); their `log_` forms (models only) take the z-score
    /// of `ln(1+x)`, with `mean` and `stddev` of `ln(1+x)`, for counts with
    /// fat tails.
    ZScore {
        mean: f64,
        stddev: f64,
        log: bool,
        clip: Option<f64>,
    },
    /// Position in a population profile (its stored bytes), placed by `by`.
    /// `None` only in a model that names a profile not yet resolved.
    Profile {
        profile: Option<Vec<u8>>,
        by: Method,
    },
}

impl Normaliser {
    /// The sub-score of a (non-NULL) value, exactly as the `scale_*`
    /// function computes it, errors included.
    #[inline]
    pub fn apply(&self, v: f64, higher_is_better: bool) -> Result<Option<f64>> {
        match self {
            Normaliser::Linear { lo, hi, out_of_range } => scale_linear(v, *lo, *hi, higher_is_better, *out_of_range),
            Normaliser::Log { lo, hi, out_of_range } => scale_log(v, *lo, *hi, higher_is_better, *out_of_range),
            Normaliser::Target { target } => scale_target(v, *target, higher_is_better).map(Some),
            Normaliser::Bands { cutoffs, scores } => scale_bands(v, cutoffs, scores).map(Some),
            Normaliser::Piecewise { knots, scores } => scale_piecewise(v, knots, scores).map(Some),
            Normaliser::ZScore {
                mean,
                stddev,
                log,
                clip,
            } => {
                let x = if *log { log_of_count(v)? } else { v };
                match clip {
                    None => scale_zscore(x, *mean, *stddev, higher_is_better),
                    Some(clip) => scale_zscore_linear(x, *mean, *stddev, *clip, higher_is_better),
                }
                .map(Some)
            }
            Normaliser::Profile {
                profile: Some(bytes),
                by,
            } => ProfileView::new(bytes)
                .and_then(|view| view.scale(v, *by, higher_is_better))
                .map(Some),
            Normaliser::Profile { profile: None, .. } => Err(HealthError::invalid("the profile is not resolved")),
        }
    }

    /// Its name in a model's `scale.method` and in the fused form's text.
    pub fn method(&self) -> &'static str {
        match self {
            Normaliser::Linear { .. } => "linear",
            Normaliser::Log { .. } => "log",
            Normaliser::Target { .. } => "target",
            Normaliser::Bands { .. } => "bands",
            Normaliser::Piecewise { .. } => "piecewise",
            Normaliser::ZScore { log, clip, .. } => match (log, clip) {
                (false, None) => "zscore",
                (false, Some(_)) => "zscore_linear",
                (true, None) => "log_zscore",
                (true, Some(_)) => "log_zscore_linear",
            },
            Normaliser::Profile { .. } => "profile",
        }
    }

    /// The SQL function that computes it (its errors carry this name); the
    /// `log_` z-scores, which only models have, are named after their
    /// SQL relatives.
    pub fn function(&self) -> &'static str {
        match self {
            Normaliser::Linear { .. } => "scale_linear",
            Normaliser::Log { .. } => "scale_log",
            Normaliser::Target { .. } => "scale_target",
            Normaliser::Bands { .. } => "scale_bands",
            Normaliser::Piecewise { .. } => "scale_piecewise",
            Normaliser::ZScore { clip: None, .. } => "scale_zscore",
            Normaliser::ZScore { clip: Some(_), .. } => "scale_zscore_linear",
            Normaliser::Profile { .. } => "scale_profile",
        }
    }

    /// Every `scale_*` function, as [`function`](Self::function) names them:
    /// what turns a raw metric into a 0–100 sub-score (error hints list them).
    pub const FUNCTIONS: [&'static str; 8] = [
        "scale_linear",
        "scale_log",
        "scale_target",
        "scale_bands",
        "scale_piecewise",
        "scale_zscore",
        "scale_zscore_linear",
        "scale_profile",
    ];

    /// A value for which the parameters alone decide whether `apply` fails.
    pub fn probe(&self) -> f64 {
        match self {
            Normaliser::Linear { lo, .. } | Normaliser::Log { lo, .. } => *lo,
            Normaliser::Target { target } => *target,
            Normaliser::ZScore { mean, log: false, .. } => *mean,
            Normaliser::ZScore { log: true, .. } => 0.0,
            Normaliser::Bands { cutoffs, .. } => cutoffs.first().copied().unwrap_or(0.0),
            Normaliser::Piecewise { knots, .. } => knots.first().copied().unwrap_or(0.0),
            Normaliser::Profile { .. } => 0.0,
        }
    }

    /// Whether the parameters are valid (`apply` of [`probe`](Self::probe) succeeds).
    pub fn is_valid(&self) -> bool {
        self.apply(self.probe(), true).is_ok()
    }
}

fn linear_unchecked(value: f64, lo: f64, hi: f64, higher_is_better: bool, oor: OutOfRange) -> Option<f64> {
    if oor == OutOfRange::Null && (value < lo || value > hi) {
        return None;
    }
    // Measured from the favourable end so that both ends are exact (0 and 100).
    let raw = if higher_is_better {
        (value - lo) / (hi - lo)
    } else {
        (hi - value) / (hi - lo)
    };
    Some((100.0 * raw).clamp(0.0, 100.0))
}

fn check_range(lo: f64, hi: f64) -> Result<()> {
    finite("lo", lo)?;
    finite("hi", hi)?;
    if lo >= hi {
        return Err(HealthError::invalid(format!(
            "lo must be below hi, got lo={} hi={}",
            num(lo),
            num(hi)
        )));
    }
    if !(hi - lo).is_finite() {
        return Err(HealthError::out_of_range(format!(
            "the range from lo={} to hi={} is too wide to compute",
            num(lo),
            num(hi)
        )));
    }
    Ok(())
}

fn non_negative(name: &str, v: f64) -> Result<f64> {
    let v = finite(name, v)?;
    if v < 0.0 {
        return Err(HealthError::invalid(format!(
            "{name} must not be negative, got {}",
            num(v)
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    fn lin(v: f64, lo: f64, hi: f64, hib: bool, oor: OutOfRange) -> Option<f64> {
        scale_linear(v, lo, hi, hib, oor).unwrap()
    }

    #[test]
    fn linear_known_values() {
        assert_eq!(lin(5.0, 0.0, 10.0, true, OutOfRange::Clamp), Some(50.0));
        assert_eq!(lin(2.5, 0.0, 10.0, false, OutOfRange::Clamp), Some(75.0));
        assert_eq!(lin(0.0, 0.0, 10.0, true, OutOfRange::Clamp), Some(0.0));
        assert_eq!(lin(10.0, 0.0, 10.0, true, OutOfRange::Clamp), Some(100.0));
        assert_eq!(lin(-3.0, 0.0, 10.0, true, OutOfRange::Clamp), Some(0.0));
        assert_eq!(lin(13.0, 0.0, 10.0, true, OutOfRange::Clamp), Some(100.0));
        assert_eq!(lin(13.0, 0.0, 10.0, false, OutOfRange::Clamp), Some(0.0));
        assert_eq!(lin(-3.0, 0.0, 10.0, false, OutOfRange::Clamp), Some(100.0));
        assert_eq!(lin(13.0, 0.0, 10.0, true, OutOfRange::Null), None);
        assert_eq!(lin(10.0, 0.0, 10.0, true, OutOfRange::Null), Some(100.0));
        assert_eq!(lin(0.0, 0.0, 10.0, false, OutOfRange::Null), Some(100.0));
    }

    #[test]
    fn linear_rejects_bad_parameters() {
        let e = scale_linear(1.0, 10.0, 5.0, true, OutOfRange::Clamp).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(e.message, "lo must be below hi, got lo=10 hi=5");
        assert!(scale_linear(1.0, 5.0, 5.0, true, OutOfRange::Clamp).is_err());
        let e = scale_linear(f64::NAN, 0.0, 1.0, true, OutOfRange::Clamp).unwrap_err();
        assert_eq!(e.message, "value must be a finite number, got NaN");
        let e = scale_linear(1.0, f64::NEG_INFINITY, 1.0, true, OutOfRange::Clamp).unwrap_err();
        assert_eq!(e.message, "lo must be a finite number, got -Infinity");
        let e = scale_linear(-1e308, -1.7e308, 1.7e308, true, OutOfRange::Clamp).unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfRange);
        let e = OutOfRange::parse("ignore").unwrap_err();
        assert_eq!(e.message, "out_of_range must be 'clamp' or 'null', got 'ignore'");
    }

    #[test]
    fn log_is_linear_on_ln1p() {
        // ln(1+0)=0, ln(1+99)=ln 100, ln(1+9)=ln 10 -> exactly half way.
        let s = scale_log(9.0, 0.0, 99.0, true, OutOfRange::Clamp).unwrap().unwrap();
        assert!((s - 50.0).abs() < 1e-12, "{s}");
        assert_eq!(scale_log(500.0, 0.0, 99.0, true, OutOfRange::Null).unwrap(), None);
        assert_eq!(
            scale_log(500.0, 0.0, 99.0, true, OutOfRange::Clamp).unwrap(),
            Some(100.0)
        );
        assert_eq!(
            scale_log(-1.0, 0.0, 99.0, true, OutOfRange::Clamp).unwrap_err().message,
            "value must not be negative, got -1"
        );
        assert!(scale_log(1.0, -1.0, 99.0, true, OutOfRange::Clamp).is_err());
    }

    #[test]
    fn target_both_directions() {
        assert_eq!(scale_target(5.0, 10.0, true).unwrap(), 50.0);
        assert_eq!(scale_target(15.0, 10.0, true).unwrap(), 100.0);
        assert_eq!(scale_target(5.0, 10.0, false).unwrap(), 100.0);
        assert_eq!(scale_target(10.0, 10.0, false).unwrap(), 100.0);
        assert_eq!(scale_target(20.0, 10.0, false).unwrap(), 50.0);
        assert_eq!(scale_target(0.0, 10.0, false).unwrap(), 100.0);
        assert_eq!(
            scale_target(1.0, 0.0, true).unwrap_err().message,
            "target must be greater than 0, got 0"
        );
        assert_eq!(
            scale_target(-1.0, 1.0, true).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn bands_are_upper_inclusive() {
        let c = [10.0, 20.0];
        let s = [0.0, 50.0, 100.0];
        assert_eq!(scale_bands(10.0, &c, &s).unwrap(), 0.0);
        assert_eq!(scale_bands(10.000001, &c, &s).unwrap(), 50.0);
        assert_eq!(scale_bands(20.0, &c, &s).unwrap(), 50.0);
        assert_eq!(scale_bands(20.5, &c, &s).unwrap(), 100.0);
        assert_eq!(scale_bands(-1e300, &c, &s).unwrap(), 0.0);
        assert_eq!(scale_bands(7.0, &[], &[42.0]).unwrap(), 42.0);
        assert_eq!(
            scale_bands(1.0, &c, &s[..2]).unwrap_err().kind,
            ErrorKind::ArraySubscript
        );
        assert_eq!(
            scale_bands(1.0, &[20.0, 10.0], &s).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            scale_bands(1.0, &c, &[0.0, 50.0, 101.0]).unwrap_err().message,
            "scores[3] must be between 0 and 100, got 101"
        );
    }

    #[test]
    fn piecewise_interpolates_and_is_flat_outside() {
        let k = [0.0, 10.0, 30.0];
        let s = [0.0, 80.0, 100.0];
        assert_eq!(scale_piecewise(-5.0, &k, &s).unwrap(), 0.0);
        assert_eq!(scale_piecewise(5.0, &k, &s).unwrap(), 40.0);
        assert_eq!(scale_piecewise(10.0, &k, &s).unwrap(), 80.0);
        assert_eq!(scale_piecewise(20.0, &k, &s).unwrap(), 90.0);
        assert_eq!(scale_piecewise(99.0, &k, &s).unwrap(), 100.0);
        assert_eq!(
            scale_piecewise(1.0, &[0.0], &[1.0]).unwrap_err().kind,
            ErrorKind::ArraySubscript
        );
        assert_eq!(
            scale_piecewise(1.0, &k, &s[..2]).unwrap_err().kind,
            ErrorKind::ArraySubscript
        );
        assert_eq!(
            scale_piecewise(1.0, &[0.0, 0.0], &[1.0, 2.0]).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn zscore_uses_normal_cdf() {
        assert!((scale_zscore(10.0, 10.0, 2.0, true).unwrap() - 50.0).abs() < 1e-12);
        // Phi(1) = 0.8413447460685429
        assert!((scale_zscore(12.0, 10.0, 2.0, true).unwrap() - 84.13447460685429).abs() < 1e-9);
        assert!((scale_zscore(12.0, 10.0, 2.0, false).unwrap() - 15.865525393145707).abs() < 1e-9);
        assert!((normal_cdf(-1.959963984540054) - 0.025).abs() < 1e-12);
        assert_eq!(
            scale_zscore(1.0, 0.0, 0.0, true).unwrap_err().message,
            "stddev must be greater than 0, got 0"
        );
    }

    #[test]
    fn zscore_linear_keeps_the_scale() {
        // z = 1 with clip 3 is a third of the way from 50 to 100
        assert!((scale_zscore_linear(12.0, 10.0, 2.0, 3.0, true).unwrap() - 200.0 / 3.0).abs() < 1e-12);
        assert!((scale_zscore_linear(12.0, 10.0, 2.0, 3.0, false).unwrap() - 100.0 / 3.0).abs() < 1e-12);
        assert_eq!(scale_zscore_linear(10.0, 10.0, 2.0, 3.0, true).unwrap(), 50.0);
        assert_eq!(scale_zscore_linear(17.0, 10.0, 2.0, 3.0, true).unwrap(), 100.0);
        assert_eq!(scale_zscore_linear(3.0, 10.0, 2.0, 3.0, true).unwrap(), 0.0);
        assert_eq!(scale_zscore_linear(3.0, 10.0, 2.0, 3.0, false).unwrap(), 100.0);
        assert_eq!(
            scale_zscore_linear(1.0, 0.0, 1.0, 0.0, true).unwrap_err().message,
            "clip must be greater than 0, got 0"
        );
        assert_eq!(
            scale_zscore_linear(1.0, 0.0, -1.0, 3.0, true).unwrap_err().message,
            "stddev must be greater than 0, got -1"
        );
        assert_eq!(
            scale_zscore_linear(f64::INFINITY, 0.0, 1.0, 3.0, true)
                .unwrap_err()
                .message,
            "value must be a finite number, got Infinity"
        );
    }

    proptest! {
        #[test]
        fn zscore_linear_is_linear_inside_the_clip(
            a in -1e3f64..1e3, b in -1e3f64..1e3, mean in -1e3f64..1e3, sd in 1e-2f64..1e3, clip in 0.5f64..6.0
        ) {
            let (sa, sb) = (scale_zscore_linear(a, mean, sd, clip, true).unwrap(), scale_zscore_linear(b, mean, sd, clip, true).unwrap());
            prop_assert!((0.0..=100.0).contains(&sa));
            prop_assert!(a > b || sa <= sb);
            let (za, zb) = ((a - mean) / sd, (b - mean) / sd);
            if za.abs() < clip && zb.abs() < clip {
                // equal steps in z are equal steps in the sub-score
                prop_assert!(((sa - sb) - 50.0 * (za - zb) / clip).abs() < 1e-9);
            }
            let flipped = scale_zscore_linear(a, mean, sd, clip, false).unwrap();
            prop_assert!((sa + flipped - 100.0).abs() < 1e-9);
        }

        #[test]
        fn linear_is_a_score_and_monotone(
            a in -1e6f64..1e6, b in -1e6f64..1e6, lo in -1e3f64..1e3, width in 1e-3f64..1e4, hib: bool
        ) {
            let hi = lo + width;
            let sa = lin(a, lo, hi, hib, OutOfRange::Clamp).unwrap();
            let sb = lin(b, lo, hi, hib, OutOfRange::Clamp).unwrap();
            prop_assert!((0.0..=100.0).contains(&sa));
            if (a <= b) == hib { prop_assert!(sa <= sb); } else { prop_assert!(sa >= sb); }
            // Flipping the direction mirrors the score.
            let flipped = lin(a, lo, hi, !hib, OutOfRange::Clamp).unwrap();
            prop_assert!((sa + flipped - 100.0).abs() < 1e-9);
        }

        #[test]
        fn every_normaliser_stays_in_range(v in -1e9f64..1e9, mean in -1e3f64..1e3, sd in 1e-6f64..1e6) {
            let z = scale_zscore(v, mean, sd, true).unwrap();
            prop_assert!((0.0..=100.0).contains(&z));
            let t = scale_target(v.abs(), sd, false).unwrap();
            prop_assert!((0.0..=100.0).contains(&t));
            let p = scale_piecewise(v, &[-10.0, 0.0, 10.0], &[0.0, 100.0, 30.0]).unwrap();
            prop_assert!((0.0..=100.0).contains(&p));
            let l = scale_log(v.abs(), 0.0, sd, true, OutOfRange::Clamp).unwrap().unwrap();
            prop_assert!((0.0..=100.0).contains(&l));
        }
    }
}

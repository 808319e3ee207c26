//! The wide form in one step: `weighted_score(ARRAY[scale_*(column, constants),
//! ...], weights, missing, min_coverage)` with every argument but the columns
//! constant. The planner recognises that expression (the extension's
//! `fused.rs`) and replaces it by one call that carries a [`WideScore`], so a
//! row costs one function call instead of one per metric. Each step calls the
//! very functions the written expression calls, in the same order, so the
//! answers are the same bits and the errors the same messages.

use crate::error::{HealthError, Result};
use crate::normalise::{Normaliser, OutOfRange};
use crate::profile::Method;
use crate::score::{self, Missing};

/// How one element of the array is computed from its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The element is the column itself (already a sub-score).
    Value,
    /// A `scale_*` call of the column with constant parameters.
    Scale {
        normaliser: Normaliser,
        higher_is_better: bool,
    },
}

impl Step {
    /// The SQL function this step stands for (its errors carry this name).
    pub fn function(&self) -> &'static str {
        match self {
            Step::Value => "weighted_score",
            Step::Scale { normaliser, .. } => normaliser.function(),
        }
    }

    /// The sub-score of a (non-NULL) column value, as the SQL function computes it.
    #[inline]
    pub fn apply(&self, v: f64) -> Result<Option<f64>> {
        match self {
            Step::Value => Ok(Some(v)),
            Step::Scale {
                normaliser,
                higher_is_better,
            } => normaliser.apply(v, *higher_is_better),
        }
    }

    fn is_valid(&self) -> bool {
        match self {
            Step::Value => true,
            Step::Scale { normaliser, .. } => normaliser.is_valid(),
        }
    }
}

/// A whole `weighted_score(ARRAY[steps...], weights, missing, min_coverage)`.
#[derive(Clone, Debug, PartialEq)]
pub struct WideScore {
    pub steps: Vec<Step>,
    pub weights: Vec<f64>,
    pub missing: Missing,
    pub min_coverage: f64,
}

impl WideScore {
    /// Whether the constants are valid: the planner only fuses an expression
    /// whose constants are, so an invalid one still fails as written.
    pub fn is_valid(&self) -> bool {
        self.steps.iter().all(Step::is_valid)
            && score::weighted_score(
                self.steps.iter().map(|_| Some(50.0)),
                &self.weights,
                self.missing,
                self.min_coverage,
            )
            .is_ok()
    }

    /// The score of one row from its column values (None = NULL), which
    /// are replaced by their sub-scores in place (no second buffer on the
    /// per-row path); an error names the SQL function that raises it unfused.
    #[inline]
    pub fn score(&self, values: &mut [Option<f64>]) -> std::result::Result<Option<f64>, (&'static str, HealthError)> {
        for (value, step) in values.iter_mut().zip(&self.steps) {
            if let Some(v) = *value {
                *value = step.apply(v).map_err(|e| (step.function(), e))?;
            }
        }
        score::weighted_score(values.iter().copied(), &self.weights, self.missing, self.min_coverage)
            .map_err(|e| ("weighted_score", e))
    }

    /// The readable form the planner writes into the fused call (EXPLAIN
    /// VERBOSE shows it): each step as its method and parameters; numbers
    /// round-trip exactly.
    pub fn to_text(&self) -> String {
        let steps: Vec<String> = self.steps.iter().map(step_text).collect();
        format!(
            "{}; weights {}; missing {}; min_coverage {:?}",
            steps.join("; "),
            numbers_text(&self.weights),
            self.missing.name(),
            self.min_coverage
        )
    }

    /// Reads [`to_text`](Self::to_text)'s form back.
    pub fn parse(text: &str) -> Result<WideScore> {
        let bad = || HealthError::text(format!("invalid fused score: {text}"));
        let (mut weights, mut missing, mut min_coverage) = (None, None, None);
        let mut steps = Vec::new();
        for part in text.split("; ") {
            let words: Vec<&str> = part.split(' ').collect();
            match words.as_slice() {
                ["weights", w] => weights = Some(numbers(w).ok_or_else(bad)?),
                ["missing", m] => missing = Some(Missing::parse(m)?),
                ["min_coverage", c] => min_coverage = Some(c.parse::<f64>().map_err(|_| bad())?),
                words => steps.push(parse_step(words).ok_or_else(bad)?),
            }
        }
        Ok(WideScore {
            steps,
            weights: weights.ok_or_else(bad)?,
            missing: missing.ok_or_else(bad)?,
            min_coverage: min_coverage.ok_or_else(bad)?,
        })
    }
}

fn numbers_text(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(",")
}

fn numbers(s: &str) -> Option<Vec<f64>> {
    s.split(',').map(|x| x.parse().ok()).collect()
}

fn direction_text(higher_is_better: bool) -> &'static str {
    if higher_is_better {
        "higher"
    } else {
        "lower"
    }
}

fn range_text(r: OutOfRange) -> &'static str {
    match r {
        OutOfRange::Clamp => "clamp",
        OutOfRange::Null => "null",
    }
}

/// One step as words: the normaliser's method, then its parameters in the
/// order of the SQL function's arguments (a profile as hex, last).
fn step_text(step: &Step) -> String {
    let (normaliser, hib) = match step {
        Step::Value => return "value".to_string(),
        Step::Scale {
            normaliser,
            higher_is_better,
        } => (normaliser, *higher_is_better),
    };
    let method = normaliser.method();
    let d = direction_text(hib);
    match normaliser {
        Normaliser::Linear { lo, hi, out_of_range } | Normaliser::Log { lo, hi, out_of_range } => {
            format!("{method} {lo:?} {hi:?} {d} {}", range_text(*out_of_range))
        }
        Normaliser::Target { target } => format!("{method} {target:?} {d}"),
        Normaliser::ZScore {
            mean,
            stddev,
            clip: None,
            ..
        } => format!("{method} {mean:?} {stddev:?} {d}"),
        Normaliser::ZScore {
            mean,
            stddev,
            clip: Some(clip),
            ..
        } => format!("{method} {mean:?} {stddev:?} {clip:?} {d}"),
        // Bands and piecewise take no direction: their scores say it.
        Normaliser::Bands { cutoffs, scores } => {
            format!("{method} {} {}", numbers_text(cutoffs), numbers_text(scores))
        }
        Normaliser::Piecewise { knots, scores } => {
            format!("{method} {} {}", numbers_text(knots), numbers_text(scores))
        }
        Normaliser::Profile { profile, by } => {
            let hex: String = profile.iter().flatten().map(|b| format!("{b:02x}")).collect();
            format!("{method} {} {d} {hex}", by.name())
        }
    }
}

/// [`step_text`] read back (None: not a step).
fn parse_step(words: &[&str]) -> Option<Step> {
    let number = |s: &str| s.parse::<f64>().ok();
    let direction = |s: &str| match s {
        "higher" => Some(true),
        "lower" => Some(false),
        _ => None,
    };
    let range = |s: &str| OutOfRange::parse(s).ok();
    let scale = |normaliser, higher_is_better| {
        Some(Step::Scale {
            normaliser,
            higher_is_better,
        })
    };
    let zscore = |method: &str, mean: &str, stddev: &str, clip: Option<&str>, d: &str| {
        let clip = match clip {
            Some(c) => Some(number(c)?),
            None => None,
        };
        let normaliser = Normaliser::ZScore {
            mean: number(mean)?,
            stddev: number(stddev)?,
            log: method.starts_with("log_"),
            clip,
        };
        scale(normaliser, direction(d)?)
    };
    match *words {
        ["value"] => Some(Step::Value),
        [method @ ("linear" | "log"), lo, hi, d, r] => {
            let (lo, hi, out_of_range) = (number(lo)?, number(hi)?, range(r)?);
            let normaliser = if method == "linear" {
                Normaliser::Linear { lo, hi, out_of_range }
            } else {
                Normaliser::Log { lo, hi, out_of_range }
            };
            scale(normaliser, direction(d)?)
        }
        ["target", t, d] => scale(Normaliser::Target { target: number(t)? }, direction(d)?),
        [method @ ("zscore" | "log_zscore"), m, s, d] => zscore(method, m, s, None, d),
        [method @ ("zscore_linear" | "log_zscore_linear"), m, s, c, d] => zscore(method, m, s, Some(c), d),
        ["bands", c, s] => scale(
            Normaliser::Bands {
                cutoffs: numbers(c)?,
                scores: numbers(s)?,
            },
            true,
        ),
        ["piecewise", k, s] => scale(
            Normaliser::Piecewise {
                knots: numbers(k)?,
                scores: numbers(s)?,
            },
            true,
        ),
        ["profile", by, d, hex] => {
            let profile = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            let by = Method::parse(by).ok()?;
            scale(
                Normaliser::Profile {
                    profile: Some(profile),
                    by,
                },
                direction(d)?,
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scale(normaliser: Normaliser, higher_is_better: bool) -> Step {
        Step::Scale {
            normaliser,
            higher_is_better,
        }
    }

    fn profile_bytes() -> Vec<u8> {
        let mut p = crate::profile::Profile::new();
        for v in [1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0] {
            p.add(v).unwrap();
        }
        p.to_bytes().unwrap()
    }

    /// One step of every normaliser form, then a plain value.
    fn steps() -> Vec<Step> {
        vec![
            scale(
                Normaliser::Linear {
                    lo: 0.0,
                    hi: 20.0,
                    out_of_range: OutOfRange::Clamp,
                },
                true,
            ),
            scale(
                Normaliser::Log {
                    lo: 0.0,
                    hi: 400.0,
                    out_of_range: OutOfRange::Null,
                },
                true,
            ),
            scale(Normaliser::Target { target: 0.1 }, false),
            scale(
                Normaliser::ZScore {
                    mean: 80.0,
                    stddev: 10.0,
                    log: false,
                    clip: None,
                },
                true,
            ),
            scale(
                Normaliser::ZScore {
                    mean: 80.0,
                    stddev: 10.0,
                    log: false,
                    clip: Some(2.5),
                },
                false,
            ),
            scale(
                Normaliser::ZScore {
                    mean: 2.0,
                    stddev: 0.5,
                    log: true,
                    clip: Some(3.0),
                },
                true,
            ),
            scale(
                Normaliser::Bands {
                    cutoffs: vec![6.0, 8.0],
                    scores: vec![0.0, 60.0, 100.0],
                },
                true,
            ),
            scale(
                Normaliser::Piecewise {
                    knots: vec![0.0, 20.0, 50.0],
                    scores: vec![0.0, 50.0, 100.0],
                },
                true,
            ),
            scale(
                Normaliser::Profile {
                    profile: Some(profile_bytes()),
                    by: Method::Percentile,
                },
                false,
            ),
            Step::Value,
        ]
    }

    fn wide(missing: Missing) -> WideScore {
        WideScore {
            steps: steps(),
            weights: vec![25.0, 20.0, 15.0, 10.0, 4.0, 2.0, 0.1, 1e-7, 7.0, 3.0],
            missing,
            min_coverage: 0.25,
        }
    }

    #[test]
    fn text_round_trips_exactly() {
        for missing in [Missing::Renormalize, Missing::Zero, Missing::Neutral, Missing::Null] {
            let w = wide(missing);
            assert_eq!(WideScore::parse(&w.to_text()).unwrap(), w);
        }
        assert!(WideScore::parse("linear 0 1 up clamp; weights 1; missing zero; min_coverage 0").is_err());
        assert!(WideScore::parse("linear 0 1 higher clamp").is_err());
    }

    #[test]
    fn invalid_constants_are_not_fused() {
        assert!(wide(Missing::Renormalize).is_valid());
        let mut w = wide(Missing::Renormalize);
        w.steps[0] = scale(
            Normaliser::Linear {
                lo: 5.0,
                hi: 5.0,
                out_of_range: OutOfRange::Clamp,
            },
            true,
        );
        assert!(!w.is_valid());
        let mut w = wide(Missing::Renormalize);
        w.weights.pop();
        assert!(!w.is_valid());
    }

    proptest! {
        /// One call equals the expression written out: each sub-score by its
        /// own function, NULL left NULL, then weighted_score.
        #[test]
        fn fused_equals_unfused(values in proptest::collection::vec(
            prop_oneof![Just(None), (-50.0f64..500.0).prop_map(Some), Just(Some(f64::NAN))], 10)) {
            let w = wide(Missing::Renormalize);
            let unfused: Result<Vec<Option<f64>>> = values
                .iter()
                .zip(&w.steps)
                .map(|(v, s)| match v { Some(v) => s.apply(*v), None => Ok(None) })
                .collect();
            let fused = w.score(&mut values.clone());
            match unfused {
                Ok(subscores) => {
                    let expected = score::weighted_score(subscores.into_iter(), &w.weights, w.missing, w.min_coverage);
                    match (fused, expected) {
                        (Ok(a), Ok(b)) => prop_assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits)),
                        (Err((f, a)), Err(b)) => {
                            prop_assert_eq!(f, "weighted_score");
                            prop_assert_eq!(a.message, b.message);
                        }
                        (a, b) => prop_assert!(false, "fused {:?}, unfused {:?}", a, b),
                    }
                }
                Err(e) => {
                    let (_, fused_error) = fused.unwrap_err();
                    prop_assert_eq!(fused_error.message, e.message);
                }
            }
        }
    }
}

//! The wide form in one step: `weighted_score(ARRAY[scale_*(column, constants),
//! ...], weights, missing, min_coverage)` with every argument but the columns
//! constant. The planner recognises that expression (the extension's
//! `fused.rs`) and replaces it by one call that carries a [`WideScore`], so a
//! row costs one function call instead of one per metric. Each step calls the
//! very functions the written expression calls, in the same order, so the
//! answers are the same bits and the errors the same messages.

use crate::error::{HealthError, Result};
use crate::normalise::{self, OutOfRange};
use crate::score::{self, Missing};

/// How one element of the array is computed from its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The element is the column itself (already a sub-score).
    Value,
    Linear {
        lo: f64,
        hi: f64,
        higher_is_better: bool,
        out_of_range: OutOfRange,
    },
    Log {
        lo: f64,
        hi: f64,
        higher_is_better: bool,
        out_of_range: OutOfRange,
    },
    Target {
        target: f64,
        higher_is_better: bool,
    },
    ZScore {
        mean: f64,
        stddev: f64,
        higher_is_better: bool,
    },
    Bands {
        cutoffs: Vec<f64>,
        scores: Vec<f64>,
    },
    Piecewise {
        knots: Vec<f64>,
        scores: Vec<f64>,
    },
}

impl Step {
    /// The SQL function this step stands for (its errors carry this name).
    pub fn function(&self) -> &'static str {
        match self {
            Step::Value => "weighted_score",
            Step::Linear { .. } => "scale_linear",
            Step::Log { .. } => "scale_log",
            Step::Target { .. } => "scale_target",
            Step::ZScore { .. } => "scale_zscore",
            Step::Bands { .. } => "scale_bands",
            Step::Piecewise { .. } => "scale_piecewise",
        }
    }

    /// The sub-score of a (non-NULL) column value, as the SQL function computes it.
    #[inline]
    pub fn apply(&self, v: f64) -> Result<Option<f64>> {
        match self {
            Step::Value => Ok(Some(v)),
            Step::Linear {
                lo,
                hi,
                higher_is_better,
                out_of_range,
            } => normalise::scale_linear(v, *lo, *hi, *higher_is_better, *out_of_range),
            Step::Log {
                lo,
                hi,
                higher_is_better,
                out_of_range,
            } => normalise::scale_log(v, *lo, *hi, *higher_is_better, *out_of_range),
            Step::Target {
                target,
                higher_is_better,
            } => normalise::scale_target(v, *target, *higher_is_better).map(Some),
            Step::ZScore {
                mean,
                stddev,
                higher_is_better,
            } => normalise::scale_zscore(v, *mean, *stddev, *higher_is_better).map(Some),
            Step::Bands { cutoffs, scores } => normalise::scale_bands(v, cutoffs, scores).map(Some),
            Step::Piecewise { knots, scores } => normalise::scale_piecewise(v, knots, scores).map(Some),
        }
    }

    /// A value for which the constants alone decide whether the step fails.
    fn probe(&self) -> f64 {
        match self {
            Step::Value => 50.0,
            Step::Linear { lo, .. } | Step::Log { lo, .. } => *lo,
            Step::Target { target, .. } => *target,
            Step::ZScore { mean, .. } => *mean,
            Step::Bands { cutoffs, .. } => cutoffs.first().copied().unwrap_or(0.0),
            Step::Piecewise { knots, .. } => knots.first().copied().unwrap_or(0.0),
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
        self.steps.iter().all(|s| s.apply(s.probe()).is_ok())
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
    /// VERBOSE shows it); numbers round-trip exactly.
    pub fn to_text(&self) -> String {
        let numbers = |v: &[f64]| v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(",");
        let direction = |b: bool| if b { "higher" } else { "lower" };
        let range = |r: OutOfRange| match r {
            OutOfRange::Clamp => "clamp",
            OutOfRange::Null => "null",
        };
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Value => "value".to_string(),
                Step::Linear {
                    lo,
                    hi,
                    higher_is_better,
                    out_of_range,
                } => format!(
                    "linear {lo:?} {hi:?} {} {}",
                    direction(*higher_is_better),
                    range(*out_of_range)
                ),
                Step::Log {
                    lo,
                    hi,
                    higher_is_better,
                    out_of_range,
                } => format!(
                    "log {lo:?} {hi:?} {} {}",
                    direction(*higher_is_better),
                    range(*out_of_range)
                ),
                Step::Target {
                    target,
                    higher_is_better,
                } => format!("target {target:?} {}", direction(*higher_is_better)),
                Step::ZScore {
                    mean,
                    stddev,
                    higher_is_better,
                } => format!("zscore {mean:?} {stddev:?} {}", direction(*higher_is_better)),
                Step::Bands { cutoffs, scores } => format!("bands {} {}", numbers(cutoffs), numbers(scores)),
                Step::Piecewise { knots, scores } => format!("piecewise {} {}", numbers(knots), numbers(scores)),
            })
            .collect();
        format!(
            "{}; weights {}; missing {}; min_coverage {:?}",
            steps.join("; "),
            numbers(&self.weights),
            self.missing.name(),
            self.min_coverage
        )
    }

    /// Reads [`to_text`](Self::to_text)'s form back.
    pub fn parse(text: &str) -> Result<WideScore> {
        let bad = || HealthError::text(format!("invalid fused score: {text}"));
        let number = |s: &str| s.parse::<f64>().map_err(|_| bad());
        let numbers = |s: &str| s.split(',').map(number).collect::<Result<Vec<f64>>>();
        let direction = |s: &str| match s {
            "higher" => Ok(true),
            "lower" => Ok(false),
            _ => Err(bad()),
        };
        let mut steps = Vec::new();
        let (mut weights, mut missing, mut min_coverage) = (None, None, None);
        for part in text.split("; ") {
            let words: Vec<&str> = part.split(' ').collect();
            let step = match words.as_slice() {
                ["value"] => Step::Value,
                ["linear", lo, hi, d, r] => Step::Linear {
                    lo: number(lo)?,
                    hi: number(hi)?,
                    higher_is_better: direction(d)?,
                    out_of_range: OutOfRange::parse(r)?,
                },
                ["log", lo, hi, d, r] => Step::Log {
                    lo: number(lo)?,
                    hi: number(hi)?,
                    higher_is_better: direction(d)?,
                    out_of_range: OutOfRange::parse(r)?,
                },
                ["target", t, d] => Step::Target {
                    target: number(t)?,
                    higher_is_better: direction(d)?,
                },
                ["zscore", m, s, d] => Step::ZScore {
                    mean: number(m)?,
                    stddev: number(s)?,
                    higher_is_better: direction(d)?,
                },
                ["bands", c, s] => Step::Bands {
                    cutoffs: numbers(c)?,
                    scores: numbers(s)?,
                },
                ["piecewise", k, s] => Step::Piecewise {
                    knots: numbers(k)?,
                    scores: numbers(s)?,
                },
                ["weights", w] => {
                    weights = Some(numbers(w)?);
                    continue;
                }
                ["missing", m] => {
                    missing = Some(Missing::parse(m)?);
                    continue;
                }
                ["min_coverage", c] => {
                    min_coverage = Some(number(c)?);
                    continue;
                }
                _ => return Err(bad()),
            };
            steps.push(step);
        }
        Ok(WideScore {
            steps,
            weights: weights.ok_or_else(bad)?,
            missing: missing.ok_or_else(bad)?,
            min_coverage: min_coverage.ok_or_else(bad)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn steps() -> Vec<Step> {
        vec![
            Step::Linear {
                lo: 0.0,
                hi: 20.0,
                higher_is_better: true,
                out_of_range: OutOfRange::Clamp,
            },
            Step::Log {
                lo: 0.0,
                hi: 400.0,
                higher_is_better: true,
                out_of_range: OutOfRange::Null,
            },
            Step::Target {
                target: 0.1,
                higher_is_better: false,
            },
            Step::ZScore {
                mean: 80.0,
                stddev: 10.0,
                higher_is_better: true,
            },
            Step::Bands {
                cutoffs: vec![6.0, 8.0],
                scores: vec![0.0, 60.0, 100.0],
            },
            Step::Piecewise {
                knots: vec![0.0, 20.0, 50.0],
                scores: vec![0.0, 50.0, 100.0],
            },
            Step::Value,
        ]
    }

    fn wide(missing: Missing) -> WideScore {
        WideScore {
            steps: steps(),
            weights: vec![25.0, 20.0, 15.0, 10.0, 0.1, 1e-7, 3.0],
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
        w.steps[0] = Step::Linear {
            lo: 5.0,
            hi: 5.0,
            higher_is_better: true,
            out_of_range: OutOfRange::Clamp,
        };
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
            prop_oneof![Just(None), (-50.0f64..500.0).prop_map(Some), Just(Some(f64::NAN))], 7)) {
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

//! Why did a score move? Two scorecards of one account (before, after) and
//! the change of its score split into one part per metric, the parts summing
//! to the change (`score_change`, docs/reference.md §2).
//!
//! A score is the sum of its metrics' points, `share × counted sub-score`
//! (`Scorecard::contributions`), so the change is the sum of each metric's
//! change of points. A metric counted on both sides splits its part in two:
//!
//! ```text
//! share₁·s₁ − share₀·s₀ = share₀·(s₁ − s₀)      its own sub-score moved
//!                       + (share₁ − share₀)·s₁   its share of the weight moved
//! ```
//!
//! and the share moves when its own weight changed or, under
//! `'renormalize'`, when another metric appeared or went missing (the weight
//! is shared among fewer or more). A metric counted on one side only gives
//! all its points, or takes them all away.

use serde_json::{json, Value};

use crate::error::Result;
use crate::score::Missing;
use crate::scorecard::{Contribution, Scorecard};

/// One metric's part of a score change.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricChange {
    pub metric: String,
    /// The sub-scores (None: missing or not in that scorecard).
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    /// The weights (None: the metric is not in that scorecard).
    pub weight_before: Option<f64>,
    pub weight_after: Option<f64>,
    /// Points after minus points before: the parts sum to the change.
    pub points: f64,
    /// The part due to the metric's own sub-score, at its earlier share.
    pub from_sub_score: f64,
    /// The part due to its share of the weight (its weight, or others').
    pub from_weight_share: f64,
    /// What moved it, in one word (see [`Why`]).
    pub why: Why,
}

/// The main reason a metric's points moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Measured now, not before (or new in the scorecard).
    Appeared,
    /// Measured before, not now (or gone from the scorecard).
    WentMissing,
    /// Its sub-score moved (the larger part).
    SubScore,
    /// Its own weight changed (the larger part).
    Weight,
    /// Its share moved because other metrics appeared or went missing.
    Renormalised,
    /// No change.
    Unchanged,
}

impl Why {
    pub fn name(self) -> &'static str {
        match self {
            Why::Appeared => "appeared",
            Why::WentMissing => "went_missing",
            Why::SubScore => "sub_score",
            Why::Weight => "weight",
            Why::Renormalised => "renormalised",
            Why::Unchanged => "unchanged",
        }
    }
}

/// The score before and after, and the parts of the change, largest first
/// (by size, then metric name). `None` when either score is NULL (nothing
/// measured, or a missing metric under `'null'`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreChange {
    pub before: f64,
    pub after: f64,
    pub parts: Vec<MetricChange>,
}

/// The sub-score a metric counts with in one scorecard, and its share
/// (None and 0 when it is not in it, or missing under `'renormalize'`).
fn counted(part: Option<&Contribution>, missing: Missing) -> (Option<f64>, f64) {
    part.map_or((None, 0.0), |c| (c.score.or(missing.imputed()), c.weight_share))
}

impl ScoreChange {
    /// Splits `score(after) − score(before)` into per-metric parts.
    pub fn of(before: &Scorecard, after: &Scorecard, missing: Missing) -> Result<Option<ScoreChange>> {
        let (Some(score_before), Some(score_after)) = (before.score(missing, 0.0)?, after.score(missing, 0.0)?) else {
            return Ok(None);
        };
        let (Some(parts_before), Some(parts_after)) = (before.contributions(missing)?, after.contributions(missing)?)
        else {
            return Ok(None);
        };
        let mut names: Vec<&str> = parts_before.iter().chain(&parts_after).map(|c| c.metric).collect();
        names.sort_unstable();
        names.dedup();
        let mut parts: Vec<MetricChange> = names
            .into_iter()
            .map(|metric| {
                let b = parts_before.iter().find(|c| c.metric == metric);
                let a = parts_after.iter().find(|c| c.metric == metric);
                let (s0, share0) = counted(b, missing);
                let (s1, _) = counted(a, missing);
                let points = a.map_or(0.0, |c| c.points) - b.map_or(0.0, |c| c.points);
                let (from_sub_score, from_weight_share, why) = match (s0, s1) {
                    (Some(s0), Some(s1)) => {
                        let from_score = share0 * (s1 - s0);
                        let from_share = points - from_score;
                        let own_weight_moved = b.map(|c| c.weight) != a.map(|c| c.weight);
                        let why = if from_score == 0.0 && from_share == 0.0 {
                            Why::Unchanged
                        } else if from_score.abs() >= from_share.abs() {
                            Why::SubScore
                        } else if own_weight_moved {
                            Why::Weight
                        } else {
                            Why::Renormalised
                        };
                        (from_score, from_share, why)
                    }
                    (None, Some(_)) => (0.0, points, Why::Appeared),
                    (Some(_), None) => (0.0, points, Why::WentMissing),
                    (None, None) => (0.0, 0.0, Why::Unchanged),
                };
                MetricChange {
                    metric: metric.to_owned(),
                    score_before: b.and_then(|c| c.score),
                    score_after: a.and_then(|c| c.score),
                    weight_before: b.map(|c| c.weight),
                    weight_after: a.map(|c| c.weight),
                    points,
                    from_sub_score,
                    from_weight_share,
                    why,
                }
            })
            .collect();
        parts.sort_by(|x, y| {
            y.points
                .abs()
                .total_cmp(&x.points.abs())
                .then_with(|| x.metric.cmp(&y.metric))
        });
        Ok(Some(ScoreChange {
            before: score_before,
            after: score_after,
            parts,
        }))
    }

    pub fn to_json(&self) -> Value {
        let number = |v: f64| json!(v);
        let option = |v: Option<f64>| v.map_or(Value::Null, number);
        json!({
            "before": self.before,
            "after": self.after,
            "change": self.after - self.before,
            "parts": self.parts.iter().map(|p| json!({
                "metric": p.metric,
                "points": p.points,
                "why": p.why.name(),
                "from_sub_score": p.from_sub_score,
                "from_weight_share": p.from_weight_share,
                "score_before": option(p.score_before),
                "score_after": option(p.score_after),
                "weight_before": option(p.weight_before),
                "weight_after": option(p.weight_after),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorecard::card;
    use proptest::prelude::*;

    fn part<'a>(change: &'a ScoreChange, metric: &str) -> &'a MetricChange {
        change.parts.iter().find(|p| p.metric == metric).unwrap()
    }

    #[test]
    fn a_sub_score_that_falls() {
        // usage 80 -> 40 at weight 3 of 4: the score falls 30 points, all of it usage's.
        let before = card(&[("usage", Some(80.0), 3.0), ("nps", Some(60.0), 1.0)]);
        let after = card(&[("usage", Some(40.0), 3.0), ("nps", Some(60.0), 1.0)]);
        let c = ScoreChange::of(&before, &after, Missing::Renormalize).unwrap().unwrap();
        assert_eq!((c.before, c.after), (75.0, 45.0));
        let usage = part(&c, "usage");
        assert_eq!(
            (usage.points, usage.from_sub_score, usage.from_weight_share, usage.why),
            (-30.0, -30.0, 0.0, Why::SubScore)
        );
        assert_eq!(part(&c, "nps").why, Why::Unchanged);
        assert_eq!(c.parts[0].metric, "usage");
    }

    #[test]
    fn a_metric_that_goes_missing_renormalises_the_others() {
        // Before: usage 80 (w 1), nps 20 (w 1) -> 50. After: nps missing -> 80.
        // nps takes its 10 points away; usage's share grows from 1/2 to 1: +40.
        let before = card(&[("usage", Some(80.0), 1.0), ("nps", Some(20.0), 1.0)]);
        let after = card(&[("usage", Some(80.0), 1.0), ("nps", None, 1.0)]);
        let c = ScoreChange::of(&before, &after, Missing::Renormalize).unwrap().unwrap();
        assert_eq!((c.before, c.after), (50.0, 80.0));
        let nps = part(&c, "nps");
        assert_eq!((nps.points, nps.why), (-10.0, Why::WentMissing));
        let usage = part(&c, "usage");
        assert_eq!(
            (usage.points, usage.from_sub_score, usage.from_weight_share, usage.why),
            (40.0, 0.0, 40.0, Why::Renormalised)
        );
        // Under 'neutral' the missing metric counts 50 at its full weight.
        let c = ScoreChange::of(&before, &after, Missing::Neutral).unwrap().unwrap();
        assert_eq!((c.before, c.after), (50.0, 65.0));
        let nps = part(&c, "nps");
        assert_eq!((nps.points, nps.from_sub_score, nps.why), (15.0, 15.0, Why::SubScore));
    }

    #[test]
    fn a_new_metric_and_a_new_weight() {
        // Before: usage 60 (w 1). After: usage 60 (w 3), tickets 20 (w 1): 50.
        let before = card(&[("usage", Some(60.0), 1.0)]);
        let after = card(&[("usage", Some(60.0), 3.0), ("tickets", Some(20.0), 1.0)]);
        let c = ScoreChange::of(&before, &after, Missing::Renormalize).unwrap().unwrap();
        assert_eq!((c.before, c.after), (60.0, 50.0));
        let tickets = part(&c, "tickets");
        assert_eq!(
            (tickets.points, tickets.why, tickets.weight_before),
            (5.0, Why::Appeared, None)
        );
        let usage = part(&c, "usage");
        assert_eq!((usage.points, usage.why), (-15.0, Why::Weight));
        // Nothing measured on one side: no change to explain.
        let empty = card(&[("usage", None, 1.0)]);
        assert_eq!(ScoreChange::of(&empty, &after, Missing::Renormalize).unwrap(), None);
    }

    proptest! {
        #[test]
        fn the_parts_sum_to_the_change(
            before in proptest::collection::vec((0usize..6, proptest::option::of(0.0f64..=100.0), 0.0f64..10.0), 1..6),
            after in proptest::collection::vec((0usize..6, proptest::option::of(0.0f64..=100.0), 0.0f64..10.0), 1..6),
            policy in 0usize..3,
        ) {
            let build = |rows: &[(usize, Option<f64>, f64)]| {
                let mut c = Scorecard::new();
                let mut seen = Vec::new();
                for &(m, s, w) in rows {
                    if !seen.contains(&m) {
                        seen.push(m);
                        c.push(&format!("m{m}"), s, w).unwrap();
                    }
                }
                c.finish().unwrap()
            };
            let missing = [Missing::Renormalize, Missing::Zero, Missing::Neutral][policy];
            if let Some(c) = ScoreChange::of(&build(&before), &build(&after), missing).unwrap() {
                let sum: f64 = c.parts.iter().map(|p| p.points).sum();
                prop_assert!((sum - (c.after - c.before)).abs() < 1e-9, "{} vs {}", sum, c.after - c.before);
                for p in &c.parts {
                    prop_assert!((p.from_sub_score + p.from_weight_share - p.points).abs() < 1e-9);
                }
            }
        }
    }
}

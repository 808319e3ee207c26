//! Sub-scores and weights -> one health score.

use crate::aggregate::{fixed_size_state, Accumulate};
use crate::error::{check_score, check_weight, finite, num, HealthError, Result};
use crate::format::fixed_fields;

/// How a missing (NULL) sub-score is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Leave it out and rescale the remaining weights.
    Renormalize,
    /// Count it as 0.
    Zero,
    /// Count it as 50.
    Neutral,
    /// Any missing metric makes the score NULL.
    Null,
    /// Any missing metric is an error (22004): for scores that must not
    /// quietly stand on fewer metrics than their weights name.
    Error,
}

impl Missing {
    pub fn parse(policy: &str) -> Result<Self> {
        match policy {
            // Both spellings: British docs and habits write "renormalise".
            "renormalize" | "renormalise" => Ok(Missing::Renormalize),
            "zero" => Ok(Missing::Zero),
            "neutral" => Ok(Missing::Neutral),
            "null" => Ok(Missing::Null),
            "error" => Ok(Missing::Error),
            other => Err(HealthError::invalid(format!(
                "missing must be one of 'renormalize', 'zero', 'neutral', 'null', 'error', got '{other}'"
            ))),
        }
    }

    /// The policy's name, as `parse` reads it (the American spelling).
    pub fn name(self) -> &'static str {
        match self {
            Missing::Renormalize => "renormalize",
            Missing::Zero => "zero",
            Missing::Neutral => "neutral",
            Missing::Null => "null",
            Missing::Error => "error",
        }
    }

    /// The score a missing metric counts as, or `None` when it is left out.
    pub fn imputed(self) -> Option<f64> {
        match self {
            Missing::Zero => Some(0.0),
            Missing::Neutral => Some(50.0),
            Missing::Renormalize | Missing::Null | Missing::Error => None,
        }
    }

    /// Under `'error'`, the error for a missing sub-score (`what`: `scores[2]`,
    /// `metric "nps"`); under the other policies, nothing.
    pub fn check_present(self, what: impl FnOnce() -> String) -> Result<()> {
        if self != Missing::Error {
            return Ok(());
        }
        Err(HealthError::null(format!(
            "the missing policy 'error' refuses a missing (NULL) sub-score: {}",
            what()
        ))
        .with_hint(
            "A sub-score is NULL when its input is: a NULL raw value, or a NULL profile (a segment that \
             matched no rows, a misspelt filter). Pass missing => 'renormalize', 'zero', 'neutral' or \
             'null' to score such accounts anyway.",
        ))
    }
}

/// `min_coverage` must be a share, 0..1.
pub fn check_min_coverage(min_coverage: f64) -> Result<f64> {
    let v = finite("min_coverage", min_coverage)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(HealthError::invalid(format!(
            "min_coverage must be between 0 and 1, got {}",
            num(v)
        )));
    }
    Ok(v)
}

/// Running totals over (score, weight) pairs; the one place where the
/// missing-data policies are applied, shared by `weighted_score` and the
/// scorecard accessors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    /// Sum of all weights.
    pub weight: f64,
    /// Sum of the weights of measured metrics.
    pub present_weight: f64,
    /// Sum of weight * score over measured metrics.
    pub weighted_sum: f64,
    /// Number of missing metrics (of any weight).
    pub missing: usize,
    /// The lowest and highest measured score of positive weight: a weighted
    /// mean lies between them, so the score is held there (a mean of equal
    /// scores is that score, whatever the rounding of the weights).
    pub range: ScoreRange,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            weight: 0.0,
            present_weight: 0.0,
            weighted_sum: 0.0,
            missing: 0,
            range: ScoreRange::EMPTY,
        }
    }
}

/// The lowest and highest of some scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub low: f64,
    pub high: f64,
}

impl ScoreRange {
    pub const EMPTY: ScoreRange = ScoreRange {
        low: f64::INFINITY,
        high: f64::NEG_INFINITY,
    };

    #[inline]
    pub fn add(&mut self, score: f64) {
        self.low = self.low.min(score);
        self.high = self.high.max(score);
    }

    pub fn merge(&mut self, other: &ScoreRange) {
        self.low = self.low.min(other.low);
        self.high = self.high.max(other.high);
    }

    /// `mean` held inside the range (when it holds anything).
    #[inline]
    pub fn hold(&self, mean: f64) -> f64 {
        if self.low <= self.high {
            mean.clamp(self.low, self.high)
        } else {
            mean
        }
    }
}

/// The hint of a score outside 0..100 in `weighted_score`.
fn out_of_range_score_hint() -> String {
    format!(
        "weighted_score combines sub-scores from 0 to 100: turn each raw metric into one first with a scale_* \
         function ({}), e.g. health.scale_log(logins, 0, 100). And the scores come first, the weights second: \
         name them to be sure, weighted_score(scores => ..., weights => ...)",
        crate::normalise::Normaliser::FUNCTIONS.join(", ")
    )
}

impl Totals {
    /// Validates and adds one element of `weighted_score`'s arrays. `index` (1-based) names it in errors.
    #[inline]
    pub fn add(&mut self, index: usize, score: Option<f64>, weight: f64) -> Result<()> {
        if !(weight >= 0.0 && weight.is_finite()) {
            check_weight(&format!("weights[{index}]"), weight)?;
        }
        if let Some(s) = score {
            if !(0.0..=100.0).contains(&s) {
                // A score out of range is often a raw metric where a
                // sub-score belongs, or a weight passed first.
                check_score(&format!("scores[{index}]"), s).map_err(|e| e.with_hint(out_of_range_score_hint()))?;
            }
        }
        self.add_valid(score, weight);
        Ok(())
    }

    /// Adds one metric already checked (a score in 0..100, a weight >= 0).
    #[inline]
    pub fn add_valid(&mut self, score: Option<f64>, weight: f64) {
        self.weight += weight;
        match score {
            Some(s) => {
                self.present_weight += weight;
                self.weighted_sum += weight * s;
                if weight > 0.0 {
                    self.range.add(s);
                }
            }
            None => self.missing += 1,
        }
    }

    /// Weight share of the measured metrics, 0..1.
    pub fn coverage(&self) -> f64 {
        if self.weight > 0.0 {
            self.present_weight / self.weight
        } else {
            0.0
        }
    }

    /// The health score under `missing`, or `None` (NULL) when the policy or
    /// `min_coverage` says there is none.
    pub fn score(&self, missing: Missing, min_coverage: f64) -> Result<Option<f64>> {
        if self.weight <= 0.0 {
            return Err(HealthError::invalid(
                "weights must include at least one positive weight",
            ));
        }
        if !(self.weight * 100.0).is_finite() {
            return Err(HealthError::out_of_range(
                "the sum of the weights is too large to compute",
            ));
        }
        if self.missing > 0 {
            missing.check_present(|| format!("{} of the metrics", self.missing))?;
        }
        if self.coverage() < min_coverage {
            return Ok(None);
        }
        let absent = self.weight - self.present_weight;
        let mut range = self.range;
        if let (Some(imputed), true) = (missing.imputed(), absent > 0.0) {
            range.add(imputed);
        }
        let score = match missing {
            Missing::Renormalize if self.present_weight > 0.0 => self.weighted_sum / self.present_weight,
            Missing::Renormalize => return Ok(None),
            Missing::Null if self.missing > 0 => return Ok(None),
            Missing::Null | Missing::Zero | Missing::Error => self.weighted_sum / self.weight,
            Missing::Neutral => (self.weighted_sum + 50.0 * absent) / self.weight,
        };
        // A mean can drift an ulp outside the values it averages.
        Ok(Some(range.hold(score).clamp(0.0, 100.0)))
    }
}

/// The weighted health score of `scores` (None = missing) with `weights`.
pub fn weighted_score<I>(scores: I, weights: &[f64], missing: Missing, min_coverage: f64) -> Result<Option<f64>>
where
    I: ExactSizeIterator<Item = Option<f64>>,
{
    let min_coverage = check_min_coverage(min_coverage)?;
    totals_of(scores, weights, missing)?.score(missing, min_coverage)
}

/// The weight share of the measured (non-NULL) elements of `scores`, 0..1:
/// what `weighted_score` stands on; `None` when every weight is 0.
pub fn coverage<I>(scores: I, weights: &[f64]) -> Result<Option<f64>>
where
    I: ExactSizeIterator<Item = Option<f64>>,
{
    let totals = totals_of(scores, weights, Missing::Renormalize)?;
    Ok((totals.weight > 0.0).then(|| totals.coverage()))
}

/// The totals of `scores` with `weights`, checked (`missing` refuses a
/// missing score under `'error'`, naming its element).
fn totals_of<I>(scores: I, weights: &[f64], missing: Missing) -> Result<Totals>
where
    I: ExactSizeIterator<Item = Option<f64>>,
{
    if scores.len() != weights.len() {
        return Err(HealthError::array(format!(
            "scores and weights must have the same length, got {} scores and {} weights",
            scores.len(),
            weights.len()
        )));
    }
    let mut totals = Totals::default();
    for (i, (s, &w)) in scores.zip(weights).enumerate() {
        if s.is_none() {
            missing.check_present(|| format!("scores[{}]", i + 1))?;
        }
        totals.add(i + 1, s, w)?;
    }
    Ok(totals)
}

/// Neumaier-compensated sum: the order of additions (serial vs parallel
/// plans) changes the result by far less than one unit in the last place of a
/// naive sum, so parallel and serial answers agree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompensatedSum {
    pub sum: f64,
    pub compensation: f64,
}

impl CompensatedSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub fn merge(&mut self, other: &CompensatedSum) {
        self.add(other.sum);
        self.add(other.compensation);
    }

    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        [self.sum, self.compensation].map(f64::to_le_bytes).concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = fixed_fields("sum", bytes, 2)?;
        let (sum, compensation) = (r.f64()?, r.f64()?);
        Ok(CompensatedSum { sum, compensation })
    }
}

/// State of `score_agg`: the weighted mean of measured scores, held within
/// the range of those scores (as [`Totals`] does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedMean {
    pub weighted_sum: CompensatedSum,
    pub weight: CompensatedSum,
    pub range: ScoreRange,
}

impl Default for WeightedMean {
    fn default() -> Self {
        WeightedMean {
            weighted_sum: CompensatedSum::default(),
            weight: CompensatedSum::default(),
            range: ScoreRange::EMPTY,
        }
    }
}

impl WeightedMean {
    /// Adds one row; a missing score is skipped, a missing weight is an error
    /// the caller reports (it has no value here).
    #[inline]
    pub fn add(&mut self, score: f64, weight: f64) -> Result<()> {
        if !(0.0..=100.0).contains(&score) {
            check_score("score", score)?;
        }
        if !(weight >= 0.0 && weight.is_finite()) {
            check_weight("weight", weight)?;
        }
        self.weighted_sum.add(weight * score);
        self.weight.add(weight);
        if weight > 0.0 {
            self.range.add(score);
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &WeightedMean) {
        self.weighted_sum.merge(&other.weighted_sum);
        self.weight.merge(&other.weight);
        self.range.merge(&other.range);
    }

    /// The weighted mean, `None` when no positive weight was seen.
    pub fn mean(&self) -> Result<Option<f64>> {
        let w = self.weight.value();
        if w <= 0.0 {
            return Ok(None);
        }
        if !(w * 100.0).is_finite() {
            return Err(HealthError::out_of_range(
                "the sum of the weights is too large to compute",
            ));
        }
        Ok(Some(self.range.hold(self.weighted_sum.value() / w).clamp(0.0, 100.0)))
    }

    /// Six float8s: the two compensated sums, the lowest and highest score.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.weighted_sum.sum,
            self.weighted_sum.compensation,
            self.weight.sum,
            self.weight.compensation,
            self.range.low,
            self.range.high,
        ]
        .map(f64::to_le_bytes)
        .concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = fixed_fields("score_agg", bytes, 6)?;
        let (sum, compensation, weight_sum) = (r.f64()?, r.f64()?, r.f64()?);
        let (weight_compensation, low, high) = (r.f64()?, r.f64()?, r.f64()?);
        Ok(WeightedMean {
            weighted_sum: CompensatedSum { sum, compensation },
            weight: CompensatedSum {
                sum: weight_sum,
                compensation: weight_compensation,
            },
            range: ScoreRange { low, high },
        })
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

fixed_size_state!(CompensatedSum);

/// `points`: one action's points, already decayed to `as_of`.
impl Accumulate<f64> for CompensatedSum {
    fn add_row(&mut self, points: f64) -> Result<()> {
        self.add(points);
        Ok(())
    }
}

fixed_size_state!(WeightedMean);

/// `score_agg`: (score, weight).
impl Accumulate<(f64, f64)> for WeightedMean {
    #[inline]
    fn add_row(&mut self, (score, weight): (f64, f64)) -> Result<()> {
        self.add(score, weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    fn ws(scores: &[Option<f64>], weights: &[f64], missing: Missing, min_cov: f64) -> Result<Option<f64>> {
        weighted_score(scores.iter().copied(), weights, missing, min_cov)
    }

    #[test]
    fn policies_on_a_known_example() {
        // 80 (w 30), missing (w 20), 40 (w 50)
        let s = [Some(80.0), None, Some(40.0)];
        let w = [30.0, 20.0, 50.0];
        // renormalize: (2400 + 2000) / 80 = 55
        assert_eq!(ws(&s, &w, Missing::Renormalize, 0.0).unwrap(), Some(55.0));
        // zero: 4400 / 100 = 44
        assert_eq!(ws(&s, &w, Missing::Zero, 0.0).unwrap(), Some(44.0));
        // neutral: (4400 + 1000) / 100 = 54
        assert_eq!(ws(&s, &w, Missing::Neutral, 0.0).unwrap(), Some(54.0));
        assert_eq!(ws(&s, &w, Missing::Null, 0.0).unwrap(), None);
        // error: refuses, naming the element
        let e = ws(&s, &w, Missing::Error, 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NullValue);
        assert_eq!(
            e.message,
            "the missing policy 'error' refuses a missing (NULL) sub-score: scores[2]"
        );
        assert!(e.hint.unwrap().contains("NULL profile"));
        // ...and with nothing missing scores as the others do: 4400 / 100
        assert_eq!(
            ws(&[Some(80.0), Some(0.0), Some(40.0)], &w, Missing::Error, 0.0).unwrap(),
            Some(44.0)
        );
        assert_eq!(Missing::parse("error").unwrap().name(), "error");
        // what the score stands on: 80 of 100
        assert_eq!(coverage(s.iter().copied(), &w).unwrap(), Some(0.8));
        assert_eq!(coverage([None].into_iter(), &[0.0]).unwrap(), None);
        assert_eq!(
            coverage([Some(1.0)].into_iter(), &[1.0, 2.0]).unwrap_err().kind,
            ErrorKind::ArraySubscript
        );
        // coverage 0.8
        assert_eq!(ws(&s, &w, Missing::Renormalize, 0.8).unwrap(), Some(55.0));
        assert_eq!(ws(&s, &w, Missing::Renormalize, 0.81).unwrap(), None);
        // nothing measured
        assert_eq!(ws(&[None, None], &[1.0, 1.0], Missing::Renormalize, 0.0).unwrap(), None);
        assert_eq!(
            ws(&[None, None], &[1.0, 1.0], Missing::Neutral, 0.0).unwrap(),
            Some(50.0)
        );
        // a missing metric of weight 0 still counts for 'null'
        assert_eq!(ws(&[Some(10.0), None], &[1.0, 0.0], Missing::Null, 0.0).unwrap(), None);
        assert_eq!(
            ws(&[Some(10.0), None], &[1.0, 0.0], Missing::Renormalize, 1.0).unwrap(),
            Some(10.0)
        );
    }

    #[test]
    fn a_raw_metric_where_a_sub_score_belongs_names_the_scale_functions() {
        let e = ws(&[Some(144.0), Some(25.0)], &[50.0, 50.0], Missing::Renormalize, 0.0).unwrap_err();
        assert_eq!(e.message, "scores[1] must be between 0 and 100, got 144");
        let hint = e.hint.unwrap();
        for function in crate::normalise::Normaliser::FUNCTIONS {
            assert!(hint.contains(function), "{hint}");
        }
        assert!(hint.contains("weighted_score(scores => ..., weights => ...)"));
    }

    #[test]
    fn errors_name_the_element() {
        let e = ws(&[Some(1.0)], &[1.0, 2.0], Missing::Zero, 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ArraySubscript);
        let e = ws(&[Some(1.0), Some(2.0)], &[1.0, -2.0], Missing::Zero, 0.0).unwrap_err();
        assert_eq!(e.message, "weights[2] must not be negative, got -2");
        let e = ws(&[Some(1.0)], &[0.0], Missing::Zero, 0.0).unwrap_err();
        assert_eq!(e.message, "weights must include at least one positive weight");
        let e = ws(&[Some(100.5)], &[1.0], Missing::Zero, 0.0).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::OutOfRange, "scores[1] must be between 0 and 100, got 100.5")
        );
        let e = ws(&[Some(f64::NAN)], &[1.0], Missing::Zero, 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            ws(&[Some(1.0)], &[1.0], Missing::Zero, 1.5).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            ws(&[Some(1.0)], &[f64::INFINITY], Missing::Zero, 0.0).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            ws(&[Some(1.0)], &[1e307], Missing::Zero, 0.0).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
        assert_eq!(Missing::parse("skip").unwrap_err().kind, ErrorKind::InvalidParameter);
    }

    #[test]
    fn weighted_mean_state_round_trips() {
        let mut m = WeightedMean::default();
        m.add(80.0, 2.0).unwrap();
        m.add(20.0, 1.0).unwrap();
        assert_eq!(m.mean().unwrap(), Some(60.0));
        assert_eq!(WeightedMean::from_bytes(&m.to_bytes()).unwrap(), m);
        assert!(WeightedMean::from_bytes(&[0u8; 3]).is_err());
        assert_eq!(WeightedMean::default().mean().unwrap(), None);
        assert!(m.add(101.0, 1.0).is_err());
        assert!(m.add(50.0, -1.0).is_err());
    }

    fn scores_and_weights() -> impl Strategy<Value = (Vec<Option<f64>>, Vec<f64>)> {
        (1usize..12).prop_flat_map(|n| {
            (
                prop::collection::vec(prop::option::weighted(0.8, 0.0f64..=100.0), n),
                prop::collection::vec(0.0f64..1000.0, n),
            )
        })
    }

    #[test]
    fn a_mean_of_equal_scores_is_that_score() {
        let three_70s = [Some(70.0); 3];
        assert_eq!(
            ws(&three_70s, &[0.1, 0.2, 0.3], Missing::Renormalize, 0.0).unwrap(),
            Some(70.0)
        );
        // only the ratios of the weights matter
        assert_eq!(
            ws(&three_70s, &[1.0, 2.0, 3.0], Missing::Renormalize, 0.0).unwrap(),
            Some(70.0)
        );
        // an imputed score widens the range it is held in
        assert_eq!(
            ws(&[Some(70.0), None], &[0.1, 0.1], Missing::Neutral, 0.0).unwrap(),
            Some(60.0)
        );
        let mut mean = WeightedMean::default();
        for w in [0.1, 0.2, 0.3] {
            mean.add(70.0, w).unwrap();
        }
        assert_eq!(mean.mean().unwrap(), Some(70.0));
    }

    proptest! {
        #[test]
        fn equal_scores_average_to_themselves(s in 0.0f64..=100.0, weights in prop::collection::vec(1e-6f64..1e6, 1..12)) {
            let scores = vec![Some(s); weights.len()];
            prop_assert_eq!(ws(&scores, &weights, Missing::Renormalize, 0.0).unwrap(), Some(s));
            let mut mean = WeightedMean::default();
            for &w in &weights {
                mean.add(s, w).unwrap();
            }
            prop_assert_eq!(mean.mean().unwrap(), Some(s));
        }

        #[test]
        fn a_score_lies_between_its_lowest_and_highest_sub_score(
            pairs in prop::collection::vec((0.0f64..=100.0, 1e-6f64..1e6), 1..12)
        ) {
            let scores: Vec<Option<f64>> = pairs.iter().map(|p| Some(p.0)).collect();
            let weights: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let v = ws(&scores, &weights, Missing::Renormalize, 0.0).unwrap().unwrap();
            let low = pairs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let high = pairs.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(low <= v && v <= high, "{v} outside {low}..{high}");
        }

        #[test]
        fn score_is_in_range((s, w) in scores_and_weights(), p in 0usize..4) {
            let missing = [Missing::Renormalize, Missing::Zero, Missing::Neutral, Missing::Null][p];
            if let Ok(Some(v)) = ws(&s, &w, missing, 0.0) {
                prop_assert!((0.0..=100.0).contains(&v));
            }
        }

        #[test]
        fn raising_a_sub_score_never_lowers_the_score(
            (s, w) in scores_and_weights(), idx in 0usize..12, bump in 0.0f64..100.0, p in 0usize..3
        ) {
            let missing = [Missing::Renormalize, Missing::Zero, Missing::Neutral][p];
            let i = idx % s.len();
            let mut raised = s.clone();
            raised[i] = s[i].map(|v| (v + bump).min(100.0));
            if let (Ok(Some(a)), Ok(Some(b))) = (ws(&s, &w, missing, 0.0), ws(&raised, &w, missing, 0.0)) {
                prop_assert!(b >= a - 1e-9, "{a} -> {b}");
            }
        }

        #[test]
        fn scaling_weights_changes_nothing((s, w) in scores_and_weights(), k in 1e-3f64..1e3, p in 0usize..4) {
            let missing = [Missing::Renormalize, Missing::Zero, Missing::Neutral, Missing::Null][p];
            let scaled: Vec<f64> = w.iter().map(|x| x * k).collect();
            match (ws(&s, &w, missing, 0.0), ws(&s, &scaled, missing, 0.0)) {
                (Ok(Some(a)), Ok(Some(b))) => prop_assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
                (Ok(None), Ok(None)) => {}
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "{a:?} vs {b:?}"),
            }
        }

        #[test]
        fn renormalize_without_missing_is_the_weighted_mean(
            n in 1usize..12, seed_s in prop::collection::vec(0.0f64..=100.0, 12), seed_w in prop::collection::vec(0.01f64..100.0, 12)
        ) {
            let s: Vec<Option<f64>> = seed_s[..n].iter().map(|&v| Some(v)).collect();
            let w = &seed_w[..n];
            let mean = seed_s[..n].iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>();
            let got = ws(&s, w, Missing::Renormalize, 0.0).unwrap().unwrap();
            prop_assert!((got - mean).abs() < 1e-9);
            // and with nothing missing, all policies agree
            for m in [Missing::Zero, Missing::Neutral, Missing::Null] {
                prop_assert!((ws(&s, w, m, 0.0).unwrap().unwrap() - got).abs() < 1e-9);
            }
        }

        #[test]
        fn weighted_mean_merge_equals_one_pass(rows in prop::collection::vec((0.0f64..=100.0, 0.0f64..100.0), 1..200), cut in 0usize..200) {
            let cut = cut % rows.len();
            let (mut all, mut left, mut right) = (WeightedMean::default(), WeightedMean::default(), WeightedMean::default());
            for (i, &(s, w)) in rows.iter().enumerate() {
                all.add(s, w).unwrap();
                if i < cut { left.add(s, w).unwrap() } else { right.add(s, w).unwrap() }
            }
            left.merge(&right);
            match (all.mean().unwrap(), left.mean().unwrap()) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0)),
                (a, b) => prop_assert_eq!(a, b),
            }
        }
    }
}

#[cfg(test)]
mod aggregate_state_tests {
    use super::*;
    use crate::aggregate::testing::{serially, split_and_merge};
    use crate::aggregate::AggregateState;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn weighted_mean_split_anywhere(rows in prop::collection::vec((0.0f64..=100.0, 0.0f64..10.0), 1..200), at in 0usize..200) {
            let split: WeightedMean = split_and_merge("score_agg", &rows, at);
            let serial: WeightedMean = serially("score_agg", &rows);
            let (a, b) = (split.mean().unwrap(), serial.mean().unwrap());
            match (a, b) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
                _ => prop_assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn fixed_size_states_refuse_other_lengths() {
        assert!(<WeightedMean as AggregateState>::deserialize(&[0; 31]).is_err());
        assert!(<CompensatedSum as AggregateState>::deserialize(&[0; 8]).is_err());
    }
}

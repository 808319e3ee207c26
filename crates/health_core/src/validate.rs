//! Does the score predict churn? (docs/reference.md §7): exact ROC AUC, lift,
//! calibration, Brier score, and L2-regularised logistic regression by
//! Newton/IRLS with suggested weights. The math only.

use serde_json::{json, Value};

use crate::aggregate::fields;
use crate::error::{finite, num, HealthError, Result};
use crate::format::{json_number, ByteReader, FIT_ROWS, OUTCOMES};
use crate::resources::{self, Ticker};
use crate::score::CompensatedSum;

/// Scores split by outcome, 8 bytes a row; merges by concatenation (answers
/// are computed from sorted scores, so row order never matters).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcomes {
    retained: Vec<f64>,
    churned: Vec<f64>,
    /// The aggregate's constant argument (`lift`'s fraction, `calibration`'s buckets).
    parameter: Option<f64>,
    /// The SQL aggregate that built the state (for messages; not serialised).
    pub aggregate: &'static str,
}

impl Outcomes {
    /// An empty state of the SQL aggregate `aggregate`.
    pub fn of(aggregate: &'static str) -> Outcomes {
        Outcomes {
            aggregate,
            ..Default::default()
        }
    }

    /// Records the aggregate's constant argument; it must not change within a group.
    pub fn set_parameter(&mut self, value: f64, name: &str) -> Result<()> {
        match self.parameter {
            Some(p) if p != value => Err(HealthError::invalid(format!(
                "{name} must be the same for the whole group, got {} and {}",
                num(p),
                num(value)
            ))),
            _ => {
                self.parameter = Some(value);
                Ok(())
            }
        }
    }

    pub fn parameter(&self) -> Option<f64> {
        self.parameter
    }

    pub fn add(&mut self, score: f64, churned: bool) -> Result<()> {
        finite("score", score)?;
        if churned {
            resources::push(&mut self.churned, score, "the state of churned accounts' scores")
        } else {
            resources::push(&mut self.retained, score, "the state of retained accounts' scores")
        }
    }

    pub fn merge(&mut self, other: &Outcomes) -> Result<()> {
        resources::extend(
            &mut self.retained,
            &other.retained,
            "the state of retained accounts' scores",
        )?;
        resources::extend(
            &mut self.churned,
            &other.churned,
            "the state of churned accounts' scores",
        )?;
        self.parameter = self.parameter.or(other.parameter);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.retained.len() + self.churned.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sorts the scores in place: the answers below walk sorted scores, and
    /// sorting the state itself (not a copy) keeps memory at 8 bytes a row.
    /// Row order carries no meaning in the state, so this changes nothing
    /// observable. Cancellable (see `resources::sort_scores`).
    fn sort(&mut self) {
        let mut ticker = Ticker::default();
        resources::sort_scores(&mut self.retained, &mut ticker);
        resources::sort_scores(&mut self.churned, &mut ticker);
    }

    /// P(random retained account scores higher than a random churned one),
    /// ties counting half: exact (Mann–Whitney U in integer arithmetic).
    /// `None` unless both outcomes occur.
    pub fn auc(&mut self) -> Option<f64> {
        if self.retained.is_empty() || self.churned.is_empty() {
            return None;
        }
        self.sort();
        let (retained, churned) = (&self.retained, &self.churned);
        // twice U: 2 per churned score below, 1 per equal one
        let (mut below, mut equal_end) = (0usize, 0usize);
        let mut twice_u: u128 = 0;
        let mut ticker = Ticker::default();
        for &r in retained {
            ticker.tick();
            while below < churned.len() && churned[below] < r {
                below += 1;
            }
            equal_end = equal_end.max(below);
            while equal_end < churned.len() && churned[equal_end] == r {
                equal_end += 1;
            }
            twice_u += 2 * below as u128 + (equal_end - below) as u128;
        }
        let pairs = 2 * retained.len() as u128 * churned.len() as u128;
        Some(twice_u as f64 / pairs as f64)
    }

    /// The stored form (`health.outcomes`): for each outcome, its distinct
    /// scores in ascending order with how many accounts have each. A
    /// function of the multiset of rows alone, so the same accounts give the
    /// same bytes whatever their order, plan or server, and merging stored
    /// outcomes (`rollup`) answers exactly as one aggregate over all rows.
    pub fn to_stored(&mut self) -> Result<Vec<u8>> {
        self.sort();
        stored_outcomes(&runs(&self.retained), &runs(&self.churned))
    }

    /// The outcomes of stored bytes, checked: finite scores strictly
    /// ascending within each outcome, every count at least 1.
    pub fn from_stored(bytes: &[u8]) -> Result<Outcomes> {
        let (retained, churned) = stored_runs(bytes)?;
        let mut out = Outcomes::of("outcomes");
        for (list, scores, what) in [
            (&retained, &mut out.retained, "the state of retained accounts' scores"),
            (&churned, &mut out.churned, "the state of churned accounts' scores"),
        ] {
            let total = list
                .iter()
                .try_fold(0usize, |n, &(_, c)| n.checked_add(usize::try_from(c).ok()?))
                .ok_or_else(|| HealthError::program_limit("outcomes: more accounts than this server can count"))?;
            resources::reserve(scores, total, what)?;
            let mut ticker = Ticker::default();
            for &(score, count) in list {
                ticker.tick();
                scores.extend(std::iter::repeat_n(score, count as usize));
            }
        }
        Ok(out)
    }

    /// Churn rate among the lowest-scored `fraction` of accounts over the
    /// overall churn rate. Accounts tied at the cut count pro rata, so the
    /// answer does not depend on row order. `None` without churn.
    pub fn lift(&mut self, fraction: f64) -> Result<Option<f64>> {
        finite("fraction", fraction)?;
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(HealthError::out_of_range(format!(
                "fraction must be in (0, 1], got {}",
                num(fraction)
            )));
        }
        let n = self.len();
        if self.churned.is_empty() || n == 0 {
            return Ok(None);
        }
        self.sort();
        let k = fraction * n as f64;
        // the score at the cut: the ceil(k)-th lowest of both sorted lists
        let rank = ((k.ceil() as usize).max(1)).min(n);
        let (retained, churned) = (&self.retained, &self.churned);
        let (mut r, mut c, mut cut) = (0usize, 0usize, 0.0);
        let mut ticker = Ticker::default();
        for _ in 0..rank {
            ticker.tick();
            if c >= churned.len() || (r < retained.len() && retained[r] <= churned[c]) {
                cut = retained[r];
                r += 1;
            } else {
                cut = churned[c];
                c += 1;
            }
        }
        let churned_below = churned.partition_point(|&s| s < cut);
        let churned_through = churned.partition_point(|&s| s <= cut);
        let below = retained.partition_point(|&s| s < cut) + churned_below;
        let through = retained.partition_point(|&s| s <= cut) + churned_through;
        let churned_at = (churned_through - churned_below) as f64;
        let share = (k - below as f64) / (through - below) as f64;
        let churned_low = churned_below as f64 + share.clamp(0.0, 1.0) * churned_at;
        let overall = churned.len() as f64 / n as f64;
        Ok(Some(churned_low / k / overall))
    }

    /// Per equal-width score bucket on 0..100: (bucket low, high, count,
    /// churned, mean score). Scores must be 0..100.
    pub fn calibration(&mut self, buckets: i64) -> Result<Vec<CalibrationBucket>> {
        if !(1..=1000).contains(&buckets) {
            return Err(HealthError::invalid(format!(
                "buckets must be between 1 and 1000, got {buckets}"
            )));
        }
        let b = buckets as usize;
        let mut out: Vec<CalibrationBucket> = (0..b)
            .map(|i| CalibrationBucket {
                low: 100.0 * i as f64 / b as f64,
                high: 100.0 * (i + 1) as f64 / b as f64,
                ..Default::default()
            })
            .collect();
        // Sorted: the sums then do not depend on row order or parallel splits.
        self.sort();
        let mut ticker = Ticker::default();
        for (scores, churned) in [(&self.retained, false), (&self.churned, true)] {
            for &s in scores.iter() {
                ticker.tick();
                if !(0.0..=100.0).contains(&s) {
                    return Err(HealthError::out_of_range(format!(
                        "score must be between 0 and 100, got {}",
                        num(s)
                    )));
                }
                let i = ((s / 100.0 * b as f64) as usize).min(b - 1);
                out[i].count += 1;
                out[i].churned += u64::from(churned);
                out[i].score_sum += s;
            }
        }
        Ok(out)
    }

    /// Bytes of the serial form of `rows` rows.
    pub fn serial_size(rows: usize) -> usize {
        rows.saturating_mul(8).saturating_add(16)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = resources::buffer(Self::serial_size(self.len()), "the serialised state")?;
        out.extend_from_slice(&self.parameter.unwrap_or(f64::NAN).to_le_bytes());
        out.extend_from_slice(&(self.retained.len() as u64).to_le_bytes());
        let mut ticker = Ticker::default();
        for v in self.retained.iter().chain(&self.churned) {
            ticker.tick();
            out.extend_from_slice(&v.to_le_bytes());
        }
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Outcomes> {
        let bad = || HealthError::text(format!("invalid outcome state of {} bytes", bytes.len()));
        if bytes.len() < 16 || !bytes.len().is_multiple_of(8) {
            return Err(bad());
        }
        let parameter = f64::from_le_bytes(bytes[..8].try_into().map_err(|_| bad())?);
        let n_retained = u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| bad())?) as usize;
        let n = (bytes.len() - 16) / 8;
        if n_retained > n {
            return Err(bad());
        }
        let mut retained = Vec::new();
        let mut churned = Vec::new();
        resources::reserve(&mut retained, n_retained, "the state of retained accounts' scores")?;
        resources::reserve(&mut churned, n - n_retained, "the state of churned accounts' scores")?;
        let mut ticker = Ticker::default();
        for (i, c) in bytes[16..].chunks_exact(8).enumerate() {
            ticker.tick();
            let v = f64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            if i < n_retained {
                retained.push(v);
            } else {
                churned.push(v);
            }
        }
        Ok(Outcomes {
            retained,
            churned,
            parameter: (!parameter.is_nan()).then_some(parameter),
            aggregate: "",
        })
    }
}

/// Sorted scores as (score, how many) runs: the stored form of one outcome.
type Runs = Vec<(f64, u64)>;

fn runs(sorted: &[f64]) -> Runs {
    let mut out: Vec<(f64, u64)> = Vec::new();
    for &s in sorted {
        match out.last_mut() {
            Some((v, n)) if *v == s => *n += 1,
            _ => out.push((s, 1)),
        }
    }
    out
}

/// The (retained, churned) runs of a stored `health.outcomes`, checked.
fn stored_runs(bytes: &[u8]) -> Result<(Runs, Runs)> {
    let (_, payload) = OUTCOMES.payload(bytes)?;
    let corrupt = || HealthError::text("invalid outcomes: the stored bytes are truncated or malformed");
    let mut r = ByteReader::new(payload, corrupt);
    let mut read = || -> Result<Runs> {
        let n = r.u64()? as usize;
        if n > payload.len() / 16 {
            return Err(corrupt());
        }
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let (score, count) = (r.f64()?, r.u64()?);
            check_run(&list, score, count)?;
            list.push((score, count));
        }
        Ok(list)
    };
    let retained = read()?;
    let churned = read()?;
    if !r.at_end() {
        return Err(corrupt());
    }
    Ok((retained, churned))
}

/// A run may follow `list`: a finite score above the last one, a count of at least 1.
fn check_run(list: &[(f64, u64)], score: f64, count: u64) -> Result<()> {
    finite("score", score).map_err(|e| HealthError::text(format!("invalid outcomes: {}", e.message)))?;
    if count == 0 {
        return Err(HealthError::text("invalid outcomes: every count must be at least 1"));
    }
    if list.last().is_some_and(|&(last, _)| last >= score) {
        return Err(HealthError::text(format!(
            "invalid outcomes: scores must be listed once each in ascending order, got {} after {}",
            num(score),
            num(list.last().map_or(score, |&(v, _)| v))
        )));
    }
    Ok(())
}

/// Checks stored outcomes (binary receive) without expanding them.
pub fn check_stored_outcomes(bytes: &[u8]) -> Result<()> {
    stored_runs(bytes).map(|_| ())
}

/// The text form of stored outcomes: `{"retained": [[score, count], ...], "churned": [...]}`.
pub fn outcomes_text(bytes: &[u8]) -> Result<String> {
    let (retained, churned) = stored_runs(bytes)?;
    let list = |runs: &[(f64, u64)]| -> Value {
        Value::Array(runs.iter().map(|&(s, c)| json!([json_number(s), c])).collect())
    };
    Ok(json!({"retained": list(&retained), "churned": list(&churned)}).to_string())
}

/// Stored outcomes from their text form (scores in ascending order, each once).
pub fn outcomes_from_text(text: &str) -> Result<Vec<u8>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Text {
        retained: Vec<(f64, u64)>,
        churned: Vec<(f64, u64)>,
    }
    let t: Text = serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid outcomes: {e}")))?;
    for list in [&t.retained, &t.churned] {
        for (i, &(score, count)) in list.iter().enumerate() {
            check_run(&list[..i], score, count)?;
        }
    }
    stored_outcomes(&t.retained, &t.churned)
}

/// Stored bytes of (retained, churned) runs: the header, then per outcome
/// how many runs and each (score, count).
fn stored_outcomes(retained: &[(f64, u64)], churned: &[(f64, u64)]) -> Result<Vec<u8>> {
    let mut out = resources::buffer(4 + 16 + 16 * (retained.len() + churned.len()), "the stored outcomes")?;
    OUTCOMES.write_header(&mut out);
    for list in [retained, churned] {
        out.extend_from_slice(&(list.len() as u64).to_le_bytes());
        for &(score, count) in list {
            out.extend_from_slice(&score.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalibrationBucket {
    pub low: f64,
    pub high: f64,
    pub count: u64,
    pub churned: u64,
    pub score_sum: f64,
}

/// Brier score accumulator: mean of (probability − outcome)²; a compensated
/// sum, so parallel and serial plans agree.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Brier {
    pub sum: CompensatedSum,
    pub count: u64,
}

impl Brier {
    pub fn add(&mut self, probability: f64, churned: bool) -> Result<()> {
        finite("probability", probability)?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(HealthError::out_of_range(format!(
                "probability must be between 0 and 1, got {}",
                num(probability)
            )));
        }
        let d = probability - f64::from(u8::from(churned));
        self.sum.add(d * d);
        self.count += 1;
        Ok(())
    }

    pub fn merge(&mut self, other: &Brier) {
        self.sum.merge(&other.sum);
        self.count += other.count;
    }

    pub fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum.value() / self.count as f64)
    }

    /// The compensated sum's two float8s, then the count.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.sum.sum.to_le_bytes(),
            self.sum.compensation.to_le_bytes(),
            self.count.to_le_bytes(),
        ]
        .concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Brier> {
        let [sum, compensation, count] = fields("Brier", bytes)?;
        Ok(Brier {
            sum: CompensatedSum {
                sum: f64::from_le_bytes(sum),
                compensation: f64::from_le_bytes(compensation),
            },
            count: u64::from_le_bytes(count),
        })
    }
}

// ---- logistic regression ----

/// What `fit_weights` does with a row whose features hold a NULL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FitMissing {
    /// An error naming the position (the default: a NULL must not pass unseen).
    #[default]
    Error,
    /// The row is left out, and counted in `rows_skipped`.
    Skip,
    /// The NULL counts as 0, as the score's `missing => 'zero'` scores it.
    Zero,
    /// The NULL counts as 50, as the score's `missing => 'neutral'` scores it.
    Neutral,
}

impl FitMissing {
    pub fn parse(policy: &str) -> Result<Self> {
        match policy {
            "error" => Ok(FitMissing::Error),
            "skip" => Ok(FitMissing::Skip),
            "zero" => Ok(FitMissing::Zero),
            "neutral" => Ok(FitMissing::Neutral),
            other => Err(HealthError::invalid(format!(
                "missing must be one of 'error', 'skip', 'zero', 'neutral', got '{other}'"
            ))),
        }
    }
}

/// One row of `fit_weights`' arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FitRow {
    pub features: Vec<Option<f64>>,
    pub churned: bool,
    /// The L2 penalty, when the call gives one.
    pub l2: Option<f64>,
    /// The features' names, when the call gives them (the same on every row).
    pub names: Option<Vec<String>>,
    pub missing: FitMissing,
}

/// Rows of features and outcomes, kept for the Newton iterations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Design {
    pub features: usize,
    pub x: Vec<f64>,
    pub y: Vec<bool>,
    /// The L2 penalty the aggregate was given (0 = none).
    pub l2: f64,
    /// The features' names, when the call gave them.
    pub names: Option<Vec<String>>,
    /// Rows left out by `missing => 'skip'`.
    pub skipped: u64,
    /// NULL features counted as 0 or 50 by `missing => 'zero' | 'neutral'`.
    pub imputed: u64,
}

impl Design {
    /// Bytes of the serial form of `rows` rows.
    pub fn serial_size(&self, rows: usize) -> usize {
        let names: usize = self.names.iter().flatten().map(|n| n.len() + 8).sum();
        rows.saturating_mul(self.features.saturating_mul(8).saturating_add(1))
            .saturating_add(48 + names)
    }

    /// Header (features, l2, rows), the features row by row, the outcomes,
    /// then (skipped, imputed, names + 1 or 0 for none) and each name as
    /// (length, UTF-8).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = resources::buffer(self.serial_size(self.rows()), "the serialised state")?;
        self.write_bytes(&mut out);
        Ok(out)
    }

    /// Appends the serial form (see `to_bytes`) to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.features as u64).to_le_bytes());
        out.extend_from_slice(&self.l2.to_le_bytes());
        out.extend_from_slice(&(self.y.len() as u64).to_le_bytes());
        let mut ticker = Ticker::default();
        for v in &self.x {
            ticker.tick();
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(self.y.iter().map(|&y| u8::from(y)));
        out.extend_from_slice(&self.skipped.to_le_bytes());
        out.extend_from_slice(&self.imputed.to_le_bytes());
        let names = self.names.as_ref().map_or(0, |n| n.len() as u64 + 1);
        out.extend_from_slice(&names.to_le_bytes());
        for name in self.names.iter().flatten() {
            out.extend_from_slice(&(name.len() as u64).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Design> {
        let bad = || HealthError::text(format!("invalid fit_weights state of {} bytes", bytes.len()));
        let u = |i: usize| -> Result<u64> {
            let b = bytes.get(i..i + 8).ok_or_else(bad)?;
            Ok(u64::from_le_bytes(b.try_into().map_err(|_| bad())?))
        };
        let (features, rows) = (u(0)? as usize, u(16)? as usize);
        let l2 = f64::from_bits(u(8)?);
        let x_len = features.checked_mul(rows).ok_or_else(bad)?;
        let tail = x_len
            .checked_mul(8)
            .and_then(|b| b.checked_add(24))
            .and_then(|b| b.checked_add(rows))
            .ok_or_else(bad)?;
        if bytes.len() < tail + 24 {
            return Err(bad());
        }
        let mut x = Vec::new();
        let mut y = Vec::new();
        resources::reserve(&mut x, x_len, "the fit_weights state")?;
        resources::reserve(&mut y, rows, "the fit_weights state")?;
        let mut ticker = Ticker::default();
        for c in bytes[24..24 + 8 * x_len].chunks_exact(8) {
            ticker.tick();
            x.push(f64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        y.extend(bytes[24 + 8 * x_len..tail].iter().map(|&b| b != 0));
        let (skipped, imputed, names_plus_one) = (u(tail)?, u(tail + 8)?, u(tail + 16)?);
        let mut at = tail + 24;
        let names = match names_plus_one {
            0 => None,
            n => {
                let mut names = Vec::new();
                for _ in 1..n {
                    let len = u(at)? as usize;
                    let text = bytes.get(at + 8..at + 8 + len).ok_or_else(bad)?;
                    names.push(String::from_utf8(text.to_vec()).map_err(|_| bad())?);
                    at += 8 + len;
                }
                Some(names)
            }
        };
        if at != bytes.len() {
            return Err(bad());
        }
        Ok(Design {
            features,
            x,
            y,
            l2,
            names,
            skipped,
            imputed,
        })
    }

    pub fn add(&mut self, row: &[f64], churned: bool) -> Result<()> {
        if self.y.is_empty() && self.features == 0 {
            if row.is_empty() {
                return Err(HealthError::array("features must have at least one element"));
            }
            self.features = row.len();
        } else if row.len() != self.features {
            return Err(HealthError::array(format!(
                "every row must have the same number of features, got {} after {}",
                row.len(),
                self.features
            )));
        }
        for (i, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                finite(&format!("features[{}]", i + 1), v)?;
            }
        }
        resources::extend(&mut self.x, row, "the fit_weights state")?;
        resources::push(&mut self.y, churned, "the fit_weights state")
    }

    /// Adds a row of the SQL call: names checked, NULLs handled by `missing`.
    pub fn add_row(&mut self, row: FitRow) -> Result<()> {
        if let Some(names) = row.names {
            if names.len() != row.features.len() {
                return Err(HealthError::array(format!(
                    "names must have one name per feature, got {} names for {} features",
                    names.len(),
                    row.features.len()
                )));
            }
            self.set_names(names)?;
        }
        let mut values = Vec::new();
        resources::reserve(&mut values, row.features.len(), "the fit_weights state")?;
        for (i, v) in row.features.iter().enumerate() {
            let imputed = match (v, row.missing) {
                (Some(v), _) => *v,
                (None, FitMissing::Skip) => {
                    self.skipped += 1;
                    return Ok(());
                }
                (None, FitMissing::Zero) => 0.0,
                (None, FitMissing::Neutral) => 50.0,
                (None, FitMissing::Error) => {
                    return Err(
                        HealthError::null(format!("features[{}] must not be NULL", i + 1)).with_hint(
                            "Impute it (coalesce(x, 50)), or pass a missing policy: \
                         fit_weights(features, churned, l2, names, 'skip' | 'zero' | 'neutral').",
                        ),
                    )
                }
            };
            values.push(imputed);
        }
        self.imputed += row.features.iter().filter(|v| v.is_none()).count() as u64;
        self.add(&values, row.churned)?;
        if let Some(l2) = row.l2 {
            self.l2 = l2;
        }
        Ok(())
    }

    fn set_names(&mut self, names: Vec<String>) -> Result<()> {
        match &self.names {
            Some(known) if *known != names => Err(HealthError::invalid(format!(
                "names must be the same on every row, got {} after {}",
                json!(names),
                json!(known)
            ))),
            Some(_) => Ok(()),
            None => {
                self.names = Some(names);
                Ok(())
            }
        }
    }

    pub fn merge(&mut self, other: &Design) -> Result<()> {
        if let Some(names) = &other.names {
            self.set_names(names.clone())?;
        }
        self.skipped += other.skipped;
        self.imputed += other.imputed;
        if other.y.is_empty() {
            return Ok(());
        }
        if !self.y.is_empty() && other.features != self.features {
            return Err(HealthError::array(format!(
                "every row must have the same number of features, got {} and {}",
                other.features, self.features
            )));
        }
        self.features = other.features;
        self.l2 = if self.y.is_empty() { other.l2 } else { self.l2 };
        resources::extend(&mut self.x, &other.x, "the fit_weights state")?;
        resources::extend(&mut self.y, &other.y, "the fit_weights state")
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }
}

// ---- the stored form of fit_weights' rows (health.fit_rows) ----

/// The rows of `fit_weights` as a value (`health.fit_rows`): the header,
/// then the aggregate's own serial form. Built where the rows are, merged
/// with `rollup`, fitted by `fit_weights(rows, l2)`. The penalty is the
/// fit's, not the rows': it is not kept.
pub fn design_to_stored(design: &Design) -> Result<Vec<u8>> {
    let mut out = resources::buffer(4 + design.serial_size(design.rows()), "the stored fit rows")?;
    FIT_ROWS.write_header(&mut out);
    design.write_bytes(&mut out);
    // the serial form's l2 (after its 8 bytes of feature count) is the fit's, not kept
    out[4 + 8..4 + 16].copy_from_slice(&0.0f64.to_le_bytes());
    Ok(out)
}

pub fn design_from_stored(bytes: &[u8]) -> Result<Design> {
    let (_, payload) = FIT_ROWS.payload(bytes)?;
    Design::from_bytes(payload)
        .map_err(|_| HealthError::text("invalid fit_rows: the stored bytes are truncated or malformed"))
}

/// The text form: `{"names": [...] or null, "features": [[...], ...], "churned": [...],
/// "skipped": n, "imputed": n}`.
pub fn fit_rows_text(bytes: &[u8]) -> Result<String> {
    let d = design_from_stored(bytes)?;
    let rows: Vec<Value> = (0..d.rows())
        .map(|i| {
            Value::Array(
                d.x[i * d.features..(i + 1) * d.features]
                    .iter()
                    .map(|&v| json_number(v))
                    .collect(),
            )
        })
        .collect();
    Ok(
        json!({"names": d.names, "features": rows, "churned": d.y, "skipped": d.skipped, "imputed": d.imputed})
            .to_string(),
    )
}

/// Stored fit rows from their text form, checked as the aggregate checks its rows.
pub fn fit_rows_from_text(text: &str) -> Result<Vec<u8>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Text {
        names: Option<Vec<String>>,
        features: Vec<Vec<f64>>,
        churned: Vec<bool>,
        #[serde(default)]
        skipped: u64,
        #[serde(default)]
        imputed: u64,
    }
    let t: Text = serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid fit_rows: {e}")))?;
    if t.features.len() != t.churned.len() {
        return Err(HealthError::text(format!(
            "invalid fit_rows: {} rows of features and {} outcomes",
            t.features.len(),
            t.churned.len()
        )));
    }
    let mut d = Design {
        skipped: t.skipped,
        imputed: t.imputed,
        ..Design::default()
    };
    for (row, &churned) in t.features.iter().zip(&t.churned) {
        d.add(row, churned)
            .map_err(|e| HealthError::text(format!("invalid fit_rows: {}", e.message)))?;
    }
    if let Some(names) = t.names {
        if !d.y.is_empty() && names.len() != d.features {
            return Err(HealthError::text(format!(
                "invalid fit_rows: {} names for {} features",
                names.len(),
                d.features
            )));
        }
        d.names = Some(names);
    }
    design_to_stored(&d)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    pub standard_errors: Vec<f64>,
    pub intercept_standard_error: f64,
    pub iterations: u32,
    pub converged: bool,
    pub log_likelihood: f64,
    pub auc: Option<f64>,
    /// Non-negative, summing to 100; `None` when no feature protects against churn.
    pub weights: Option<Vec<f64>>,
}

/// Solves `a x = b` for symmetric positive definite `a` (n×n, row-major) by
/// Cholesky; also returns the inverse's diagonal. `None` when `a` is not
/// positive definite (collinear features).
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 1e-12 * a[i * n + i].abs().max(1e-300) {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let solve = |rhs: &[f64]| {
        let mut z = rhs.to_vec();
        for i in 0..n {
            for k in 0..i {
                z[i] -= l[i * n + k] * z[k];
            }
            z[i] /= l[i * n + i];
        }
        for i in (0..n).rev() {
            for k in i + 1..n {
                z[i] -= l[k * n + i] * z[k];
            }
            z[i] /= l[i * n + i];
        }
        z
    };
    let x = solve(b);
    let diag = (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            solve(&e)[i]
        })
        .collect();
    Some((x, diag))
}

/// `b0 + b·x` for coefficients `[b0, b1, ...]`.
fn linear_predictor(beta: &[f64], x: &[f64]) -> f64 {
    beta[0] + x.iter().zip(&beta[1..]).map(|(a, b)| a * b).sum::<f64>()
}

/// One row's log-likelihood `y·η − ln(1 + e^η)`, stable for large |η|.
fn row_log_likelihood(eta: f64, y: f64) -> f64 {
    y * eta
        - if eta > 0.0 {
            eta + (-eta).exp().ln_1p()
        } else {
            eta.exp().ln_1p()
        }
}

/// Logistic regression of churn on the features (plus an intercept) by
/// Newton/IRLS, with an L2 penalty `l2 * Σβ²/2` on the coefficients (not the
/// intercept).
/// `calibration`'s answer: one object per bucket.
pub fn calibration_json(buckets: &[CalibrationBucket]) -> Value {
    Value::Array(
        buckets
            .iter()
            .map(|b| {
                json!({
                    "low": b.low,
                    "high": b.high,
                    "count": b.count,
                    "churned": b.churned,
                    "churn_rate": (b.count > 0).then(|| b.churned as f64 / b.count as f64),
                    "mean_score": (b.count > 0).then(|| b.score_sum / b.count as f64),
                })
            })
            .collect(),
    )
}

impl Fit {
    /// Per feature, `"keep"` when more of it means less churn (its
    /// coefficient is not positive, so it can carry weight), `"flip"` when
    /// more of it means more churn once the other features are accounted
    /// for: its sub-score wants the opposite direction
    /// (`higher_is_better` negated), and its weight here is 0.
    pub fn directions(&self) -> Vec<&'static str> {
        self.coefficients
            .iter()
            .map(|&c| if c > 0.0 { "flip" } else { "keep" })
            .collect()
    }

    /// `fit_weights`' answer, with what the design adds: rows, penalty,
    /// rows skipped and values imputed for NULLs, and, when the call named
    /// the features, `names` and `weights_by_name` (for `with_weights`).
    pub fn to_json(&self, design: &Design) -> Value {
        let mut answer = json!({
            "intercept": self.intercept,
            "coefficients": self.coefficients,
            "standard_errors": self.standard_errors,
            "intercept_standard_error": self.intercept_standard_error,
            "iterations": self.iterations,
            "converged": self.converged,
            "log_likelihood": self.log_likelihood,
            "auc": self.auc,
            "weights": self.weights,
            "directions": self.directions(),
            "rows": design.rows(),
            "rows_skipped": design.skipped,
            "values_imputed": design.imputed,
            "l2": design.l2,
        });
        if let (Some(names), Value::Object(o)) = (&design.names, &mut answer) {
            o.insert("names".into(), json!(names));
            let by_name = self
                .weights
                .as_ref()
                .map(|w| Value::Object(names.iter().cloned().zip(w.iter().map(|&w| json!(w))).collect()));
            o.insert("weights_by_name".into(), by_name.unwrap_or(Value::Null));
        }
        answer
    }
}

pub fn fit_logistic(d: &Design, l2: f64) -> Result<Fit> {
    let fit = newton(&d.x, &d.y, d.features, l2, None)?;
    let mut outcomes = Outcomes::default();
    let mut ticker = Ticker::default();
    for (i, &churned) in d.y.iter().enumerate() {
        ticker.tick();
        // retention score: lower churn odds = higher score
        outcomes.add(
            -linear_predictor(&fit.beta, &d.x[i * d.features..(i + 1) * d.features]),
            churned,
        )?;
    }
    let coefficients = fit.beta[1..].to_vec();
    let protective: Vec<f64> = coefficients.iter().map(|&c| (-c).max(0.0)).collect();
    let total: f64 = protective.iter().sum();
    let weights = (total > 0.0).then(|| protective.iter().map(|w| 100.0 * w / total).collect());
    Ok(Fit {
        intercept: fit.beta[0],
        standard_errors: fit.diag_inverse[1..].iter().map(|v| v.max(0.0).sqrt()).collect(),
        intercept_standard_error: fit.diag_inverse[0].max(0.0).sqrt(),
        coefficients,
        iterations: fit.iterations,
        converged: true,
        log_likelihood: fit.log_likelihood,
        auc: outcomes.auc(),
        weights,
    })
}

/// A logistic regression's coefficients (intercept first), the diagonal of
/// the inverse Hessian at them (0 for a coefficient held at its bound), the
/// Newton steps taken and the (penalised) log-likelihood.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub beta: Vec<f64>,
    pub diag_inverse: Vec<f64>,
    pub iterations: u32,
    pub log_likelihood: f64,
}

impl Logistic {
    /// The churn log-odds of one row of features.
    pub fn log_odds(&self, x: &[f64]) -> f64 {
        linear_predictor(&self.beta, x)
    }
}

/// Logistic regression of `y` on the `p` features of `x` (row-major) plus an
/// intercept, by Newton/IRLS with an L2 penalty `l2 * Σβ²/2` on the
/// coefficients (not the intercept).
///
/// With `nonpositive`, the coefficients it marks are held at or below 0 by
/// an active-set method: a coefficient at 0 whose gradient pushes it up stays
/// there, and a step that would cross 0 is shortened to land on it. This is
/// the fit under the constraint, not an unconstrained fit with its positive
/// coefficients zeroed afterwards.
pub fn newton(x: &[f64], y: &[bool], p: usize, l2: f64, nonpositive: Option<&[bool]>) -> Result<Logistic> {
    finite("l2", l2)?;
    if l2 < 0.0 {
        return Err(HealthError::invalid(format!(
            "l2 must not be negative, got {}",
            num(l2)
        )));
    }
    let n = y.len();
    let k = p + 1;
    if n <= k {
        return Err(HealthError::invalid(format!(
            "needs more rows than features + 1 (intercept), got {n} rows for {p} features"
        )));
    }
    let churned = y.iter().filter(|&&y| y).count();
    if churned == 0 || churned == n {
        return Err(HealthError::invalid(format!(
            "needs both churned and retained accounts, got {churned} of {n} churned"
        )));
    }
    let bounded = |a: usize| a > 0 && nonpositive.is_some_and(|b| b[a - 1]);
    let row = |i: usize| &x[i * p..(i + 1) * p];
    let mut beta = vec![0.0; k];
    // start the intercept at the overall log-odds
    let rate = churned as f64 / n as f64;
    beta[0] = (rate / (1.0 - rate)).ln();
    let mut converged = false;
    let mut iterations = 0;
    let mut log_likelihood = f64::NEG_INFINITY;
    let mut diag_inverse = vec![0.0; k];
    // Bounded coefficients at 0 that the active-set method keeps there.
    let mut held = vec![false; k];
    const MAX_ITERATIONS: u32 = 100;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let mut h = vec![0.0; k * k];
        let mut g = vec![0.0; k];
        let mut ll = 0.0;
        let mut ticker = Ticker::default();
        for i in 0..n {
            ticker.advance(k);
            let xi = row(i);
            let eta = linear_predictor(&beta, xi);
            let mu = 1.0 / (1.0 + (-eta).exp());
            let y = f64::from(u8::from(y[i]));
            ll += row_log_likelihood(eta, y);
            let w = mu * (1.0 - mu);
            let r = y - mu;
            g[0] += r;
            h[0] += w;
            for a in 0..p {
                g[a + 1] += r * xi[a];
                h[a + 1] += w * xi[a];
                for b in 0..=a {
                    h[(a + 1) * k + b + 1] += w * xi[a] * xi[b];
                }
            }
        }
        for a in 1..k {
            h[a * k] = h[a];
            for b in 0..a {
                h[b * k + a] = h[a * k + b];
            }
        }
        for a in 1..k {
            g[a] -= l2 * beta[a];
            h[a * k + a] += l2;
            ll -= 0.5 * l2 * beta[a] * beta[a];
        }
        // The free coefficients: all but those held at their bound of 0.
        let free: Vec<usize> = (0..k).filter(|&a| !held[a]).collect();
        let m = free.len();
        let mut h_free = vec![0.0; m * m];
        for (i, &a) in free.iter().enumerate() {
            for (j, &b) in free.iter().enumerate() {
                h_free[i * m + j] = h[a * k + b];
            }
        }
        let g_free: Vec<f64> = free.iter().map(|&a| g[a]).collect();
        let Some((step_free, diag_free)) = cholesky_solve(&h_free, &g_free, m) else {
            // At the first step every row has weight rate*(1-rate) > 0, so a
            // singular Hessian means the design itself is singular; later, it
            // means the fitted probabilities have run to 0 and 1.
            if iterations == 1 {
                return Err(HealthError::invalid(
                    "the features are collinear (one is a combination of the others, or constant); drop one or set l2 > 0",
                ));
            }
            break;
        };
        let mut step = vec![0.0; k];
        diag_inverse = vec![0.0; k];
        for (i, &a) in free.iter().enumerate() {
            step[a] = step_free[i];
            diag_inverse[a] = diag_free[i];
        }
        // Shorten a step that would carry a bounded coefficient above 0 so
        // that the first to reach 0 lands on it.
        let mut fraction = 1.0;
        let mut blocking = None;
        for a in (1..k).filter(|&a| bounded(a) && step[a] > 0.0 && beta[a] + step[a] > 0.0) {
            let to_bound = (-beta[a] / step[a]).max(0.0);
            if to_bound < fraction {
                fraction = to_bound;
                blocking = Some(a);
            }
        }
        for a in 0..k {
            beta[a] += fraction * step[a];
            if bounded(a) {
                beta[a] = beta[a].min(0.0); // rounding must not cross the bound
            }
        }
        if let Some(a) = blocking {
            beta[a] = 0.0;
            held[a] = true;
        }
        let change = step.iter().fold(0.0f64, |m, s| m.max((fraction * s).abs()));
        let improvement = (ll - log_likelihood).abs();
        log_likelihood = ll;
        if !beta.iter().all(|b| b.is_finite()) || beta.iter().any(|b| b.abs() > 1e6) {
            break;
        }
        if blocking.is_none() && (change < 1e-10 || improvement < 1e-12 * ll.abs().max(1.0) && change < 1e-6) {
            // Optimal on the free coefficients; a held one whose gradient
            // now pulls it below 0 is released (the one pulled hardest), and
            // the fit goes on; else this is the constrained optimum.
            let pulled = (1..k)
                .filter(|&a| held[a] && g[a] < 0.0)
                .min_by(|&a, &b| g[a].total_cmp(&g[b]));
            match pulled {
                Some(a) => held[a] = false,
                None => {
                    converged = true;
                    break;
                }
            }
        }
    }
    if !converged {
        return Err(HealthError::invalid(format!(
            "did not converge in {iterations} iterations: the features separate churned from retained accounts (almost) perfectly, so the coefficients grow without bound; set l2 > 0"
        )));
    }
    // log-likelihood at the final coefficients
    let mut ll = 0.0;
    let mut ticker = Ticker::default();
    for (i, &churned) in y.iter().enumerate() {
        ticker.tick();
        ll += row_log_likelihood(linear_predictor(&beta, row(i)), f64::from(u8::from(churned)));
    }
    Ok(Logistic {
        beta,
        diag_inverse,
        iterations,
        log_likelihood: ll,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcomes(rows: &[(f64, bool)]) -> Outcomes {
        let mut o = Outcomes::default();
        for &(s, c) in rows {
            o.add(s, c).unwrap();
        }
        o
    }

    /// O(n²) definition, for checking.
    fn auc_by_pairs(rows: &[(f64, bool)]) -> Option<f64> {
        let (mut sum, mut pairs) = (0.0, 0.0);
        for &(r, rc) in rows.iter().filter(|p| !p.1) {
            let _ = rc;
            for &(c, _) in rows.iter().filter(|p| p.1) {
                pairs += 1.0;
                sum += if r > c {
                    1.0
                } else if r == c {
                    0.5
                } else {
                    0.0
                };
            }
        }
        (pairs > 0.0).then(|| sum / pairs)
    }

    #[test]
    fn states_round_trip() {
        let mut o = outcomes(&[(80.0, false), (20.0, true)]);
        o.set_parameter(0.2, "fraction").unwrap();
        assert_eq!(Outcomes::from_bytes(&o.to_bytes().unwrap()).unwrap(), o);
        assert!(o.set_parameter(0.3, "fraction").is_err());
        let mut d = Design {
            l2: 0.5,
            ..Default::default()
        };
        d.add(&[1.0, 2.0], true).unwrap();
        d.add(&[3.0, 4.0], false).unwrap();
        assert_eq!(Design::from_bytes(&d.to_bytes().unwrap()).unwrap(), d);
    }

    fn fit_row(features: &[Option<f64>], missing: FitMissing, names: Option<&[&str]>) -> FitRow {
        FitRow {
            features: features.to_vec(),
            churned: features[0].is_none(),
            names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
            missing,
            ..Default::default()
        }
    }

    #[test]
    fn null_features_follow_the_missing_policy() {
        let rows = [[Some(10.0), Some(20.0)], [None, Some(30.0)], [Some(40.0), None]];
        let design = |missing| {
            let mut d = Design::default();
            for r in &rows {
                d.add_row(fit_row(r, missing, Some(&["logins", "nps"]))).unwrap();
            }
            d
        };
        let skip = design(FitMissing::Skip);
        assert_eq!((skip.rows(), skip.skipped, skip.imputed), (1, 2, 0));
        assert_eq!(skip.x, [10.0, 20.0]);
        let neutral = design(FitMissing::Neutral);
        assert_eq!((neutral.rows(), neutral.skipped, neutral.imputed), (3, 0, 2));
        assert_eq!(neutral.x, [10.0, 20.0, 50.0, 30.0, 40.0, 50.0]);
        assert_eq!(design(FitMissing::Zero).x, [10.0, 20.0, 0.0, 30.0, 40.0, 0.0]);
        // names, counts and rows survive the serial form
        assert_eq!(Design::from_bytes(&neutral.to_bytes().unwrap()).unwrap(), neutral);
        let error = Design::default()
            .add_row(fit_row(&rows[2], FitMissing::Error, None))
            .unwrap_err();
        assert!(error.to_string().contains("features[2] must not be NULL"));
        assert!(error.hint.unwrap().contains("'skip'"));
    }

    #[test]
    fn names_are_one_per_feature_and_the_same_everywhere() {
        let mut d = Design::default();
        let row = [Some(1.0), Some(2.0)];
        assert!(d.add_row(fit_row(&row, FitMissing::Error, Some(&["a"]))).is_err());
        d.add_row(fit_row(&row, FitMissing::Error, Some(&["a", "b"]))).unwrap();
        assert!(d.add_row(fit_row(&row, FitMissing::Error, Some(&["a", "c"]))).is_err());
        let mut other = Design::default();
        other
            .add_row(fit_row(&row, FitMissing::Error, Some(&["b", "a"])))
            .unwrap();
        assert!(d.merge(&other).is_err());
        assert!(FitMissing::parse("impute").unwrap_err().to_string().contains("'skip'"));
    }

    #[test]
    fn weights_by_name_pair_names_with_weights() {
        let mut d = Design::default();
        for i in 0..40 {
            let (a, b) = (f64::from(i % 10) * 10.0, f64::from(i % 7) * 10.0);
            let mut row = fit_row(&[Some(a), Some(b)], FitMissing::Error, Some(&["logins", "nps"]));
            row.churned = a + b < 70.0;
            row.l2 = Some(1.0);
            d.add_row(row).unwrap();
        }
        let fit = fit_logistic(&d, d.l2).unwrap();
        let answer = fit.to_json(&d);
        let weights = fit.weights.clone().unwrap();
        assert_eq!(answer["weights_by_name"]["logins"], json!(weights[0]));
        assert_eq!(answer["weights_by_name"]["nps"], json!(weights[1]));
        assert_eq!(answer["names"], json!(["logins", "nps"]));
        assert_eq!(answer["rows"], json!(40));
    }

    #[test]
    fn auc_small_cases() {
        // retained 80, 60; churned 60, 20: pairs (80>60)=1, (80>20)=1, (60=60)=.5, (60>20)=1 -> 3.5/4
        assert_eq!(
            outcomes(&[(80.0, false), (60.0, false), (60.0, true), (20.0, true)]).auc(),
            Some(0.875)
        );
        assert_eq!(outcomes(&[(50.0, false), (50.0, true)]).auc(), Some(0.5));
        assert_eq!(outcomes(&[(90.0, false), (10.0, true)]).auc(), Some(1.0));
        assert_eq!(outcomes(&[(90.0, false)]).auc(), None);
    }

    #[test]
    fn lift_counts_ties_pro_rata() {
        // 10 accounts, 2 churned overall (20 %); the lowest 10 % is the one at score 1, churned -> 100 % / 20 % = 5
        let rows: Vec<(f64, bool)> = (1..=10).map(|s| (s as f64, s == 1 || s == 7)).collect();
        assert_eq!(outcomes(&rows).lift(0.1).unwrap(), Some(5.0));
        assert_eq!(outcomes(&rows).lift(1.0).unwrap(), Some(1.0));
        // all tied: any fraction has the overall rate
        let tied: Vec<(f64, bool)> = (0..10).map(|i| (5.0, i < 3)).collect();
        assert!((outcomes(&tied).lift(0.25).unwrap().unwrap() - 1.0).abs() < 1e-12);
        assert!(outcomes(&rows).lift(0.0).is_err());
    }

    #[test]
    fn logistic_fit_of_a_small_case() {
        // Not separable: the MLE exists.
        let mut d = Design::default();
        for (x, y) in [
            (1.0, true),
            (2.0, true),
            (3.0, false),
            (4.0, true),
            (5.0, false),
            (6.0, false),
            (2.5, false),
            (4.5, true),
        ] {
            d.add(&[x], y).unwrap();
        }
        let fit = fit_logistic(&d, 0.0).unwrap();
        assert!(fit.converged && fit.coefficients[0] < 0.0);
        // at the MLE the score equations hold: sum(y - mu) = 0 and sum(x (y - mu)) = 0
        let (mut g0, mut g1) = (0.0, 0.0);
        for i in 0..d.rows() {
            let x = d.x[i];
            let mu = 1.0 / (1.0 + (-(fit.intercept + fit.coefficients[0] * x)).exp());
            let y = f64::from(u8::from(d.y[i]));
            g0 += y - mu;
            g1 += x * (y - mu);
        }
        assert!(g0.abs() < 1e-9 && g1.abs() < 1e-9, "{g0} {g1}");
        assert_eq!(fit.weights, Some(vec![100.0]));
    }

    #[test]
    fn fit_errors() {
        let mut sep = Design::default();
        for (x, y) in [(1.0, true), (2.0, true), (3.0, false), (4.0, false)] {
            sep.add(&[x], y).unwrap();
        }
        assert!(fit_logistic(&sep, 0.0)
            .unwrap_err()
            .message
            .contains("did not converge"));
        assert!(fit_logistic(&sep, 1.0).unwrap().converged);
        let mut col = Design::default();
        for (x, y) in [(1.0, true), (2.0, false), (3.0, true), (4.0, false), (5.0, true)] {
            col.add(&[x, 2.0 * x], y).unwrap();
        }
        assert!(fit_logistic(&col, 0.0).unwrap_err().message.contains("collinear"));
        let mut one = Design::default();
        for x in [1.0, 2.0, 3.0] {
            one.add(&[x], false).unwrap();
        }
        assert!(fit_logistic(&one, 0.0)
            .unwrap_err()
            .message
            .contains("both churned and retained"));
        let mut d = Design::default();
        d.add(&[1.0, 2.0], true).unwrap();
        assert_eq!(d.add(&[1.0], true).unwrap_err().kind, crate::ErrorKind::ArraySubscript);
    }

    proptest! {
        #[test]
        fn auc_equals_pair_definition(rows in prop::collection::vec(((0u8..20).prop_map(f64::from), any::<bool>()), 0..60)) {
            prop_assert_eq!(outcomes(&rows).auc(), auc_by_pairs(&rows));
        }

        #[test]
        fn lift_equals_definition(
            rows in prop::collection::vec(((0u8..8).prop_map(f64::from), any::<bool>()), 1..60),
            fraction in 0.01f64..=1.0,
        ) {
            let got = outcomes(&rows).lift(fraction).unwrap();
            prop_assert_eq!(got, lift_by_definition(&rows, fraction));
        }

        #[test]
        fn answers_do_not_depend_on_row_order(
            rows in prop::collection::vec(((0u8..8).prop_map(f64::from), any::<bool>()), 1..60),
            fraction in 0.01f64..=1.0,
        ) {
            let mut reversed = rows.clone();
            reversed.reverse();
            let (mut a, mut b) = (outcomes(&rows), outcomes(&reversed));
            prop_assert_eq!(a.auc(), b.auc());
            prop_assert_eq!(a.lift(fraction).unwrap(), b.lift(fraction).unwrap());
            prop_assert_eq!(a.calibration(7).unwrap(), b.calibration(7).unwrap());
        }

        #[test]
        fn stored_outcomes_split_anyhow_merge_to_the_same_answers(
            rows in prop::collection::vec(((0u16..400).prop_map(|v| f64::from(v) / 4.0), any::<bool>()), 1..80),
            cut in 0usize..80,
            fraction in 0.01f64..=1.0,
        ) {
            let cut = cut.min(rows.len());
            let (mut first, mut second) = (outcomes(&rows[..cut]), outcomes(&rows[cut..]));
            // each part stored, read back (text too) and merged
            let mut merged = Outcomes::from_stored(&first.to_stored().unwrap()).unwrap();
            let text = outcomes_text(&second.to_stored().unwrap()).unwrap();
            merged.merge(&Outcomes::from_stored(&outcomes_from_text(&text).unwrap()).unwrap()).unwrap();
            let mut whole = outcomes(&rows);
            prop_assert_eq!(merged.auc(), whole.auc());
            prop_assert_eq!(merged.lift(fraction).unwrap(), whole.lift(fraction).unwrap());
            prop_assert_eq!(merged.calibration(9).unwrap(), whole.calibration(9).unwrap());
            // the same rows give the same bytes, whatever the split
            prop_assert_eq!(merged.to_stored().unwrap(), whole.to_stored().unwrap());
        }
    }

    #[test]
    fn stored_fit_rows_round_trip_and_merge_to_the_same_fit() {
        let mut whole = Design::default();
        let mut parts = [Design::default(), Design::default()];
        for i in 0..400u32 {
            let (a, b) = (f64::from(i % 37), f64::from((i * 7) % 23));
            let churned = (a + 2.0 * b + f64::from(i % 5)) < 30.0;
            whole.add(&[a, b], churned).unwrap();
            parts[(i % 2) as usize].add(&[a, b], churned).unwrap();
        }
        let text = fit_rows_text(&design_to_stored(&parts[1]).unwrap()).unwrap();
        let mut merged = design_from_stored(&design_to_stored(&parts[0]).unwrap()).unwrap();
        merged
            .merge(&design_from_stored(&fit_rows_from_text(&text).unwrap()).unwrap())
            .unwrap();
        assert_eq!(merged.rows(), 400);
        let (a, b) = (fit_logistic(&merged, 0.0).unwrap(), fit_logistic(&whole, 0.0).unwrap());
        for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
        assert_eq!(a.auc, b.auc);
        let bad = |t: &str| fit_rows_from_text(t).unwrap_err().message;
        assert_eq!(
            bad(r#"{"names": null, "features": [[1, 2]], "churned": []}"#),
            "invalid fit_rows: 1 rows of features and 0 outcomes"
        );
        assert_eq!(
            bad(r#"{"names": null, "features": [[1, 2], [3]], "churned": [true, false]}"#),
            "invalid fit_rows: every row must have the same number of features, got 1 after 2"
        );
        assert_eq!(
            bad(r#"{"names": ["a"], "features": [[1, 2]], "churned": [true]}"#),
            "invalid fit_rows: 1 names for 2 features"
        );
        assert!(bad(r#"{"features": [], "churned": [], "l2": 1}"#).starts_with("invalid fit_rows: unknown field"));
        assert!(design_from_stored(b"garbage").is_err());
    }

    #[test]
    fn stored_outcomes_text_and_errors() {
        let mut o = outcomes(&[
            (80.0, false),
            (60.0, false),
            (60.0, true),
            (20.0, true),
            (60.0, true),
            (12.5, false),
        ]);
        let bytes = o.to_stored().unwrap();
        let text = outcomes_text(&bytes).unwrap();
        assert!(text.contains(r#""retained":[[12.5,1],[60,1],[80,1]]"#), "{text}");
        assert!(text.contains(r#""churned":[[20,1],[60,2]]"#), "{text}");
        assert_eq!(outcomes_from_text(&text).unwrap(), bytes);
        check_stored_outcomes(&bytes).unwrap();
        let bad = |t: &str| outcomes_from_text(t).unwrap_err().message;
        assert_eq!(
            bad(r#"{"retained": [[60, 1], [20, 1]], "churned": []}"#),
            "invalid outcomes: scores must be listed once each in ascending order, got 20 after 60"
        );
        assert_eq!(
            bad(r#"{"retained": [[60, 0]], "churned": []}"#),
            "invalid outcomes: every count must be at least 1"
        );
        assert!(bad(r#"{"retained": [], "churned": [], "extra": 1}"#).starts_with("invalid outcomes: unknown field"));
        assert!(bad(r#"{"retained": [[60, -1]], "churned": []}"#).starts_with("invalid outcomes:"));
        assert!(bad(r#"{"retained": []}"#).starts_with("invalid outcomes: missing field"));
        // truncated, foreign and corrupted bytes
        assert!(Outcomes::from_stored(&bytes[..bytes.len() - 3]).is_err());
        assert!(Outcomes::from_stored(b"{}").is_err());
        let mut descending = bytes.clone();
        descending[12..20].copy_from_slice(&99.0f64.to_le_bytes()); // first retained score above the next
        assert!(Outcomes::from_stored(&descending).is_err());
        let empty = outcomes_from_text(r#"{"retained": [], "churned": []}"#).unwrap();
        assert!(Outcomes::from_stored(&empty).unwrap().is_empty());
    }

    /// Lift by its definition: sort all rows, take the lowest `fraction · n`
    /// accounts, the accounts tied at the cut pro rata.
    fn lift_by_definition(rows: &[(f64, bool)], fraction: f64) -> Option<f64> {
        let n = rows.len() as f64;
        let churned = rows.iter().filter(|r| r.1).count() as f64;
        if churned == 0.0 {
            return None;
        }
        let k = fraction * n;
        let mut scores: Vec<f64> = rows.iter().map(|r| r.0).collect();
        scores.sort_by(f64::total_cmp);
        let cut = scores[(k.ceil() as usize).max(1) - 1];
        let count = |pred: &dyn Fn(&(f64, bool)) -> bool| rows.iter().filter(|r| pred(r)).count() as f64;
        let below = count(&|r| r.0 < cut);
        let at = count(&|r| r.0 == cut);
        let churned_below = count(&|r| r.0 < cut && r.1);
        let churned_at = count(&|r| r.0 == cut && r.1);
        let churned_low = churned_below + ((k - below) / at).clamp(0.0, 1.0) * churned_at;
        Some(churned_low / k / (churned / n))
    }
}

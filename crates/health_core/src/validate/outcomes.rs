//! Scores with their outcomes, kept as sorted runs: exact ROC AUC, lift
//! and calibration, the stored form `health.outcomes`, and the state of the
//! `auc`, `lift`, `calibration` and `outcomes` aggregates.

use serde_json::{json, Value};

use crate::aggregate::{Accumulate, AggregateState};
use crate::error::{finite, num, HealthError, Result};
use crate::format::{json_number, ByteReader, OUTCOMES};
use crate::resources::{self, Ticker};

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

// ---- as an aggregate's state (see aggregate.rs) ----

impl AggregateState for Outcomes {
    fn start(aggregate: &'static str) -> Result<Self> {
        Ok(Outcomes::of(aggregate))
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Outcomes::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        self.to_bytes()
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Outcomes::from_bytes(bytes)
    }

    fn held_rows(&self) -> Option<usize> {
        Some(self.len())
    }

    fn serial_size(&self, rows: usize) -> usize {
        Outcomes::serial_size(rows)
    }

    fn aggregate(&self) -> Option<&'static str> {
        (!self.aggregate.is_empty()).then_some(self.aggregate)
    }
}

/// One row of `auc`, `lift` or `calibration`: the (score, churned) pair when
/// both are known, and the aggregate's constant argument (`lift`'s
/// fraction, `calibration`'s buckets) with its name, which must not change
/// within a group.
#[derive(Clone, Copy, Debug)]
pub struct OutcomeRow {
    pub scored: Option<(f64, bool)>,
    pub parameter: Option<(f64, &'static str)>,
}

impl Accumulate<OutcomeRow> for Outcomes {
    fn add_row(&mut self, row: OutcomeRow) -> Result<()> {
        if let Some((value, name)) = row.parameter {
            self.set_parameter(value, name)?;
        }
        match row.scored {
            Some((score, churned)) => self.add(score, churned),
            None => Ok(()),
        }
    }
}

/// `rollup(outcomes)`: a stored value's outcomes join the group's.
impl Accumulate<Outcomes> for Outcomes {
    fn add_row(&mut self, row: Outcomes) -> Result<()> {
        self.merge(&row)
    }
}

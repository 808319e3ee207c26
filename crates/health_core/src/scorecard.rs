//! The long-format scorecard: one (metric, score, weight) per metric of an
//! account, with its breakdown and roll-ups.
//!
//! A `Scorecard` is both the `scorecard` aggregate's transition state
//! (entries in arrival order, duplicates not yet checked) and, after
//! [`Scorecard::finish`], the stored result (sorted by metric, unique).
//! Names live in one buffer so a scorecard costs two allocations, not one
//! per metric.

use crate::aggregate::{merging_state, Accumulate};
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Number, Value};

use crate::error::{check_score, check_weight, finite, num, ErrorKind, HealthError, Result};
use crate::format::{ByteReader, SCORECARD};
use crate::resources;
use crate::score::{check_min_coverage, CompensatedSum, Missing, Totals};

/// 24 bytes: a missing score is stored as NaN (never a valid score), which
/// keeps a million per-account states small.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    raw_score: f64,
    weight: f64,
}

impl Entry {
    fn score(&self) -> Option<f64> {
        (!self.raw_score.is_nan()).then_some(self.raw_score)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.start, self.len, self.score(), self.weight) == (other.start, other.len, other.score(), other.weight)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scorecard {
    names: String,
    entries: Vec<Entry>,
}

/// One metric's share of a score (see [`Scorecard::contributions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution<'a> {
    pub metric: &'a str,
    /// The measured score; `None` for a missing metric.
    pub score: Option<f64>,
    pub weight: f64,
    /// weight / weight counted in the score (0 for a metric left out).
    pub weight_share: f64,
    /// weight_share * score counted; the points sum to the score.
    pub points: f64,
    /// weight_share * (100 - score counted); they sum to 100 - score.
    pub points_lost: f64,
}

impl Scorecard {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty scorecard with room for a typical account (up to 12
    /// metrics) without reallocating: one per group in the aggregate.
    /// An empty scorecard with room for a typical account (8 metrics, 96
    /// bytes of names; it grows beyond), or 53200 when even that cannot be
    /// had. Small, because a million groups each hold one.
    pub fn with_room() -> Result<Self> {
        let mut card = Scorecard::default();
        card.reserve(8, 96)?;
        Ok(card)
    }

    /// Room for `metrics` more metrics with `name_bytes` more bytes of names.
    fn reserve(&mut self, metrics: usize, name_bytes: usize) -> Result<()> {
        resources::reserve(&mut self.entries, metrics, "the scorecard state")?;
        if self.names.capacity() - self.names.len() < name_bytes {
            let grow = name_bytes.max(self.names.capacity());
            if self.names.try_reserve(grow).is_err() {
                self.names.try_reserve_exact(name_bytes).map_err(|_| {
                    HealthError::out_of_memory(format!(
                        "out of memory: the scorecard state holds {} metrics and could not grow",
                        self.entries.len()
                    ))
                })?;
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn name(&self, e: &Entry) -> &str {
        &self.names[e.start as usize..(e.start + e.len) as usize]
    }

    /// (metric, score, weight) in stored order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<f64>, f64)> + '_ {
        self.entries.iter().map(move |e| (self.name(e), e.score(), e.weight))
    }

    /// Adds one metric, validating its score and weight.
    pub fn push(&mut self, metric: &str, score: Option<f64>, weight: f64) -> Result<()> {
        if let Some(s) = score {
            if !(0.0..=100.0).contains(&s) {
                check_score(&format!("score of metric \"{metric}\""), s)?;
            }
        }
        if !(weight >= 0.0 && weight.is_finite()) {
            check_weight(&format!("weight of metric \"{metric}\""), weight)?;
        }
        self.push_unchecked(metric, score, weight)
    }

    fn push_unchecked(&mut self, metric: &str, score: Option<f64>, weight: f64) -> Result<()> {
        self.reserve(1, metric.len())?;
        let start = self.names.len() as u32;
        self.names.push_str(metric);
        self.entries.push(Entry {
            start,
            len: metric.len() as u32,
            raw_score: score.unwrap_or(f64::NAN),
            weight,
        });
        Ok(())
    }

    /// Appends another state's metrics (the combine step of the aggregate).
    pub fn merge(&mut self, other: &Scorecard) -> Result<()> {
        self.reserve(other.entries.len(), other.names.len())?;
        for (m, s, w) in other.iter() {
            self.push_unchecked(m, s, w)?;
        }
        Ok(())
    }

    /// Sorts by metric and rejects a metric seen twice: the result no longer
    /// depends on the order rows arrived in, serial or parallel.
    pub fn finish(&self) -> Result<Scorecard> {
        let mut order: Vec<&Entry> = self.entries.iter().collect();
        order.sort_unstable_by(|a, b| self.name(a).cmp(self.name(b)));
        let mut out = Scorecard::default();
        out.reserve(order.len(), self.names.len())?;
        for (i, e) in order.iter().enumerate() {
            if i > 0 && self.name(order[i - 1]) == self.name(e) {
                return Err(self.duplicate(self.name(e)));
            }
            out.push_unchecked(self.name(e), e.score(), e.weight)?;
        }
        Ok(out)
    }

    /// `finish()` straight to the binary form, without building the sorted
    /// scorecard first (the aggregate's final step, once per group).
    pub fn finish_to_bytes(&self) -> Result<Vec<u8>> {
        let mut order: Vec<&Entry> = self.entries.iter().collect();
        order.sort_unstable_by(|a, b| self.name(a).cmp(self.name(b)));
        let mut out = Vec::with_capacity(8 + order.len() * 20 + self.names.len());
        SCORECARD.write_header(&mut out);
        out.extend_from_slice(&(order.len() as u32).to_le_bytes());
        for (i, e) in order.iter().enumerate() {
            if i > 0 && self.name(order[i - 1]) == self.name(e) {
                return Err(self.duplicate(self.name(e)));
            }
            out.extend_from_slice(&e.len.to_le_bytes());
            out.extend_from_slice(&e.raw_score.to_le_bytes());
            out.extend_from_slice(&e.weight.to_le_bytes());
        }
        for e in order {
            out.extend_from_slice(self.name(e).as_bytes());
        }
        Ok(out)
    }

    /// The totals of a stored scorecard read straight from its binary form,
    /// without decoding names: what `score()` and `coverage()` need.
    pub fn totals_of_bytes(bytes: &[u8]) -> Result<Totals> {
        let (_, bytes) = SCORECARD.payload(bytes)?;
        let mut r = ByteReader::new(bytes, || corrupt("truncated"));
        let n = r.u32()? as usize;
        let mut t = Totals::default();
        for _ in 0..n {
            r.take(4)?;
            let score = r.f64()?;
            let weight = r.f64()?;
            t.add_valid((!score.is_nan()).then_some(score), weight);
        }
        Ok(t)
    }

    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for e in &self.entries {
            t.add_valid(e.score(), e.weight);
        }
        t
    }

    /// The weighted score, as `weighted_score` computes it.
    pub fn score(&self, missing: Missing, min_coverage: f64) -> Result<Option<f64>> {
        if missing == Missing::Error {
            if let Some(e) = self.entries.iter().find(|e| e.score().is_none()) {
                missing.check_present(|| format!("metric \"{}\"", self.name(e)))?;
            }
        }
        score_of(&self.totals(), missing, min_coverage)
    }

    /// Weight share of measured metrics, 0..1; `None` when all weights are 0.
    pub fn coverage(&self) -> Option<f64> {
        coverage_of(&self.totals())
    }

    /// Each metric's points, most points lost first (ties by metric name).
    /// `None` where the score itself is NULL (policy `'null'` with a missing
    /// metric, or nothing measured under `'renormalize'`).
    pub fn contributions(&self, missing: Missing) -> Result<Option<Vec<Contribution<'_>>>> {
        let t = self.totals();
        if self.score(missing, 0.0)?.is_none() {
            return Ok(None);
        }
        let denominator = if missing == Missing::Renormalize {
            t.present_weight
        } else {
            t.weight
        };
        let mut out: Vec<Contribution> = self
            .entries
            .iter()
            .map(|e| {
                let counted = e.score().or(missing.imputed());
                let share = if counted.is_some() { e.weight / denominator } else { 0.0 };
                let c = counted.unwrap_or(0.0);
                Contribution {
                    metric: self.name(e),
                    score: e.score(),
                    weight: e.weight,
                    weight_share: share,
                    points: share * c,
                    points_lost: share * (100.0 - c),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.points_lost
                .total_cmp(&a.points_lost)
                .then_with(|| a.metric.cmp(b.metric))
        });
        Ok(Some(out))
    }

    /// The `n` measured metrics that lose the most points; metrics that lose
    /// none (a perfect 100, or weight 0) are never "weak".
    pub fn weakest(&self, n: i64) -> Result<Vec<&str>> {
        if n < 0 {
            return Err(HealthError::invalid(format!("n must not be negative, got {n}")));
        }
        let contributions = self
            .contributions(Missing::Renormalize)
            .unwrap_or(None)
            .unwrap_or_default();
        Ok(contributions
            .into_iter()
            .filter(|c| c.score.is_some() && c.points_lost > 0.0)
            .take(n as usize)
            .map(|c| c.metric)
            .collect())
    }

    // ---- binary form: the stored type, its send/recv, and the aggregate's serial state ----
    //
    // The format header (see `format`), u32 count, then per metric: u32 name
    // length, f64 score (NaN = missing), f64 weight; then all names.
    // Little-endian. Format 1 (0.1.0) is the same without the header.

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.entries.len() * 20 + self.names.len());
        SCORECARD.write_header(&mut out);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.len.to_le_bytes());
            out.extend_from_slice(&e.raw_score.to_le_bytes());
            out.extend_from_slice(&e.weight.to_le_bytes());
        }
        for e in &self.entries {
            out.extend_from_slice(self.name(e).as_bytes());
        }
        out
    }

    /// Reads the binary form, checking every field (it may come from a client
    /// through `recv`). Order and uniqueness are the caller's concern.
    pub fn from_bytes(bytes: &[u8]) -> Result<Scorecard> {
        let (_, bytes) = SCORECARD.payload(bytes)?;
        let mut r = ByteReader::new(bytes, || corrupt("truncated"));
        let n = r.u32()? as usize;
        if n > bytes.len() / 20 {
            return Err(corrupt("metric count larger than the data"));
        }
        let mut heads = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u32()?;
            let score = r.f64()?;
            let weight = r.f64()?;
            heads.push((len, score, weight));
        }
        let mut card = Scorecard {
            names: String::new(),
            entries: Vec::with_capacity(n),
        };
        for (len, score, weight) in heads {
            let raw = r.take(len as usize)?;
            let name = std::str::from_utf8(raw).map_err(|_| corrupt("metric name is not UTF-8"))?;
            let score = if score.is_nan() { None } else { Some(score) };
            card.push(name, score, weight)?;
        }
        if !r.at_end() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(card)
    }

    /// Reads a stored scorecard: as `from_bytes`, and sorted and unique.
    pub fn from_stored_bytes(bytes: &[u8]) -> Result<Scorecard> {
        let card = Scorecard::from_bytes(bytes)?;
        card.check_sorted()?;
        Ok(card)
    }

    fn check_sorted(&self) -> Result<()> {
        for pair in self.entries.windows(2) {
            if self.name(&pair[0]) >= self.name(&pair[1]) {
                return Err(corrupt("metrics are not sorted and unique"));
            }
        }
        Ok(())
    }

    // ---- text form: a JSON array, readable and stable for pg_dump ----

    /// `[{"metric":"nps","score":80,"weight":30}, ...]` in metric order.
    pub fn to_text(&self) -> String {
        let mut out = String::from("[");
        for (i, (m, s, w)) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let metric = serde_json::to_string(m).unwrap_or_else(|_| "\"\"".into());
            let score = s.map(num).unwrap_or_else(|| "null".into());
            out.push_str(&format!(
                "{{\"metric\": {metric}, \"score\": {score}, \"weight\": {}}}",
                num(w)
            ));
        }
        out.push(']');
        out
    }

    pub fn from_text(text: &str) -> Result<Scorecard> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Item {
            metric: String,
            score: Option<f64>,
            weight: f64,
        }
        let items: Vec<Item> = serde_json::from_str(text).map_err(|e| {
            HealthError::text(format!(
                "invalid input syntax for type scorecard: {e}; expected a JSON array of {{\"metric\", \"score\", \"weight\"}} objects"
            ))
        })?;
        let mut card = Scorecard::new();
        for item in &items {
            card.push(&item.metric, item.score, item.weight)?;
        }
        card.finish()
    }
}

impl Scorecard {
    /// A metric seen twice in one group: how often, among how many rows, with
    /// the scores they carried, and how to find the rows (the aggregate does
    /// not know the group's key).
    fn duplicate(&self, metric: &str) -> HealthError {
        let rows: Vec<&Entry> = self.entries.iter().filter(|e| self.name(e) == metric).collect();
        let scores: Vec<String> = rows
            .iter()
            .take(5)
            .map(|e| e.score().map_or_else(|| "NULL".to_string(), crate::error::num))
            .collect();
        HealthError::new(
            ErrorKind::Cardinality,
            format!(
                "metric \"{metric}\" appears {} times in one scorecard group of {} rows (scores {})",
                rows.len(),
                self.entries.len(),
                scores.join(", ")
            ),
        )
        .with_hint(
            "each metric may appear once per group; list the repeats with \
             SELECT <group key>, metric, count(*) FROM ... GROUP BY 1, 2 HAVING count(*) > 1",
        )
    }
}

fn corrupt(what: &str) -> HealthError {
    HealthError::text(format!("invalid binary scorecard: {what}"))
}

/// A scorecard's score from its totals (shared by the decoded and the
/// binary paths).
pub fn score_of(totals: &Totals, missing: Missing, min_coverage: f64) -> Result<Option<f64>> {
    let min_coverage = check_min_coverage(min_coverage)?;
    totals.score(missing, min_coverage)
}

/// A scorecard's coverage from its totals; `None` when all weights are 0.
pub fn coverage_of(totals: &Totals) -> Option<f64> {
    (totals.weight > 0.0).then(|| totals.coverage())
}

/// State of `rollup(scorecard)`: per metric, the mean of its measured scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    metrics: BTreeMap<String, RollupEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct RollupEntry {
    sum: CompensatedSum,
    measured: u64,
    weight: f64,
}

impl Rollup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one scorecard. A metric must keep its weight across scorecards:
    /// averaging scores of differently weighted metrics has no clear meaning.
    pub fn add(&mut self, card: &Scorecard) -> Result<()> {
        for (m, s, w) in card.iter() {
            let entry = RollupEntry {
                sum: CompensatedSum::default(),
                measured: 0,
                weight: w,
            };
            let acc = match self.metrics.get_mut(m) {
                Some(acc) => acc,
                None => self.metrics.entry(m.to_string()).or_insert(entry),
            };
            same_weight(m, acc.weight, w)?;
            if let Some(s) = s {
                acc.sum.add(s);
                acc.measured += 1;
            }
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &Rollup) -> Result<()> {
        for (m, o) in &other.metrics {
            match self.metrics.get_mut(m) {
                Some(acc) => {
                    same_weight(m, acc.weight, o.weight)?;
                    acc.sum.merge(&o.sum);
                    acc.measured += o.measured;
                }
                None => {
                    self.metrics.insert(m.clone(), *o);
                }
            }
        }
        Ok(())
    }

    pub fn finish(&self) -> Result<Scorecard> {
        let mut card = Scorecard::new();
        for (m, acc) in &self.metrics {
            let mean = (acc.measured > 0).then(|| (acc.sum.value() / acc.measured as f64).clamp(0.0, 100.0));
            card.push_unchecked(m, mean, acc.weight)?;
        }
        Ok(card)
    }

    /// u32 count, then per metric: u32 name length, name, f64 sum, f64
    /// compensation, u64 measured, f64 weight.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.metrics.len() as u32).to_le_bytes());
        for (m, acc) in &self.metrics {
            out.extend_from_slice(&(m.len() as u32).to_le_bytes());
            out.extend_from_slice(m.as_bytes());
            out.extend_from_slice(&acc.sum.sum.to_le_bytes());
            out.extend_from_slice(&acc.sum.compensation.to_le_bytes());
            out.extend_from_slice(&acc.measured.to_le_bytes());
            out.extend_from_slice(&acc.weight.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Rollup> {
        let mut r = ByteReader::new(bytes, || corrupt("truncated"));
        let n = r.u32()?;
        let mut out = Rollup::new();
        for _ in 0..n {
            let len = r.u32()? as usize;
            let name = std::str::from_utf8(r.take(len)?)
                .map_err(|_| corrupt("metric name is not UTF-8"))?
                .to_string();
            let sum = CompensatedSum {
                sum: r.f64()?,
                compensation: r.f64()?,
            };
            let measured = r.u64()?;
            let weight = finite("weight", r.f64()?)?;
            out.metrics.insert(name, RollupEntry { sum, measured, weight });
        }
        Ok(out)
    }
}

fn same_weight(metric: &str, a: f64, b: f64) -> Result<()> {
    if a == b {
        return Ok(());
    }
    Err(HealthError::invalid(format!(
        "metric \"{metric}\" has weight {} in one scorecard and {} in another; rollup averages scores of equally weighted metrics only",
        num(a),
        num(b)
    )))
}

/// `contributions`' answer: one object per metric, in the order given.
pub fn contributions_json(parts: &[Contribution]) -> Value {
    Value::Array(
        parts
            .iter()
            .map(|c| {
                json!({
                    "metric": c.metric,
                    "score": c.score.map(whole_or_float).unwrap_or(Value::Null),
                    "weight": whole_or_float(c.weight),
                    "weight_share": whole_or_float(c.weight_share),
                    "points": whole_or_float(c.points),
                    "points_lost": whole_or_float(c.points_lost),
                })
            })
            .collect(),
    )
}

/// Whole numbers print as integers (80, not 80.0) in the jsonb output.
fn whole_or_float(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::Number(Number::from(v as i64))
    } else {
        Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

merging_state!(Scorecard, start: Scorecard::with_room());

/// `scorecard`: (metric, score or missing, weight).
impl<'a> Accumulate<(&'a str, Option<f64>, f64)> for Scorecard {
    #[inline]
    fn add_row(&mut self, (metric, score, weight): (&'a str, Option<f64>, f64)) -> Result<()> {
        self.push(metric, score, weight)
    }
}

merging_state!(Rollup, start: Ok(Rollup::new()));

/// `rollup(scorecard)`: one finished scorecard.
impl Accumulate<Scorecard> for Rollup {
    fn add_row(&mut self, card: Scorecard) -> Result<()> {
        self.add(&card)
    }
}

/// A finished scorecard of (metric, score, weight) rows, for tests.
#[cfg(test)]
pub(crate) fn card(rows: &[(&str, Option<f64>, f64)]) -> Scorecard {
    let mut c = Scorecard::new();
    for &(m, s, w) in rows {
        c.push(m, s, w).unwrap();
    }
    c.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::weighted_score;
    use proptest::prelude::*;

    #[test]
    fn score_matches_weighted_score_and_sorts() {
        let c = card(&[
            ("usage", Some(80.0), 25.0),
            ("nps", Some(40.0), 30.0),
            ("tickets", None, 10.0),
        ]);
        let names: Vec<&str> = c.iter().map(|x| x.0).collect();
        assert_eq!(names, ["nps", "tickets", "usage"]);
        // (40*30 + 80*25) / 55 = 3200/55
        assert_eq!(c.score(Missing::Renormalize, 0.0).unwrap(), Some(3200.0 / 55.0));
        assert_eq!(c.score(Missing::Zero, 0.0).unwrap(), Some(3200.0 / 65.0));
        assert_eq!(c.coverage(), Some(55.0 / 65.0));
        assert_eq!(c.score(Missing::Renormalize, 0.9).unwrap(), None);
        let same = weighted_score(
            [Some(80.0), Some(40.0), None].into_iter(),
            &[25.0, 30.0, 10.0],
            Missing::Renormalize,
            0.0,
        );
        assert_eq!(c.score(Missing::Renormalize, 0.0).unwrap(), same.unwrap());
    }

    #[test]
    fn contributions_add_up() {
        let c = card(&[
            ("usage", Some(80.0), 25.0),
            ("nps", Some(40.0), 30.0),
            ("tickets", None, 10.0),
        ]);
        let score = c.score(Missing::Renormalize, 0.0).unwrap().unwrap();
        let parts = c.contributions(Missing::Renormalize).unwrap().unwrap();
        assert_eq!(parts[0].metric, "nps"); // loses 30/55*60 = 32.7 points
        assert_eq!(parts[1].metric, "usage"); // loses 25/55*20 = 9.1
        assert_eq!(parts[2].metric, "tickets"); // left out
        assert_eq!(parts[2].weight_share, 0.0);
        let points: f64 = parts.iter().map(|p| p.points).sum();
        let lost: f64 = parts.iter().map(|p| p.points_lost).sum();
        assert!((points - score).abs() < 1e-12);
        assert!((lost - (100.0 - score)).abs() < 1e-12);
        // 'zero' counts tickets as 0: it loses its whole share
        let z = c.contributions(Missing::Zero).unwrap().unwrap();
        let t = z.iter().find(|p| p.metric == "tickets").unwrap();
        assert!((t.points_lost - 100.0 * 10.0 / 65.0).abs() < 1e-12);
        assert_eq!(c.contributions(Missing::Null).unwrap(), None);
        assert_eq!(c.weakest(1).unwrap(), ["nps"]);
        assert_eq!(c.weakest(5).unwrap(), ["nps", "usage"]);
        let perfect = card(&[("a", Some(100.0), 1.0), ("b", Some(90.0), 1.0), ("c", Some(10.0), 0.0)]);
        assert_eq!(perfect.weakest(3).unwrap(), ["b"]);
        assert!(c.weakest(0).unwrap().is_empty());
        assert!(c.weakest(-1).is_err());
    }

    #[test]
    fn duplicates_and_bad_rows_are_errors() {
        let mut c = Scorecard::new();
        c.push("nps", Some(1.0), 1.0).unwrap();
        c.push("nps", Some(2.0), 1.0).unwrap();
        let e = c.finish().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cardinality);
        assert_eq!(
            e.message,
            "metric \"nps\" appears 2 times in one scorecard group of 2 rows (scores 1, 2)"
        );
        assert!(e.hint.unwrap().contains("HAVING count(*) > 1"));
        let e = Scorecard::new().push("csat", Some(120.0), 1.0).unwrap_err();
        assert_eq!(e.message, "score of metric \"csat\" must be between 0 and 100, got 120");
        assert_eq!(
            Scorecard::new().push("csat", Some(1.0), -1.0).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn text_and_binary_round_trip() {
        let c = card(&[("usage \"v2\"", Some(80.5), 25.0), ("nps", None, 30.0)]);
        let text = c.to_text();
        assert_eq!(
            text,
            r#"[{"metric": "nps", "score": null, "weight": 30}, {"metric": "usage \"v2\"", "score": 80.5, "weight": 25}]"#
        );
        assert_eq!(Scorecard::from_text(&text).unwrap(), c);
        assert_eq!(Scorecard::from_stored_bytes(&c.to_bytes()).unwrap(), c);
        assert_eq!(Scorecard::totals_of_bytes(&c.to_bytes()).unwrap(), c.totals());
        assert!(Scorecard::totals_of_bytes(&c.to_bytes()[..10]).is_err());
        assert_eq!(Scorecard::from_text("[1]").unwrap_err().kind, ErrorKind::InvalidText);
        assert_eq!(
            Scorecard::from_text(r#"[{"metric":"a","score":1,"weight":1,"x":1}]"#)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidText
        );
        assert_eq!(
            Scorecard::from_text(r#"[{"metric":"a","score":1,"weight":1},{"metric":"a","score":2,"weight":1}]"#)
                .unwrap_err()
                .kind,
            ErrorKind::Cardinality
        );
        let mut bytes = c.to_bytes();
        bytes.pop();
        assert!(Scorecard::from_bytes(&bytes).is_err());
        assert!(Scorecard::from_bytes(&[255, 255, 255, 255]).is_err());
    }

    #[test]
    fn rollup_averages_scores_per_metric() {
        let a = card(&[("nps", Some(40.0), 30.0), ("usage", Some(80.0), 25.0)]);
        let b = card(&[
            ("nps", Some(60.0), 30.0),
            ("usage", None, 25.0),
            ("csat", Some(90.0), 10.0),
        ]);
        let mut r = Rollup::new();
        r.add(&a).unwrap();
        r.add(&b).unwrap();
        let merged = r.finish().unwrap();
        let rows: Vec<_> = merged.iter().collect();
        assert_eq!(
            rows,
            [
                ("csat", Some(90.0), 10.0),
                ("nps", Some(50.0), 30.0),
                ("usage", Some(80.0), 25.0)
            ]
        );
        let mut other = Rollup::new();
        other.add(&card(&[("nps", Some(1.0), 31.0)])).unwrap();
        assert_eq!(r.merge(&other).unwrap_err().kind, ErrorKind::InvalidParameter);
        assert_eq!(Rollup::from_bytes(&r.to_bytes()).unwrap(), r);
    }

    fn rows() -> impl Strategy<Value = Vec<(String, Option<f64>, f64)>> {
        prop::collection::btree_map(
            "[a-z]{1,8}",
            (prop::option::weighted(0.8, 0.0f64..=100.0), 0.0f64..100.0),
            1..12,
        )
        .prop_map(|m| m.into_iter().map(|(k, (s, w))| (k, s, w)).collect())
    }

    proptest! {
        #[test]
        fn combine_of_two_states_equals_one_state(rows in rows(), cut in 0usize..12, seed in any::<u64>()) {
            let mut shuffled = rows.clone();
            // any arrival order, any split point
            let k = (seed as usize) % shuffled.len();
            shuffled.rotate_left(k);
            let cut = cut % (rows.len() + 1);
            let (mut one, mut left, mut right) = (Scorecard::new(), Scorecard::new(), Scorecard::new());
            for (m, s, w) in &rows { one.push(m, *s, *w).unwrap(); }
            for (i, (m, s, w)) in shuffled.iter().enumerate() {
                if i < cut { left.push(m, *s, *w).unwrap() } else { right.push(m, *s, *w).unwrap() }
            }
            left.merge(&right).unwrap();
            let (a, b) = (one.finish().unwrap(), left.finish().unwrap());
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(left.finish_to_bytes().unwrap(), a.to_bytes());
            for p in [Missing::Renormalize, Missing::Zero, Missing::Neutral, Missing::Null] {
                match (a.score(p, 0.0), b.score(p, 0.0)) {
                    (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
                    (x, y) => prop_assert_eq!(x.is_err(), y.is_err()),
                }
            }
            prop_assert_eq!(Scorecard::from_bytes(&a.to_bytes()).unwrap(), a.clone());
            prop_assert_eq!(Scorecard::from_text(&a.to_text()).unwrap(), a);
        }

        #[test]
        fn contributions_sum_to_score(rows in rows(), p in 0usize..3) {
            let missing = [Missing::Renormalize, Missing::Zero, Missing::Neutral][p];
            let mut c = Scorecard::new();
            for (m, s, w) in &rows { c.push(m, *s, *w).unwrap(); }
            let c = c.finish().unwrap();
            if let Ok(Some(score)) = c.score(missing, 0.0) {
                let parts = c.contributions(missing).unwrap().unwrap();
                let points: f64 = parts.iter().map(|x| x.points).sum();
                let lost: f64 = parts.iter().map(|x| x.points_lost).sum();
                prop_assert!((points - score).abs() < 1e-9);
                prop_assert!((lost - (100.0 - score)).abs() < 1e-9);
                prop_assert!(parts.windows(2).all(|w| w[0].points_lost >= w[1].points_lost));
            }
        }
    }
}

#[cfg(test)]
mod aggregate_state_tests {
    use super::*;
    use crate::aggregate::testing::{serially, split_and_merge};

    #[test]
    fn scorecards_split_between_metrics() {
        let rows = [
            ("logins", Some(80.0), 30.0),
            ("nps", None, 20.0),
            ("seats", Some(40.0), 50.0),
        ];
        for at in 0..=rows.len() {
            let split: Scorecard = split_and_merge("scorecard", &rows, at);
            let serial: Scorecard = serially("scorecard", &rows);
            assert_eq!(
                split.finish_to_bytes().unwrap(),
                serial.clone().finish_to_bytes().unwrap()
            );
        }
    }
}

//! Learning a whole model from churn outcomes (`fit_model`, docs/reference.md §7).
//!
//! The aggregate keeps every account's raw metrics ([`Learner`]). At the end
//! the rows are put in one canonical order, so that a serial and a parallel
//! plan learn the same model bit for bit, and [`Learner::learn`]:
//! 1. per metric, picks the normaliser that predicts churn best on its own
//!    (one-feature logistic fits) among `zscore`, `zscore_linear` and, for
//!    metrics that are never negative, their `log_` forms, with the mean and
//!    standard deviation of the rows it learns from;
//! 2. fits a logistic regression of churn on the sub-scores (a missing
//!    metric counts 50, as the model's `missing: neutral` scores it), flips
//!    the direction of every metric whose coefficient says "more of this
//!    sub-score, more churn" and refits, to a fixed point; then fits with
//!    every coefficient held at or below 0 (more sub-score, less churn),
//!    leaves out the metrics whose weight is negligible and fits again;
//! 3. turns the coefficients into weights: their shares of 100;
//! 4. sets the tier cutoffs from the outcome (by default: at_risk holds the
//!    lowest-scored accounts whose churn rate is at least twice the base
//!    rate, healthy the highest-scored whose rate is at most half of it);
//! 5. measures the model: in-sample AUC, lift and log-likelihood, and the
//!    same learning repeated k times with one fold of accounts held out
//!    (folds by a hash of the account, [`fold_of`]).
//!
//! Because flipping a sub-score (`s -> 100 - s`) negates its coefficient and
//! changes nothing else, the fixed point of step 2 has the unconstrained
//! regression's fit: nothing is lost to the health-score form.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::evaluate::closest;
use super::*;
use crate::error::{num, HealthError, Result};
use crate::format::ByteReader;
use crate::normalise::{self, DEFAULT_CLIP};
use crate::resources::{self, Ticker};
use crate::tier::CUTOFF_TOLERANCE;
use crate::validate::{newton, Logistic, Outcomes};

const STATE: &str = "the fit_model state";

/// The bucket (1..=`folds`) of an account: a fixed hash of its key's UTF-8
/// bytes (FNV-1a, then the SplitMix64 finaliser), the same on every
/// platform and release, so `health.fold(account, k)` in SQL picks the
/// folds `fit_model` holds out.
pub fn fold_of(account: &str, folds: u32) -> u32 {
    (account_hash(account) % u64::from(folds.max(1))) as u32 + 1
}

fn account_hash(account: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in account.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

// ---- options ----

/// The four normalisers `fit_model` chooses from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Normaliser {
    ZScore,
    ZScoreLinear,
    LogZScore,
    LogZScoreLinear,
}

impl Normaliser {
    const ALL: [Normaliser; 4] = [
        Normaliser::ZScoreLinear,
        Normaliser::ZScore,
        Normaliser::LogZScoreLinear,
        Normaliser::LogZScore,
    ];

    fn name(self) -> &'static str {
        match self {
            Normaliser::ZScore => "zscore",
            Normaliser::ZScoreLinear => "zscore_linear",
            Normaliser::LogZScore => "log_zscore",
            Normaliser::LogZScoreLinear => "log_zscore_linear",
        }
    }

    fn log(self) -> bool {
        matches!(self, Normaliser::LogZScore | Normaliser::LogZScoreLinear)
    }

    fn linear(self) -> bool {
        matches!(self, Normaliser::ZScoreLinear | Normaliser::LogZScoreLinear)
    }
}

/// How a tier's edge is chosen from the outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TierRule {
    /// The largest group (lowest scores for at_risk, highest for healthy)
    /// whose churn rate is at least (at_risk) or at most (healthy) this
    /// multiple of the base rate.
    ChurnRatio(f64),
    /// This share of the accounts.
    Share(f64),
}

/// `fit_model`'s options (a JSON object; every field optional).
#[derive(Clone, Debug, PartialEq)]
struct Options {
    name: Option<String>,
    version: Option<Value>,
    l2: f64,
    folds: u32,
    min_weight: f64,
    clip: f64,
    normalisers: Vec<Normaliser>,
    metrics: Option<Vec<String>>,
    min_coverage: f64,
    at_risk: TierRule,
    healthy: TierRule,
}

const OPTION_NAMES: [&str; 13] = [
    "name",
    "version",
    "l2",
    "folds",
    "min_weight",
    "clip",
    "normalisers",
    "metrics",
    "min_coverage",
    "at_risk_churn_ratio",
    "healthy_churn_ratio",
    "at_risk_share",
    "healthy_share",
];

impl Options {
    fn parse(text: Option<&str>) -> Result<Options> {
        let value: Value = match text {
            None => Value::Object(Map::new()),
            Some(t) => {
                serde_json::from_str(t).map_err(|e| HealthError::text(format!("options must be a JSON object: {e}")))?
            }
        };
        let Some(map) = value.as_object() else {
            return Err(HealthError::invalid(format!(
                "options must be a JSON object, got {}",
                super::parse::kind(&value)
            )));
        };
        let mut problems = Vec::new();
        for key in map.keys() {
            if !OPTION_NAMES.contains(&key.as_str()) {
                problems.push(match closest(key, OPTION_NAMES.iter().copied()) {
                    Some(meant) => format!("options.{key} is not a known option (did you mean {meant}?)"),
                    None => format!("options.{key} is not a known option"),
                });
            }
        }
        let get = |key: &str| map.get(key).filter(|v| !v.is_null());
        let number =
            |key: &str, default: f64, ok: fn(f64) -> bool, rule: &str, problems: &mut Vec<String>| match get(key) {
                None => default,
                Some(v) => match v.as_f64().filter(|x| x.is_finite() && ok(*x)) {
                    Some(x) => x,
                    None => {
                        problems.push(format!("options.{key} must be {rule}, got {v}"));
                        default
                    }
                },
            };
        let l2 = number("l2", 0.0, |x| x >= 0.0, "a number >= 0", &mut problems);
        let folds = number(
            "folds",
            5.0,
            |x| x == 0.0 || (x.fract() == 0.0 && (2.0..=100.0).contains(&x)),
            "0 (no cross-validation) or a whole number from 2 to 100",
            &mut problems,
        ) as u32;
        let min_weight = number(
            "min_weight",
            1.0,
            |x| (0.0..100.0).contains(&x),
            "a number from 0 to below 100",
            &mut problems,
        );
        let clip = number("clip", DEFAULT_CLIP, |x| x > 0.0, "a number > 0", &mut problems);
        let min_coverage = number(
            "min_coverage",
            0.0,
            |x| (0.0..=1.0).contains(&x),
            "a number from 0 to 1",
            &mut problems,
        );
        let rule = |ratio_key: &str,
                    share_key: &str,
                    default: f64,
                    ratio_ok: fn(f64) -> bool,
                    ratio_rule: &str,
                    problems: &mut Vec<String>| {
            let share = get(share_key).map(|_| {
                number(
                    share_key,
                    0.0,
                    |x| x > 0.0 && x < 1.0,
                    "a number between 0 and 1",
                    problems,
                )
            });
            let ratio = get(ratio_key).map(|_| number(ratio_key, default, ratio_ok, ratio_rule, problems));
            match (ratio, share) {
                (Some(_), Some(_)) => {
                    problems.push(format!(
                        "options.{ratio_key} and options.{share_key} cannot both be given"
                    ));
                    TierRule::ChurnRatio(default)
                }
                (_, Some(share)) => TierRule::Share(share),
                (ratio, None) => TierRule::ChurnRatio(ratio.unwrap_or(default)),
            }
        };
        let at_risk = rule(
            "at_risk_churn_ratio",
            "at_risk_share",
            2.0,
            |x| x > 1.0,
            "a number > 1",
            &mut problems,
        );
        let healthy = rule(
            "healthy_churn_ratio",
            "healthy_share",
            0.5,
            |x| x > 0.0 && x < 1.0,
            "a number between 0 and 1",
            &mut problems,
        );
        if let (TierRule::Share(a), TierRule::Share(h)) = (at_risk, healthy) {
            if a + h >= 1.0 {
                problems.push(format!(
                    "options.at_risk_share + options.healthy_share must be below 1, got {} + {}",
                    num(a),
                    num(h)
                ));
            }
        }
        let normalisers = match get("normalisers") {
            None => Normaliser::ALL.to_vec(),
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut chosen = Vec::new();
                for item in items {
                    match Normaliser::ALL.iter().find(|n| item.as_str() == Some(n.name())) {
                        Some(n) if !chosen.contains(n) => chosen.push(*n),
                        Some(_) => {}
                        None => problems.push(format!(
                            "options.normalisers must hold 'zscore', 'zscore_linear', 'log_zscore' or 'log_zscore_linear', got {item}"
                        )),
                    }
                }
                chosen
            }
            Some(v) => {
                problems.push(format!(
                    "options.normalisers must be a non-empty array of normaliser names, got {v}"
                ));
                Vec::new()
            }
        };
        let metrics = match get("metrics") {
            None => None,
            Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
                Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            }
            Some(v) => {
                problems.push(format!(
                    "options.metrics must be a non-empty array of metric names, got {v}"
                ));
                None
            }
        };
        let name = match get("name") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                problems.push(format!("options.name must be a string, got {v}"));
                None
            }
        };
        let version = get("version").cloned();
        if let Some(v) = version.as_ref().filter(|v| !(v.is_string() || v.is_number())) {
            problems.push(format!("options.version must be a string or a number, got {v}"));
        }
        if !problems.is_empty() {
            return Err(HealthError::invalid(format!(
                "invalid options: {}",
                problems.join("; ")
            )));
        }
        Ok(Options {
            name,
            version,
            l2,
            folds,
            min_weight,
            clip,
            normalisers,
            metrics,
            min_coverage,
            at_risk,
            healthy,
        })
    }
}

// ---- the aggregate's state ----

/// Every row of `fit_model`'s arguments: the account's hash, the outcome and
/// the metrics it has (names interned), in arrival order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learner {
    names: Vec<String>,
    index: HashMap<String, u32>,
    keys: Vec<u64>,
    churned: Vec<bool>,
    /// Per row, the end of its entries in `metric` and `value`.
    ends: Vec<u64>,
    metric: Vec<u32>,
    /// NaN: the metric is present but NULL (so an all-NULL metric is known).
    value: Vec<f64>,
    /// The options' JSON text, the same on every row.
    options: Option<String>,
}

/// One row of `fit_model`'s arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LearnRow {
    pub account: String,
    /// The metrics object's keys and values (None: JSON null).
    pub metrics: Vec<(String, Option<f64>)>,
    pub churned: bool,
    pub options: Option<String>,
}

impl LearnRow {
    /// A row from SQL: the metrics object's values must be numbers or nulls.
    pub fn from_json(account: &str, metrics: Value, churned: bool, options: Option<Value>) -> Result<LearnRow> {
        let Value::Object(map) = metrics else {
            return Err(HealthError::invalid(format!(
                "metrics must be a JSON object of metric name to value, got {}",
                super::parse::kind(&metrics)
            )));
        };
        let metrics = map
            .into_iter()
            .map(|(name, value)| match value {
                Value::Null => Ok((name, None)),
                Value::Number(n) => Ok((name, Some(n.as_f64().unwrap_or(f64::INFINITY)))),
                other => Err(HealthError::invalid(format!(
                    "metrics.{name} must be a number or null, got {}",
                    super::parse::kind(&other)
                ))),
            })
            .collect::<Result<_>>()?;
        Ok(LearnRow {
            account: account.to_owned(),
            metrics,
            churned,
            options: options.map(|o| o.to_string()),
        })
    }
}

impl Learner {
    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    fn intern(&mut self, name: &str) -> Result<u32> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        let i = self.names.len() as u32;
        resources::push(&mut self.names, name.to_owned(), STATE)?;
        self.index.insert(name.to_owned(), i);
        Ok(i)
    }

    fn set_options(&mut self, options: Option<&str>) -> Result<()> {
        match (&self.options, options) {
            (Some(known), Some(given)) if known != given => Err(HealthError::invalid(format!(
                "options must be the same on every row, got {given} after {known}"
            ))),
            (None, Some(given)) if !self.keys.is_empty() => Err(HealthError::invalid(format!(
                "options must be the same on every row, got {given} after none"
            ))),
            (Some(known), None) => Err(HealthError::invalid(format!(
                "options must be the same on every row, got none after {known}"
            ))),
            (None, Some(given)) => {
                Options::parse(Some(given))?; // fail on the first row, not after the scan
                self.options = Some(given.to_owned());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn add_row(&mut self, row: LearnRow) -> Result<()> {
        self.set_options(row.options.as_deref())?;
        for (name, value) in &row.metrics {
            if let Some(v) = value {
                if !v.is_finite() {
                    return Err(HealthError::invalid(format!(
                        "metrics.{name} must be a finite number, got {}",
                        num(*v)
                    )));
                }
            }
            let i = self.intern(name)?;
            resources::push(&mut self.metric, i, STATE)?;
            resources::push(&mut self.value, value.unwrap_or(f64::NAN), STATE)?;
        }
        resources::push(&mut self.keys, account_hash(&row.account), STATE)?;
        resources::push(&mut self.churned, row.churned, STATE)?;
        resources::push(&mut self.ends, self.metric.len() as u64, STATE)
    }

    pub fn merge(&mut self, other: &Learner) -> Result<()> {
        if other.keys.is_empty() {
            return Ok(());
        }
        if self.keys.is_empty() {
            self.options = other.options.clone();
        } else if self.options != other.options {
            return Err(HealthError::invalid("options must be the same on every row"));
        }
        let map: Vec<u32> = other.names.iter().map(|n| self.intern(n)).collect::<Result<_>>()?;
        let base = self.metric.len() as u64;
        resources::reserve(&mut self.metric, other.metric.len(), STATE)?;
        self.metric.extend(other.metric.iter().map(|&i| map[i as usize]));
        resources::extend(&mut self.value, &other.value, STATE)?;
        resources::extend(&mut self.keys, &other.keys, STATE)?;
        resources::extend(&mut self.churned, &other.churned, STATE)?;
        resources::reserve(&mut self.ends, other.ends.len(), STATE)?;
        self.ends.extend(other.ends.iter().map(|&e| e + base));
        Ok(())
    }

    /// Bytes of the serial form with `rows` rows (entries estimated from the
    /// rows held so far).
    pub fn serial_size(&self, rows: usize) -> usize {
        let per_row = if self.keys.is_empty() {
            1
        } else {
            self.metric.len().div_ceil(self.keys.len()).max(1)
        };
        let names: usize = self.names.iter().map(|n| n.len() + 8).sum();
        rows.saturating_mul(17 + 12 * per_row)
            .saturating_add(names + self.options.as_ref().map_or(0, String::len) + 48)
    }

    /// names (count, then each as length + UTF-8), options (length + 1 and
    /// UTF-8, or 0), rows, keys, outcomes, row ends, entries, metric
    /// indexes, values.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let size = self.serial_size(0) + self.keys.len() * 17 + self.metric.len() * 12;
        let mut out = resources::buffer(size, "the serialised state")?;
        let put = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
        put(&mut out, self.names.len() as u64);
        for n in &self.names {
            put(&mut out, n.len() as u64);
            out.extend_from_slice(n.as_bytes());
        }
        match &self.options {
            None => put(&mut out, 0),
            Some(o) => {
                put(&mut out, o.len() as u64 + 1);
                out.extend_from_slice(o.as_bytes());
            }
        }
        put(&mut out, self.keys.len() as u64);
        let mut ticker = Ticker::default();
        for i in 0..self.keys.len() {
            ticker.tick();
            put(&mut out, self.keys[i]);
            put(&mut out, self.ends[i]);
        }
        out.extend(self.churned.iter().map(|&c| u8::from(c)));
        put(&mut out, self.metric.len() as u64);
        for i in 0..self.metric.len() {
            ticker.tick();
            out.extend_from_slice(&self.metric[i].to_le_bytes());
            out.extend_from_slice(&self.value[i].to_le_bytes());
        }
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Learner> {
        let bad = || HealthError::text(format!("invalid fit_model state of {} bytes", bytes.len()));
        let mut r = ByteReader::new(bytes, bad);
        let mut learner = Learner::default();
        let names = r.u64()? as usize;
        for _ in 0..names {
            let len = r.u64()? as usize;
            let name = std::str::from_utf8(r.take(len)?).map_err(|_| bad())?.to_owned();
            learner.intern(&name)?;
        }
        if learner.names.len() != names {
            return Err(bad()); // a name twice
        }
        learner.options = match r.u64()? as usize {
            0 => None,
            n => Some(std::str::from_utf8(r.take(n - 1)?).map_err(|_| bad())?.to_owned()),
        };
        let rows = r.u64()? as usize;
        if rows > bytes.len() {
            return Err(bad());
        }
        resources::reserve(&mut learner.keys, rows, STATE)?;
        resources::reserve(&mut learner.ends, rows, STATE)?;
        let mut ticker = Ticker::default();
        for _ in 0..rows {
            ticker.tick();
            learner.keys.push(r.u64()?);
            learner.ends.push(r.u64()?);
        }
        learner.churned.extend(r.take(rows)?.iter().map(|&b| b != 0));
        let entries = r.u64()? as usize;
        if entries > bytes.len() {
            return Err(bad());
        }
        resources::reserve(&mut learner.metric, entries, STATE)?;
        resources::reserve(&mut learner.value, entries, STATE)?;
        for _ in 0..entries {
            ticker.tick();
            let metric = r.u32()?;
            if metric as usize >= names {
                return Err(bad());
            }
            learner.metric.push(metric);
            learner.value.push(r.f64()?);
        }
        if !r.at_end()
            || learner.ends.windows(2).any(|w| w[0] > w[1])
            || learner.ends.last().is_some_and(|&e| e as usize != entries)
        {
            return Err(bad());
        }
        Ok(learner)
    }
}

// ---- the rows in canonical order ----

/// The rows as one matrix: metrics in name order, rows ordered by account
/// hash, outcome and values, so nothing downstream depends on the order in
/// which a plan delivered them.
struct Dataset {
    names: Vec<String>,
    p: usize,
    /// Row-major raw values; NaN: missing.
    x: Vec<f64>,
    y: Vec<bool>,
    keys: Vec<u64>,
}

fn filled(len: usize, value: f64) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    resources::reserve(&mut v, len, STATE)?;
    v.resize(len, value);
    Ok(v)
}

impl Learner {
    fn dataset(&self) -> Result<Dataset> {
        let (n, p) = (self.rows(), self.names.len());
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        let mut column = vec![0usize; p];
        for (c, &i) in order.iter().enumerate() {
            column[i] = c;
        }
        let cells = n
            .checked_mul(p)
            .ok_or_else(|| HealthError::program_limit("too many rows and metrics"))?;
        let mut arrived = filled(cells, f64::NAN)?;
        let mut start = 0usize;
        let mut ticker = Ticker::default();
        for r in 0..n {
            ticker.tick();
            let end = self.ends[r] as usize;
            for e in start..end {
                arrived[r * p + column[self.metric[e] as usize]] = self.value[e];
            }
            start = end;
        }
        let row = |r: usize| &arrived[r * p..(r + 1) * p];
        let mut rows: Vec<usize> = (0..n).collect();
        rows.sort_unstable_by(|&a, &b| {
            self.keys[a]
                .cmp(&self.keys[b])
                .then(self.churned[a].cmp(&self.churned[b]))
                .then_with(|| {
                    row(a)
                        .iter()
                        .zip(row(b))
                        .map(|(u, v)| u.total_cmp(v))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        });
        let mut x = Vec::new();
        resources::reserve(&mut x, cells, STATE)?;
        for &r in &rows {
            ticker.advance(p);
            x.extend_from_slice(row(r));
        }
        Ok(Dataset {
            names: order.iter().map(|&i| self.names[i].clone()).collect(),
            p,
            x,
            y: rows.iter().map(|&r| self.churned[r]).collect(),
            keys: rows.iter().map(|&r| self.keys[r]).collect(),
        })
    }
}

impl Dataset {
    fn value(&self, row: usize, column: usize) -> Option<f64> {
        let v = self.x[row * self.p + column];
        (!v.is_nan()).then_some(v)
    }

    /// The metrics to learn from: those `options.metrics` names, or all.
    fn columns(&self, options: &Options) -> Result<Vec<usize>> {
        let Some(wanted) = &options.metrics else {
            return Ok((0..self.p).collect());
        };
        let mut columns = Vec::new();
        for name in wanted {
            match self.names.iter().position(|n| n == name) {
                Some(c) if !columns.contains(&c) => columns.push(c),
                Some(_) => {}
                None => {
                    let meant = closest(name, self.names.iter().map(String::as_str))
                        .map(|m| format!(" (did you mean \"{m}\"?)"))
                        .unwrap_or_default();
                    return Err(HealthError::invalid(format!(
                        "options.metrics names \"{name}\"{meant}, which no row has; the metrics are {}",
                        self.names.join(", ")
                    )));
                }
            }
        }
        Ok(columns)
    }

    /// The model's raw values of one row, in the order of `columns`.
    fn values(&self, row: usize, columns: &[usize]) -> Vec<Option<f64>> {
        columns.iter().map(|&c| self.value(row, c)).collect()
    }
}

// ---- one learning pass ----

/// A chosen normaliser with the parameters learned for it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Transform {
    normaliser: Normaliser,
    mean: f64,
    stddev: f64,
}

impl Transform {
    /// The sub-score, higher is better (the value is >= 0 for a log form).
    fn subscore(&self, v: f64, clip: f64) -> f64 {
        let x = if self.normaliser.log() { libm::log1p(v) } else { v };
        if self.normaliser.linear() {
            normalise::zscore_linear_unchecked(x, self.mean, self.stddev, clip, true)
        } else {
            100.0 * normalise::normal_cdf((x - self.mean) / self.stddev)
        }
    }

    fn scale(&self, clip: f64) -> Scale {
        Scale::ZScore {
            mean: self.mean,
            stddev: self.stddev,
            log: self.normaliser.log(),
            clip: self.normaliser.linear().then_some(clip),
        }
    }
}

/// Six significant digits: the model reads as a person would write it, and
/// the sub-scores are computed from the rounded parameters, so the model is
/// exactly what was fitted.
fn round_significant(v: f64) -> f64 {
    format!("{v:.5e}").parse().unwrap_or(v)
}

/// Mean and sample standard deviation.
fn mean_and_stddev(values: impl Iterator<Item = f64> + Clone) -> (f64, f64, usize) {
    let (mut n, mut mean, mut m2) = (0usize, 0.0, 0.0);
    for v in values {
        n += 1;
        let d = v - mean;
        mean += d / n as f64;
        m2 += d * (v - mean);
    }
    let sd = if n > 1 { (m2 / (n - 1) as f64).sqrt() } else { 0.0 };
    (mean, sd, n)
}

#[derive(Clone, Debug)]
struct LearnedMetric {
    column: usize,
    transform: Transform,
    higher_is_better: bool,
    weight: f64,
}

#[derive(Clone, Debug)]
struct Learned {
    metrics: Vec<LearnedMetric>,
    /// The fitted churn log-odds of a score `h`: `curve.0 - curve.1 * h`.
    curve: (f64, f64),
    flipped: Vec<usize>,
    dropped: Vec<usize>,
    log_likelihood: f64,
}

/// The regression's message in the words of `fit_model`'s arguments.
fn in_terms_of_metrics(e: HealthError) -> HealthError {
    if e.message.starts_with("the features are collinear") {
        HealthError::invalid(
            "the metrics are collinear (one is a combination of the others, or constant where the outcome is known)",
        )
        .with_hint("Leave one out with options {\"metrics\": [...]}, or set options {\"l2\": 1}.")
    } else if e.message.starts_with("did not converge") {
        HealthError::invalid(e.message.replace("the features separate", "the metrics separate"))
            .with_hint("Set options {\"l2\": 1} (a penalty keeps the coefficients finite).")
    } else {
        e
    }
}

/// Learns normalisers, directions and weights from `rows` (indexes into
/// `data`), over the metrics in `columns`.
fn learn_on(data: &Dataset, rows: &[usize], columns: &[usize], options: &Options) -> Result<Learned> {
    let y: Vec<bool> = rows.iter().map(|&r| data.y[r]).collect();
    let churned = y.iter().filter(|&&c| c).count();
    if churned == 0 || churned == y.len() {
        return Err(HealthError::invalid(format!(
            "needs both churned and retained accounts, got {churned} of {} churned",
            y.len()
        )));
    }
    if y.len() <= columns.len() + 1 {
        return Err(HealthError::invalid(format!(
            "needs more accounts than metrics + 1, got {} accounts for {} metrics",
            y.len(),
            columns.len()
        )));
    }
    let clip = options.clip;
    let mut ticker = Ticker::default();
    // 1. a normaliser per metric, by its one-metric fit
    let mut transforms = Vec::new();
    for &c in columns {
        let name = &data.names[c];
        let present = || rows.iter().filter_map(|&r| data.value(r, c));
        let (mean, sd, count) = mean_and_stddev(present());
        if count == 0 {
            return Err(HealthError::null(format!(
                "metric \"{name}\" is NULL on every row: there is nothing to learn from"
            ))
            .with_hint("Leave it out with options {\"metrics\": [...]}."));
        }
        if !(sd > 0.0 && sd.is_finite()) {
            return Err(HealthError::invalid(format!(
                "metric \"{name}\" has the same value ({}) on every row where it is known: it cannot tell accounts apart",
                num(mean)
            ))
            .with_hint("Leave it out with options {\"metrics\": [...]}."));
        }
        let min = present().fold(f64::INFINITY, f64::min);
        let (log_mean, log_sd, _) = mean_and_stddev(present().map(|v| libm::log1p(v.max(0.0))));
        let mut best: Option<(Transform, f64)> = None;
        let mut failure = None;
        for &normaliser in &options.normalisers {
            let (m, s) = if normaliser.log() {
                (log_mean, log_sd)
            } else {
                (mean, sd)
            };
            if (normaliser.log() && min < 0.0) || !(s > 0.0 && s.is_finite()) {
                continue;
            }
            let t = Transform {
                normaliser,
                mean: round_significant(m),
                stddev: round_significant(s),
            };
            let column: Vec<f64> = rows
                .iter()
                .map(|&r| data.value(r, c).map_or(50.0, |v| t.subscore(v, clip)))
                .collect();
            ticker.advance(rows.len());
            match newton(&column, &y, 1, options.l2, None) {
                Ok(fit) if best.as_ref().is_none_or(|b| fit.log_likelihood > b.1) => {
                    best = Some((t, fit.log_likelihood))
                }
                Ok(_) => {}
                Err(e) => failure = Some(e),
            }
        }
        match best {
            Some((t, _)) => transforms.push(t),
            None => {
                return Err(match failure {
                    Some(e) => {
                        let e = in_terms_of_metrics(e);
                        HealthError {
                            message: format!("metric \"{name}\": {}", e.message),
                            ..e
                        }
                    }
                    None => HealthError::invalid(format!(
                        "metric \"{name}\" has negative values, and options.normalisers allows only log normalisers, which need values >= 0"
                    )),
                })
            }
        }
    }
    // 2. directions to a fixed point, then the fit held to the health-score form
    let m = columns.len();
    let mut subscores = filled(rows.len() * m, 0.0)?;
    for (i, &r) in rows.iter().enumerate() {
        ticker.advance(m);
        for (j, &c) in columns.iter().enumerate() {
            subscores[i * m + j] = data.value(r, c).map_or(50.0, |v| transforms[j].subscore(v, clip));
        }
    }
    let mut higher_is_better = vec![true; m];
    let mut active: Vec<usize> = (0..m).collect();
    let mut dropped = Vec::new();
    for _ in 0..2 * m + 4 {
        let a = active.len();
        let mut x = filled(rows.len() * a, 0.0)?;
        for i in 0..rows.len() {
            ticker.advance(a);
            for (k, &j) in active.iter().enumerate() {
                let s = subscores[i * m + j];
                x[i * a + k] = if higher_is_better[j] { s } else { 100.0 - s };
            }
        }
        let free: Logistic = newton(&x, &y, a, options.l2, None).map_err(in_terms_of_metrics)?;
        let wrong: Vec<usize> = (0..a).filter(|&k| free.beta[k + 1] > 0.0).map(|k| active[k]).collect();
        if !wrong.is_empty() {
            for j in wrong {
                higher_is_better[j] = !higher_is_better[j];
            }
            continue;
        }
        let held = newton(&x, &y, a, options.l2, Some(&vec![true; a])).map_err(in_terms_of_metrics)?;
        let total: f64 = held.beta[1..].iter().map(|b| -b).sum();
        if total.is_nan() || total <= 0.0 {
            return Err(HealthError::invalid(
                "no metric predicts churn: every coefficient is 0, so there are no weights to learn",
            ));
        }
        let weights: Vec<f64> = held.beta[1..].iter().map(|b| 100.0 * -b / total).collect();
        let negligible: Vec<usize> = (0..a).filter(|&k| weights[k] < options.min_weight).collect();
        if !negligible.is_empty() && negligible.len() < a {
            dropped.extend(negligible.iter().map(|&k| columns[active[k]]));
            active = (0..a).filter(|k| !negligible.contains(k)).map(|k| active[k]).collect();
            continue;
        }
        let rounded = hundredths(&weights);
        let mut metrics: Vec<LearnedMetric> = active
            .iter()
            .zip(rounded)
            .map(|(&j, weight)| LearnedMetric {
                column: columns[j],
                transform: transforms[j],
                higher_is_better: higher_is_better[j],
                weight,
            })
            .collect();
        metrics.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then(data.names[a.column].cmp(&data.names[b.column]))
        });
        // Only the metrics kept: a left-out metric's direction is moot.
        let flipped = active
            .iter()
            .filter(|&&j| !higher_is_better[j])
            .map(|&j| columns[j])
            .collect();
        return Ok(Learned {
            metrics,
            // The score is sum(-beta * subscore) / total (the weights are the
            // shares of -beta), so the log-odds are intercept - total * score.
            curve: (held.beta[0], total),
            flipped,
            dropped,
            log_likelihood: held.log_likelihood,
        });
    }
    Err(
        HealthError::invalid("the metrics' directions did not settle: flipping one keeps flipping another")
            .with_hint("Set options {\"l2\": 1}, or leave out metrics that are near copies of each other."),
    )
}

/// Weights to hundredths that still sum to exactly 100.00 (largest remainders
/// round up).
fn hundredths(weights: &[f64]) -> Vec<f64> {
    let scaled: Vec<f64> = weights.iter().map(|w| w * 100.0).collect();
    let mut units: Vec<i64> = scaled.iter().map(|s| s.floor() as i64).collect();
    let short = 10_000 - units.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (scaled[b] - scaled[b].floor())
            .total_cmp(&(scaled[a] - scaled[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().take(short.max(0) as usize) {
        units[i] += 1;
    }
    units.iter().map(|&u| u as f64 / 100.0).collect()
}

impl Learned {
    fn model(&self, data: &Dataset, options: &Options, tiers: Tiers) -> Model {
        let metrics = self
            .metrics
            .iter()
            .map(|m| MetricSpec {
                name: data.names[m.column].clone(),
                weight: m.weight,
                higher_is_better: m.higher_is_better,
                scale: m.transform.scale(options.clip),
                critical_floor: None,
            })
            .collect();
        Model {
            name: options.name.clone(),
            version: options.version.clone(),
            missing: Missing::Neutral,
            min_coverage: options.min_coverage,
            metrics,
            tiers,
            critical_tier: None,
            fit: None,
        }
    }

    fn columns(&self) -> Vec<usize> {
        self.metrics.iter().map(|m| m.column).collect()
    }
}

/// (score, churned) of `rows` under `model`, the accounts it scores
/// (coverage) only.
fn scored(model: &Model, data: &Dataset, rows: &[usize], columns: &[usize]) -> Result<Vec<(f64, bool)>> {
    let mut out = Vec::new();
    resources::reserve(&mut out, rows.len(), STATE)?;
    let mut ticker = Ticker::default();
    for &r in rows {
        ticker.tick();
        if let Some(score) = model.evaluate(&data.values(r, columns))? {
            out.push((score, data.y[r]));
        }
    }
    Ok(out)
}

fn outcomes_of(scored: &[(f64, bool)]) -> Result<Outcomes> {
    let mut outcomes = Outcomes::default();
    for &(s, c) in scored {
        outcomes.add(s, c)?;
    }
    Ok(outcomes)
}

// ---- tiers from the outcome ----

/// The shortest decimal `c` with `lo <= c` and `hi` clearly above it: the
/// cutoff between two neighbouring scores (`tier` is upper-inclusive).
fn cut_between(lo: f64, hi: f64) -> f64 {
    for digits in 0..=12 {
        let scale = 10f64.powi(digits);
        let c = (lo * scale).ceil() / scale;
        if c >= lo && c < hi - 2.0 * CUTOFF_TOLERANCE {
            return c;
        }
    }
    lo
}

/// The cutoffs of the at_risk / neutral / healthy bands, and what each band
/// holds. A churn-ratio rule reads the fitted curve: the churn log-odds of a
/// score `h` are `intercept - slope * h`, so at_risk ends at the score whose
/// fitted churn probability is `ratio` times the base rate (and healthy
/// starts where it is `ratio` times for the lower ratio): the band holds the
/// accounts whose own risk is that high, not a group whose average is. A
/// share rule counts accounts from the bottom (or the top).
fn choose_tiers(scored: &mut [(f64, bool)], curve: (f64, f64), options: &Options) -> (Vec<f64>, Value) {
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let n = scored.len();
    let base = scored.iter().filter(|s| s.1).count() as f64 / n.max(1) as f64;
    let (intercept, slope) = curve;
    let tenth = |v: f64| ((v * 10.0).round() / 10.0).clamp(0.0, 100.0);
    // The score whose fitted churn probability is `p` (0 or 100 beyond them).
    let score_at = |p: f64| {
        if p >= 1.0 {
            0.0
        } else {
            tenth((intercept - (p / (1.0 - p)).ln()) / slope)
        }
    };
    // Places between two clearly different scores, for a share rule.
    let edges: Vec<usize> = (1..n)
        .filter(|&i| scored[i].0 - scored[i - 1].0 > 4.0 * CUTOFF_TOLERANCE)
        .collect();
    let at_share = |count: f64| {
        edges
            .iter()
            .copied()
            .min_by(|&a, &b| (a as f64 - count).abs().total_cmp(&(b as f64 - count).abs()))
            .map(|e| cut_between(scored[e - 1].0, scored[e].0))
    };
    let c1 = match options.at_risk {
        TierRule::ChurnRatio(q) => score_at(q * base),
        TierRule::Share(f) => at_share(f * n as f64).unwrap_or(0.0),
    };
    let c2 = match options.healthy {
        TierRule::ChurnRatio(q) => score_at(q * base),
        TierRule::Share(f) => at_share((1.0 - f) * n as f64).unwrap_or(100.0),
    };
    let c1 = c1.min(99.9);
    let cutoffs = vec![c1, if c2 > c1 { c2 } else { tenth(c1 + 0.1) }];
    // What each band holds, counted as `tier` will place the accounts.
    let mut counts = [(0usize, 0usize); 3];
    for &(s, c) in scored.iter() {
        let band = crate::normalise::band_index(crate::tier::on_cutoff(s, &cutoffs), &cutoffs);
        counts[band].0 += 1;
        counts[band].1 += usize::from(c);
    }
    let band = |(accounts, churned): (usize, usize)| json!({"accounts": accounts, "churn_rate": (accounts > 0).then(|| churned as f64 / accounts as f64)});
    let stats = json!({
        "at_risk": band(counts[0]),
        "neutral": band(counts[1]),
        "healthy": band(counts[2]),
    });
    (cutoffs, stats)
}

// ---- the whole model ----

impl Learner {
    /// The model learned from every row, with its statistics in `fit`;
    /// `None` without rows.
    pub fn learn(&self) -> Result<Option<Model>> {
        if self.rows() == 0 {
            return Ok(None);
        }
        let options = Options::parse(self.options.as_deref())?;
        let data = self.dataset()?;
        let columns = data.columns(&options)?;
        if columns.is_empty() {
            return Err(HealthError::invalid(
                "metrics holds no metric on any row: there is nothing to learn from",
            ));
        }
        let all: Vec<usize> = (0..data.y.len()).collect();
        let learned = learn_on(&data, &all, &columns, &options)?;
        let default_tiers = Tiers::Bands {
            cutoffs: vec![40.0, 70.0],
            labels: vec!["at_risk".into(), "neutral".into(), "healthy".into()],
        };
        let mut model = learned.model(&data, &options, default_tiers);
        let mut scores = scored(&model, &data, &all, &learned.columns())?;
        let mut outcomes = outcomes_of(&scores)?;
        let (auc, lift) = (outcomes.auc(), outcomes.lift(0.1)?);
        let (cutoffs, bands) = choose_tiers(&mut scores, learned.curve, &options);
        model.tiers = Tiers::Bands {
            cutoffs,
            labels: vec!["at_risk".into(), "neutral".into(), "healthy".into()],
        };
        let churned = data.y.iter().filter(|&&c| c).count();
        let names = |columns: &[usize]| -> Vec<String> { columns.iter().map(|&c| data.names[c].clone()).collect() };
        let statistics = json!({
            "rows": data.y.len(),
            "rows_scored": scores.len(),
            "churned": churned,
            "base_rate": churned as f64 / data.y.len() as f64,
            "auc": auc,
            "lift": lift,
            "log_likelihood": learned.log_likelihood,
            "cross_validation": self.cross_validate(&data, &columns, &options)?,
            "flipped": names(&learned.flipped),
            "dropped": names(&learned.dropped),
            "tiers": bands,
            "l2": options.l2,
        });
        model.fit = Some(statistics);
        // The answer is read back as any stored model is: valid by construction.
        Model::parse(&model.to_text()).map(Some)
    }

    /// The same learning with each fold of accounts held out in turn:
    /// the mean AUC and lift on the held-out folds (`null` with `folds: 0`).
    fn cross_validate(&self, data: &Dataset, columns: &[usize], options: &Options) -> Result<Value> {
        let folds = options.folds;
        if folds < 2 {
            return Ok(Value::Null);
        }
        let fold = |r: usize| (data.keys[r] % u64::from(folds)) as u32 + 1;
        let (mut aucs, mut lifts) = (Vec::new(), Vec::new());
        for f in 1..=folds {
            let (held_out, training): (Vec<usize>, Vec<usize>) = (0..data.y.len()).partition(|&r| fold(r) == f);
            if held_out.is_empty() {
                aucs.push(None);
                lifts.push(None);
                continue;
            }
            let learned = learn_on(data, &training, columns, options).map_err(|e| {
                let hint = e.hint.clone().unwrap_or_default();
                HealthError::new(
                    e.kind,
                    format!("cross-validation, learning without fold {f} of {folds}: {}", e.message),
                )
                .with_hint(
                    format!("{hint} Set options {{\"folds\": 0}} to skip cross-validation.")
                        .trim_start()
                        .to_owned(),
                )
            })?;
            let model = learned.model(data, options, Tiers::Grade);
            let mut outcomes = outcomes_of(&scored(&model, data, &held_out, &learned.columns())?)?;
            aucs.push(outcomes.auc());
            lifts.push(outcomes.lift(0.1)?);
        }
        let mean = |values: &[Option<f64>]| {
            let known: Vec<f64> = values.iter().flatten().copied().collect();
            (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
        };
        Ok(json!({
            "folds": folds,
            "auc": mean(&aucs),
            "lift": mean(&lifts),
            "auc_by_fold": aucs,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::newton;

    /// A deterministic stream of uniforms and normals (SplitMix64, Box-Muller).
    struct Stream(u64);

    impl Stream {
        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform().max(1e-300), self.uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// Accounts whose churn follows a known logistic relation: `usage`
    /// protects, `seats` tracks usage but adds churn once usage is known (a
    /// positive conditional coefficient), `tickets` (counts, sometimes
    /// NULL) adds churn, `noise` does nothing.
    fn accounts(n: usize, seed: u64) -> Vec<LearnRow> {
        let mut s = Stream(seed);
        (0..n)
            .map(|i| {
                let usage = s.normal();
                let seats = 0.8 * usage + 0.6 * s.normal();
                let tickets = (2.0 * s.uniform() + 1.0 * s.normal().abs()).floor();
                let noise = s.normal();
                let eta = -1.0 - 1.6 * usage + 0.9 * seats + 0.4 * tickets;
                let churned = s.uniform() < 1.0 / (1.0 + (-eta).exp());
                let tickets = (i % 7 != 3).then_some(tickets);
                LearnRow {
                    account: format!("acct-{i}"),
                    metrics: vec![
                        ("usage".into(), Some(50.0 + 10.0 * usage)),
                        ("seats".into(), Some(20.0 + 5.0 * seats)),
                        ("tickets".into(), tickets),
                        ("noise".into(), Some(noise)),
                    ],
                    churned,
                    options: None,
                }
            })
            .collect()
    }

    fn learner(rows: &[LearnRow]) -> Learner {
        let mut l = Learner::default();
        for r in rows {
            l.add_row(r.clone()).unwrap();
        }
        l
    }

    fn with_options(rows: &[LearnRow], options: &str) -> Vec<LearnRow> {
        rows.iter()
            .map(|r| LearnRow {
                options: Some(options.into()),
                ..r.clone()
            })
            .collect()
    }

    #[test]
    fn folds_are_a_fixed_hash() {
        // Pinned: a change here changes which accounts every user's folds hold.
        let folds: Vec<u32> = ["acct-1", "acct-2", "42", ""].iter().map(|a| fold_of(a, 5)).collect();
        assert_eq!(
            folds,
            vec![
                fold_of("acct-1", 5),
                fold_of("acct-2", 5),
                fold_of("42", 5),
                fold_of("", 5)
            ]
        );
        assert_eq!(account_hash(""), {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            h ^= h >> 30;
            h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h ^= h >> 27;
            h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
            h ^ (h >> 31)
        });
        // About a fifth of 10 000 accounts in each of 5 folds.
        let mut counts = [0usize; 5];
        for i in 0..10_000 {
            counts[fold_of(&i.to_string(), 5) as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| (1850..=2150).contains(&c)), "{counts:?}");
    }

    #[test]
    fn weights_round_to_hundredths_summing_to_100() {
        let w = hundredths(&[100.0 / 3.0, 100.0 / 3.0, 100.0 / 3.0]);
        assert_eq!(w, vec![33.34, 33.33, 33.33]);
        let w = hundredths(&[12.345, 50.0, 37.655]);
        assert_eq!((w.iter().map(|x| (x * 100.0).round() as i64).sum::<i64>()), 10_000);
    }

    #[test]
    fn cutoffs_are_short_decimals_between_scores() {
        assert_eq!(cut_between(41.234, 41.9), 42.0_f64.min(41.3));
        assert_eq!(cut_between(40.0, 55.0), 40.0);
        assert_eq!(cut_between(39.2, 55.0), 40.0);
        assert_eq!(cut_between(61.25, 61.26), 61.25);
    }

    #[test]
    fn a_bound_coefficient_held_at_zero_is_the_fit_without_it() {
        // y depends on x0 against churn and x1 toward it: held <= 0, x1's
        // coefficient sits at 0 and x0's is the one-feature fit's.
        let mut s = Stream(7);
        let (mut x, mut x0, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..2000 {
            let (a, b) = (s.normal(), s.normal());
            let eta = -1.2 * a + 0.8 * b;
            x.extend([a, b]);
            x0.push(a);
            y.push(s.uniform() < 1.0 / (1.0 + (-eta).exp()));
        }
        let held = newton(&x, &y, 2, 0.0, Some(&[true, true])).unwrap();
        let alone = newton(&x0, &y, 1, 0.0, None).unwrap();
        assert_eq!(held.beta[2], 0.0);
        assert!((held.beta[1] - alone.beta[1]).abs() < 1e-9, "{held:?} {alone:?}");
        assert!((held.beta[0] - alone.beta[0]).abs() < 1e-9);
        // Unbounded, x1's coefficient is positive.
        assert!(newton(&x, &y, 2, 0.0, None).unwrap().beta[2] > 0.5);
    }

    #[test]
    fn learns_directions_weights_and_tiers() {
        let rows = accounts(6000, 11);
        let model = learner(&rows).learn().unwrap().unwrap();
        let fit = model.fit.clone().unwrap();
        let spec = |name: &str| model.metrics.iter().find(|m| m.name == name).cloned();
        // usage protects; seats, once usage is known, and tickets add churn.
        assert!(spec("usage").unwrap().higher_is_better);
        assert!(!spec("seats").unwrap().higher_is_better);
        assert!(!spec("tickets").unwrap().higher_is_better);
        assert_eq!(fit["flipped"], json!(["seats", "tickets"]));
        // The noise metric carries (almost) nothing and is left out.
        assert!(spec("noise").is_none(), "{}", model.to_text());
        assert_eq!(fit["dropped"], json!(["noise"]));
        let total: f64 = model.metrics.iter().map(|m| m.weight).sum();
        assert!((total - 100.0).abs() < 1e-9);
        // The score ranks as the unconstrained regression on the same
        // sub-scores: AUC within a rounding of the weights.
        let auc = fit["auc"].as_f64().unwrap();
        let data = learner(&rows).dataset().unwrap();
        let columns: Vec<usize> = (0..data.p).collect();
        let all: Vec<usize> = (0..data.y.len()).collect();
        let learned = learn_on(&data, &all, &columns, &Options::parse(None).unwrap()).unwrap();
        let m = learned.metrics.len();
        let mut x = Vec::new();
        for r in 0..data.y.len() {
            for lm in &learned.metrics {
                x.push(
                    data.value(r, lm.column)
                        .map_or(50.0, |v| lm.transform.subscore(v, DEFAULT_CLIP)),
                );
            }
        }
        let free = newton(&x, &data.y, m, 0.0, None).unwrap();
        let mut o = Outcomes::default();
        for r in 0..data.y.len() {
            o.add(-free.log_odds(&x[r * m..(r + 1) * m]), data.y[r]).unwrap();
        }
        assert!((auc - o.auc().unwrap()).abs() < 0.001, "{auc} vs {:?}", o.auc());
        // Tiers: at_risk churns at least twice the base rate, healthy at most half.
        let base = fit["base_rate"].as_f64().unwrap();
        let at_risk = fit["tiers"]["at_risk"]["churn_rate"].as_f64().unwrap();
        let healthy = fit["tiers"]["healthy"]["churn_rate"].as_f64().unwrap();
        assert!(at_risk >= 2.0 * base && healthy <= 0.5 * base, "{fit}");
        let cv = &fit["cross_validation"];
        assert_eq!(cv["folds"], json!(5));
        assert!((cv["auc"].as_f64().unwrap() - auc).abs() < 0.03, "{cv}");
        // The model reads back as itself.
        assert_eq!(Model::parse(&model.to_text()).unwrap(), model);
    }

    #[test]
    fn the_order_and_split_of_rows_do_not_matter() {
        let rows = with_options(&accounts(800, 3), r#"{"folds": 3}"#);
        let serial = learner(&rows).learn().unwrap().unwrap().to_text();
        let mut reversed: Vec<LearnRow> = rows.clone();
        reversed.reverse();
        let (a, b) = reversed.split_at(300);
        let mut merged = learner(b);
        let part = Learner::from_bytes(&learner(a).to_bytes().unwrap()).unwrap();
        merged.merge(&part).unwrap();
        assert_eq!(merged.learn().unwrap().unwrap().to_text(), serial);
    }

    #[test]
    fn errors_say_what_to_change() {
        let rows = accounts(300, 5);
        let message = |rows: &[LearnRow]| learner(rows).learn().unwrap_err();
        let one_class: Vec<LearnRow> = rows
            .iter()
            .map(|r| LearnRow {
                churned: false,
                ..r.clone()
            })
            .collect();
        assert_eq!(
            message(&one_class).message,
            "needs both churned and retained accounts, got 0 of 300 churned"
        );
        let constant: Vec<LearnRow> = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.metrics.push(("plan".into(), Some(3.0)));
                r
            })
            .collect();
        let e = message(&constant);
        assert_eq!(e.kind, crate::ErrorKind::InvalidParameter);
        assert!(
            e.message
                .starts_with("metric \"plan\" has the same value (3) on every row"),
            "{}",
            e.message
        );
        let empty: Vec<LearnRow> = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.metrics.push(("nps".into(), None));
                r
            })
            .collect();
        let e = message(&empty);
        assert_eq!(e.kind, crate::ErrorKind::NullValue);
        assert_eq!(
            e.message,
            "metric \"nps\" is NULL on every row: there is nothing to learn from"
        );
        let few = &rows[..4];
        assert_eq!(
            message(few).message,
            "needs more accounts than metrics + 1, got 4 accounts for 4 metrics"
        );
        // Separated classes do not converge without a penalty.
        let separated: Vec<LearnRow> = rows
            .iter()
            .map(|r| {
                let usage = r.metrics[0].1.unwrap();
                LearnRow {
                    churned: usage < 50.0,
                    metrics: vec![r.metrics[0].clone()],
                    ..r.clone()
                }
            })
            .collect();
        let e = message(&with_options(&separated, r#"{"folds": 0}"#));
        assert!(e.message.contains("did not converge"), "{}", e.message);
        assert!(e.hint.as_deref().unwrap_or("").contains("l2"));
        // Options are checked on the first row.
        let mut l = Learner::default();
        let e = l
            .add_row(with_options(&rows[..1], r#"{"fold": 3, "l2": -1}"#).remove(0))
            .unwrap_err();
        assert_eq!(
            e.message,
            "invalid options: options.fold is not a known option (did you mean folds?); options.l2 must be a number >= 0, got -1"
        );
        let e = learner(&with_options(&rows, r#"{"metrics": ["usage", "seat"]}"#))
            .learn()
            .unwrap_err();
        assert!(
            e.message
                .starts_with("options.metrics names \"seat\" (did you mean \"seats\"?)"),
            "{}",
            e.message
        );
    }
}

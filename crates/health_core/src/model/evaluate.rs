//! A model applied to one account's values: sub-scores, the score, the
//! tier with the worst-of rule, the metrics below their floor, and the
//! explanation of a score.

use serde_json::{json, Value};

use super::parse::{kind, not_a_number};
use super::*;
use crate::error::HealthError;
use crate::normalise::Normaliser;
use crate::score::Totals;
use crate::scorecard::Scorecard;

impl Model {
    /// Sub-score of metric `i` for `value` (None: not measured, or outside the
    /// range under `out_of_range: null`).
    pub fn subscore(&self, i: usize, value: Option<f64>) -> Result<Option<f64>> {
        let m = &self.metrics[i];
        let Some(v) = value else { return Ok(None) };
        let result = match (&m.scale, &m.profile_name) {
            (Normaliser::Profile { profile: None, .. }, name) => Err(HealthError::invalid(format!(
                "profile_name \"{}\" is not resolved: fetch the model with health.model_for(name), or call health.resolve_profiles(model)",
                name.as_deref().unwrap_or("")
            ))),
            (scale, _) => scale.apply(v, m.higher_is_better),
        };
        result.map_err(|e| HealthError::new(e.kind, format!("metric \"{}\": {}", m.name, e.message)))
    }

    /// The scorecard of one account: every metric with its sub-score.
    pub fn scorecard(&self, values: &[Option<f64>]) -> Result<Scorecard> {
        self.check_arity(values.len())?;
        let mut card = Scorecard::new();
        for (i, m) in self.metrics.iter().enumerate() {
            card.push(&m.name, self.subscore(i, values[i])?, m.weight)?;
        }
        card.finish()
    }

    fn check_arity(&self, n: usize) -> Result<()> {
        if n != self.metrics.len() {
            return Err(HealthError::array(format!(
                "values must have one element per model metric, got {n} values for {} metrics",
                self.metrics.len()
            )));
        }
        Ok(())
    }

    /// The health score, as `weighted_score` of the sub-scores would give it.
    pub fn evaluate(&self, values: &[Option<f64>]) -> Result<Option<f64>> {
        self.check_arity(values.len())?;
        let mut totals = Totals::default();
        for (i, m) in self.metrics.iter().enumerate() {
            let subscore = self.subscore(i, values[i])?;
            if subscore.is_none() {
                self.missing.check_present(|| format!("metric \"{}\"", m.name))?;
            }
            totals.add(i + 1, subscore, m.weight)?;
        }
        totals.score(self.missing, self.min_coverage)
    }

    /// The tier of a score under the model's scheme (no worst-of rule: that
    /// needs the metrics, see [`Model::tier_of`]).
    pub fn tier(&self, score: f64) -> Result<String> {
        Ok(match &self.tiers {
            Tiers::Bands { cutoffs, labels } => labels[tier::tier_index(score, cutoffs, labels.len())?].clone(),
            Tiers::Color { cutoffs } => tier::color(score, cutoffs)?.to_string(),
            Tiers::Grade => tier::grade(score)?.to_string(),
        })
    }

    /// The metrics below their critical floor.
    pub fn critical(&self, values: &[Option<f64>]) -> Result<Vec<&str>> {
        let mut out = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            if let (Some(floor), Some(s)) = (m.critical_floor, self.subscore(i, values[i])?) {
                if s < floor {
                    out.push(m.name.as_str());
                }
            }
        }
        Ok(out)
    }

    /// The tier with the worst-of rule: `critical_tier` (default: the lowest
    /// tier) when any critical metric is below its floor, else the score's tier.
    pub fn tier_of(&self, values: &[Option<f64>]) -> Result<Option<String>> {
        self.check_arity(values.len())?;
        if !self.critical(values)?.is_empty() {
            let lowest = self.tiers.labels().into_iter().next().unwrap_or_default();
            return Ok(Some(self.critical_tier.clone().unwrap_or(lowest)));
        }
        match self.evaluate(values)? {
            Some(score) => self.tier(score).map(Some),
            None => Ok(None),
        }
    }

    /// Values in model order from a JSON object keyed by metric name
    /// (absent or null = not measured). A key the model does not know is an
    /// error under [`ExtraKeys::Error`]: a misspelt metric would otherwise
    /// count as missing and move the score without a word.
    pub fn values_from_json(&self, metrics: &Value, extra: ExtraKeys) -> Result<Vec<Option<f64>>> {
        let Some(map) = metrics.as_object() else {
            return Err(HealthError::invalid(format!(
                "metrics must be a JSON object, got {}",
                kind(metrics)
            )));
        };
        let mut present = 0;
        let values = self
            .metrics
            .iter()
            .map(|m| match map.get(&m.name) {
                None => Ok(None),
                Some(Value::Null) => {
                    present += 1;
                    Ok(None)
                }
                Some(v) => {
                    present += 1;
                    v.as_f64()
                        .filter(|x| x.is_finite())
                        .map(Some)
                        .ok_or_else(|| not_a_number(&m.name, v))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if present < map.len() && extra == ExtraKeys::Error {
            return Err(self.unknown_keys(map));
        }
        Ok(values)
    }

    /// The error for keys of `metrics` the model does not know, each with
    /// the model's metric it most likely meant.
    fn unknown_keys(&self, map: &serde_json::Map<String, Value>) -> HealthError {
        let unknown = self.unknown_names(map);
        HealthError::invalid(format!(
            "metrics has {} the model does not know: {}; the model's metrics are {}. \
             A misspelt key would count as a missing metric; pass extra_keys => 'ignore' \
             when the object also holds values the model does not use",
            if unknown.len() == 1 { "a key" } else { "keys" },
            unknown.join(", "),
            self.metric_names()
        ))
    }

    /// The keys of `map` that name no metric of the model, quoted, each with
    /// the metric it most likely meant.
    pub(super) fn unknown_names(&self, map: &serde_json::Map<String, Value>) -> Vec<String> {
        map.keys()
            .filter(|k| !self.metrics.iter().any(|m| &m.name == *k))
            .map(|k| match closest(k, self.metrics.iter().map(|m| m.name.as_str())) {
                Some(meant) => format!("\"{k}\" (did you mean \"{meant}\"?)"),
                None => format!("\"{k}\""),
            })
            .collect()
    }

    /// The model's metric names, comma-separated, for messages.
    pub(super) fn metric_names(&self) -> String {
        self.metrics
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Score, coverage, tier (worst-of applied), the metrics below their
    /// critical floor and the per-metric contributions of §2.
    pub fn explain(&self, values: &[Option<f64>]) -> Result<Value> {
        let card = self.scorecard(values)?;
        let score = card.score(self.missing, self.min_coverage)?;
        let contributions: Vec<Value> = match card.contributions(self.missing)? {
            None => Vec::new(),
            Some(parts) => parts
                .iter()
                .map(|c| {
                    let i = self.metrics.iter().position(|m| m.name == c.metric).unwrap_or(0);
                    json!({
                        "metric": c.metric,
                        "value": values[i].map(number_value).unwrap_or(Value::Null),
                        "score": c.score.map(number_value).unwrap_or(Value::Null),
                        "weight": number_value(c.weight),
                        "weight_share": number_value(c.weight_share),
                        "points": number_value(c.points),
                        "points_lost": number_value(c.points_lost),
                    })
                })
                .collect(),
        };
        let critical: Vec<&str> = self.critical(values)?;
        Ok(json!({
            "score": score.map(number_value).unwrap_or(Value::Null),
            "coverage": card.coverage().map(number_value).unwrap_or(Value::Null),
            "tier": self.tier_of(values)?,
            "critical": critical,
            "model": self.name,
            "version": self.version,
            "contributions": contributions,
        }))
    }
}

/// What `evaluate`, `explain` and `tier` do with a key of the metrics object
/// that names no metric of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraKeys {
    /// An error naming the keys (the default: a typo must never change a score).
    Error,
    /// Ignored: the object comes from a feature store that holds more.
    Ignore,
}

impl ExtraKeys {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "error" => Ok(ExtraKeys::Error),
            "ignore" => Ok(ExtraKeys::Ignore),
            other => Err(HealthError::invalid(format!(
                "extra_keys must be 'error' or 'ignore', got '{other}'"
            ))),
        }
    }
}

/// `model_for`'s error for a name no row of the catalogue `catalogue` has
/// (`known`: the names it has): a typo would otherwise score every account
/// NULL without a word. The hint names the likely one, or else the first
/// ten it has.
pub fn unknown_model(name: &str, catalogue: &str, known: &[String]) -> HealthError {
    let error = HealthError::invalid(format!("{catalogue} has no model named \"{name}\""));
    let listed: Vec<String> = known.iter().take(10).map(|k| format!("\"{k}\"")).collect();
    let more = if known.len() > listed.len() { ", ..." } else { "" };
    match (closest(name, known.iter().map(String::as_str)), known.is_empty()) {
        (_, true) => error.with_hint(format!(
            "{catalogue} holds no model yet: insert one (docs/reference.md, the model catalogue)."
        )),
        (Some(meant), false) => error.with_hint(format!("Did you mean \"{meant}\"?")),
        (None, false) => error.with_hint(format!("The catalogue's models: {}{more}.", listed.join(", "))),
    }
}

/// The error of `model_for` for a model whose catalogue has versions but
/// none in force at `at` (`first`: when its earliest version takes effect,
/// None when that is not after `at`, a version without a model).
pub fn no_version_in_force(name: &str, catalogue: &str, at: &str, first: Option<&str>) -> HealthError {
    let error = HealthError::invalid(format!(
        "{catalogue} has no version of model \"{name}\" in force at {at}"
    ));
    let or_null = "health.model_for_or_null answers NULL instead, for moments a model does not cover.";
    match first {
        Some(first) => error.with_hint(format!("Its first version takes effect at {first}; {or_null}")),
        None => error.with_hint(format!("The version in force then holds no model; {or_null}")),
    }
}

/// The candidate nearest to `key` by edit distance (case-insensitive), if
/// it is near enough to be a likely typo.
pub(super) fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key = key.to_lowercase();
    candidates
        .map(|c| (edit_distance(&key, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= 2.max(c.chars().count() / 4))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

//! Scoring models as data (docs/reference.md §6): one JSON document holds the metrics
//! (name, weight, normaliser and its parameters, direction, an optional
//! critical floor), the missing policy and minimum coverage, and the tier
//! scheme. Parsed and validated once (every problem reported with its JSON
//! path), then evaluated per row.
//!
//! ```json
//! {"name": "mature", "version": "2026-Q4",
//!  "missing": "renormalize", "min_coverage": 0.6,
//!  "metrics": [
//!    {"name": "active_days_30d", "weight": 20, "scale": {"method": "target", "target": 20}, "critical_floor": 25},
//!    {"name": "open_tickets", "weight": 10, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 8}}],
//!  "tiers": {"cutoffs": [40, 70], "labels": ["at_risk", "neutral", "healthy"]},
//!  "critical_tier": "at_risk"}
//! ```
//!
//! # Modules
//! - this one: the model's types, its stored form and its canonical text;
//! - `parse`: JSON text -> model, every problem reported with its path;
//! - `evaluate`: sub-scores, score, tier, critical metrics, explanations;
//! - `edit`: a model changed without editing its JSON (`with_weights`);
//! - `learn`: a whole model learned from churn outcomes (`fit_model`).

mod edit;
mod evaluate;
pub use evaluate::ExtraKeys;
mod learn;
pub use learn::{fold_of, LearnRow, Learner};
mod parse;
pub use evaluate::{no_version_in_force, unknown_model};
#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use crate::error::{HealthError, Result};
use crate::format::MODEL;
use crate::normalise::{Normaliser, OutOfRange};
use crate::profile::ProfileView;
use crate::score::Missing;
use crate::tier;

#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    pub weight: f64,
    pub higher_is_better: bool,
    /// How its raw value becomes a 0–100 sub-score (`scale` in the JSON).
    pub scale: Normaliser,
    /// `scale.profile_name`: the profile of `health.profiles` this metric is
    /// scaled by, resolved into `scale` when the model is fetched.
    pub profile_name: Option<String>,
    /// Worst-of rule: a sub-score below this floor puts the account in `critical_tier`.
    pub critical_floor: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tiers {
    Bands { cutoffs: Vec<f64>, labels: Vec<String> },
    Color { cutoffs: Vec<f64> },
    Grade,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: Option<String>,
    pub version: Option<Value>,
    pub missing: Missing,
    pub min_coverage: f64,
    pub metrics: Vec<MetricSpec>,
    pub tiers: Tiers,
    pub critical_tier: Option<String>,
    /// What `fit_model` measured when it learned the model (rows, AUC, lift,
    /// cross-validation, ...): kept with it, read by no scoring function.
    pub fit: Option<Value>,
}

impl Tiers {
    fn labels(&self) -> Vec<String> {
        match self {
            Tiers::Bands { labels, .. } => labels.clone(),
            Tiers::Color { .. } => vec!["red".into(), "yellow".into(), "green".into()],
            Tiers::Grade => ["F", "D", "C", "B", "A"].iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Model {
    /// The stored form: the format header (see `format`), then the
    /// canonical text. Format 1 (0.1.0) is the canonical text alone.
    pub fn to_stored(&self) -> Vec<u8> {
        let text = self.to_text();
        let mut out = Vec::with_capacity(4 + text.len());
        MODEL.write_header(&mut out);
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// The JSON text of a stored model (or of a model sent in binary form).
    pub fn stored_text(bytes: &[u8]) -> Result<&str> {
        let (_, text) = MODEL.payload(bytes)?;
        std::str::from_utf8(text).map_err(|_| HealthError::text("invalid model: not UTF-8"))
    }

    /// Reads a stored model (validated again: its text is the source of truth).
    pub fn from_stored(bytes: &[u8]) -> Result<Model> {
        Model::parse(Model::stored_text(bytes)?)
    }

    /// The canonical document as JSON (`model::jsonb`).
    pub fn to_json(&self) -> Value {
        serde_json::from_str(&self.to_text()).unwrap_or(Value::Null)
    }

    /// The canonical text form: every field, in a fixed order, defaults
    /// written out, so `text -> model -> text` is stable.
    pub fn to_text(&self) -> String {
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|m| {
                let mut o = Map::new();
                o.insert("name".into(), json!(m.name));
                o.insert("weight".into(), number_value(m.weight));
                o.insert("higher_is_better".into(), json!(m.higher_is_better));
                o.insert("scale".into(), scale_value(&m.scale, m.profile_name.as_deref()));
                if let Some(c) = m.critical_floor {
                    o.insert("critical_floor".into(), number_value(c));
                }
                Value::Object(o)
            })
            .collect();
        let tiers = match &self.tiers {
            Tiers::Bands { cutoffs, labels } => {
                json!({"scheme": "bands", "cutoffs": numbers_value(cutoffs), "labels": labels})
            }
            Tiers::Color { cutoffs } => json!({"scheme": "color", "cutoffs": numbers_value(cutoffs)}),
            Tiers::Grade => json!({"scheme": "grade"}),
        };
        let mut fields: Vec<(&str, Value)> = Vec::new();
        if let Some(n) = &self.name {
            fields.push(("name", json!(n)));
        }
        if let Some(v) = &self.version {
            fields.push(("version", v.clone()));
        }
        fields.push(("missing", json!(Missing::name(self.missing))));
        fields.push(("min_coverage", number_value(self.min_coverage)));
        fields.push(("metrics", Value::Array(metrics)));
        fields.push(("tiers", tiers));
        if let Some(c) = &self.critical_tier {
            fields.push(("critical_tier", json!(c)));
        }
        if let Some(fit) = &self.fit {
            fields.push(("fit", fit.clone()));
        }
        // Written by hand so the field order is the documented one.
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {}", pretty(v))).collect();
        format!("{{{}}}", body.join(", "))
    }
}

fn scale_value(s: &Normaliser, profile_name: Option<&str>) -> Value {
    let mut o = Map::new();
    o.insert("method".into(), json!(s.method()));
    let oor = |o: &OutOfRange| if *o == OutOfRange::Null { "null" } else { "clamp" };
    match s {
        Normaliser::Linear { lo, hi, out_of_range } | Normaliser::Log { lo, hi, out_of_range } => {
            o.insert("lo".into(), number_value(*lo));
            o.insert("hi".into(), number_value(*hi));
            o.insert("out_of_range".into(), json!(oor(out_of_range)));
        }
        Normaliser::Target { target } => {
            o.insert("target".into(), number_value(*target));
        }
        Normaliser::Bands { cutoffs, scores } => {
            o.insert("cutoffs".into(), numbers_value(cutoffs));
            o.insert("scores".into(), numbers_value(scores));
        }
        Normaliser::Piecewise { knots, scores } => {
            o.insert("knots".into(), numbers_value(knots));
            o.insert("scores".into(), numbers_value(scores));
        }
        Normaliser::ZScore { mean, stddev, clip, .. } => {
            o.insert("mean".into(), number_value(*mean));
            o.insert("stddev".into(), number_value(*stddev));
            if let Some(clip) = clip {
                o.insert("clip".into(), number_value(*clip));
            }
        }
        Normaliser::Profile { profile, by } => {
            o.insert("by".into(), json!(by.name()));
            if let Some(n) = profile_name {
                o.insert("profile_name".into(), json!(n));
            }
            if let Some(bytes) = profile {
                let text = ProfileView::new(bytes).map(|v| v.to_text()).unwrap_or_default();
                o.insert("profile".into(), serde_json::from_str(&text).unwrap_or(Value::Null));
            }
        }
    }
    Value::Object(o)
}

/// Whole numbers as JSON integers (20, not 20.0).
fn number_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn numbers_value(vs: &[f64]) -> Value {
    Value::Array(vs.iter().map(|&v| number_value(v)).collect())
}

/// JSON with ", " and ": " separators on one line, keys in insertion order
/// for objects we build (serde_json's Map is ordered by key otherwise).
fn pretty(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(pretty).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), pretty(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

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

use serde_json::{json, Map, Value};

use crate::error::{num, HealthError, Result};
use crate::format::MODEL;
use crate::normalise::{self, OutOfRange};
use crate::profile::{bytes_from_text, Method, ProfileView};
use crate::score::{Missing, Totals};
use crate::scorecard::Scorecard;
use crate::tier;

/// How one metric's raw value becomes a 0–100 sub-score.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    Linear {
        lo: f64,
        hi: f64,
        out_of_range: OutOfRange,
    },
    Log {
        lo: f64,
        hi: f64,
        out_of_range: OutOfRange,
    },
    Target {
        target: f64,
    },
    Bands {
        cutoffs: Vec<f64>,
        scores: Vec<f64>,
    },
    Piecewise {
        knots: Vec<f64>,
        scores: Vec<f64>,
    },
    ZScore {
        mean: f64,
        stddev: f64,
    },
    /// A population profile carried in the model (its stored bytes), placed
    /// by `by`; or only named (`profile_name`), to be resolved from
    /// `health.profiles` when the model is fetched.
    Profile {
        profile: Option<Vec<u8>>,
        by: Method,
        profile_name: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    pub weight: f64,
    pub higher_is_better: bool,
    pub scale: Scale,
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
}

/// Collects every problem of a document, each with its JSON path.
struct Problems {
    list: Vec<String>,
    /// Structure (wrong type, missing or unknown field) rather than a bad value.
    structural: bool,
}

impl Problems {
    fn value(&mut self, path: &str, reason: impl std::fmt::Display) {
        self.list.push(format!("{path} {reason}"));
    }
    fn structure(&mut self, path: &str, reason: impl std::fmt::Display) {
        self.structural = true;
        self.list.push(format!("{path} {reason}"));
    }
    /// A core validation error, reported under `path` (its message already
    /// names the parameter: "lo must be below hi, ...").
    fn core(&mut self, path: &str, err: HealthError) {
        self.list.push(format!("{path}.{}", err.message));
    }
}

fn missing_name(m: Missing) -> &'static str {
    match m {
        Missing::Renormalize => "renormalize",
        Missing::Zero => "zero",
        Missing::Neutral => "neutral",
        Missing::Null => "null",
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Percentile => "percentile",
        Method::MinMax => "minmax",
        Method::ZScore => "zscore",
        Method::LogZScore => "log_zscore",
    }
}

/// Reads the fields of one JSON object, remembering which were used so that
/// unknown (misspelt) fields are reported.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, path: &str, p: &mut Problems) -> Option<Fields<'a>> {
        match value.as_object() {
            Some(map) => Some(Fields {
                map,
                path: path.to_string(),
                used: Vec::new(),
            }),
            None => {
                p.structure(path, format!("must be a JSON object, got {}", kind(value)));
                None
            }
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn number(&mut self, key: &'static str, p: &mut Problems) -> Option<f64> {
        match self.get(key) {
            None => {
                p.structure(&self.at(key), "is required");
                None
            }
            Some(v) => number(v, &self.at(key), p),
        }
    }

    fn optional_number(&mut self, key: &'static str, p: &mut Problems) -> Option<f64> {
        self.get(key).and_then(|v| number(v, &self.at(key), p))
    }

    fn numbers(&mut self, key: &'static str, p: &mut Problems) -> Option<Vec<f64>> {
        let path = self.at(key);
        match self.get(key) {
            None => {
                p.structure(&path, "is required");
                None
            }
            Some(Value::Array(items)) => {
                let values: Vec<Option<f64>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| number(v, &format!("{path}[{i}]"), p))
                    .collect();
                values.into_iter().collect()
            }
            Some(v) => {
                p.structure(&path, format!("must be an array of numbers, got {}", kind(v)));
                None
            }
        }
    }

    fn text(&mut self, key: &'static str, p: &mut Problems) -> Option<String> {
        let path = self.at(key);
        match self.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                p.structure(&path, format!("must be a string, got {}", kind(v)));
                None
            }
        }
    }

    fn boolean(&mut self, key: &'static str, default: bool, p: &mut Problems) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                p.structure(&self.at(key), format!("must be true or false, got {}", kind(v)));
                default
            }
        }
    }

    /// Reports the fields nobody asked for.
    fn finish(self, p: &mut Problems) {
        for key in self.map.keys() {
            if !self.used.contains(&key.as_str()) {
                p.structure(
                    &self.at(key),
                    format!("is not a known field (known: {})", self.used.join(", ")),
                );
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn number(v: &Value, path: &str, p: &mut Problems) -> Option<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Some(x),
        _ => {
            p.structure(path, format!("must be a number, got {}", kind(v)));
            None
        }
    }
}

fn parse_scale(value: &Value, path: &str, p: &mut Problems) -> Option<Scale> {
    let mut f = Fields::of(value, path, p)?;
    let method = match f.text("method", p) {
        Some(m) => m,
        None => {
            if !f.map.contains_key("method") {
                p.structure(&f.at("method"), "is required");
            }
            return None;
        }
    };
    let out_of_range = |f: &mut Fields, p: &mut Problems| match f.text("out_of_range", p).as_deref() {
        None => OutOfRange::Clamp,
        Some(name) => OutOfRange::parse(name).unwrap_or_else(|e| {
            p.core(&f.path, e);
            OutOfRange::Clamp
        }),
    };
    let scale = match method.as_str() {
        "linear" | "log" => {
            let (lo, hi) = (f.number("lo", p), f.number("hi", p));
            let oor = out_of_range(&mut f, p);
            let (lo, hi) = (lo?, hi?);
            if method == "log" && lo < 0.0 {
                p.value(&f.at("lo"), format!("must not be negative for log, got {}", num(lo)));
            }
            if lo >= hi {
                p.value(
                    &f.at("lo"),
                    format!("must be below hi, got lo={} hi={}", num(lo), num(hi)),
                );
            }
            if method == "linear" {
                Scale::Linear {
                    lo,
                    hi,
                    out_of_range: oor,
                }
            } else {
                Scale::Log {
                    lo,
                    hi,
                    out_of_range: oor,
                }
            }
        }
        "target" => {
            let target = f.number("target", p)?;
            if target <= 0.0 {
                p.value(&f.at("target"), format!("must be greater than 0, got {}", num(target)));
            }
            Scale::Target { target }
        }
        "bands" => {
            let (cutoffs, scores) = (f.numbers("cutoffs", p), f.numbers("scores", p));
            let (cutoffs, scores) = (cutoffs?, scores?);
            if let Err(e) = normalise::check_bands(&cutoffs, &scores) {
                p.core(&f.path, e);
            }
            Scale::Bands { cutoffs, scores }
        }
        "piecewise" => {
            let (knots, scores) = (f.numbers("knots", p), f.numbers("scores", p));
            let (knots, scores) = (knots?, scores?);
            let first = knots.first().copied().unwrap_or(0.0);
            if let Err(e) = normalise::scale_piecewise(first, &knots, &scores) {
                p.core(&f.path, e);
            }
            Scale::Piecewise { knots, scores }
        }
        "zscore" => {
            let (mean, stddev) = (f.number("mean", p), f.number("stddev", p));
            let (mean, stddev) = (mean?, stddev?);
            if stddev <= 0.0 {
                p.value(&f.at("stddev"), format!("must be greater than 0, got {}", num(stddev)));
            }
            Scale::ZScore { mean, stddev }
        }
        "profile" => {
            let by = match f.text("by", p).as_deref() {
                None => Method::Percentile,
                Some(name) => Method::parse(name).unwrap_or_else(|_| {
                    p.value(
                        &f.at("by"),
                        format!("must be one of 'percentile', 'minmax', 'zscore', 'log_zscore', got '{name}'"),
                    );
                    Method::Percentile
                }),
            };
            let profile_name = f.text("profile_name", p);
            let profile = match f.get("profile") {
                None if profile_name.is_some() => None,
                None => {
                    p.structure(
                        &f.at("profile"),
                        "is required without profile_name (a profile's JSON, e.g. from health.profile(...)::text)",
                    );
                    return None;
                }
                Some(v) => match bytes_from_text(&v.to_string()) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        p.value(&f.at("profile"), format!("is not a valid profile: {}", e.message));
                        return None;
                    }
                },
            };
            Scale::Profile {
                profile,
                by,
                profile_name,
            }
        }
        other => {
            p.value(
                &f.at("method"),
                format!(
                    "must be one of 'linear', 'log', 'target', 'bands', 'piecewise', 'zscore', 'profile', got '{other}'"
                ),
            );
            return None;
        }
    };
    f.finish(p);
    Some(scale)
}

fn parse_metric(value: &Value, path: &str, p: &mut Problems) -> Option<MetricSpec> {
    let mut f = Fields::of(value, path, p)?;
    let name = f.text("name", p);
    if name.is_none() && f.map.get("name").is_none_or(Value::is_null) {
        p.structure(&f.at("name"), "is required");
    }
    let weight = f.number("weight", p);
    if let Some(w) = weight {
        if w < 0.0 {
            p.value(&f.at("weight"), format!("must not be negative, got {}", num(w)));
        }
    }
    let higher_is_better = f.boolean("higher_is_better", true, p);
    let critical_floor = f.optional_number("critical_floor", p);
    if let Some(c) = critical_floor {
        if !(0.0..=100.0).contains(&c) {
            p.value(
                &f.at("critical_floor"),
                format!("must be between 0 and 100, got {}", num(c)),
            );
        }
    }
    let scale = match f.get("scale") {
        None => {
            p.structure(&f.at("scale"), "is required");
            None
        }
        Some(v) => parse_scale(v, &f.at("scale"), p),
    };
    f.finish(p);
    Some(MetricSpec {
        name: name?,
        weight: weight?,
        higher_is_better,
        scale: scale?,
        critical_floor,
    })
}

fn parse_tiers(value: Option<&Value>, path: &str, p: &mut Problems) -> Option<Tiers> {
    let default = || Tiers::Bands {
        cutoffs: vec![40.0, 70.0],
        labels: vec!["at_risk".into(), "neutral".into(), "healthy".into()],
    };
    let Some(value) = value else { return Some(default()) };
    let mut f = Fields::of(value, path, p)?;
    let scheme = f.text("scheme", p).unwrap_or_else(|| "bands".into());
    let tiers = match scheme.as_str() {
        "bands" => {
            let cutoffs = if f.map.contains_key("cutoffs") {
                f.numbers("cutoffs", p)?
            } else {
                vec![40.0, 70.0]
            };
            let labels = match f.get("labels") {
                None => vec!["at_risk".into(), "neutral".into(), "healthy".into()],
                Some(Value::Array(items)) => {
                    let labels: Vec<Option<String>> = items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| match v {
                            Value::String(s) => Some(s.clone()),
                            other => {
                                p.structure(
                                    &format!("{}[{i}]", f.at("labels")),
                                    format!("must be a string, got {}", kind(other)),
                                );
                                None
                            }
                        })
                        .collect();
                    labels.into_iter().collect::<Option<Vec<_>>>()?
                }
                Some(v) => {
                    p.structure(&f.at("labels"), format!("must be an array of strings, got {}", kind(v)));
                    return None;
                }
            };
            if let Err(e) = tier::check_scheme(&cutoffs, labels.len()) {
                p.core(&f.path, e);
            }
            Tiers::Bands { cutoffs, labels }
        }
        "color" => {
            let cutoffs = if f.map.contains_key("cutoffs") {
                f.numbers("cutoffs", p)?
            } else {
                vec![40.0, 70.0]
            };
            if let Err(e) = tier::color(50.0, &cutoffs) {
                p.core(&f.path, e);
            }
            Tiers::Color { cutoffs }
        }
        "grade" => Tiers::Grade,
        other => {
            p.value(
                &f.at("scheme"),
                format!("must be one of 'bands', 'color', 'grade', got '{other}'"),
            );
            return None;
        }
    };
    f.finish(p);
    Some(tiers)
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
    /// Parses and validates a model; the error lists every problem found.
    pub fn parse(text: &str) -> Result<Model> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid model: not JSON: {e}")))?;
        let mut p = Problems {
            list: Vec::new(),
            structural: false,
        };
        let model = Self::from_value(&value, &mut p);
        match model {
            Some(m) if p.list.is_empty() => Ok(m),
            _ => {
                let message = format!("invalid model: {}", p.list.join("; "));
                Err(if p.structural {
                    HealthError::text(message)
                } else {
                    HealthError::invalid(message)
                })
            }
        }
    }

    fn from_value(value: &Value, p: &mut Problems) -> Option<Model> {
        let mut f = Fields::of(value, "", p)?;
        let name = f.text("name", p);
        let version = f.get("version").cloned();
        if let Some(v) = &version {
            if !(v.is_string() || v.is_number()) {
                p.structure("version", format!("must be a string or a number, got {}", kind(v)));
            }
        }
        let missing = match f.text("missing", p) {
            None => Missing::Renormalize,
            Some(m) => Missing::parse(&m).unwrap_or_else(|e| {
                p.list.push(e.message); // "missing must be one of ..., got '...'"
                Missing::Renormalize
            }),
        };
        let min_coverage = f.optional_number("min_coverage", p).unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_coverage) {
            p.value(
                "min_coverage",
                format!("must be between 0 and 1, got {}", num(min_coverage)),
            );
        }
        let metrics = match f.get("metrics") {
            Some(Value::Array(items)) if !items.is_empty() => {
                let parsed: Vec<Option<MetricSpec>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| parse_metric(v, &format!("metrics[{i}]"), p))
                    .collect();
                let mut seen = std::collections::HashSet::new();
                for (i, m) in parsed.iter().enumerate() {
                    if let Some(m) = m {
                        if !seen.insert(m.name.as_str()) {
                            p.value(
                                &format!("metrics[{i}].name"),
                                format!("\"{}\" appears more than once", m.name),
                            );
                        }
                    }
                }
                if parsed.iter().flatten().all(|m| m.weight <= 0.0) && parsed.iter().all(Option::is_some) {
                    p.value("metrics", "must include at least one positive weight");
                }
                parsed.into_iter().collect::<Option<Vec<_>>>()
            }
            Some(Value::Array(_)) => {
                p.value("metrics", "must list at least one metric");
                None
            }
            Some(v) => {
                p.structure("metrics", format!("must be an array of metrics, got {}", kind(v)));
                None
            }
            None => {
                p.structure("metrics", "is required");
                None
            }
        };
        let tiers = parse_tiers(f.get("tiers"), "tiers", p);
        let critical_tier = f.text("critical_tier", p);
        if let (Some(label), Some(t)) = (&critical_tier, &tiers) {
            if !t.labels().contains(label) {
                p.value(
                    "critical_tier",
                    format!("\"{label}\" is not one of the tier labels {:?}", t.labels()),
                );
            }
        }
        f.finish(p);
        let model = Model {
            name,
            version,
            missing,
            min_coverage,
            metrics: metrics?,
            tiers: tiers?,
            critical_tier,
        };
        if model.critical_tier.is_some() && model.metrics.iter().all(|m| m.critical_floor.is_none()) {
            p.value("critical_tier", "is set but no metric has a critical_floor");
        }
        Some(model)
    }

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
                o.insert("scale".into(), scale_value(&m.scale));
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
        fields.push(("missing", json!(missing_name(self.missing))));
        fields.push(("min_coverage", number_value(self.min_coverage)));
        fields.push(("metrics", Value::Array(metrics)));
        fields.push(("tiers", tiers));
        if let Some(c) = &self.critical_tier {
            fields.push(("critical_tier", json!(c)));
        }
        // Written by hand so the field order is the documented one.
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {}", pretty(v))).collect();
        format!("{{{}}}", body.join(", "))
    }

    /// Sub-score of metric `i` for `value` (None: not measured, or outside the
    /// range under `out_of_range: null`).
    pub fn subscore(&self, i: usize, value: Option<f64>) -> Result<Option<f64>> {
        let m = &self.metrics[i];
        let Some(v) = value else { return Ok(None) };
        let hib = m.higher_is_better;
        let result = match &m.scale {
            Scale::Linear { lo, hi, out_of_range } => normalise::scale_linear(v, *lo, *hi, hib, *out_of_range),
            Scale::Log { lo, hi, out_of_range } => normalise::scale_log(v, *lo, *hi, hib, *out_of_range),
            Scale::Target { target } => normalise::scale_target(v, *target, hib).map(Some),
            Scale::Bands { cutoffs, scores } => normalise::scale_bands(v, cutoffs, scores).map(Some),
            Scale::Piecewise { knots, scores } => normalise::scale_piecewise(v, knots, scores).map(Some),
            Scale::ZScore { mean, stddev } => normalise::scale_zscore(v, *mean, *stddev, hib).map(Some),
            Scale::Profile { profile: Some(profile), by, .. } => {
                ProfileView::new(profile).and_then(|view| view.scale(v, *by, hib)).map(Some)
            }
            Scale::Profile { profile: None, profile_name, .. } => Err(HealthError::invalid(format!(
                "profile_name \"{}\" is not resolved: fetch the model with health.model_for(name), or call health.resolve_profiles(model)",
                profile_name.as_deref().unwrap_or("")
            ))),
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
            totals.add(i + 1, self.subscore(i, values[i])?, m.weight)?;
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
    /// (absent or null = not measured; other keys are ignored).
    pub fn values_from_json(&self, metrics: &Value) -> Result<Vec<Option<f64>>> {
        let Some(map) = metrics.as_object() else {
            return Err(HealthError::invalid(format!(
                "metrics must be a JSON object, got {}",
                kind(metrics)
            )));
        };
        self.metrics
            .iter()
            .map(|m| match map.get(&m.name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().filter(|x| x.is_finite()).map(Some).ok_or_else(|| {
                    HealthError::invalid(format!("metrics.{} must be a number or null, got {}", m.name, kind(v)))
                }),
            })
            .collect()
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

fn scale_value(s: &Scale) -> Value {
    let oor = |o: &OutOfRange| if *o == OutOfRange::Null { "null" } else { "clamp" };
    match s {
        Scale::Linear { lo, hi, out_of_range } => {
            json!({"method": "linear", "lo": number_value(*lo), "hi": number_value(*hi), "out_of_range": oor(out_of_range)})
        }
        Scale::Log { lo, hi, out_of_range } => {
            json!({"method": "log", "lo": number_value(*lo), "hi": number_value(*hi), "out_of_range": oor(out_of_range)})
        }
        Scale::Target { target } => json!({"method": "target", "target": number_value(*target)}),
        Scale::Bands { cutoffs, scores } => {
            json!({"method": "bands", "cutoffs": numbers_value(cutoffs), "scores": numbers_value(scores)})
        }
        Scale::Piecewise { knots, scores } => {
            json!({"method": "piecewise", "knots": numbers_value(knots), "scores": numbers_value(scores)})
        }
        Scale::ZScore { mean, stddev } => {
            json!({"method": "zscore", "mean": number_value(*mean), "stddev": number_value(*stddev)})
        }
        Scale::Profile {
            profile,
            by,
            profile_name,
        } => {
            let mut o = Map::new();
            o.insert("method".into(), json!("profile"));
            o.insert("by".into(), json!(method_name(*by)));
            if let Some(n) = profile_name {
                o.insert("profile_name".into(), json!(n));
            }
            if let Some(bytes) = profile {
                let text = ProfileView::new(bytes).map(|v| v.to_text()).unwrap_or_default();
                o.insert("profile".into(), serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            Value::Object(o)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::weighted_score;
    use proptest::prelude::*;

    const MODEL: &str = r#"{"name": "mature", "version": 3, "missing": "renormalize", "min_coverage": 0.5,
        "metrics": [
          {"name": "nps", "weight": 25, "scale": {"method": "bands", "cutoffs": [6, 8], "scores": [0, 60, 100]}},
          {"name": "active_days", "weight": 20, "scale": {"method": "target", "target": 20}, "critical_floor": 25},
          {"name": "adoption", "weight": 15, "scale": {"method": "piecewise", "knots": [0, 20, 50, 80], "scores": [0, 50, 80, 100]}},
          {"name": "tickets", "weight": 10, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 8}},
          {"name": "logins", "weight": 10, "scale": {"method": "log", "lo": 0, "hi": 400, "out_of_range": "null"}},
          {"name": "csat", "weight": 10, "scale": {"method": "zscore", "mean": 80, "stddev": 10}}],
        "tiers": {"cutoffs": [40, 70], "labels": ["at_risk", "neutral", "healthy"]},
        "critical_tier": "at_risk"}"#;

    #[test]
    fn text_round_trip_is_stable() {
        let m = Model::parse(MODEL).unwrap();
        let text = m.to_text();
        let again = Model::parse(&text).unwrap();
        assert_eq!(again, m);
        assert_eq!(again.to_text(), text);
    }

    #[test]
    fn evaluate_equals_hand_composition() {
        let m = Model::parse(MODEL).unwrap();
        let values = [Some(9.0), Some(10.0), Some(35.0), Some(2.0), None, Some(85.0)];
        let hand = weighted_score(
            [
                Some(100.0),
                Some(50.0),
                normalise::scale_piecewise(35.0, &[0.0, 20.0, 50.0, 80.0], &[0.0, 50.0, 80.0, 100.0]).ok(),
                normalise::scale_linear(2.0, 0.0, 8.0, false, OutOfRange::Clamp).unwrap(),
                None,
                normalise::scale_zscore(85.0, 80.0, 10.0, true).ok(),
            ]
            .into_iter(),
            &[25.0, 20.0, 15.0, 10.0, 10.0, 10.0],
            Missing::Renormalize,
            0.5,
        )
        .unwrap();
        assert_eq!(m.evaluate(&values).unwrap(), hand);
        // active_days sub-score 50 >= floor 25: no worst-of
        assert_eq!(m.critical(&values).unwrap(), Vec::<&str>::new());
        let low = [Some(9.0), Some(2.0), Some(35.0), Some(2.0), None, Some(85.0)];
        assert_eq!(m.critical(&low).unwrap(), vec!["active_days"]);
        assert_eq!(m.tier_of(&low).unwrap().as_deref(), Some("at_risk"));
    }

    #[test]
    fn explain_points_add_up() {
        let m = Model::parse(MODEL).unwrap();
        let values = [Some(7.0), Some(12.0), Some(60.0), Some(5.0), Some(30.0), None];
        let e = m.explain(&values).unwrap();
        let total: f64 = e["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["points"].as_f64().unwrap())
            .sum();
        assert!((total - e["score"].as_f64().unwrap()).abs() < 1e-9);
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let bad = r#"{"missing": "drop", "min_coverage": 2,
          "metrics": [
            {"name": "a", "weight": -1, "scale": {"method": "linear", "lo": 10, "hi": 5}},
            {"name": "a", "weight": 1, "scale": {"method": "bands", "cutoffs": [2, 1], "scores": [0, 50, 100]}},
            {"name": "c", "weight": 1, "scale": {"method": "cubic"}}],
          "tiers": {"cutoffs": [40, 70], "labels": ["low", "high"]}}"#;
        let e = Model::parse(bad).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidParameter);
        for part in [
            "missing must be one of",
            "min_coverage must be between 0 and 1, got 2",
            "metrics[0].weight must not be negative, got -1",
            "metrics[0].scale.lo must be below hi, got lo=10 hi=5",
            "metrics[1].scale.cutoffs must be strictly ascending",
            "metrics[1].name \"a\" appears more than once",
            "metrics[2].scale.method must be one of",
            "tiers.labels must have one more element than cutoffs",
        ] {
            assert!(e.message.contains(part), "{part} not in {}", e.message);
        }
        let e =
            Model::parse(r#"{"metrics": [{"name": "a", "weigth": 1, "scale": {"method": "target", "target": "20"}}]}"#)
                .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidText);
        assert!(e.message.contains("metrics[0].weight is required"), "{}", e.message);
        assert!(
            e.message.contains("metrics[0].weigth is not a known field"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("metrics[0].scale.target must be a number, got a string"),
            "{}",
            e.message
        );
        assert!(Model::parse("{")
            .unwrap_err()
            .message
            .starts_with("invalid model: not JSON"));
    }

    proptest! {
        #[test]
        fn evaluate_matches_weighted_score(values in prop::collection::vec(prop::option::of(0.0f64..500.0), 6)) {
            let m = Model::parse(MODEL).unwrap();
            let subs: Vec<Option<f64>> = (0..6).map(|i| m.subscore(i, values[i]).unwrap()).collect();
            let hand = weighted_score(subs.into_iter(), &[25.0, 20.0, 15.0, 10.0, 10.0, 10.0], Missing::Renormalize, 0.5).unwrap();
            prop_assert_eq!(m.evaluate(&values).unwrap(), hand);
        }
    }
}

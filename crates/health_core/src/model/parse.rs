//! A model's JSON text, parsed and validated: every problem of the document
//! is collected with its JSON path and reported at once.

use serde_json::{Map, Value};

use super::*;
use crate::error::{num, HealthError};
use crate::normalise::{self, Normaliser};
use crate::profile::{bytes_from_text, Method};

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

/// What a metric's value was where a number belongs: its kind and the value
/// itself (cut at 40 characters), so the row can be found in a large query.
pub(super) fn not_a_number(name: &str, v: &Value) -> HealthError {
    let mut shown = v.to_string();
    if shown.chars().count() > 40 {
        shown = shown.chars().take(40).collect::<String>() + "...";
    }
    let error = HealthError::invalid(format!(
        "metrics.{name} must be a number or null, got {} {shown}",
        kind(v)
    ));
    match v.as_str().map(str::trim).map(str::parse::<f64>) {
        Some(Ok(_)) => error.with_hint(format!(
            "the number is a JSON string: build the JSON from a number, e.g. jsonb_build_object('{name}', {name}::float8)"
        )),
        _ => error,
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
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

/// A metric's `scale`: its normaliser and, for a profile, the name it is
/// resolved by.
fn parse_scale(value: &Value, path: &str, p: &mut Problems) -> Option<(Normaliser, Option<String>)> {
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
    let scale = match method.as_str() {
        "linear" | "log" => range_scale(&method, &mut f, p)?,
        "target" => {
            let target = f.number("target", p)?;
            if target <= 0.0 {
                p.value(&f.at("target"), format!("must be greater than 0, got {}", num(target)));
            }
            Normaliser::Target { target }
        }
        "bands" => {
            let (cutoffs, scores) = (f.numbers("cutoffs", p), f.numbers("scores", p));
            let (cutoffs, scores) = (cutoffs?, scores?);
            if let Err(e) = normalise::check_bands(&cutoffs, &scores) {
                p.core(&f.path, e);
            }
            Normaliser::Bands { cutoffs, scores }
        }
        "piecewise" => {
            let (knots, scores) = (f.numbers("knots", p), f.numbers("scores", p));
            let (knots, scores) = (knots?, scores?);
            let first = knots.first().copied().unwrap_or(0.0);
            if let Err(e) = normalise::scale_piecewise(first, &knots, &scores) {
                p.core(&f.path, e);
            }
            Normaliser::Piecewise { knots, scores }
        }
        "zscore" | "zscore_linear" | "log_zscore" | "log_zscore_linear" => zscore_scale(&method, &mut f, p)?,
        "profile" => {
            let (scale, profile_name) = profile_scale(&mut f, p)?;
            f.finish(p);
            return Some((scale, profile_name));
        }
        other => {
            p.value(
                &f.at("method"),
                format!(
                    "must be one of 'linear', 'log', 'target', 'bands', 'piecewise', 'zscore', 'zscore_linear', 'log_zscore', 'log_zscore_linear', 'profile', got '{other}'"
                ),
            );
            return None;
        }
    };
    f.finish(p);
    Some((scale, None))
}

/// `linear` and `log`: `lo` below `hi` (both >= 0 for log), and what to do
/// outside them.
fn range_scale(method: &str, f: &mut Fields, p: &mut Problems) -> Option<Normaliser> {
    let out_of_range = |f: &mut Fields, p: &mut Problems| match f.text("out_of_range", p).as_deref() {
        None => OutOfRange::Clamp,
        Some(name) => OutOfRange::parse(name).unwrap_or_else(|e| {
            p.core(&f.path, e);
            OutOfRange::Clamp
        }),
    };

    let (lo, hi) = (f.number("lo", p), f.number("hi", p));
    let oor = out_of_range(f, p);
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
    Some(if method == "linear" {
        Normaliser::Linear {
            lo,
            hi,
            out_of_range: oor,
        }
    } else {
        Normaliser::Log {
            lo,
            hi,
            out_of_range: oor,
        }
    })
}

/// The z-scores: a positive `stddev`, and a positive `clip` for the linear ones.
fn zscore_scale(method: &str, f: &mut Fields, p: &mut Problems) -> Option<Normaliser> {
    let (mean, stddev) = (f.number("mean", p), f.number("stddev", p));
    let linear = method.ends_with("_linear");
    let clip = if linear {
        f.optional_number("clip", p).or(Some(normalise::DEFAULT_CLIP))
    } else {
        None
    };
    let (mean, stddev) = (mean?, stddev?);
    if stddev <= 0.0 {
        p.value(&f.at("stddev"), format!("must be greater than 0, got {}", num(stddev)));
    }
    if let Some(c) = clip.filter(|&c| c <= 0.0) {
        p.value(&f.at("clip"), format!("must be greater than 0, got {}", num(c)));
    }
    Some(Normaliser::ZScore {
        mean,
        stddev,
        log: method.starts_with("log_"),
        clip,
    })
}

/// `profile`: a profile's JSON, or the name of one to resolve, and `by`.
fn profile_scale(f: &mut Fields, p: &mut Problems) -> Option<(Normaliser, Option<String>)> {
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
    Some((Normaliser::Profile { profile, by }, profile_name))
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
    let scale = scale?;
    Some(MetricSpec {
        name: name?,
        weight: weight?,
        higher_is_better,
        scale: scale.0,
        profile_name: scale.1,
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

/// An array literal of numbers, `{40,70}`: what lands in a model argument
/// when the arguments of `tier` are swapped.
fn looks_like_number_array(text: &str) -> bool {
    let t = text.trim();
    t.len() > 2
        && t.starts_with('{')
        && t.ends_with('}')
        && t[1..t.len() - 1]
            .split(',')
            .all(|part| part.trim().parse::<f64>().is_ok())
}

impl Model {
    /// Parses and validates a model; the error lists every problem found.
    pub fn parse(text: &str) -> Result<Model> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let error = HealthError::text(format!("invalid model: not JSON: {e}"));
            if looks_like_number_array(text) {
                // health.tier('{40,70}', 55): the literal was taken for a model
                error.with_hint(
                    "this looks like an array of numbers, not a model: the tier of a score by cutoffs is \
                     health.tier(score, cutoffs), score first, e.g. health.tier(55, '{40,70}')",
                )
            } else {
                error
            }
        })?;
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
        let fit = f.get("fit").cloned();
        if let Some(v) = fit.as_ref().filter(|v| !v.is_object()) {
            p.structure("fit", format!("must be a JSON object, got {}", kind(v)));
        }
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
            fit,
        };
        if model.critical_tier.is_some() && model.metrics.iter().all(|m| m.critical_floor.is_none()) {
            p.value("critical_tier", "is set but no metric has a critical_floor");
        }
        Some(model)
    }
}

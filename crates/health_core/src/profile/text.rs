//! The readable text form of a profile: JSON, with whole numbers printed
//! without a fraction, read back as thoroughly as the binary form.

use serde::Deserialize;

use super::view::corrupt;
use super::*;
use crate::error::{num, HealthError, Result};

impl ProfileView<'_> {
    /// The readable JSON text form; whole numbers print without a fraction.
    pub fn to_text(&self) -> String {
        use serde_json::{json, Value};
        let buckets: Vec<Value> = (0..self.n)
            .map(|j| {
                json!([
                    self.bucket_count(j),
                    json_number(self.bucket_min(j)),
                    json_number(self.bucket_max(j))
                ])
            })
            .collect();
        let text = json!({
            "count": self.count(),
            "mean": json_number(self.mean()),
            "stddev": json_number(self.stddev()),
            "min": json_number(self.min()),
            "max": json_number(self.max()),
            "negatives": self.negatives(),
            "m2": json_number(self.m2()),
            "log_mean": json_number(self.log_mean()),
            "log_m2": json_number(self.log_m2()),
            "gamma": GAMMA,
            "buckets": buckets,
        });
        // serde_json keeps insertion order only with its preserve_order
        // feature; write the fields in the documented order by hand.
        let mut out = String::from("{");
        for (i, key) in FIELDS.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("\"{key}\": {}", text[key]));
        }
        out.push('}');
        out
    }
}

/// Parses the text form, checking it as thoroughly as binary input.
pub fn bytes_from_text(text: &str) -> Result<Vec<u8>> {
    let t: ProfileText = serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid profile: {e}")))?;
    if let Some(g) = t.gamma {
        if g != GAMMA {
            return Err(corrupt(format!("gamma must be {GAMMA}, got {}", num(g))));
        }
    }
    let inv = inv_ln_gamma();
    let n = t.buckets.len();
    let mut out = Vec::with_capacity(HEADER + n * BYTES_PER_BUCKET);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&t.count.to_le_bytes());
    out.extend_from_slice(&t.negatives.to_le_bytes());
    for v in [t.mean, t.m2, t.min, t.max, t.log_mean, t.log_m2] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (_, lo, _) in &t.buckets {
        let key = if lo.is_finite() { key_of(*lo, inv) } else { 0 };
        out.extend_from_slice(&key.to_le_bytes());
    }
    let mut cumulative = 0u64;
    for (c, _, _) in &t.buckets {
        cumulative = cumulative.saturating_add(*c);
        out.extend_from_slice(&cumulative.to_le_bytes());
    }
    for (_, lo, _) in &t.buckets {
        out.extend_from_slice(&lo.to_le_bytes());
    }
    for (_, _, hi) in &t.buckets {
        out.extend_from_slice(&hi.to_le_bytes());
    }
    let view = ProfileView::new(&out)?;
    view.validate()?;
    if let Some(sd) = t.stddev {
        let expected = view.stddev();
        if (sd - expected).abs() > 1e-9 * expected.abs().max(1.0) {
            return Err(corrupt(format!(
                "stddev {} does not match m2 (expected {}); stddev is derived, omit it or leave it unchanged",
                num(sd),
                num(expected)
            )));
        }
    }
    Ok(out)
}

/// The fields of the text form, in the order they are printed.
const FIELDS: [&str; 11] = [
    "count",
    "mean",
    "stddev",
    "min",
    "max",
    "negatives",
    "m2",
    "log_mean",
    "log_m2",
    "gamma",
    "buckets",
];

/// Whole numbers as JSON integers (1, not 1.0); others as the shortest
/// decimal that reads back to the same f64.
fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// The text form, field order as printed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileText {
    count: u64,
    mean: f64,
    #[serde(default)]
    stddev: Option<f64>,
    min: f64,
    max: f64,
    negatives: u64,
    m2: f64,
    log_mean: f64,
    log_m2: f64,
    #[serde(default)]
    gamma: Option<f64>,
    /// `[count, min, max]` per non-empty bucket, ascending.
    buckets: Vec<(u64, f64, f64)>,
}

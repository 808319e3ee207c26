//! The readable text form of a profile: JSON, with whole numbers printed
//! without a fraction, read back as thoroughly as the binary form.
//!
//! A version-2 profile prints its `global_shift` and `block_shift` and, per
//! bucket, `[count, value]` when exact (both 0) or `[count, min, max,
//! count_at_min, count_at_max, shift]`; a version-1 profile prints as its releases printed it
//! (`"gamma": 1.01`, buckets `[count, min, max]`) and reads back to the
//! same bytes.

use serde::Deserialize;
use serde_json::{json, Value};

use super::view::{corrupt, encode, Header, Layout, StoredBucket};
use super::*;
use crate::error::{num, HealthError, Result};
use crate::format::json_number;

impl ProfileView<'_> {
    /// The readable JSON text form; whole numbers print without a fraction.
    pub fn to_text(&self) -> String {
        let buckets: Vec<Value> = (0..self.n)
            .map(|j| match self.shifts() {
                Some((_, 0)) => json!([self.bucket_count(j), json_number(self.bucket_max(j))]),
                Some(_) => json!([
                    self.bucket_count(j),
                    json_number(self.bucket_min(j)),
                    json_number(self.bucket_max(j)),
                    self.count_at_min(j),
                    self.count_at_max(j),
                    self.bucket_shift(j)
                ]),
                None => json!([
                    self.bucket_count(j),
                    json_number(self.bucket_min(j)),
                    json_number(self.bucket_max(j))
                ]),
            })
            .collect();
        let resolution: Vec<(&str, Value)> = match self.shifts() {
            Some((global, block)) => vec![("global_shift", json!(global)), ("block_shift", json!(block))],
            None => vec![("gamma", json!(v1::GAMMA))],
        };
        let mut fields = vec![
            ("count", json!(self.count())),
            ("mean", json_number(self.mean())),
            ("stddev", json_number(self.stddev())),
            ("min", json_number(self.min())),
            ("max", json_number(self.max())),
            ("negatives", json!(self.negatives())),
            ("m2", json_number(self.m2())),
            ("log_mean", json_number(self.log_mean())),
            ("log_m2", json_number(self.log_m2())),
        ];
        fields.extend(resolution);
        fields.push(("buckets", Value::Array(buckets)));
        let mut out = String::from("{");
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("\"{key}\": {value}"));
        }
        out.push('}');
        out
    }
}

/// Parses the text form, checking it as thoroughly as binary input.
pub fn bytes_from_text(text: &str) -> Result<Vec<u8>> {
    let t: ProfileText = serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid profile: {e}")))?;
    let n = t.buckets.len();
    let shifts = match (t.global_shift, t.block_shift) {
        (Some(global), Some(block)) => Some((global, block)),
        (None, None) => None,
        _ => {
            return Err(corrupt(
                "give both global_shift and block_shift (format 2), or neither (format 1)",
            ))
        }
    };
    match (shifts, t.gamma) {
        (Some(_), Some(_)) => return Err(corrupt("give the shifts (format 2) or gamma (format 1), not both")),
        (Some((global, block)), None) if global > 63 || block > 63 => {
            return Err(corrupt(format!(
                "shifts must be between 0 and 63, got {global} and {block}"
            )))
        }
        (None, Some(g)) if g != v1::GAMMA => {
            return Err(corrupt(format!("gamma must be {}, got {}", v1::GAMMA, num(g))))
        }
        _ => {}
    }
    let wanted = match shifts {
        Some((_, 0)) => 2,
        Some(_) => 6,
        None => 3,
    };
    let mut buckets = Vec::with_capacity(n);
    for (j, b) in t.buckets.iter().enumerate() {
        if b.len() != wanted {
            return Err(corrupt(format!(
                "bucket {} has {} fields, expected {wanted}: {}",
                j + 1,
                b.len(),
                match wanted {
                    2 => "[count, value]",
                    6 => "[count, min, max, count_at_min, count_at_max, shift]",
                    _ => "[count, min, max]",
                }
            )));
        }
        let count = |i: usize| {
            b[i].as_u64()
                .ok_or_else(|| corrupt(format!("bucket {}: counts must be whole numbers >= 0", j + 1)))
        };
        let value = |i: usize| {
            b[i].as_f64()
                .map(|v| v + 0.0)
                .ok_or_else(|| corrupt(format!("bucket {}: values must be numbers", j + 1)))
        };
        buckets.push(match wanted {
            2 => StoredBucket {
                count: count(0)?,
                min: value(1)?,
                max: value(1)?,
                at_min: count(0)?,
                at_max: count(0)?,
                shift: 0,
            },
            6 => {
                let shift = count(5)?;
                if shift > 63 {
                    return Err(corrupt(format!("bucket {}: shift must be between 0 and 63", j + 1)));
                }
                StoredBucket {
                    count: count(0)?,
                    min: value(1)?,
                    max: value(2)?,
                    at_min: count(3)?,
                    at_max: count(4)?,
                    shift: shift as u8,
                }
            }
            _ => StoredBucket {
                count: count(0)?,
                min: value(1)?,
                max: value(2)?,
                at_min: 1,
                at_max: 1,
                shift: 0,
            },
        });
    }
    let header = Header {
        count: t.count,
        negatives: t.negatives,
        moments: [t.mean, t.m2, t.min, t.max, t.log_mean, t.log_m2],
    };
    let out = match shifts {
        Some(shifts) => encode(&header, shifts, &buckets),
        None => v1_bytes(&header, &buckets),
    };
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

/// Version 1's bytes (a text form of 0.1.0 or 0.2.0 read back): keys, then
/// cumulative counts, minima and maxima.
fn v1_bytes(header: &Header, buckets: &[StoredBucket]) -> Vec<u8> {
    let mut out = Vec::with_capacity(Layout::v1(buckets.len()).size());
    header.write(v1::VERSION, buckets.len(), &mut out);
    for b in buckets {
        out.extend_from_slice(&v1::key(b.min).to_le_bytes());
    }
    let mut cumulative = 0u64;
    for b in buckets {
        cumulative = cumulative.saturating_add(b.count);
        out.extend_from_slice(&cumulative.to_le_bytes());
    }
    for b in buckets {
        out.extend_from_slice(&b.min.to_le_bytes());
    }
    for b in buckets {
        out.extend_from_slice(&b.max.to_le_bytes());
    }
    out
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
    global_shift: Option<u32>,
    #[serde(default)]
    block_shift: Option<u32>,
    #[serde(default)]
    gamma: Option<f64>,
    buckets: Vec<Vec<serde_json::Number>>,
}

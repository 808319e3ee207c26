//! The rows a churn regression fits (`fit_weights`, `fit_rows`): features
//! with the missing policy applied, outcomes, names, and their stored form
//! `health.fit_rows`.

use serde_json::{json, Value};

use crate::aggregate::{row_keeping_state, Accumulate};
use crate::error::{finite, HealthError, Result};
use crate::format::{json_number, FIT_ROWS};
use crate::resources::{self, Ticker};

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

// ---- as an aggregate's state (see aggregate.rs) ----

row_keeping_state!(Design);

/// `fit_weights`: one row of its arguments.
/// `rollup(fit_rows)`: a stored value's rows join the group's.
impl Accumulate<Design> for Design {
    fn add_row(&mut self, row: Design) -> Result<()> {
        self.merge(&row)
    }
}

impl Accumulate<FitRow> for Design {
    fn add_row(&mut self, row: FitRow) -> Result<()> {
        Design::add_row(self, row)
    }
}

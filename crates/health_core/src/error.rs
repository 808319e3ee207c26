//! One error type for the whole core. `ErrorKind` maps 1:1 to a SQLSTATE in
//! the extension crate, so the core decides *what* went wrong and the SQL layer
//! only decides *how* to report it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 22023 invalid_parameter_value: NaN/Infinity, lo >= hi, bad policy names...
    InvalidParameter,
    /// 22003 numeric_value_out_of_range: a score outside 0..100, overflow.
    OutOfRange,
    /// 2202E array_subscript_error: arrays of mismatched or wrong length.
    ArraySubscript,
    /// 22004 null_value_not_allowed: NULL where a value is required.
    NullValue,
    /// 22P02 invalid_text_representation: unparsable text input.
    InvalidText,
    /// 21000 cardinality_violation: one metric twice in one scorecard.
    Cardinality,
    /// 53200 out_of_memory: a state could not grow (the allocator said no).
    OutOfMemory,
    /// 54000 program_limit_exceeded: a state too large for one value (1 GB).
    ProgramLimit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthError {
    pub kind: ErrorKind,
    pub message: String,
    /// What the caller probably meant (PostgreSQL's HINT line).
    pub hint: Option<String>,
}

pub type Result<T> = std::result::Result<T, HealthError>;

impl HealthError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        HealthError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// The same error with a hint: what the caller probably meant.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    pub fn out_of_range(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfRange, message)
    }
    pub fn array(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ArraySubscript, message)
    }
    pub fn null(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NullValue, message)
    }
    pub fn text(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidText, message)
    }
    pub fn out_of_memory(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfMemory, message)
    }
    pub fn program_limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ProgramLimit, message)
    }
}

impl fmt::Display for HealthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HealthError {}

/// Formats a number the way PostgreSQL prints a float8 (`NaN`, `Infinity`),
/// so messages quote the value the user typed.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        format!("{v}")
    }
}

/// `v` if it is a finite number, else 22023 naming the argument.
pub fn finite(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(HealthError::invalid(format!(
            "{name} must be a finite number, got {}",
            num(v)
        )))
    }
}

/// A sub-score or health score: finite and within 0..100.
pub fn check_score(name: &str, v: f64) -> Result<f64> {
    let v = finite(name, v)?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(HealthError::out_of_range(format!(
            "{name} must be between 0 and 100, got {}",
            num(v)
        )))
    }
}

/// A weight: finite and non-negative.
pub fn check_weight(name: &str, v: f64) -> Result<f64> {
    let v = finite(name, v)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(HealthError::invalid(format!(
            "{name} must not be negative, got {}",
            num(v)
        )))
    }
}

/// Array elements that must be strictly ascending and finite (cutoffs, knots).
/// Runs per row on hot paths: messages are only formatted on failure.
pub fn check_ascending(name: &str, values: &[f64]) -> Result<()> {
    for (i, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            finite(&format!("{name}[{}]", i + 1), v)?;
        }
        if i > 0 && values[i - 1] >= v {
            return Err(HealthError::invalid(format!(
                "{name} must be strictly ascending, got {name}[{}]={} followed by {name}[{}]={}",
                i,
                num(values[i - 1]),
                i + 1,
                num(v)
            )));
        }
    }
    Ok(())
}

/// Array elements that must be sub-scores (0..100); formats only on failure.
pub fn check_scores(name: &str, values: &[f64]) -> Result<()> {
    for (i, &v) in values.iter().enumerate() {
        if !(0.0..=100.0).contains(&v) {
            check_score(&format!("{name}[{}]", i + 1), v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_postgres() {
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "Infinity");
        assert_eq!(num(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(num(10.0), "10");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn ascending_check_names_the_offending_pair() {
        let e = check_ascending("cutoffs", &[40.0, 40.0]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            "cutoffs must be strictly ascending, got cutoffs[1]=40 followed by cutoffs[2]=40"
        );
        assert!(check_ascending("c", &[1.0, f64::NAN]).is_err());
        assert!(check_ascending("c", &[]).is_ok());
    }
}

//! The Brier score: the mean of (probability − outcome)² of predicted churn.

use crate::aggregate::{fixed_size_state, Accumulate};
use crate::error::{finite, num, HealthError, Result};
use crate::format::fixed_fields;
use crate::score::CompensatedSum;

/// Brier score accumulator: mean of (probability − outcome)²; a compensated
/// sum, so parallel and serial plans agree.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Brier {
    pub sum: CompensatedSum,
    pub count: u64,
}

impl Brier {
    pub fn add(&mut self, probability: f64, churned: bool) -> Result<()> {
        finite("probability", probability)?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(HealthError::out_of_range(format!(
                "probability must be between 0 and 1, got {}",
                num(probability)
            )));
        }
        let d = probability - f64::from(u8::from(churned));
        self.sum.add(d * d);
        self.count += 1;
        Ok(())
    }

    pub fn merge(&mut self, other: &Brier) {
        self.sum.merge(&other.sum);
        self.count += other.count;
    }

    pub fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum.value() / self.count as f64)
    }

    /// The compensated sum's two float8s, then the count.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.sum.sum.to_le_bytes(),
            self.sum.compensation.to_le_bytes(),
            self.count.to_le_bytes(),
        ]
        .concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Brier> {
        let mut r = fixed_fields("Brier", bytes, 3)?;
        Ok(Brier {
            sum: CompensatedSum {
                sum: r.f64()?,
                compensation: r.f64()?,
            },
            count: r.u64()?,
        })
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

fixed_size_state!(Brier);

/// `brier`: (probability, churned).
impl Accumulate<(f64, bool)> for Brier {
    fn add_row(&mut self, (probability, churned): (f64, bool)) -> Result<()> {
        self.add(probability, churned)
    }
}

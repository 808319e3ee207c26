//! Does the score predict churn? (docs/reference.md §7): exact ROC AUC, lift,
//! calibration, Brier score, and L2-regularised logistic regression by
//! Newton/IRLS with suggested weights. The math only, one idea a file:
//!
//! - `outcomes`: scores with outcomes (AUC, lift, calibration, `health.outcomes`);
//! - `brier`: the Brier score of predicted probabilities;
//! - `design`: the rows a regression fits (`health.fit_rows`);
//! - `logistic`: the Newton/IRLS fit and `fit_weights`' answer.

mod brier;
mod design;
mod logistic;
mod outcomes;
#[cfg(test)]
mod tests;

pub use brier::Brier;
pub use design::{design_from_stored, design_to_stored, fit_rows_from_text, fit_rows_text, Design, FitMissing, FitRow};
pub use logistic::{fit_logistic, newton, Fit, Logistic};
pub use outcomes::{
    calibration_json, check_stored_outcomes, outcomes_from_text, outcomes_text, CalibrationBucket, OutcomeRow, Outcomes,
};

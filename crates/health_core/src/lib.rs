//! The math of customer health scores, free of PostgreSQL.
//!
//! Every function here is pure and returns `Result<_, HealthError>`; the
//! extension crate only converts SQL arguments, calls these functions and maps
//! errors to SQLSTATEs. One module per concept:
//!
//! - [`aggregate`]: the contract of every aggregate's state (start, add a
//!   row, merge, to and from bytes); each state implements it in its own
//!   module.
//! - [`cache`]: a bounded cache with O(1) look-up, insertion and eviction,
//!   for what a SQL function works out from its arguments once per query.
//! - [`change`]: why did a score move? The change between two scorecards of
//!   one account, split into per-metric parts that sum to it.
//! - [`events`]: tier-change events of an account's score history (first
//!   snapshot, tier changes, drops within a tier, disappearance).
//! - [`format`]: format versions of the stored types (what a later release reads).
//! - [`fused`]: `weighted_score` over `scale_*` calls with constant arguments,
//!   computed in one call (the planner's rewrite of the wide form).
//! - [`model`]: scoring models as JSON data: parse, validate, evaluate,
//!   explain, and learn from churn outcomes (`fit_model`).
//! - [`normalise`]: metric value -> 0..100 sub-score (`scale_*`), and the
//!   one description of every normaliser that the fused wide form and
//!   models share ([`normalise::Normaliser`]).
//! - [`score`]: sub-scores and weights -> health score (`weighted_score`,
//!   the missing-data policies, the weighted-mean accumulator).
//! - [`scorecard`]: the long-format scorecard (metric, score, weight) with its
//!   breakdown (contributions, weakest metrics) and roll-ups.
//! - [`profile`]: population profiles (moments + quantile sketch) and
//!   population-relative sub-scores (percentile ranks, quantiles).
//! - [`resources`]: cancellable loops and fallible growth of large states.
//! - [`signals`]: NPS, CSAT, decayed action points, deadline penalties,
//!   score trends and sparklines.
//! - [`tier`]: health score -> tier label, colour, letter grade.
//! - [`validate`]: does the score predict churn? AUC, lift, calibration,
//!   Brier score, logistic regression with suggested weights (and held to
//!   non-positive coefficients, for `fit_model`).

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod cache;
pub mod change;
pub mod error;
pub mod events;
pub mod format;
pub mod fused;
pub mod model;
pub mod normalise;
pub mod profile;
pub mod resources;
pub mod score;
pub mod scorecard;
pub mod signals;
pub mod tier;
pub mod validate;

pub use error::{ErrorKind, HealthError, Result};

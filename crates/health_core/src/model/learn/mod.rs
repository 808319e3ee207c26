//! Learning a whole model from churn outcomes (`fit_model`, docs/reference.md §7).
//!
//! The aggregate keeps every account's raw metrics ([`Learner`]). At the end
//! the rows are put in one canonical order, so that a serial and a parallel
//! plan learn the same model bit for bit, and [`Learner::learn`]:
//! 1. per metric, picks the normaliser that predicts churn best on its own
//!    (one-feature logistic fits) among `zscore`, `zscore_linear` and, for
//!    metrics that are never negative, their `log_` forms, with the mean and
//!    standard deviation of the rows it learns from;
//! 2. fits a logistic regression of churn on the sub-scores (a missing
//!    metric counts 50, as the model's `missing: neutral` scores it), flips
//!    the direction of every metric whose coefficient says "more of this
//!    sub-score, more churn" and refits, to a fixed point; then fits with
//!    every coefficient held at or below 0 (more sub-score, less churn),
//!    leaves out the metrics whose weight is negligible and fits again;
//! 3. turns the coefficients into weights: their shares of 100;
//! 4. sets the tier cutoffs from the outcome (by default: at_risk holds the
//!    lowest-scored accounts whose churn rate is at least twice the base
//!    rate, healthy the highest-scored whose rate is at most half of it);
//! 5. measures the model: in-sample AUC, lift and log-likelihood, and the
//!    same learning repeated k times with one fold of accounts held out
//!    (folds by a hash of the account, [`fold_of`]).
//!
//! Because flipping a sub-score (`s -> 100 - s`) negates its coefficient and
//! changes nothing else, the fixed point of step 2 has the unconstrained
//! regression's fit: nothing is lost to the health-score form.
//!
//! One idea a file: `options` (parsing them), `state` (the aggregate's
//! rows), `dataset` (the rows in canonical order), `fit` (one learning
//! pass: normalisers, directions, the constrained fit, weights), `tiers`
//! (cutoffs from the outcome); the whole model and its cross-validation
//! are here.

use crate::aggregate::{row_keeping_state, Accumulate};
use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::evaluate::closest;
use super::*;
use crate::error::{num, HealthError, Result};
use crate::format::ByteReader;
use crate::normalise::{self, Normaliser, DEFAULT_CLIP};
use crate::resources::{self, Ticker};
use crate::tier::CUTOFF_TOLERANCE;
use crate::validate::{newton, Logistic, Outcomes};

mod dataset;
mod fit;
mod options;
mod state;
#[cfg(test)]
mod tests;
mod tiers;

use dataset::*;
use fit::*;
use options::*;
pub use state::{LearnRow, Learner};
use tiers::*;

pub(super) const STATE: &str = "the fit_model state";

/// The bucket (1..=`folds`) of an account: a fixed hash of its key's UTF-8
/// bytes (FNV-1a, then the SplitMix64 finaliser), the same on every
/// platform and release, so `health.fold(account, k)` in SQL picks the
/// folds `fit_model` holds out.
pub fn fold_of(account: &str, folds: u32) -> u32 {
    (account_hash(account) % u64::from(folds.max(1))) as u32 + 1
}

fn account_hash(account: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in account.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Learner {
    /// The model learned from every row, with its statistics in `fit`;
    /// `None` without rows.
    pub fn learn(&self) -> Result<Option<Model>> {
        if self.rows() == 0 {
            return Ok(None);
        }
        let options = Options::parse(self.options.as_deref())?;
        let data = self.dataset()?;
        let columns = data.columns(&options)?;
        if columns.is_empty() {
            return Err(HealthError::invalid(
                "metrics holds no metric on any row: there is nothing to learn from",
            ));
        }
        let all: Vec<usize> = (0..data.y.len()).collect();
        let learned = learn_on(&data, &all, &columns, &options)?;
        let default_tiers = Tiers::Bands {
            cutoffs: vec![40.0, 70.0],
            labels: vec!["at_risk".into(), "neutral".into(), "healthy".into()],
        };
        let mut model = learned.model(&data, &options, default_tiers);
        let mut scores = scored(&model, &data, &all, &learned.columns())?;
        let mut outcomes = outcomes_of(&scores)?;
        let (auc, lift) = (outcomes.auc(), outcomes.lift(0.1)?);
        let (cutoffs, bands) = choose_tiers(&mut scores, learned.curve, &options);
        model.tiers = Tiers::Bands {
            cutoffs,
            labels: vec!["at_risk".into(), "neutral".into(), "healthy".into()],
        };
        let churned = data.y.iter().filter(|&&c| c).count();
        let names = |columns: &[usize]| -> Vec<String> { columns.iter().map(|&c| data.names[c].clone()).collect() };
        let statistics = json!({
            "rows": data.y.len(),
            "rows_scored": scores.len(),
            "churned": churned,
            "base_rate": churned as f64 / data.y.len() as f64,
            "auc": auc,
            "lift": lift,
            "log_likelihood": learned.log_likelihood,
            "cross_validation": self.cross_validate(&data, &columns, &options)?,
            "flipped": names(&learned.flipped),
            "dropped": names(&learned.dropped),
            "tiers": bands,
            "l2": options.l2,
        });
        model.fit = Some(statistics);
        // The answer is read back as any stored model is: valid by construction.
        Model::parse(&model.to_text()).map(Some)
    }

    /// The same learning with each fold of accounts held out in turn:
    /// the mean AUC and lift on the held-out folds (`null` with `folds: 0`).
    fn cross_validate(&self, data: &Dataset, columns: &[usize], options: &Options) -> Result<Value> {
        let folds = options.folds;
        if folds < 2 {
            return Ok(Value::Null);
        }
        let fold = |r: usize| (data.keys[r] % u64::from(folds)) as u32 + 1;
        let (mut aucs, mut lifts) = (Vec::new(), Vec::new());
        for f in 1..=folds {
            let (held_out, training): (Vec<usize>, Vec<usize>) = (0..data.y.len()).partition(|&r| fold(r) == f);
            if held_out.is_empty() {
                // Nearly always rows already split by fold(account, folds):
                // a mean over the other folds would pass for the whole.
                return Err(HealthError::invalid(format!(
                    "cross-validation: fold {f} of {folds} holds none of the {} accounts, so it cannot be held out",
                    data.y.len()
                ))
                .with_hint(format!(
                    "The rows look held out by health.fold(account, {folds}) already. Learn with options \
                     {{\"folds\": 0}} and check on the held-out fold yourself, or set another number of folds."
                )));
            }
            let learned = learn_on(data, &training, columns, options).map_err(|e| {
                let hint = e.hint.clone().unwrap_or_default();
                HealthError::new(
                    e.kind,
                    format!("cross-validation, learning without fold {f} of {folds}: {}", e.message),
                )
                .with_hint(
                    format!("{hint} Set options {{\"folds\": 0}} to skip cross-validation.")
                        .trim_start()
                        .to_owned(),
                )
            })?;
            let model = learned.model(data, options, Tiers::Grade);
            let mut outcomes = outcomes_of(&scored(&model, data, &held_out, &learned.columns())?)?;
            aucs.push(outcomes.auc());
            lifts.push(outcomes.lift(0.1)?);
        }
        let mean = |values: &[Option<f64>]| {
            let known: Vec<f64> = values.iter().flatten().copied().collect();
            (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
        };
        Ok(json!({
            "folds": folds,
            "auc": mean(&aucs),
            "lift": mean(&lifts),
            "auc_by_fold": aucs,
        }))
    }
}

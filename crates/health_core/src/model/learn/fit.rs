//! One learning pass: a normaliser per metric, directions to a fixed
//! point, the fit held to the health-score form, and weights.

use super::*;

/// A chosen normaliser with the parameters learned for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Transform {
    pub(super) normaliser: ZForm,
    pub(super) mean: f64,
    pub(super) stddev: f64,
}

impl Transform {
    /// The sub-score, higher is better (the value is >= 0 for a log form).
    pub(super) fn subscore(&self, v: f64, clip: f64) -> f64 {
        let x = if self.normaliser.log() { libm::log1p(v) } else { v };
        if self.normaliser.linear() {
            normalise::zscore_linear_unchecked(x, self.mean, self.stddev, clip, true)
        } else {
            100.0 * normalise::normal_cdf((x - self.mean) / self.stddev)
        }
    }

    pub(super) fn scale(&self, clip: f64) -> Normaliser {
        Normaliser::ZScore {
            mean: self.mean,
            stddev: self.stddev,
            log: self.normaliser.log(),
            clip: self.normaliser.linear().then_some(clip),
        }
    }
}

/// Six significant digits: the model reads as a person would write it, and
/// the sub-scores are computed from the rounded parameters, so the model is
/// exactly what was fitted.
pub(super) fn round_significant(v: f64) -> f64 {
    format!("{v:.5e}").parse().unwrap_or(v)
}

/// Mean and sample standard deviation.
pub(super) fn mean_and_stddev(values: impl Iterator<Item = f64> + Clone) -> (f64, f64, usize) {
    let (mut n, mut mean, mut m2) = (0usize, 0.0, 0.0);
    for v in values {
        n += 1;
        let d = v - mean;
        mean += d / n as f64;
        m2 += d * (v - mean);
    }
    let sd = if n > 1 { (m2 / (n - 1) as f64).sqrt() } else { 0.0 };
    (mean, sd, n)
}

#[derive(Clone, Debug)]
pub(super) struct LearnedMetric {
    pub(super) column: usize,
    pub(super) transform: Transform,
    pub(super) higher_is_better: bool,
    pub(super) weight: f64,
}

#[derive(Clone, Debug)]
pub(super) struct Learned {
    pub(super) metrics: Vec<LearnedMetric>,
    /// The fitted churn log-odds of a score `h`: `curve.0 - curve.1 * h`.
    pub(super) curve: (f64, f64),
    pub(super) flipped: Vec<usize>,
    pub(super) dropped: Vec<usize>,
    pub(super) log_likelihood: f64,
}

/// The regression's message in the words of `fit_model`'s arguments.
pub(super) fn in_terms_of_metrics(e: HealthError) -> HealthError {
    if e.message.starts_with("the features are collinear") {
        HealthError::invalid(
            "the metrics are collinear (one is a combination of the others, or constant where the outcome is known)",
        )
        .with_hint("Leave one out with options {\"metrics\": [...]}, or set options {\"l2\": 1}.")
    } else if e.message.starts_with("did not converge") {
        HealthError::invalid(e.message.replace("the features separate", "the metrics separate"))
            .with_hint("Set options {\"l2\": 1} (a penalty keeps the coefficients finite).")
    } else {
        e
    }
}

/// Learns normalisers, directions and weights from `rows` (indexes into
/// `data`), over the metrics in `columns`: the steps of the module's doc.
pub(super) fn learn_on(data: &Dataset, rows: &[usize], columns: &[usize], options: &Options) -> Result<Learned> {
    let y: Vec<bool> = rows.iter().map(|&r| data.y[r]).collect();
    check_enough_rows(&y, columns.len())?;
    let mut ticker = Ticker::default();
    // 1. a normaliser per metric, by its one-metric fit
    let transforms = columns
        .iter()
        .map(|&c| choose_transform(data, rows, c, &y, options, &mut ticker))
        .collect::<Result<Vec<Transform>>>()?;
    // 2. directions to a fixed point, then the fit held to the health-score form
    let subscores = subscore_matrix(data, rows, columns, &transforms, options.clip, &mut ticker)?;
    let m = columns.len();
    let mut higher_is_better = vec![true; m];
    let mut active: Vec<usize> = (0..m).collect();
    let mut dropped = Vec::new();
    for _ in 0..2 * m + 4 {
        let x = oriented(&subscores, m, &active, &higher_is_better, &mut ticker)?;
        let a = active.len();
        let free: Logistic = newton(&x, &y, a, options.l2, None).map_err(in_terms_of_metrics)?;
        let wrong: Vec<usize> = (0..a).filter(|&k| free.beta[k + 1] > 0.0).map(|k| active[k]).collect();
        if !wrong.is_empty() {
            for j in wrong {
                higher_is_better[j] = !higher_is_better[j];
            }
            continue;
        }
        // 3. weights: the held coefficients' shares of 100
        let held = newton(&x, &y, a, options.l2, Some(&vec![true; a])).map_err(in_terms_of_metrics)?;
        let (weights, total) = weights_of(&held)?;
        let negligible: Vec<usize> = (0..a).filter(|&k| weights[k] < options.min_weight).collect();
        if !negligible.is_empty() && negligible.len() < a {
            dropped.extend(negligible.iter().map(|&k| columns[active[k]]));
            active = (0..a).filter(|k| !negligible.contains(k)).map(|k| active[k]).collect();
            continue;
        }
        let mut metrics: Vec<LearnedMetric> = active
            .iter()
            .zip(hundredths(&weights))
            .map(|(&j, weight)| LearnedMetric {
                column: columns[j],
                transform: transforms[j],
                higher_is_better: higher_is_better[j],
                weight,
            })
            .collect();
        metrics.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then(data.names[a.column].cmp(&data.names[b.column]))
        });
        // Only the metrics kept: a left-out metric's direction is moot.
        let flipped = active
            .iter()
            .filter(|&&j| !higher_is_better[j])
            .map(|&j| columns[j])
            .collect();
        return Ok(Learned {
            metrics,
            // The score is sum(-beta * subscore) / total (the weights are the
            // shares of -beta), so the log-odds are intercept - total * score.
            curve: (held.beta[0], total),
            flipped,
            dropped,
            log_likelihood: held.log_likelihood,
        });
    }
    Err(
        HealthError::invalid("the metrics' directions did not settle: flipping one keeps flipping another")
            .with_hint("Set options {\"l2\": 1}, or leave out metrics that are near copies of each other."),
    )
}

/// Both outcomes, and more accounts than the regression has parameters.
fn check_enough_rows(y: &[bool], metrics: usize) -> Result<()> {
    let churned = y.iter().filter(|&&c| c).count();
    if churned == 0 || churned == y.len() {
        return Err(HealthError::invalid(format!(
            "needs both churned and retained accounts, got {churned} of {} churned",
            y.len()
        )));
    }
    if y.len() <= metrics + 1 {
        return Err(HealthError::invalid(format!(
            "needs more accounts than metrics + 1, got {} accounts for {metrics} metrics",
            y.len(),
        )));
    }
    Ok(())
}

/// The normaliser of metric `c` that predicts churn best on its own (the
/// highest log-likelihood of a one-metric fit), with the mean and standard
/// deviation of `rows`.
fn choose_transform(
    data: &Dataset,
    rows: &[usize],
    c: usize,
    y: &[bool],
    options: &Options,
    ticker: &mut Ticker,
) -> Result<Transform> {
    let name = &data.names[c];
    let present = || rows.iter().filter_map(|&r| data.value(r, c));
    let (mean, sd, count) = mean_and_stddev(present());
    if count == 0 {
        return Err(HealthError::null(format!(
            "metric \"{name}\" is NULL on every row: there is nothing to learn from"
        ))
        .with_hint("Leave it out with options {\"metrics\": [...]}."));
    }
    if !(sd > 0.0 && sd.is_finite()) {
        return Err(HealthError::invalid(format!(
            "metric \"{name}\" has the same value ({}) on every row where it is known: it cannot tell accounts apart",
            num(mean)
        ))
        .with_hint("Leave it out with options {\"metrics\": [...]}."));
    }
    let min = present().fold(f64::INFINITY, f64::min);
    let (log_mean, log_sd, _) = mean_and_stddev(present().map(|v| libm::log1p(v.max(0.0))));
    let mut best: Option<(Transform, f64)> = None;
    let mut failure = None;
    for &normaliser in &options.normalisers {
        let (m, s) = if normaliser.log() {
            (log_mean, log_sd)
        } else {
            (mean, sd)
        };
        if (normaliser.log() && min < 0.0) || !(s > 0.0 && s.is_finite()) {
            continue;
        }
        let t = Transform {
            normaliser,
            mean: round_significant(m),
            stddev: round_significant(s),
        };
        let column: Vec<f64> = rows
            .iter()
            .map(|&r| data.value(r, c).map_or(50.0, |v| t.subscore(v, options.clip)))
            .collect();
        ticker.advance(rows.len());
        match newton(&column, y, 1, options.l2, None) {
            Ok(fit) if best.as_ref().is_none_or(|b| fit.log_likelihood > b.1) => best = Some((t, fit.log_likelihood)),
            Ok(_) => {}
            Err(e) => failure = Some(e),
        }
    }
    match (best, failure) {
        (Some((t, _)), _) => Ok(t),
        (None, Some(e)) => {
            let e = in_terms_of_metrics(e);
            Err(HealthError {
                message: format!("metric \"{name}\": {}", e.message),
                ..e
            })
        }
        (None, None) => Err(HealthError::invalid(format!(
            "metric \"{name}\" has negative values, and options.normalisers allows only log normalisers, which need values >= 0"
        ))),
    }
}

/// The sub-scores of `rows` (row-major, a column per metric; a missing
/// metric scores 50, as `missing: neutral` scores it).
fn subscore_matrix(
    data: &Dataset,
    rows: &[usize],
    columns: &[usize],
    transforms: &[Transform],
    clip: f64,
    ticker: &mut Ticker,
) -> Result<Vec<f64>> {
    let m = columns.len();
    let mut subscores = filled(rows.len() * m, 0.0)?;
    for (i, &r) in rows.iter().enumerate() {
        ticker.advance(m);
        for (j, &c) in columns.iter().enumerate() {
            subscores[i * m + j] = data.value(r, c).map_or(50.0, |v| transforms[j].subscore(v, clip));
        }
    }
    Ok(subscores)
}

/// The design matrix of the `active` metrics, each sub-score turned
/// toward its direction (`100 - s` where lower is better).
fn oriented(
    subscores: &[f64],
    m: usize,
    active: &[usize],
    higher_is_better: &[bool],
    ticker: &mut Ticker,
) -> Result<Vec<f64>> {
    let (n, a) = (subscores.len() / m.max(1), active.len());
    let mut x = filled(n * a, 0.0)?;
    for i in 0..n {
        ticker.advance(a);
        for (k, &j) in active.iter().enumerate() {
            let s = subscores[i * m + j];
            x[i * a + k] = if higher_is_better[j] { s } else { 100.0 - s };
        }
    }
    Ok(x)
}

/// The weights of a fit held to non-positive coefficients (their shares of
/// 100) and the coefficients' total.
fn weights_of(held: &Logistic) -> Result<(Vec<f64>, f64)> {
    let total: f64 = held.beta[1..].iter().map(|b| -b).sum();
    if total.is_nan() || total <= 0.0 {
        return Err(HealthError::invalid(
            "no metric predicts churn: every coefficient is 0, so there are no weights to learn",
        ));
    }
    Ok((held.beta[1..].iter().map(|b| 100.0 * -b / total).collect(), total))
}

/// Weights to hundredths that still sum to exactly 100.00 (largest remainders
/// round up).
pub(super) fn hundredths(weights: &[f64]) -> Vec<f64> {
    let scaled: Vec<f64> = weights.iter().map(|w| w * 100.0).collect();
    let mut units: Vec<i64> = scaled.iter().map(|s| s.floor() as i64).collect();
    let short = 10_000 - units.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (scaled[b] - scaled[b].floor())
            .total_cmp(&(scaled[a] - scaled[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().take(short.max(0) as usize) {
        units[i] += 1;
    }
    units.iter().map(|&u| u as f64 / 100.0).collect()
}

impl Learned {
    pub(super) fn model(&self, data: &Dataset, options: &Options, tiers: Tiers) -> Model {
        let metrics = self
            .metrics
            .iter()
            .map(|m| MetricSpec {
                name: data.names[m.column].clone(),
                weight: m.weight,
                higher_is_better: m.higher_is_better,
                scale: m.transform.scale(options.clip),
                profile_name: None,
                critical_floor: None,
            })
            .collect();
        Model {
            name: options.name.clone(),
            version: options.version.clone(),
            missing: Missing::Neutral,
            min_coverage: options.min_coverage,
            metrics,
            tiers,
            critical_tier: None,
            fit: None,
        }
    }

    pub(super) fn columns(&self) -> Vec<usize> {
        self.metrics.iter().map(|m| m.column).collect()
    }
}

/// (score, churned) of `rows` under `model`, the accounts it scores
/// (coverage) only.
pub(super) fn scored(model: &Model, data: &Dataset, rows: &[usize], columns: &[usize]) -> Result<Vec<(f64, bool)>> {
    let mut out = Vec::new();
    resources::reserve(&mut out, rows.len(), STATE)?;
    let mut ticker = Ticker::default();
    for &r in rows {
        ticker.tick();
        if let Some(score) = model.evaluate(&data.values(r, columns))? {
            out.push((score, data.y[r]));
        }
    }
    Ok(out)
}

pub(super) fn outcomes_of(scored: &[(f64, bool)]) -> Result<Outcomes> {
    let mut outcomes = Outcomes::default();
    for &(s, c) in scored {
        outcomes.add(s, c)?;
    }
    Ok(outcomes)
}

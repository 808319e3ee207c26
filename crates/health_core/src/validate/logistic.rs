//! L2-regularised logistic regression by Newton/IRLS (held to
//! non-positive coefficients for `fit_model`), and what `fit_weights`
//! answers: coefficients, standard errors and suggested weights.

use serde_json::{json, Value};

use super::{Design, Outcomes};
use crate::error::{finite, num, HealthError, Result};
use crate::resources::Ticker;

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    pub standard_errors: Vec<f64>,
    pub intercept_standard_error: f64,
    pub iterations: u32,
    pub converged: bool,
    pub log_likelihood: f64,
    pub auc: Option<f64>,
    /// Non-negative, summing to 100; `None` when no feature protects against churn.
    pub weights: Option<Vec<f64>>,
}

/// Solves `a x = b` for symmetric positive definite `a` (n×n, row-major) by
/// Cholesky; also returns the inverse's diagonal. `None` when `a` is not
/// positive definite (collinear features).
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 1e-12 * a[i * n + i].abs().max(1e-300) {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let solve = |rhs: &[f64]| {
        let mut z = rhs.to_vec();
        for i in 0..n {
            for k in 0..i {
                z[i] -= l[i * n + k] * z[k];
            }
            z[i] /= l[i * n + i];
        }
        for i in (0..n).rev() {
            for k in i + 1..n {
                z[i] -= l[k * n + i] * z[k];
            }
            z[i] /= l[i * n + i];
        }
        z
    };
    let x = solve(b);
    let diag = (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            solve(&e)[i]
        })
        .collect();
    Some((x, diag))
}

/// `b0 + b·x` for coefficients `[b0, b1, ...]`.
fn linear_predictor(beta: &[f64], x: &[f64]) -> f64 {
    beta[0] + x.iter().zip(&beta[1..]).map(|(a, b)| a * b).sum::<f64>()
}

/// One row's log-likelihood `y·η − ln(1 + e^η)`, stable for large |η|.
fn row_log_likelihood(eta: f64, y: f64) -> f64 {
    y * eta
        - if eta > 0.0 {
            eta + (-eta).exp().ln_1p()
        } else {
            eta.exp().ln_1p()
        }
}

impl Fit {
    /// Per feature, `"keep"` when more of it means less churn (its
    /// coefficient is not positive, so it can carry weight), `"flip"` when
    /// more of it means more churn once the other features are accounted
    /// for: its sub-score wants the opposite direction
    /// (`higher_is_better` negated), and its weight here is 0.
    pub fn directions(&self) -> Vec<&'static str> {
        self.coefficients
            .iter()
            .map(|&c| if c > 0.0 { "flip" } else { "keep" })
            .collect()
    }

    /// `fit_weights`' answer, with what the design adds: rows, penalty,
    /// rows skipped and values imputed for NULLs, and, when the call named
    /// the features, `names` and `weights_by_name` (for `with_weights`).
    pub fn to_json(&self, design: &Design) -> Value {
        let mut answer = json!({
            "intercept": self.intercept,
            "coefficients": self.coefficients,
            "standard_errors": self.standard_errors,
            "intercept_standard_error": self.intercept_standard_error,
            "iterations": self.iterations,
            "converged": self.converged,
            "log_likelihood": self.log_likelihood,
            "auc": self.auc,
            "weights": self.weights,
            "directions": self.directions(),
            "rows": design.rows(),
            "rows_skipped": design.skipped,
            "values_imputed": design.imputed,
            "l2": design.l2,
        });
        if let (Some(names), Value::Object(o)) = (&design.names, &mut answer) {
            o.insert("names".into(), json!(names));
            let by_name = self
                .weights
                .as_ref()
                .map(|w| Value::Object(names.iter().cloned().zip(w.iter().map(|&w| json!(w))).collect()));
            o.insert("weights_by_name".into(), by_name.unwrap_or(Value::Null));
        }
        answer
    }
}

/// Logistic regression of churn on the features (plus an intercept) by
/// Newton/IRLS, with an L2 penalty `l2 * Σβ²/2` on the coefficients (not the
pub fn fit_logistic(d: &Design, l2: f64) -> Result<Fit> {
    let fit = newton(&d.x, &d.y, d.features, l2, None)?;
    let mut outcomes = Outcomes::default();
    let mut ticker = Ticker::default();
    for (i, &churned) in d.y.iter().enumerate() {
        ticker.tick();
        // retention score: lower churn odds = higher score
        outcomes.add(
            -linear_predictor(&fit.beta, &d.x[i * d.features..(i + 1) * d.features]),
            churned,
        )?;
    }
    let coefficients = fit.beta[1..].to_vec();
    let protective: Vec<f64> = coefficients.iter().map(|&c| (-c).max(0.0)).collect();
    let total: f64 = protective.iter().sum();
    let weights = (total > 0.0).then(|| protective.iter().map(|w| 100.0 * w / total).collect());
    Ok(Fit {
        intercept: fit.beta[0],
        standard_errors: fit.diag_inverse[1..].iter().map(|v| v.max(0.0).sqrt()).collect(),
        intercept_standard_error: fit.diag_inverse[0].max(0.0).sqrt(),
        coefficients,
        iterations: fit.iterations,
        converged: true,
        log_likelihood: fit.log_likelihood,
        auc: outcomes.auc(),
        weights,
    })
}

/// A logistic regression's coefficients (intercept first), the diagonal of
/// the inverse Hessian at them (0 for a coefficient held at its bound), the
/// Newton steps taken and the (penalised) log-likelihood.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub beta: Vec<f64>,
    pub diag_inverse: Vec<f64>,
    pub iterations: u32,
    pub log_likelihood: f64,
}

impl Logistic {
    /// The churn log-odds of one row of features.
    pub fn log_odds(&self, x: &[f64]) -> f64 {
        linear_predictor(&self.beta, x)
    }
}

/// Logistic regression of `y` on the `p` features of `x` (row-major) plus an
/// intercept, by Newton/IRLS with an L2 penalty `l2 * Σβ²/2` on the
/// coefficients (not the intercept).
///
/// With `nonpositive`, the coefficients it marks are held at or below 0 by
/// an active-set method: a coefficient at 0 whose gradient pushes it up stays
/// there, and a step that would cross 0 is shortened to land on it. This is
/// the fit under the constraint, not an unconstrained fit with its positive
/// coefficients zeroed afterwards.
pub fn newton(x: &[f64], y: &[bool], p: usize, l2: f64, nonpositive: Option<&[bool]>) -> Result<Logistic> {
    let churned = check_newton_inputs(y, p, l2)?;
    let (n, k) = (y.len(), p + 1);
    let bounded = |a: usize| a > 0 && nonpositive.is_some_and(|b| b[a - 1]);
    let mut beta = vec![0.0; k];
    // start the intercept at the overall log-odds
    let rate = churned as f64 / n as f64;
    beta[0] = (rate / (1.0 - rate)).ln();
    let mut converged = false;
    let mut iterations = 0;
    let mut log_likelihood = f64::NEG_INFINITY;
    let mut diag_inverse = vec![0.0; k];
    // Bounded coefficients at 0 that the active-set method keeps there.
    let mut held = vec![false; k];
    const MAX_ITERATIONS: u32 = 100;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let (g, h, ll) = penalised_derivatives(x, y, p, &beta, l2);
        let Some((step, diag)) = newton_step(&h, &g, &held) else {
            // At the first step every row has weight rate*(1-rate) > 0, so a
            // singular Hessian means the design itself is singular; later, it
            // means the fitted probabilities have run to 0 and 1.
            if iterations == 1 {
                return Err(HealthError::invalid(
                    "the features are collinear (one is a combination of the others, or constant); drop one or set l2 > 0",
                ));
            }
            break;
        };
        diag_inverse = diag;
        let (fraction, blocking) = step_to_bound(&beta, &step, bounded);
        for a in 0..k {
            beta[a] += fraction * step[a];
            if bounded(a) {
                beta[a] = beta[a].min(0.0); // rounding must not cross the bound
            }
        }
        if let Some(a) = blocking {
            beta[a] = 0.0;
            held[a] = true;
        }
        let change = step.iter().fold(0.0f64, |m, s| m.max((fraction * s).abs()));
        let improvement = (ll - log_likelihood).abs();
        log_likelihood = ll;
        if !beta.iter().all(|b| b.is_finite()) || beta.iter().any(|b| b.abs() > 1e6) {
            break;
        }
        if blocking.is_none() && (change < 1e-10 || improvement < 1e-12 * ll.abs().max(1.0) && change < 1e-6) {
            // Optimal on the free coefficients; a held one whose gradient
            // now pulls it below 0 is released (the one pulled hardest), and
            // the fit goes on; else this is the constrained optimum.
            let pulled = (1..k)
                .filter(|&a| held[a] && g[a] < 0.0)
                .min_by(|&a, &b| g[a].total_cmp(&g[b]));
            match pulled {
                Some(a) => held[a] = false,
                None => {
                    converged = true;
                    break;
                }
            }
        }
    }
    if !converged {
        return Err(HealthError::invalid(format!(
            "did not converge in {iterations} iterations: the features separate churned from retained accounts (almost) perfectly, so the coefficients grow without bound; set l2 > 0"
        )));
    }
    Ok(Logistic {
        log_likelihood: final_log_likelihood(x, y, p, &beta),
        beta,
        diag_inverse,
        iterations,
    })
}

/// The checks before a fit; the number of churned rows.
fn check_newton_inputs(y: &[bool], p: usize, l2: f64) -> Result<usize> {
    finite("l2", l2)?;
    if l2 < 0.0 {
        return Err(HealthError::invalid(format!(
            "l2 must not be negative, got {}",
            num(l2)
        )));
    }
    let n = y.len();
    if n <= p + 1 {
        return Err(HealthError::invalid(format!(
            "needs more rows than features + 1 (intercept), got {n} rows for {p} features"
        )));
    }
    let churned = y.iter().filter(|&&y| y).count();
    if churned == 0 || churned == n {
        return Err(HealthError::invalid(format!(
            "needs both churned and retained accounts, got {churned} of {n} churned"
        )));
    }
    Ok(churned)
}

/// The gradient, the Hessian (of the negative, so positive definite) and the
/// log-likelihood at `beta`, each with the L2 penalty.
fn penalised_derivatives(x: &[f64], y: &[bool], p: usize, beta: &[f64], l2: f64) -> (Vec<f64>, Vec<f64>, f64) {
    let k = p + 1;
    let mut h = vec![0.0; k * k];
    let mut g = vec![0.0; k];
    let mut ll = 0.0;
    let mut ticker = Ticker::default();
    for (i, &churned) in y.iter().enumerate() {
        ticker.advance(k);
        let xi = &x[i * p..(i + 1) * p];
        let eta = linear_predictor(beta, xi);
        let mu = 1.0 / (1.0 + (-eta).exp());
        let y = f64::from(u8::from(churned));
        ll += row_log_likelihood(eta, y);
        let w = mu * (1.0 - mu);
        let r = y - mu;
        g[0] += r;
        h[0] += w;
        for a in 0..p {
            g[a + 1] += r * xi[a];
            h[a + 1] += w * xi[a];
            for b in 0..=a {
                h[(a + 1) * k + b + 1] += w * xi[a] * xi[b];
            }
        }
    }
    // Only the lower triangle was summed: mirror it.
    for a in 1..k {
        h[a * k] = h[a];
        for b in 0..a {
            h[b * k + a] = h[a * k + b];
        }
    }
    for a in 1..k {
        g[a] -= l2 * beta[a];
        h[a * k + a] += l2;
        ll -= 0.5 * l2 * beta[a] * beta[a];
    }
    (g, h, ll)
}

/// The Newton step of the free coefficients (all but those `held` at their
/// bound of 0, whose step is 0) and the inverse Hessian's diagonal; `None`
/// when the Hessian is singular.
fn newton_step(h: &[f64], g: &[f64], held: &[bool]) -> Option<(Vec<f64>, Vec<f64>)> {
    let k = g.len();
    let free: Vec<usize> = (0..k).filter(|&a| !held[a]).collect();
    let m = free.len();
    let mut h_free = vec![0.0; m * m];
    for (i, &a) in free.iter().enumerate() {
        for (j, &b) in free.iter().enumerate() {
            h_free[i * m + j] = h[a * k + b];
        }
    }
    let g_free: Vec<f64> = free.iter().map(|&a| g[a]).collect();
    let (step_free, diag_free) = cholesky_solve(&h_free, &g_free, m)?;
    let (mut step, mut diag_inverse) = (vec![0.0; k], vec![0.0; k]);
    for (i, &a) in free.iter().enumerate() {
        step[a] = step_free[i];
        diag_inverse[a] = diag_free[i];
    }
    Some((step, diag_inverse))
}

/// How much of `step` to take: all of it, or less when it would carry a
/// bounded coefficient above 0, so that the first to reach 0 lands on it
/// (returned as the blocking coefficient).
fn step_to_bound(beta: &[f64], step: &[f64], bounded: impl Fn(usize) -> bool) -> (f64, Option<usize>) {
    let mut fraction = 1.0;
    let mut blocking = None;
    for a in (1..beta.len()).filter(|&a| bounded(a) && step[a] > 0.0 && beta[a] + step[a] > 0.0) {
        let to_bound = (-beta[a] / step[a]).max(0.0);
        if to_bound < fraction {
            fraction = to_bound;
            blocking = Some(a);
        }
    }
    (fraction, blocking)
}

/// The (unpenalised) log-likelihood at the final coefficients.
fn final_log_likelihood(x: &[f64], y: &[bool], p: usize, beta: &[f64]) -> f64 {
    let mut ll = 0.0;
    let mut ticker = Ticker::default();
    for (i, &churned) in y.iter().enumerate() {
        ticker.tick();
        ll += row_log_likelihood(
            linear_predictor(beta, &x[i * p..(i + 1) * p]),
            f64::from(u8::from(churned)),
        );
    }
    ll
}

//! Tier cutoffs from the outcome.

use super::*;

/// The shortest decimal `c` with `lo <= c` and `hi` clearly above it: the
/// cutoff between two neighbouring scores (`tier` is upper-inclusive).
pub(super) fn cut_between(lo: f64, hi: f64) -> f64 {
    for digits in 0..=12 {
        let scale = 10f64.powi(digits);
        let c = (lo * scale).ceil() / scale;
        if c >= lo && c < hi - 2.0 * CUTOFF_TOLERANCE {
            return c;
        }
    }
    lo
}

/// The cutoffs of the at_risk / neutral / healthy bands, and what each band
/// holds. A churn-ratio rule reads the fitted curve: the churn log-odds of a
/// score `h` are `intercept - slope * h`, so at_risk ends at the score whose
/// fitted churn probability is `ratio` times the base rate (and healthy
/// starts where it is `ratio` times for the lower ratio): the band holds the
/// accounts whose own risk is that high, not a group whose average is. A
/// share rule counts accounts from the bottom (or the top).
pub(super) fn choose_tiers(scored: &mut [(f64, bool)], curve: (f64, f64), options: &Options) -> (Vec<f64>, Value) {
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let n = scored.len();
    let base = scored.iter().filter(|s| s.1).count() as f64 / n.max(1) as f64;
    let (intercept, slope) = curve;
    let tenth = |v: f64| ((v * 10.0).round() / 10.0).clamp(0.0, 100.0);
    // The score whose fitted churn probability is `p` (0 or 100 beyond them).
    let score_at = |p: f64| {
        if p >= 1.0 {
            0.0
        } else {
            tenth((intercept - (p / (1.0 - p)).ln()) / slope)
        }
    };
    // Places between two clearly different scores, for a share rule.
    let edges: Vec<usize> = (1..n)
        .filter(|&i| scored[i].0 - scored[i - 1].0 > 4.0 * CUTOFF_TOLERANCE)
        .collect();
    let at_share = |count: f64| {
        edges
            .iter()
            .copied()
            .min_by(|&a, &b| (a as f64 - count).abs().total_cmp(&(b as f64 - count).abs()))
            .map(|e| cut_between(scored[e - 1].0, scored[e].0))
    };
    let c1 = match options.at_risk {
        TierRule::ChurnRatio(q) => score_at(q * base),
        TierRule::Share(f) => at_share(f * n as f64).unwrap_or(0.0),
    };
    let c2 = match options.healthy {
        TierRule::ChurnRatio(q) => score_at(q * base),
        TierRule::Share(f) => at_share((1.0 - f) * n as f64).unwrap_or(100.0),
    };
    let c1 = c1.min(99.9);
    let cutoffs = vec![c1, if c2 > c1 { c2 } else { tenth(c1 + 0.1) }];
    // What each band holds, counted as `tier` will place the accounts.
    let mut counts = [(0usize, 0usize); 3];
    for &(s, c) in scored.iter() {
        let band = crate::normalise::band_index(crate::tier::on_cutoff(s, &cutoffs), &cutoffs);
        counts[band].0 += 1;
        counts[band].1 += usize::from(c);
    }
    let band = |(accounts, churned): (usize, usize)| json!({"accounts": accounts, "churn_rate": (accounts > 0).then(|| churned as f64 / accounts as f64)});
    let stats = json!({
        "at_risk": band(counts[0]),
        "neutral": band(counts[1]),
        "healthy": band(counts[2]),
    });
    (cutoffs, stats)
}

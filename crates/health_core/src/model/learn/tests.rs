use super::*;
use crate::validate::newton;

/// A deterministic stream of uniforms and normals (SplitMix64, Box-Muller).
struct Stream(u64);

impl Stream {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Accounts whose churn follows a known logistic relation: `usage`
/// protects, `seats` tracks usage but adds churn once usage is known (a
/// positive conditional coefficient), `tickets` (counts, sometimes
/// NULL) adds churn, `noise` does nothing.
fn accounts(n: usize, seed: u64) -> Vec<LearnRow> {
    let mut s = Stream(seed);
    (0..n)
        .map(|i| {
            let usage = s.normal();
            let seats = 0.8 * usage + 0.6 * s.normal();
            let tickets = (2.0 * s.uniform() + 1.0 * s.normal().abs()).floor();
            let noise = s.normal();
            let eta = -1.0 - 1.6 * usage + 0.9 * seats + 0.4 * tickets;
            let churned = s.uniform() < 1.0 / (1.0 + (-eta).exp());
            let tickets = (i % 7 != 3).then_some(tickets);
            LearnRow {
                account: format!("acct-{i}"),
                metrics: vec![
                    ("usage".into(), Some(50.0 + 10.0 * usage)),
                    ("seats".into(), Some(20.0 + 5.0 * seats)),
                    ("tickets".into(), tickets),
                    ("noise".into(), Some(noise)),
                ],
                churned,
                options: None,
            }
        })
        .collect()
}

fn learner(rows: &[LearnRow]) -> Learner {
    let mut l = Learner::default();
    for r in rows {
        l.add_row(r.clone()).unwrap();
    }
    l
}

fn with_options(rows: &[LearnRow], options: &str) -> Vec<LearnRow> {
    rows.iter()
        .map(|r| LearnRow {
            options: Some(options.into()),
            ..r.clone()
        })
        .collect()
}

#[test]
fn folds_are_a_fixed_hash() {
    // Pinned: a change here changes which accounts every user's folds hold.
    let folds: Vec<u32> = ["acct-1", "acct-2", "42", ""].iter().map(|a| fold_of(a, 5)).collect();
    assert_eq!(
        folds,
        vec![
            fold_of("acct-1", 5),
            fold_of("acct-2", 5),
            fold_of("42", 5),
            fold_of("", 5)
        ]
    );
    assert_eq!(account_hash(""), {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    });
    // About a fifth of 10 000 accounts in each of 5 folds.
    let mut counts = [0usize; 5];
    for i in 0..10_000 {
        counts[fold_of(&i.to_string(), 5) as usize - 1] += 1;
    }
    assert!(counts.iter().all(|&c| (1850..=2150).contains(&c)), "{counts:?}");
}

#[test]
fn weights_round_to_hundredths_summing_to_100() {
    let w = hundredths(&[100.0 / 3.0, 100.0 / 3.0, 100.0 / 3.0]);
    assert_eq!(w, vec![33.34, 33.33, 33.33]);
    let w = hundredths(&[12.345, 50.0, 37.655]);
    assert_eq!((w.iter().map(|x| (x * 100.0).round() as i64).sum::<i64>()), 10_000);
}

#[test]
fn cutoffs_are_short_decimals_between_scores() {
    assert_eq!(cut_between(41.234, 41.9), 42.0_f64.min(41.3));
    assert_eq!(cut_between(40.0, 55.0), 40.0);
    assert_eq!(cut_between(39.2, 55.0), 40.0);
    assert_eq!(cut_between(61.25, 61.26), 61.25);
}

#[test]
fn a_bound_coefficient_held_at_zero_is_the_fit_without_it() {
    // y depends on x0 against churn and x1 toward it: held <= 0, x1's
    // coefficient sits at 0 and x0's is the one-feature fit's.
    let mut s = Stream(7);
    let (mut x, mut x0, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2000 {
        let (a, b) = (s.normal(), s.normal());
        let eta = -1.2 * a + 0.8 * b;
        x.extend([a, b]);
        x0.push(a);
        y.push(s.uniform() < 1.0 / (1.0 + (-eta).exp()));
    }
    let held = newton(&x, &y, 2, 0.0, Some(&[true, true])).unwrap();
    let alone = newton(&x0, &y, 1, 0.0, None).unwrap();
    assert_eq!(held.beta[2], 0.0);
    assert!((held.beta[1] - alone.beta[1]).abs() < 1e-9, "{held:?} {alone:?}");
    assert!((held.beta[0] - alone.beta[0]).abs() < 1e-9);
    // Unbounded, x1's coefficient is positive.
    assert!(newton(&x, &y, 2, 0.0, None).unwrap().beta[2] > 0.5);
}

#[test]
fn learns_directions_weights_and_tiers() {
    let rows = accounts(6000, 11);
    let model = learner(&rows).learn().unwrap().unwrap();
    let fit = model.fit.clone().unwrap();
    let spec = |name: &str| model.metrics.iter().find(|m| m.name == name).cloned();
    // usage protects; seats, once usage is known, and tickets add churn.
    assert!(spec("usage").unwrap().higher_is_better);
    assert!(!spec("seats").unwrap().higher_is_better);
    assert!(!spec("tickets").unwrap().higher_is_better);
    assert_eq!(fit["flipped"], json!(["seats", "tickets"]));
    // The noise metric carries (almost) nothing and is left out.
    assert!(spec("noise").is_none(), "{}", model.to_text());
    assert_eq!(fit["dropped"], json!(["noise"]));
    let total: f64 = model.metrics.iter().map(|m| m.weight).sum();
    assert!((total - 100.0).abs() < 1e-9);
    // The score ranks as the unconstrained regression on the same
    // sub-scores: AUC within a rounding of the weights.
    let auc = fit["auc"].as_f64().unwrap();
    let data = learner(&rows).dataset().unwrap();
    let columns: Vec<usize> = (0..data.p).collect();
    let all: Vec<usize> = (0..data.y.len()).collect();
    let learned = learn_on(&data, &all, &columns, &Options::parse(None).unwrap()).unwrap();
    let m = learned.metrics.len();
    let mut x = Vec::new();
    for r in 0..data.y.len() {
        for lm in &learned.metrics {
            x.push(
                data.value(r, lm.column)
                    .map_or(50.0, |v| lm.transform.subscore(v, DEFAULT_CLIP)),
            );
        }
    }
    let free = newton(&x, &data.y, m, 0.0, None).unwrap();
    let mut o = Outcomes::default();
    for r in 0..data.y.len() {
        o.add(-free.log_odds(&x[r * m..(r + 1) * m]), data.y[r]).unwrap();
    }
    assert!((auc - o.auc().unwrap()).abs() < 0.001, "{auc} vs {:?}", o.auc());
    // Tiers: at_risk churns at least twice the base rate, healthy at most half.
    let base = fit["base_rate"].as_f64().unwrap();
    let at_risk = fit["tiers"]["at_risk"]["churn_rate"].as_f64().unwrap();
    let healthy = fit["tiers"]["healthy"]["churn_rate"].as_f64().unwrap();
    assert!(at_risk >= 2.0 * base && healthy <= 0.5 * base, "{fit}");
    let cv = &fit["cross_validation"];
    assert_eq!(cv["folds"], json!(5));
    assert!((cv["auc"].as_f64().unwrap() - auc).abs() < 0.03, "{cv}");
    // The model reads back as itself.
    assert_eq!(Model::parse(&model.to_text()).unwrap(), model);
}

#[test]
fn the_order_and_split_of_rows_do_not_matter() {
    let rows = with_options(&accounts(800, 3), r#"{"folds": 3}"#);
    let serial = learner(&rows).learn().unwrap().unwrap().to_text();
    let mut reversed: Vec<LearnRow> = rows.clone();
    reversed.reverse();
    let (a, b) = reversed.split_at(300);
    let mut merged = learner(b);
    let part = Learner::from_bytes(&learner(a).to_bytes().unwrap()).unwrap();
    merged.merge(&part).unwrap();
    assert_eq!(merged.learn().unwrap().unwrap().to_text(), serial);
}

#[test]
fn errors_say_what_to_change() {
    let rows = accounts(300, 5);
    let message = |rows: &[LearnRow]| learner(rows).learn().unwrap_err();
    let one_class: Vec<LearnRow> = rows
        .iter()
        .map(|r| LearnRow {
            churned: false,
            ..r.clone()
        })
        .collect();
    assert_eq!(
        message(&one_class).message,
        "needs both churned and retained accounts, got 0 of 300 churned"
    );
    let constant: Vec<LearnRow> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.metrics.push(("plan".into(), Some(3.0)));
            r
        })
        .collect();
    let e = message(&constant);
    assert_eq!(e.kind, crate::ErrorKind::InvalidParameter);
    assert!(
        e.message
            .starts_with("metric \"plan\" has the same value (3) on every row"),
        "{}",
        e.message
    );
    let empty: Vec<LearnRow> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.metrics.push(("nps".into(), None));
            r
        })
        .collect();
    let e = message(&empty);
    assert_eq!(e.kind, crate::ErrorKind::NullValue);
    assert_eq!(
        e.message,
        "metric \"nps\" is NULL on every row: there is nothing to learn from"
    );
    let few = &rows[..4];
    assert_eq!(
        message(few).message,
        "needs more accounts than metrics + 1, got 4 accounts for 4 metrics"
    );
    // Separated classes do not converge without a penalty.
    let separated: Vec<LearnRow> = rows
        .iter()
        .map(|r| {
            let usage = r.metrics[0].1.unwrap();
            LearnRow {
                churned: usage < 50.0,
                metrics: vec![r.metrics[0].clone()],
                ..r.clone()
            }
        })
        .collect();
    let e = message(&with_options(&separated, r#"{"folds": 0}"#));
    assert!(e.message.contains("did not converge"), "{}", e.message);
    assert!(e.hint.as_deref().unwrap_or("").contains("l2"));
    // Options are checked on the first row.
    let mut l = Learner::default();
    let e = l
        .add_row(with_options(&rows[..1], r#"{"fold": 3, "l2": -1}"#).remove(0))
        .unwrap_err();
    assert_eq!(
        e.message,
        "invalid options: options.fold is not a known option (did you mean folds?); options.l2 must be a number >= 0, got -1"
    );
    let e = learner(&with_options(&rows, r#"{"metrics": ["usage", "seat"]}"#))
        .learn()
        .unwrap_err();
    assert!(
        e.message
            .starts_with("options.metrics names \"seat\" (did you mean \"seats\"?)"),
        "{}",
        e.message
    );
}

#[test]
fn a_fold_held_out_beforehand_is_refused_not_averaged_away() {
    // The rows of folds 1 to 4 of 5, as `WHERE fold(account, 5) <> 5` leaves them.
    let four_folds: Vec<LearnRow> = accounts(1000, 11)
        .into_iter()
        .filter(|r| fold_of(&r.account, 5) != 5)
        .collect();
    let e = learner(&four_folds).learn().unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "cross-validation: fold 5 of 5 holds none of the {} accounts, so it cannot be held out",
            four_folds.len()
        )
    );
    assert!(e.hint.unwrap().contains(r#"{"folds": 0}"#));
    // As the hint says: no cross-validation, or another number of folds.
    let model = learner(&with_options(&four_folds, r#"{"folds": 0}"#))
        .learn()
        .unwrap()
        .unwrap();
    assert!(model.fit.unwrap()["cross_validation"].is_null());
    let model = learner(&with_options(&four_folds, r#"{"folds": 4}"#))
        .learn()
        .unwrap()
        .unwrap();
    let by_fold = model.fit.unwrap()["cross_validation"]["auc_by_fold"].clone();
    assert!(
        by_fold.as_array().unwrap().iter().all(|auc| auc.is_number()),
        "{by_fold}"
    );
}

use super::*;
use crate::aggregate::{Accumulate, AggregateState};
use proptest::prelude::*;
use serde_json::json;

fn outcomes(rows: &[(f64, bool)]) -> Outcomes {
    let mut o = Outcomes::default();
    for &(s, c) in rows {
        o.add(s, c).unwrap();
    }
    o
}

/// O(n²) definition, for checking.
fn auc_by_pairs(rows: &[(f64, bool)]) -> Option<f64> {
    let (mut sum, mut pairs) = (0.0, 0.0);
    for &(r, rc) in rows.iter().filter(|p| !p.1) {
        let _ = rc;
        for &(c, _) in rows.iter().filter(|p| p.1) {
            pairs += 1.0;
            sum += if r > c {
                1.0
            } else if r == c {
                0.5
            } else {
                0.0
            };
        }
    }
    (pairs > 0.0).then(|| sum / pairs)
}

#[test]
fn states_round_trip() {
    let mut o = outcomes(&[(80.0, false), (20.0, true)]);
    o.set_parameter(0.2, "fraction").unwrap();
    assert_eq!(Outcomes::from_bytes(&o.to_bytes().unwrap()).unwrap(), o);
    assert!(o.set_parameter(0.3, "fraction").is_err());
    let mut d = Design {
        l2: 0.5,
        ..Default::default()
    };
    d.add(&[1.0, 2.0], true).unwrap();
    d.add(&[3.0, 4.0], false).unwrap();
    assert_eq!(Design::from_bytes(&d.to_bytes().unwrap()).unwrap(), d);
}

fn fit_row(features: &[Option<f64>], missing: FitMissing, names: Option<&[&str]>) -> FitRow {
    FitRow {
        features: features.to_vec(),
        churned: features[0].is_none(),
        names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        missing,
        ..Default::default()
    }
}

#[test]
fn null_features_follow_the_missing_policy() {
    let rows = [[Some(10.0), Some(20.0)], [None, Some(30.0)], [Some(40.0), None]];
    let design = |missing| {
        let mut d = Design::default();
        for r in &rows {
            d.add_row(fit_row(r, missing, Some(&["logins", "nps"]))).unwrap();
        }
        d
    };
    let skip = design(FitMissing::Skip);
    assert_eq!((skip.rows(), skip.skipped, skip.imputed), (1, 2, 0));
    assert_eq!(skip.x, [10.0, 20.0]);
    let neutral = design(FitMissing::Neutral);
    assert_eq!((neutral.rows(), neutral.skipped, neutral.imputed), (3, 0, 2));
    assert_eq!(neutral.x, [10.0, 20.0, 50.0, 30.0, 40.0, 50.0]);
    assert_eq!(design(FitMissing::Zero).x, [10.0, 20.0, 0.0, 30.0, 40.0, 0.0]);
    // names, counts and rows survive the serial form
    assert_eq!(Design::from_bytes(&neutral.to_bytes().unwrap()).unwrap(), neutral);
    let error = Design::default()
        .add_row(fit_row(&rows[2], FitMissing::Error, None))
        .unwrap_err();
    assert!(error.to_string().contains("features[2] must not be NULL"));
    assert!(error.hint.unwrap().contains("'skip'"));
}

#[test]
fn names_are_one_per_feature_and_the_same_everywhere() {
    let mut d = Design::default();
    let row = [Some(1.0), Some(2.0)];
    assert!(d.add_row(fit_row(&row, FitMissing::Error, Some(&["a"]))).is_err());
    d.add_row(fit_row(&row, FitMissing::Error, Some(&["a", "b"]))).unwrap();
    assert!(d.add_row(fit_row(&row, FitMissing::Error, Some(&["a", "c"]))).is_err());
    let mut other = Design::default();
    other
        .add_row(fit_row(&row, FitMissing::Error, Some(&["b", "a"])))
        .unwrap();
    assert!(d.merge(&other).is_err());
    assert!(FitMissing::parse("impute").unwrap_err().to_string().contains("'skip'"));
}

#[test]
fn weights_by_name_pair_names_with_weights() {
    let mut d = Design::default();
    for i in 0..40 {
        let (a, b) = (f64::from(i % 10) * 10.0, f64::from(i % 7) * 10.0);
        let mut row = fit_row(&[Some(a), Some(b)], FitMissing::Error, Some(&["logins", "nps"]));
        row.churned = a + b < 70.0;
        row.l2 = Some(1.0);
        d.add_row(row).unwrap();
    }
    let fit = fit_logistic(&d, d.l2).unwrap();
    let answer = fit.to_json(&d);
    let weights = fit.weights.clone().unwrap();
    assert_eq!(answer["weights_by_name"]["logins"], json!(weights[0]));
    assert_eq!(answer["weights_by_name"]["nps"], json!(weights[1]));
    assert_eq!(answer["names"], json!(["logins", "nps"]));
    assert_eq!(answer["rows"], json!(40));
}

#[test]
fn auc_small_cases() {
    // retained 80, 60; churned 60, 20: pairs (80>60)=1, (80>20)=1, (60=60)=.5, (60>20)=1 -> 3.5/4
    assert_eq!(
        outcomes(&[(80.0, false), (60.0, false), (60.0, true), (20.0, true)]).auc(),
        Some(0.875)
    );
    assert_eq!(outcomes(&[(50.0, false), (50.0, true)]).auc(), Some(0.5));
    assert_eq!(outcomes(&[(90.0, false), (10.0, true)]).auc(), Some(1.0));
    assert_eq!(outcomes(&[(90.0, false)]).auc(), None);
}

#[test]
fn lift_counts_ties_pro_rata() {
    // 10 accounts, 2 churned overall (20 %); the lowest 10 % is the one at score 1, churned -> 100 % / 20 % = 5
    let rows: Vec<(f64, bool)> = (1..=10).map(|s| (s as f64, s == 1 || s == 7)).collect();
    assert_eq!(outcomes(&rows).lift(0.1).unwrap(), Some(5.0));
    assert_eq!(outcomes(&rows).lift(1.0).unwrap(), Some(1.0));
    // all tied: any fraction has the overall rate
    let tied: Vec<(f64, bool)> = (0..10).map(|i| (5.0, i < 3)).collect();
    assert!((outcomes(&tied).lift(0.25).unwrap().unwrap() - 1.0).abs() < 1e-12);
    assert!(outcomes(&rows).lift(0.0).is_err());
}

#[test]
fn logistic_fit_of_a_small_case() {
    // Not separable: the MLE exists.
    let mut d = Design::default();
    for (x, y) in [
        (1.0, true),
        (2.0, true),
        (3.0, false),
        (4.0, true),
        (5.0, false),
        (6.0, false),
        (2.5, false),
        (4.5, true),
    ] {
        d.add(&[x], y).unwrap();
    }
    let fit = fit_logistic(&d, 0.0).unwrap();
    assert!(fit.converged && fit.coefficients[0] < 0.0);
    // at the MLE the score equations hold: sum(y - mu) = 0 and sum(x (y - mu)) = 0
    let (mut g0, mut g1) = (0.0, 0.0);
    for i in 0..d.rows() {
        let x = d.x[i];
        let mu = 1.0 / (1.0 + (-(fit.intercept + fit.coefficients[0] * x)).exp());
        let y = f64::from(u8::from(d.y[i]));
        g0 += y - mu;
        g1 += x * (y - mu);
    }
    assert!(g0.abs() < 1e-9 && g1.abs() < 1e-9, "{g0} {g1}");
    assert_eq!(fit.weights, Some(vec![100.0]));
}

#[test]
fn fit_errors() {
    let mut sep = Design::default();
    for (x, y) in [(1.0, true), (2.0, true), (3.0, false), (4.0, false)] {
        sep.add(&[x], y).unwrap();
    }
    assert!(fit_logistic(&sep, 0.0)
        .unwrap_err()
        .message
        .contains("did not converge"));
    assert!(fit_logistic(&sep, 1.0).unwrap().converged);
    let mut col = Design::default();
    for (x, y) in [(1.0, true), (2.0, false), (3.0, true), (4.0, false), (5.0, true)] {
        col.add(&[x, 2.0 * x], y).unwrap();
    }
    assert!(fit_logistic(&col, 0.0).unwrap_err().message.contains("collinear"));
    let mut one = Design::default();
    for x in [1.0, 2.0, 3.0] {
        one.add(&[x], false).unwrap();
    }
    assert!(fit_logistic(&one, 0.0)
        .unwrap_err()
        .message
        .contains("both churned and retained"));
    let mut d = Design::default();
    d.add(&[1.0, 2.0], true).unwrap();
    assert_eq!(d.add(&[1.0], true).unwrap_err().kind, crate::ErrorKind::ArraySubscript);
}

proptest! {
    #[test]
    fn auc_equals_pair_definition(rows in prop::collection::vec(((0u8..20).prop_map(f64::from), any::<bool>()), 0..60)) {
        prop_assert_eq!(outcomes(&rows).auc(), auc_by_pairs(&rows));
    }

    #[test]
    fn lift_equals_definition(
        rows in prop::collection::vec(((0u8..8).prop_map(f64::from), any::<bool>()), 1..60),
        fraction in 0.01f64..=1.0,
    ) {
        let got = outcomes(&rows).lift(fraction).unwrap();
        prop_assert_eq!(got, lift_by_definition(&rows, fraction));
    }

    #[test]
    fn answers_do_not_depend_on_row_order(
        rows in prop::collection::vec(((0u8..8).prop_map(f64::from), any::<bool>()), 1..60),
        fraction in 0.01f64..=1.0,
    ) {
        let mut reversed = rows.clone();
        reversed.reverse();
        let (mut a, mut b) = (outcomes(&rows), outcomes(&reversed));
        prop_assert_eq!(a.auc(), b.auc());
        prop_assert_eq!(a.lift(fraction).unwrap(), b.lift(fraction).unwrap());
        prop_assert_eq!(a.calibration(7).unwrap(), b.calibration(7).unwrap());
    }

    #[test]
    fn stored_outcomes_split_anyhow_merge_to_the_same_answers(
        rows in prop::collection::vec(((0u16..400).prop_map(|v| f64::from(v) / 4.0), any::<bool>()), 1..80),
        cut in 0usize..80,
        fraction in 0.01f64..=1.0,
    ) {
        let cut = cut.min(rows.len());
        let (mut first, mut second) = (outcomes(&rows[..cut]), outcomes(&rows[cut..]));
        // each part stored, read back (text too) and merged
        let mut merged = Outcomes::from_stored(&first.to_stored().unwrap()).unwrap();
        let text = outcomes_text(&second.to_stored().unwrap()).unwrap();
        merged.merge(&Outcomes::from_stored(&outcomes_from_text(&text).unwrap()).unwrap()).unwrap();
        let mut whole = outcomes(&rows);
        prop_assert_eq!(merged.auc(), whole.auc());
        prop_assert_eq!(merged.lift(fraction).unwrap(), whole.lift(fraction).unwrap());
        prop_assert_eq!(merged.calibration(9).unwrap(), whole.calibration(9).unwrap());
        // the same rows give the same bytes, whatever the split
        prop_assert_eq!(merged.to_stored().unwrap(), whole.to_stored().unwrap());
    }
}

#[test]
fn stored_fit_rows_round_trip_and_merge_to_the_same_fit() {
    let mut whole = Design::default();
    let mut parts = [Design::default(), Design::default()];
    for i in 0..400u32 {
        let (a, b) = (f64::from(i % 37), f64::from((i * 7) % 23));
        let churned = (a + 2.0 * b + f64::from(i % 5)) < 30.0;
        whole.add(&[a, b], churned).unwrap();
        parts[(i % 2) as usize].add(&[a, b], churned).unwrap();
    }
    let text = fit_rows_text(&design_to_stored(&parts[1]).unwrap()).unwrap();
    let mut merged = design_from_stored(&design_to_stored(&parts[0]).unwrap()).unwrap();
    merged
        .merge(&design_from_stored(&fit_rows_from_text(&text).unwrap()).unwrap())
        .unwrap();
    assert_eq!(merged.rows(), 400);
    let (a, b) = (fit_logistic(&merged, 0.0).unwrap(), fit_logistic(&whole, 0.0).unwrap());
    for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
    assert_eq!(a.auc, b.auc);
    let bad = |t: &str| fit_rows_from_text(t).unwrap_err().message;
    assert_eq!(
        bad(r#"{"names": null, "features": [[1, 2]], "churned": []}"#),
        "invalid fit_rows: 1 rows of features and 0 outcomes"
    );
    assert_eq!(
        bad(r#"{"names": null, "features": [[1, 2], [3]], "churned": [true, false]}"#),
        "invalid fit_rows: every row must have the same number of features, got 1 after 2"
    );
    assert_eq!(
        bad(r#"{"names": ["a"], "features": [[1, 2]], "churned": [true]}"#),
        "invalid fit_rows: 1 names for 2 features"
    );
    assert!(bad(r#"{"features": [], "churned": [], "l2": 1}"#).starts_with("invalid fit_rows: unknown field"));
    assert!(design_from_stored(b"garbage").is_err());
}

#[test]
fn stored_outcomes_text_and_errors() {
    let mut o = outcomes(&[
        (80.0, false),
        (60.0, false),
        (60.0, true),
        (20.0, true),
        (60.0, true),
        (12.5, false),
    ]);
    let bytes = o.to_stored().unwrap();
    let text = outcomes_text(&bytes).unwrap();
    assert!(text.contains(r#""retained":[[12.5,1],[60,1],[80,1]]"#), "{text}");
    assert!(text.contains(r#""churned":[[20,1],[60,2]]"#), "{text}");
    assert_eq!(outcomes_from_text(&text).unwrap(), bytes);
    check_stored_outcomes(&bytes).unwrap();
    let bad = |t: &str| outcomes_from_text(t).unwrap_err().message;
    assert_eq!(
        bad(r#"{"retained": [[60, 1], [20, 1]], "churned": []}"#),
        "invalid outcomes: scores must be listed once each in ascending order, got 20 after 60"
    );
    assert_eq!(
        bad(r#"{"retained": [[60, 0]], "churned": []}"#),
        "invalid outcomes: every count must be at least 1"
    );
    assert!(bad(r#"{"retained": [], "churned": [], "extra": 1}"#).starts_with("invalid outcomes: unknown field"));
    assert!(bad(r#"{"retained": [[60, -1]], "churned": []}"#).starts_with("invalid outcomes:"));
    assert!(bad(r#"{"retained": []}"#).starts_with("invalid outcomes: missing field"));
    // truncated, foreign and corrupted bytes
    assert!(Outcomes::from_stored(&bytes[..bytes.len() - 3]).is_err());
    assert!(Outcomes::from_stored(b"{}").is_err());
    let mut descending = bytes.clone();
    descending[12..20].copy_from_slice(&99.0f64.to_le_bytes()); // first retained score above the next
    assert!(Outcomes::from_stored(&descending).is_err());
    let empty = outcomes_from_text(r#"{"retained": [], "churned": []}"#).unwrap();
    assert!(Outcomes::from_stored(&empty).unwrap().is_empty());
}

/// Lift by its definition: sort all rows, take the lowest `fraction · n`
/// accounts, the accounts tied at the cut pro rata.
fn lift_by_definition(rows: &[(f64, bool)], fraction: f64) -> Option<f64> {
    let n = rows.len() as f64;
    let churned = rows.iter().filter(|r| r.1).count() as f64;
    if churned == 0.0 {
        return None;
    }
    let k = fraction * n;
    let mut scores: Vec<f64> = rows.iter().map(|r| r.0).collect();
    scores.sort_by(f64::total_cmp);
    let cut = scores[(k.ceil() as usize).max(1) - 1];
    let count = |pred: &dyn Fn(&(f64, bool)) -> bool| rows.iter().filter(|r| pred(r)).count() as f64;
    let below = count(&|r| r.0 < cut);
    let at = count(&|r| r.0 == cut);
    let churned_below = count(&|r| r.0 < cut && r.1);
    let churned_at = count(&|r| r.0 == cut && r.1);
    let churned_low = churned_below + ((k - below) / at).clamp(0.0, 1.0) * churned_at;
    Some(churned_low / k / (churned / n))
}

mod aggregate_state_tests {
    use super::*;
    use crate::aggregate::testing::{serially, split_and_merge};

    proptest! {
        #[test]
        fn brier_split_anywhere(rows in prop::collection::vec((0.0f64..=1.0, any::<bool>()), 0..200), at in 0usize..200) {
            let split: Brier = split_and_merge("brier", &rows, at);
            let serial: Brier = serially("brier", &rows);
            prop_assert_eq!(split.count, serial.count);
            if let (Some(a), Some(b)) = (split.value(), serial.value()) {
                prop_assert!((a - b).abs() < 1e-12);
            }
        }

        #[test]
        fn outcomes_split_anywhere(rows in prop::collection::vec((0.0f64..=100.0, any::<bool>()), 0..200), at in 0usize..200) {
            let rows: Vec<(f64, bool)> = rows;
            let to_row = |&(s, c): &(f64, bool)| OutcomeRow { scored: Some((s, c)), parameter: Some((0.2, "fraction")) };
            let as_rows: Vec<OutcomeRow> = rows.iter().map(to_row).collect();
            let mut split: Outcomes = split_and_merge("lift", &as_rows, at);
            let mut serial: Outcomes = serially("lift", &as_rows);
            prop_assert_eq!(split.auc(), serial.auc());
            prop_assert_eq!(split.parameter(), (!rows.is_empty()).then_some(0.2));
            prop_assert_eq!(split.len(), rows.len());
        }
    }

    #[test]
    fn growing_states_report_their_rows() {
        let mut o = Outcomes::start("auc").unwrap();
        o.add_row(OutcomeRow {
            scored: Some((10.0, true)),
            parameter: None,
        })
        .unwrap();
        assert_eq!(o.held_rows(), Some(1));
        assert_eq!(o.serial_size(1), o.serialize().unwrap().len());
        assert_eq!(o.aggregate(), Some("auc"));
        let mut d = Design::start("fit_weights").unwrap();
        d.add_row(FitRow {
            features: vec![Some(1.0), None],
            names: Some(vec!["logins".into(), "nps".into()]),
            missing: crate::validate::FitMissing::Neutral,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.serial_size(1), d.serialize().unwrap().len());
    }

    #[test]
    fn fixed_size_states_refuse_other_lengths() {
        assert!(<Brier as AggregateState>::deserialize(&[0; 25]).is_err());
    }
}

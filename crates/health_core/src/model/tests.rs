use super::*;
use crate::normalise;
use crate::score::weighted_score;
use proptest::prelude::*;

const MODEL: &str = r#"{"name": "mature", "version": 3, "missing": "renormalize", "min_coverage": 0.5,
    "metrics": [
      {"name": "nps", "weight": 25, "scale": {"method": "bands", "cutoffs": [6, 8], "scores": [0, 60, 100]}},
      {"name": "active_days", "weight": 20, "scale": {"method": "target", "target": 20}, "critical_floor": 25},
      {"name": "adoption", "weight": 15, "scale": {"method": "piecewise", "knots": [0, 20, 50, 80], "scores": [0, 50, 80, 100]}},
      {"name": "tickets", "weight": 10, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 8}},
      {"name": "logins", "weight": 10, "scale": {"method": "log", "lo": 0, "hi": 400, "out_of_range": "null"}},
      {"name": "csat", "weight": 10, "scale": {"method": "zscore", "mean": 80, "stddev": 10}}],
    "tiers": {"cutoffs": [40, 70], "labels": ["at_risk", "neutral", "healthy"]},
    "critical_tier": "at_risk"}"#;

#[test]
fn the_missing_policy_error_names_the_missing_metric() {
    let m = Model::parse(&MODEL.replace(r#""missing": "renormalize""#, r#""missing": "error""#)).unwrap();
    let mut values = vec![Some(9.0), Some(20.0), Some(50.0), Some(0.0), Some(100.0), Some(80.0)];
    assert_eq!(m.evaluate(&values).unwrap(), m.evaluate(&values).unwrap());
    assert!(m.evaluate(&values).unwrap().is_some());
    values[3] = None;
    let e = m.evaluate(&values).unwrap_err();
    assert_eq!(e.kind, crate::error::ErrorKind::NullValue);
    assert_eq!(
        e.message,
        r#"the missing policy 'error' refuses a missing (NULL) sub-score: metric "tickets""#
    );
    let e = m.scorecard(&values).unwrap().score(m.missing, 0.0).unwrap_err();
    assert_eq!(
        e.message,
        r#"the missing policy 'error' refuses a missing (NULL) sub-score: metric "tickets""#
    );
}

#[test]
fn an_unknown_model_name_names_the_likely_one() {
    let known: Vec<String> = ["analytics_health", "default", "enterprise"].map(String::from).into();
    let e = unknown_model("analytics_helth", "health.models", &known);
    assert_eq!(e.message, r#"health.models has no model named "analytics_helth""#);
    assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "analytics_health"?"#));
    let e = unknown_model("zzz", "my_models", &known);
    assert_eq!(
        e.hint.as_deref(),
        Some(r#"The catalogue's models: "analytics_health", "default", "enterprise"."#)
    );
    let many: Vec<String> = (0..12).map(|i| format!("m{i:02}")).collect();
    assert!(unknown_model("x", "health.models", &many)
        .hint
        .unwrap()
        .ends_with(r#""m09", ...."#));
    assert!(unknown_model("x", "health.models", &[])
        .hint
        .unwrap()
        .starts_with("health.models holds no model yet"));
}

#[test]
fn a_metric_that_is_not_a_number_is_quoted() {
    let m = Model::parse(MODEL).unwrap();
    let e = m
        .values_from_json(&serde_json::json!({"nps": "9"}), ExtraKeys::Error)
        .unwrap_err();
    assert_eq!(e.message, r#"metrics.nps must be a number or null, got a string "9""#);
    assert_eq!(
        e.hint.as_deref(),
        Some("the number is a JSON string: build the JSON from a number, e.g. jsonb_build_object('nps', nps::float8)")
    );
    let long = "x".repeat(60);
    let e = m
        .values_from_json(&serde_json::json!({"csat": long}), ExtraKeys::Error)
        .unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "metrics.csat must be a number or null, got a string \"{}...",
            "x".repeat(39)
        )
    );
    assert_eq!(e.hint, None);
}

#[test]
fn text_round_trip_is_stable() {
    let m = Model::parse(MODEL).unwrap();
    let text = m.to_text();
    let again = Model::parse(&text).unwrap();
    assert_eq!(again, m);
    assert_eq!(again.to_text(), text);
}

#[test]
fn evaluate_equals_hand_composition() {
    let m = Model::parse(MODEL).unwrap();
    let values = [Some(9.0), Some(10.0), Some(35.0), Some(2.0), None, Some(85.0)];
    let hand = weighted_score(
        [
            Some(100.0),
            Some(50.0),
            normalise::scale_piecewise(35.0, &[0.0, 20.0, 50.0, 80.0], &[0.0, 50.0, 80.0, 100.0]).ok(),
            normalise::scale_linear(2.0, 0.0, 8.0, false, OutOfRange::Clamp).unwrap(),
            None,
            normalise::scale_zscore(85.0, 80.0, 10.0, true).ok(),
        ]
        .into_iter(),
        &[25.0, 20.0, 15.0, 10.0, 10.0, 10.0],
        Missing::Renormalize,
        0.5,
    )
    .unwrap();
    assert_eq!(m.evaluate(&values).unwrap(), hand);
    // active_days sub-score 50 >= floor 25: no worst-of
    assert_eq!(m.critical(&values).unwrap(), Vec::<&str>::new());
    let low = [Some(9.0), Some(2.0), Some(35.0), Some(2.0), None, Some(85.0)];
    assert_eq!(m.critical(&low).unwrap(), vec!["active_days"]);
    assert_eq!(m.tier_of(&low).unwrap().as_deref(), Some("at_risk"));
}

#[test]
fn explain_points_add_up() {
    let m = Model::parse(MODEL).unwrap();
    let values = [Some(7.0), Some(12.0), Some(60.0), Some(5.0), Some(30.0), None];
    let e = m.explain(&values).unwrap();
    let total: f64 = e["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["points"].as_f64().unwrap())
        .sum();
    assert!((total - e["score"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let bad = r#"{"missing": "drop", "min_coverage": 2,
      "metrics": [
        {"name": "a", "weight": -1, "scale": {"method": "linear", "lo": 10, "hi": 5}},
        {"name": "a", "weight": 1, "scale": {"method": "bands", "cutoffs": [2, 1], "scores": [0, 50, 100]}},
        {"name": "c", "weight": 1, "scale": {"method": "cubic"}}],
      "tiers": {"cutoffs": [40, 70], "labels": ["low", "high"]}}"#;
    let e = Model::parse(bad).unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::InvalidParameter);
    for part in [
        "missing must be one of",
        "min_coverage must be between 0 and 1, got 2",
        "metrics[0].weight must not be negative, got -1",
        "metrics[0].scale.lo must be below hi, got lo=10 hi=5",
        "metrics[1].scale.cutoffs must be strictly ascending",
        "metrics[1].name \"a\" appears more than once",
        "metrics[2].scale.method must be one of",
        "tiers.labels must have one more element than cutoffs",
    ] {
        assert!(e.message.contains(part), "{part} not in {}", e.message);
    }
    let e = Model::parse(r#"{"metrics": [{"name": "a", "weigth": 1, "scale": {"method": "target", "target": "20"}}]}"#)
        .unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::InvalidText);
    assert!(e.message.contains("metrics[0].weight is required"), "{}", e.message);
    assert!(
        e.message.contains("metrics[0].weigth is not a known field"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("metrics[0].scale.target must be a number, got a string"),
        "{}",
        e.message
    );
    assert!(Model::parse("{")
        .unwrap_err()
        .message
        .starts_with("invalid model: not JSON"));
}

proptest! {
    #[test]
    fn evaluate_matches_weighted_score(values in prop::collection::vec(prop::option::of(0.0f64..500.0), 6)) {
        let m = Model::parse(MODEL).unwrap();
        let subs: Vec<Option<f64>> = (0..6).map(|i| m.subscore(i, values[i]).unwrap()).collect();
        let hand = weighted_score(subs.into_iter(), &[25.0, 20.0, 15.0, 10.0, 10.0, 10.0], Missing::Renormalize, 0.5).unwrap();
        prop_assert_eq!(m.evaluate(&values).unwrap(), hand);
    }
}

#[test]
fn unknown_keys_are_an_error_unless_ignored() {
    let m = Model::parse(
        r#"{"metrics": [{"name": "frequency", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}},
                        {"name": "nps", "weight": 1, "scale": {"method": "linear", "lo": -100, "hi": 100}}]}"#,
    )
    .unwrap();
    let typo = serde_json::json!({"frequncy": 2, "nps": 60});
    let err = m.values_from_json(&typo, ExtraKeys::Error).unwrap_err();
    assert!(
        err.message
            .starts_with(r#"metrics has a key the model does not know: "frequncy" (did you mean "frequency"?); the model's metrics are frequency, nps."#),
        "{}",
        err.message
    );
    assert_eq!(err.kind, crate::ErrorKind::InvalidParameter);
    // the typo no longer scores 80 (nps alone, renormalised); ignoring extra keys is explicit
    assert_eq!(
        m.values_from_json(&typo, ExtraKeys::Ignore).unwrap(),
        vec![None, Some(60.0)]
    );
    let far = serde_json::json!({"frequency": 2, "region": "emea", "seats": 4});
    let err = m.values_from_json(&far, ExtraKeys::Error).unwrap_err();
    assert!(
        err.message
            .starts_with(r#"metrics has keys the model does not know: "region", "seats";"#),
        "{}",
        err.message
    );
    // null and absent are both "not measured", and neither is an unknown key
    let partial = serde_json::json!({"frequency": null});
    assert_eq!(
        m.values_from_json(&partial, ExtraKeys::Error).unwrap(),
        vec![None, None]
    );
    assert!(ExtraKeys::parse("warn").is_err());
}

#[test]
fn a_swapped_tier_call_gets_a_hint() {
    let err = Model::parse("{40,70}").unwrap_err();
    assert!(err.message.starts_with("invalid model: not JSON"), "{}", err.message);
    assert!(err.hint.as_deref().unwrap_or("").contains("health.tier(55, '{40,70}')"));
    assert_eq!(Model::parse("{\"metrics\": 1").unwrap_err().hint, None);
}

//! Changing a model without editing its JSON by hand.

use serde_json::Value;

use super::parse::kind;
use super::*;
use crate::error::num;

impl Model {
    /// The model with the weights of the metrics named in `weights` (an
    /// object of metric name → weight, such as `fit_weights`'
    /// `weights_by_name`) replaced; metrics it does not name keep theirs.
    /// A name the model does not have is an error, as in `evaluate`: a
    /// misspelt name must not leave a weight unchanged without a word.
    pub fn with_weights(&self, weights: &Value) -> Result<Model> {
        let Some(map) = weights.as_object() else {
            return Err(HealthError::invalid(format!(
                "weights must be a JSON object of metric name to weight, got {}",
                kind(weights)
            )));
        };
        let unknown = self.unknown_names(map);
        if !unknown.is_empty() {
            return Err(HealthError::invalid(format!(
                "weights names {} the model does not have: {}; the model's metrics are {}",
                if unknown.len() == 1 { "a metric" } else { "metrics" },
                unknown.join(", "),
                self.metric_names()
            )));
        }
        let mut changed = self.clone();
        for metric in &mut changed.metrics {
            let Some(value) = map.get(&metric.name) else {
                continue;
            };
            let weight = value.as_f64().filter(|w| w.is_finite()).ok_or_else(|| {
                HealthError::invalid(format!("weights.{} must be a number, got {}", metric.name, kind(value)))
            })?;
            if weight < 0.0 {
                return Err(HealthError::invalid(format!(
                    "weights.{} must not be negative, got {}",
                    metric.name,
                    num(weight)
                )));
            }
            metric.weight = weight;
        }
        // The whole model is checked again, as a stored one would be (at
        // least one positive weight).
        Model::parse(&changed.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> Model {
        Model::parse(
            r#"{"metrics": [
                {"name": "logins", "weight": 3, "scale": {"method": "linear", "lo": 0, "hi": 20}},
                {"name": "nps", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn named_weights_replace_only_theirs() {
        let m = model().with_weights(&json!({"nps": 2.5})).unwrap();
        assert_eq!(m.metrics[0].weight, 3.0);
        assert_eq!(m.metrics[1].weight, 2.5);
        assert_eq!(m.metrics[0].scale, model().metrics[0].scale);
        // logins 10 of 20 is 50, nps 10 of 10 is 100: (3*50 + 2.5*100) / 5.5
        let score = m.evaluate(&[Some(10.0), Some(10.0)]).unwrap().unwrap();
        assert!((score - 400.0 / 5.5).abs() < 1e-12);
    }

    #[test]
    fn mistakes_are_named() {
        let message = |w: Value| model().with_weights(&w).unwrap_err().to_string();
        assert!(message(json!({"login": 1})).contains("\"login\" (did you mean \"logins\"?)"));
        assert!(message(json!([1, 2])).contains("must be a JSON object"));
        assert!(message(json!({"nps": "2"})).contains("weights.nps must be a number, got a string"));
        assert!(message(json!({"nps": -1})).contains("weights.nps must not be negative"));
        assert!(message(json!({"nps": 0, "logins": 0})).contains("at least one positive weight"));
    }
}

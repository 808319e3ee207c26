//! `fit_model`'s options: a JSON object, every field optional, every
//! problem reported at once.

use super::*;

/// The four z-score forms of [`Normaliser::ZScore`] that `fit_model` chooses from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ZForm {
    ZScore,
    ZScoreLinear,
    LogZScore,
    LogZScoreLinear,
}

impl ZForm {
    pub(super) const ALL: [ZForm; 4] = [
        ZForm::ZScoreLinear,
        ZForm::ZScore,
        ZForm::LogZScoreLinear,
        ZForm::LogZScore,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            ZForm::ZScore => "zscore",
            ZForm::ZScoreLinear => "zscore_linear",
            ZForm::LogZScore => "log_zscore",
            ZForm::LogZScoreLinear => "log_zscore_linear",
        }
    }

    pub(super) fn log(self) -> bool {
        matches!(self, ZForm::LogZScore | ZForm::LogZScoreLinear)
    }

    pub(super) fn linear(self) -> bool {
        matches!(self, ZForm::ZScoreLinear | ZForm::LogZScoreLinear)
    }
}

/// How a tier's edge is chosen from the outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum TierRule {
    /// The largest group (lowest scores for at_risk, highest for healthy)
    /// whose churn rate is at least (at_risk) or at most (healthy) this
    /// multiple of the base rate.
    ChurnRatio(f64),
    /// This share of the accounts.
    Share(f64),
}

/// `fit_model`'s options (a JSON object; every field optional).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Options {
    pub(super) name: Option<String>,
    pub(super) version: Option<Value>,
    pub(super) l2: f64,
    pub(super) folds: u32,
    pub(super) min_weight: f64,
    pub(super) clip: f64,
    pub(super) normalisers: Vec<ZForm>,
    pub(super) metrics: Option<Vec<String>>,
    pub(super) min_coverage: f64,
    pub(super) at_risk: TierRule,
    pub(super) healthy: TierRule,
}

pub(super) const OPTION_NAMES: [&str; 13] = [
    "name",
    "version",
    "l2",
    "folds",
    "min_weight",
    "clip",
    "normalisers",
    "metrics",
    "min_coverage",
    "at_risk_churn_ratio",
    "healthy_churn_ratio",
    "at_risk_share",
    "healthy_share",
];

impl Options {
    /// The options of `fit_model` (`None`: every default). Every problem is
    /// collected, in the order of the fields below, and reported at once.
    pub(super) fn parse(text: Option<&str>) -> Result<Options> {
        let map = options_object(text)?;
        let mut r = Reader {
            map: &map,
            problems: unknown_keys(&map),
        };
        let l2 = r.number("l2", 0.0, |x| x >= 0.0, "a number >= 0");
        let folds = r.number(
            "folds",
            5.0,
            |x| x == 0.0 || (x.fract() == 0.0 && (2.0..=100.0).contains(&x)),
            "0 (no cross-validation) or a whole number from 2 to 100",
        ) as u32;
        let min_weight = r.number(
            "min_weight",
            1.0,
            |x| (0.0..100.0).contains(&x),
            "a number from 0 to below 100",
        );
        let clip = r.number("clip", DEFAULT_CLIP, |x| x > 0.0, "a number > 0");
        let min_coverage = r.number(
            "min_coverage",
            0.0,
            |x| (0.0..=1.0).contains(&x),
            "a number from 0 to 1",
        );
        let at_risk = r.tier_rule("at_risk_churn_ratio", "at_risk_share", 2.0, |x| x > 1.0, "a number > 1");
        let healthy = r.tier_rule(
            "healthy_churn_ratio",
            "healthy_share",
            0.5,
            |x| x > 0.0 && x < 1.0,
            "a number between 0 and 1",
        );
        r.check_shares(at_risk, healthy);
        let options = Options {
            l2,
            folds,
            min_weight,
            clip,
            min_coverage,
            at_risk,
            healthy,
            normalisers: r.normalisers(),
            metrics: r.metrics(),
            name: r.name(),
            version: r.version(),
        };
        if !r.problems.is_empty() {
            return Err(HealthError::invalid(format!(
                "invalid options: {}",
                r.problems.join("; ")
            )));
        }
        Ok(options)
    }
}

/// The options' JSON text as an object (`None`: an empty one).
fn options_object(text: Option<&str>) -> Result<Map<String, Value>> {
    let value: Value = match text {
        None => return Ok(Map::new()),
        Some(t) => {
            serde_json::from_str(t).map_err(|e| HealthError::text(format!("options must be a JSON object: {e}")))?
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        other => Err(HealthError::invalid(format!(
            "options must be a JSON object, got {}",
            super::super::parse::kind(&other)
        ))),
    }
}

/// A problem for every key that is not an option, with the closest name.
fn unknown_keys(map: &Map<String, Value>) -> Vec<String> {
    map.keys()
        .filter(|key| !OPTION_NAMES.contains(&key.as_str()))
        .map(|key| match closest(key, OPTION_NAMES.iter().copied()) {
            Some(meant) => format!("options.{key} is not a known option (did you mean {meant}?)"),
            None => format!("options.{key} is not a known option"),
        })
        .collect()
}

/// Reads one option after another, noting each problem and going on with
/// the default, so that every problem is reported at once.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// An option given and not null.
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn number(&mut self, key: &str, default: f64, ok: fn(f64) -> bool, rule: &str) -> f64 {
        let Some(v) = self.get(key) else { return default };
        match v.as_f64().filter(|x| x.is_finite() && ok(*x)) {
            Some(x) => x,
            None => {
                let problem = format!("options.{key} must be {rule}, got {v}");
                self.problems.push(problem);
                default
            }
        }
    }

    /// A tier's edge: by churn ratio (`ratio_key`, the default) or by share
    /// of accounts (`share_key`), not both.
    fn tier_rule(
        &mut self,
        ratio_key: &str,
        share_key: &str,
        default: f64,
        ratio_ok: fn(f64) -> bool,
        ratio_rule: &str,
    ) -> TierRule {
        let share = self
            .get(share_key)
            .is_some()
            .then(|| self.number(share_key, 0.0, |x| x > 0.0 && x < 1.0, "a number between 0 and 1"));
        let ratio = self
            .get(ratio_key)
            .is_some()
            .then(|| self.number(ratio_key, default, ratio_ok, ratio_rule));
        match (ratio, share) {
            (Some(_), Some(_)) => {
                self.problems.push(format!(
                    "options.{ratio_key} and options.{share_key} cannot both be given"
                ));
                TierRule::ChurnRatio(default)
            }
            (_, Some(share)) => TierRule::Share(share),
            (ratio, None) => TierRule::ChurnRatio(ratio.unwrap_or(default)),
        }
    }

    /// Two shares leave room for the neutral tier.
    fn check_shares(&mut self, at_risk: TierRule, healthy: TierRule) {
        if let (TierRule::Share(a), TierRule::Share(h)) = (at_risk, healthy) {
            if a + h >= 1.0 {
                self.problems.push(format!(
                    "options.at_risk_share + options.healthy_share must be below 1, got {} + {}",
                    num(a),
                    num(h)
                ));
            }
        }
    }

    fn normalisers(&mut self) -> Vec<ZForm> {
        match self.get("normalisers").cloned() {
            None => ZForm::ALL.to_vec(),
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut chosen = Vec::new();
                for item in items {
                    match ZForm::ALL.iter().find(|n| item.as_str() == Some(n.name())) {
                        Some(n) if !chosen.contains(n) => chosen.push(*n),
                        Some(_) => {}
                        None => self.problems.push(format!(
                            "options.normalisers must hold 'zscore', 'zscore_linear', 'log_zscore' or 'log_zscore_linear', got {item}"
                        )),
                    }
                }
                chosen
            }
            Some(v) => {
                self.problems.push(format!(
                    "options.normalisers must be a non-empty array of normaliser names, got {v}"
                ));
                Vec::new()
            }
        }
    }

    fn metrics(&mut self) -> Option<Vec<String>> {
        match self.get("metrics").cloned() {
            None => None,
            Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
                Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            }
            Some(v) => {
                self.problems.push(format!(
                    "options.metrics must be a non-empty array of metric names, got {v}"
                ));
                None
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        match self.get("name").cloned() {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.problems.push(format!("options.name must be a string, got {v}"));
                None
            }
        }
    }

    fn version(&mut self) -> Option<Value> {
        let version = self.get("version").cloned();
        if let Some(v) = version.as_ref().filter(|v| !(v.is_string() || v.is_number())) {
            self.problems
                .push(format!("options.version must be a string or a number, got {v}"));
        }
        version
    }
}

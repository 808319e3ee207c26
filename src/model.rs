//! SQL wrappers for scoring models as data: the `health.model` type (a
//! validated JSON scoring model), `evaluate`, `explain`, `tier(model, score)`
//! and the worst-of `tier(model, metrics)`. The catalogue of named models is
//! in `catalogue.rs`.
//!
//! A model is stored as its canonical JSON text and parsed once per call
//! site and query (cached in `fn_extra`, keyed by the stored bytes), so a
//! million rows cost one parse.

use health_core::model::{ExtraKeys, LearnRow, Learner, Model as CoreModel};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::{Internal, JsonB, PgList};

use std::rc::Rc;

use crate::agg::aggregate;
use crate::args::{borrowed_argument, detoasted, FloatArray, Word};
use crate::callsite::{self, CallSite};
use crate::errors::{raise, OrRaise};
use crate::fused;
use crate::stored::stored_type;

const TYPE: &str = "model";

stored_type! {
    /// A validated scoring model, stored as its canonical JSON text.
    pub struct Model is "model";
    text: |text| CoreModel::parse(text).map(|model| model.to_stored()), CoreModel::stored_text;
    // The binary form of a model is its JSON text, as in 0.1.0 (portable
    // between releases); the format header is only on disk.
    binary {
        model_send(m), model_recv,
        rewrite: |bytes| CoreModel::from_stored(bytes).map(|model| model.to_stored()),
        send: |stored: Vec<u8>| CoreModel::stored_text(&stored).map(|text| text.as_bytes().to_vec())
    }
    schema "model_type_options" {
        r#"
COMMENT ON TYPE model IS
    'A scoring model: metrics with weights and normalisers, missing policy, minimum coverage and tiers, as validated JSON.';
CREATE CAST (jsonb AS model) WITH FUNCTION model_from_jsonb(jsonb);
COMMENT ON FUNCTION model_from_jsonb(jsonb) IS
    'The cast jsonb::health.model: validates the document as the text form does.';
"#
    } requires [model_from_jsonb];
}

impl Model {
    pub fn size_in_bytes(&self) -> usize {
        self.0.len()
    }
}

/// A `health.model` argument, not yet detoasted: the call site's cache
/// (callsite.rs) keys it by position, TOAST pointer or bytes, and only a
/// model not seen before in this query is detoasted and parsed.
pub struct ModelBytes<'a>(pg_sys::Datum, std::marker::PhantomData<&'a ()>);

impl<'a> ModelBytes<'a> {
    /// SAFETY: `datum` is a non-NULL model datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        ModelBytes(datum, std::marker::PhantomData)
    }

    /// The parsed model (the first argument of every function that takes
    /// one), from this call site's cache.
    fn parsed(&self, fcinfo: pg_sys::FunctionCallInfo, function: &str) -> Rc<CoreModel> {
        self.parsed_then(fcinfo, function, |_| ())
    }

    /// As [`parsed`](Self::parsed), running `check` once when a model is
    /// first parsed at this call site.
    fn parsed_then(
        &self,
        fcinfo: pg_sys::FunctionCallInfo,
        function: &str,
        check: impl FnOnce(&CoreModel),
    ) -> Rc<CoreModel> {
        // SAFETY: fcinfo is this call's and the model is its argument 0.
        let key = unsafe { [callsite::varlena_part(fcinfo, 0, self.0)] };
        let site = unsafe { CallSite::of(fcinfo) };
        site.get_or_build(&key, || {
            // SAFETY: a non-NULL model datum; detoasted once per model and query.
            let bytes = unsafe { pgrx::varlena::varlena_to_byte_slice(detoasted(self.0)) };
            let model = CoreModel::from_stored(bytes).or_raise(function);
            check(&model);
            (model, 64 + 4 * bytes.len())
        })
    }
}

borrowed_argument!(ModelBytes, Model);

/// `jsonb::health.model`: a model built in SQL (`jsonb_build_object`, a jsonb
/// column), validated as the text form is.
#[pg_extern(immutable, strict, parallel_safe)]
fn model_from_jsonb(document: JsonB) -> Model {
    Model(CoreModel::parse(&document.0.to_string()).or_raise(TYPE).to_stored())
}

/// The values of a `metrics` jsonb object in model order; keys the model
/// does not know are an error unless `extra_keys` is 'ignore'.
fn values_of(model: &CoreModel, metrics: &JsonB, extra_keys: Option<&Word>, function: &str) -> Vec<Option<f64>> {
    let extra = match extra_keys {
        Some(word) => ExtraKeys::parse(word.as_str(function, "extra_keys")).or_raise(function),
        None => ExtraKeys::Error,
    };
    model.values_from_json(&metrics.0, extra).or_raise(function)
}

/// The health score of one account, from a JSON object of raw metric values
/// keyed by metric name (absent or null = not measured; a key the model
/// does not know is an error).
#[pg_extern(immutable, strict, parallel_safe, name = "evaluate")]
fn evaluate_jsonb(model: ModelBytes, metrics: JsonB, fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    const F: &str = "evaluate";
    let m = model.parsed(fcinfo, F);
    m.evaluate(&values_of(&m, &metrics, None, F)).or_raise(F)
}

/// As `evaluate(model, metrics)`, with `extra_keys => 'ignore'` to ignore
/// keys the model does not use (a feature store's wider object).
#[pg_extern(immutable, strict, parallel_safe, name = "evaluate")]
fn evaluate_jsonb_extra_keys(
    model: ModelBytes,
    metrics: JsonB,
    extra_keys: Word,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<f64> {
    const F: &str = "evaluate";
    let m = model.parsed(fcinfo, F);
    m.evaluate(&values_of(&m, &metrics, Some(&extra_keys), F)).or_raise(F)
}

/// The health score from raw values in the model's metric order (NULL = not
/// measured). Its planner support function plans `evaluate(model, ARRAY[c1,
/// ..., cn])` as `evaluate_fused(model, c1, ..., cn)`: no array is built.
#[pg_extern(immutable, strict, parallel_safe, name = "evaluate", support = evaluate_support)]
fn evaluate_array(model: ModelBytes, values: FloatArray, fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    const F: &str = "evaluate";
    let m = model.parsed(fcinfo, F);
    let values: Vec<Option<f64>> = values.iter().collect();
    m.evaluate(&values).or_raise(F)
}

/// The planner support function of `evaluate(model, float8[])`.
#[pg_extern(immutable, strict, parallel_safe)]
fn evaluate_support(request: Internal) -> Internal {
    fused::simplify_with(request, |call| {
        // SAFETY: `call` is the planner's FuncExpr of evaluate(model, float8[]).
        unsafe {
            let args = PgList::<pg_sys::Node>::from_pg((*call).args);
            let (model, values) = (args.get_ptr(0)?, args.get_ptr(1)?);
            let elements = fused::float8_array_elements(values)?;
            let mut fused_args = PgList::<pg_sys::Node>::new();
            fused_args.push(model);
            for element in elements.iter_ptr() {
                fused_args.push(element);
            }
            fused::call_in_place_of(call, c"evaluate_fused", pg_sys::exprType(model), fused_args)
        }
    })
}

/// `evaluate_fused(model, VARIADIC "any")`: `evaluate(model, ARRAY[...])` as
/// the planner writes it, reading each value straight from `fcinfo`.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn evaluate_fused_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with a model (or NULL) and further
    // arguments whose types are checked against double precision, once per
    // model and call site, before they are read.
    unsafe {
        pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
            const F: &str = "evaluate";
            let args = (*fcinfo).args.as_slice((*fcinfo).nargs as usize);
            if args[0].isnull {
                return crate::args::float_result(fcinfo, None);
            }
            let model = ModelBytes::from_datum_unchecked(args[0].value);
            let m = model.parsed_then(fcinfo, F, |_| fused::check_columns(fcinfo, None, F));
            let mut buffer = [None; 32];
            let mut heap = Vec::new();
            let values = fused::column_values(&args[1..], &mut buffer, &mut heap);
            crate::args::float_result(fcinfo, m.evaluate(values).or_raise(F))
        })
    }
}

crate::args::v1_function!(pg_finfo_evaluate_fused_v1 for "evaluate_fused_v1", requires [Model]:
    "evaluate_fused(model model, VARIADIC \"any\")" "IMMUTABLE PARALLEL SAFE",
    "evaluate_fused(model, \"any\")" is "What the planner writes for evaluate(model, ARRAY[value, ...]): the same answer without building the array.");

/// Score, coverage, tier (worst-of applied), critical metrics and contributions.
#[pg_extern(immutable, strict, parallel_safe)]
fn explain(model: ModelBytes, metrics: JsonB, fcinfo: pg_sys::FunctionCallInfo) -> JsonB {
    const F: &str = "explain";
    let m = model.parsed(fcinfo, F);
    JsonB(m.explain(&values_of(&m, &metrics, None, F)).or_raise(F))
}

#[pg_extern(immutable, strict, parallel_safe, name = "explain")]
fn explain_extra_keys(model: ModelBytes, metrics: JsonB, extra_keys: Word, fcinfo: pg_sys::FunctionCallInfo) -> JsonB {
    const F: &str = "explain";
    let m = model.parsed(fcinfo, F);
    JsonB(m.explain(&values_of(&m, &metrics, Some(&extra_keys), F)).or_raise(F))
}

/// The `n` metrics that cost one account the most points under a model, as
/// `weakest(scorecard, n)` reads the model's sub-scores (no need to parse
/// `explain`'s JSON).
#[pg_extern(immutable, strict, parallel_safe, name = "weakest")]
fn weakest_of_model(
    model: ModelBytes,
    metrics: JsonB,
    n: default!(i32, 1),
    fcinfo: pg_sys::FunctionCallInfo,
) -> Vec<String> {
    const F: &str = "weakest";
    let m = model.parsed(fcinfo, F);
    let card = m.scorecard(&values_of(&m, &metrics, None, F)).or_raise(F);
    card.weakest(i64::from(n))
        .or_raise(F)
        .into_iter()
        .map(String::from)
        .collect()
}

/// The tier of a score under the model's tier scheme. The model comes first
/// (as in `tier(model, metrics)`): a `tier(score, model)` overload would make
/// every `tier(score, '{40,70}')` call of docs/reference.md §3 ambiguous, since an
/// untyped literal fits both `float8[]` and `health.model`.
#[pg_extern(immutable, strict, parallel_safe, name = "tier")]
fn tier_of_score(model: ModelBytes, score: f64, fcinfo: pg_sys::FunctionCallInfo) -> String {
    const F: &str = "tier";
    model.parsed(fcinfo, F).tier(score).or_raise(F)
}

/// The tier of an account with the model's worst-of rule applied.
#[pg_extern(immutable, strict, parallel_safe, name = "tier")]
fn tier_of_metrics(model: ModelBytes, metrics: JsonB, fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    const F: &str = "tier";
    let m = model.parsed(fcinfo, F);
    m.tier_of(&values_of(&m, &metrics, None, F)).or_raise(F)
}

#[pg_extern(immutable, strict, parallel_safe, name = "tier")]
fn tier_of_metrics_extra_keys(
    model: ModelBytes,
    metrics: JsonB,
    extra_keys: Word,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<String> {
    const F: &str = "tier";
    let m = model.parsed(fcinfo, F);
    m.tier_of(&values_of(&m, &metrics, Some(&extra_keys), F)).or_raise(F)
}

/// The model's metric names, in order: the order `evaluate(model, float8[])` expects.
#[pg_extern(immutable, strict, parallel_safe)]
fn model_metrics(model: ModelBytes, fcinfo: pg_sys::FunctionCallInfo) -> Vec<String> {
    model
        .parsed(fcinfo, "model_metrics")
        .metrics
        .iter()
        .map(|m| m.name.clone())
        .collect()
}

/// The model with the weights of the metrics named in `weights` (metric
/// name → weight, e.g. `fit_weights`' `weights_by_name`) replaced.
#[pg_extern(immutable, strict, parallel_safe)]
fn with_weights(model: ModelBytes, weights: JsonB, fcinfo: pg_sys::FunctionCallInfo) -> Model {
    const F: &str = "with_weights";
    let changed = model.parsed(fcinfo, F).with_weights(&weights.0).or_raise(F);
    Model(changed.to_stored())
}

/// `health.model::jsonb`: the canonical document, to read a field
/// (`model::jsonb -> 'fit'`) or change it with jsonb functions.
#[pg_extern(immutable, strict, parallel_safe)]
fn model_to_jsonb(model: ModelBytes, fcinfo: pg_sys::FunctionCallInfo) -> JsonB {
    const F: &str = "model_to_jsonb";
    JsonB(model.parsed(fcinfo, F).to_json())
}

extension_sql!(
    r#"
CREATE CAST (model AS jsonb) WITH FUNCTION model_to_jsonb(model);
COMMENT ON FUNCTION model_to_jsonb(model) IS
    'The cast health.model::jsonb: the model''s canonical document.';
"#,
    name = "model_to_jsonb_cast",
    requires = [model_to_jsonb]
);

// ---- fit_model: a whole model learned from churn outcomes ----

const LEARN: &str = "fit_model";

/// One account's row of `fit_model` (the metrics object read in the core).
fn learn_row(account: Option<&str>, metrics: JsonB, churned: bool, options: Option<JsonB>) -> LearnRow {
    let Some(account) = account else {
        raise(
            LEARN,
            HealthError::null("account must not be NULL: it places the account in a cross-validation fold"),
        );
    };
    LearnRow::from_json(account, metrics.0, churned, options.map(|o| o.0)).or_raise(LEARN)
}

aggregate! {
    aggregate "fit_model", state Learner;
    defines support (fit_model_combine, fit_model_serial, fit_model_deserial);
    requires (Model);
    transition fit_model_trans(account: Option<&str>, metrics: Option<JsonB>, churned: Option<bool>) {
        let (metrics, churned) = (metrics?, churned?);
        Some(learn_row(account, metrics, churned, None))
    }
    transition fit_model_trans_options(
        account: Option<&str>, metrics: Option<JsonB>, churned: Option<bool>, options: Option<JsonB>
    ) {
        let (metrics, churned) = (metrics?, churned?);
        Some(learn_row(account, metrics, churned, options))
    }
    finalize fit_model_final(learner) -> Model {
        learner.learn().or_raise(LEARN).map(|model| Model(model.to_stored()))
    }
    sql "fit_model" {
        fit_model(account "text", metrics "jsonb", churned "boolean") via fit_model_trans
            is "Learns a whole model from churn outcomes: a normaliser and direction per metric, non-negative weights summing to 100, tier cutoffs, and the fit''s statistics (AUC, lift, 5-fold cross-validation) in its fit field.";
        fit_model(account "text", metrics "jsonb", churned "boolean", options "jsonb") via fit_model_trans_options
            is "As fit_model(account, metrics, churned), with options: name, version, l2, folds, min_weight, clip, normalisers, metrics, min_coverage, at_risk_churn_ratio or at_risk_share, healthy_churn_ratio or healthy_share.";
    }
}

/// The cross-validation fold (1..folds) `fit_model` puts an account in.
#[pg_extern(immutable, strict, parallel_safe)]
fn fold(account: &str, folds: i32) -> i32 {
    if !(1..=100).contains(&folds) {
        raise(
            "fold",
            HealthError::invalid(format!("folds must be from 1 to 100, got {folds}")),
        );
    }
    health_core::model::fold_of(account, folds as u32) as i32
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    const M: &str = r#"'{"metrics": [{"name": "logins", "weight": 3, "scale": {"method": "linear", "lo": 0, "hi": 20}}, {"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}'::health.model"#;

    #[pg_test]
    fn evaluate_both_forms() {
        // logins 10 -> 50, tickets 5 -> 50; logins 20 -> 100, tickets missing -> 100
        let a = Spi::get_one::<f64>(&format!(
            r#"SELECT health.evaluate({M}, '{{"logins": 10, "tickets": 5}}'::jsonb)"#
        ))
        .unwrap();
        assert_eq!(a, Some(50.0));
        let b = Spi::get_one::<f64>(&format!("SELECT health.evaluate({M}, ARRAY[20, NULL]::float8[])")).unwrap();
        assert_eq!(b, Some(100.0));
        let t = Spi::get_one::<String>(&format!("SELECT health.tier({M}, 55)")).unwrap();
        assert_eq!(t.as_deref(), Some("neutral"));
    }

    #[pg_test]
    fn fit_model_learns_a_model_that_evaluates() {
        // x protects against churn (churned below 40 with exceptions), y is noise.
        let learned = r#"(SELECT health.fit_model(s::text, jsonb_build_object('x', s, 'y', (s * 37) % 11),
                                                  (s < 40) <> (s % 9 = 0), '{"folds": 0, "min_weight": 5}') AS m
                          FROM generate_series(1, 100) s) l"#;
        let rows = Spi::get_one::<i64>(&format!("SELECT (m::jsonb -> 'fit' ->> 'rows')::int8 FROM {learned}")).unwrap();
        assert_eq!(rows, Some(100));
        let metrics = Spi::get_one::<Vec<String>>(&format!("SELECT health.model_metrics(m) FROM {learned}")).unwrap();
        assert_eq!(metrics, Some(vec!["x".to_string()]));
        // more x, a higher score
        let higher = Spi::get_one::<bool>(&format!(
            r#"SELECT health.evaluate(m, '{{"x": 90}}'::jsonb) > health.evaluate(m, '{{"x": 10}}'::jsonb) FROM {learned}"#
        ))
        .unwrap();
        assert_eq!(higher, Some(true));
        assert_eq!(Spi::get_one::<i32>("SELECT health.fold('acct-1', 5)").unwrap(), Some(1));
    }

    #[pg_test]
    fn with_weights_sets_named_weights() {
        // logins 10 -> 50, tickets 5 -> 50 whatever the weights; logins 20 -> 100, tickets 10 -> 0
        let changed = Spi::get_one::<f64>(&format!(
            r#"SELECT health.evaluate(health.with_weights({M}, '{{"tickets": 3}}'), '{{"logins": 20, "tickets": 10}}'::jsonb)"#
        ))
        .unwrap();
        assert_eq!(changed, Some(50.0));
    }

    #[pg_test(
        error = "with_weights: weights names a metric the model does not have: \"ticket\" (did you mean \"tickets\"?); the model's metrics are logins, tickets"
    )]
    fn with_weights_names_an_unknown_metric() {
        Spi::get_one::<String>(&format!(r#"SELECT health.with_weights({M}, '{{"ticket": 3}}')::text"#)).unwrap();
    }

    #[pg_test(error = "evaluate: values must have one element per model metric, got 1 values for 2 metrics")]
    fn evaluate_rejects_wrong_arity() {
        Spi::get_one::<f64>(&format!("SELECT health.evaluate({M}, ARRAY[1]::float8[])")).unwrap();
    }
}

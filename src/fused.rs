//! The wide form fused at plan time. `weighted_score` has a planner support
//! function: when its scores are an `ARRAY[...]` of `scale_*` calls (or plain
//! values) whose arguments other than the column are constants, and its
//! weights, policy and coverage are constants too, the planner replaces the
//! whole expression by one call, `weighted_score_fused(spec, column, ...)`,
//! where `spec` is the text of a [`WideScore`] (EXPLAIN VERBOSE shows it). A
//! row then costs one function call and no array instead of one call per
//! metric. The fused call runs the same core functions in the same order, so
//! answers are the same bits and errors the same messages;
//! `customer_health.fuse_wide_scores = off` turns the rewrite off.

use std::ffi::CStr;

use health_core::fused::{Step, WideScore};
use health_core::normalise::{Normaliser, OutOfRange};
use health_core::profile::Method;
use health_core::score::Missing;
use health_core::HealthError;
use pgrx::datum::Array;
use pgrx::prelude::*;
use pgrx::{GucSetting, Internal, PgList};

use crate::args::{detoasted, float_result};
use crate::callsite::{self, CallSite};
use crate::errors::{raise, OrRaise};

/// `customer_health.fuse_wide_scores`: whether the planner fuses the wide form.
pub static FUSE_WIDE_SCORES: GucSetting<bool> = GucSetting::<bool>::new(true);

const FUSED: &str = "weighted_score_fused";

/// The planner support function of `weighted_score`: answers
/// `SupportRequestSimplify` with the fused call, or NULL (leave it as written).
#[pg_extern(immutable, strict, parallel_safe)]
fn weighted_score_support(request: Internal) -> Internal {
    // SAFETY: `fuse` gets the FuncExpr of a weighted_score call.
    simplify_with(request, |call| unsafe { fuse(call) })
}

/// Answers a planner support request: a `SupportRequestSimplify` with what
/// `rewrite` makes of the call, anything else (or no rewrite) with NULL,
/// which leaves the call as written.
pub(crate) fn simplify_with(
    request: Internal,
    rewrite: impl FnOnce(*mut pg_sys::FuncExpr) -> Option<*mut pg_sys::FuncExpr>,
) -> Internal {
    let rewritten = request.unwrap().and_then(|datum| {
        let node = datum.cast_mut_ptr::<pg_sys::Node>();
        // SAFETY: PostgreSQL passes a support request node; only a
        // SupportRequestSimplify is read as one.
        unsafe {
            (FUSE_WIDE_SCORES.get() && pgrx::is_a(node, pg_sys::NodeTag::T_SupportRequestSimplify))
                .then(|| rewrite((*node.cast::<pg_sys::SupportRequestSimplify>()).fcall))
                .flatten()
        }
    });
    // A support function answers with a pointer: NULL means "no rewrite".
    Internal::from(Some(pg_sys::Datum::from(
        rewritten.map_or(std::ptr::null_mut(), |f| f.cast::<pg_sys::Node>()),
    )))
}

/// The elements of an `ARRAY[...]` of float8 written out (not a nested
/// array), or None.
///
/// SAFETY: `node` is a planner expression node.
pub(crate) unsafe fn float8_array_elements(node: *mut pg_sys::Node) -> Option<PgList<pg_sys::Node>> {
    unsafe {
        if !pgrx::is_a(node, pg_sys::NodeTag::T_ArrayExpr) {
            return None;
        }
        let array = node.cast::<pg_sys::ArrayExpr>();
        if (*array).multidims || (*array).element_typeid != pg_sys::FLOAT8OID {
            return None;
        }
        Some(PgList::from_pg((*array).elements))
    }
}

/// A call of `function(first_type, VARIADIC "any")` in the schema of `like`,
/// with `args`, in place of `like`.
///
/// SAFETY: called by the planner, inside a transaction; `like` is the call replaced.
pub(crate) unsafe fn call_in_place_of(
    like: *mut pg_sys::FuncExpr,
    function: &CStr,
    first_type: pg_sys::Oid,
    args: PgList<pg_sys::Node>,
) -> Option<*mut pg_sys::FuncExpr> {
    // SAFETY: the catalogue look-ups and node constructors run in the
    // planner's transaction and memory context (this function's contract).
    unsafe {
        let schema = pg_sys::get_namespace_name(pg_sys::get_func_namespace((*like).funcid));
        if schema.is_null() {
            return None;
        }
        let mut name = PgList::<pg_sys::Node>::new();
        name.push(pg_sys::makeString(schema).cast());
        name.push(pg_sys::makeString(function.as_ptr().cast_mut()).cast());
        let types = [first_type, pg_sys::ANYOID];
        let oid = pg_sys::LookupFuncName(name.into_pg(), 2, types.as_ptr(), true);
        if oid == pg_sys::InvalidOid {
            return None;
        }
        let call = pg_sys::makeFuncExpr(
            oid,
            (*like).funcresulttype,
            args.into_pg(),
            pg_sys::InvalidOid,
            (*like).inputcollid,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        );
        (*call).location = (*like).location;
        Some(call)
    }
}

/// The fused call for `weighted_score(scores, weights, missing, min_coverage)`,
/// or None when the call is not of the fusable shape or its constants fail.
///
/// SAFETY: `call` is a planner-simplified `FuncExpr` of `weighted_score`
/// (defaults filled in, arguments already simplified).
unsafe fn fuse(call: *mut pg_sys::FuncExpr) -> Option<*mut pg_sys::FuncExpr> {
    unsafe {
        let args = PgList::<pg_sys::Node>::from_pg((*call).args);
        if args.len() != 4 {
            return None;
        }
        let elements = float8_array_elements(args.get_ptr(0)?)?;
        let weights = float_array(constant(args.get_ptr(1)?)?)?;
        let missing = Missing::parse(&text_of(constant(args.get_ptr(2)?)?)?).ok()?;
        let min_coverage = f64::from_bits(constant(args.get_ptr(3)?)?.value() as u64);

        let namespace = pg_sys::get_func_namespace((*call).funcid);
        let mut steps = Vec::new();
        let mut columns = PgList::<pg_sys::Node>::new();
        for element in elements.iter_ptr() {
            let (step, column) = step_of(element, namespace)?;
            steps.push(step);
            columns.push(column);
        }
        let spec = WideScore {
            steps,
            weights,
            missing,
            min_coverage,
        };
        if !spec.is_valid() {
            return None;
        }
        let text = spec.to_text();
        let spec_const = pg_sys::makeConst(
            pg_sys::TEXTOID,
            -1,
            pg_sys::DEFAULT_COLLATION_OID,
            -1,
            text.as_str().into_datum()?,
            false,
            false,
        );
        let mut fused_args = PgList::<pg_sys::Node>::new();
        fused_args.push(spec_const.cast());
        for column in columns.iter_ptr() {
            fused_args.push(column);
        }
        call_in_place_of(call, c"weighted_score_fused", pg_sys::TEXTOID, fused_args)
    }
}

/// The step of one array element and the expression it reads: a `scale_*`
/// call of this extension with constant parameters, or the element itself.
///
/// SAFETY: `element` is a planner expression node.
unsafe fn step_of(element: *mut pg_sys::Node, namespace: pg_sys::Oid) -> Option<(Step, *mut pg_sys::Node)> {
    unsafe {
        if !pgrx::is_a(element, pg_sys::NodeTag::T_FuncExpr) {
            return Some((Step::Value, element));
        }
        let f = element.cast::<pg_sys::FuncExpr>();
        let name = pg_sys::get_func_name((*f).funcid);
        if name.is_null() || pg_sys::get_func_namespace((*f).funcid) != namespace || (*f).funcretset {
            return Some((Step::Value, element));
        }
        let name = CStr::from_ptr(name).to_str().ok()?;
        if !name.starts_with("scale_") {
            // another function of the extension (percentile_rank, ...): a value
            return Some((Step::Value, element));
        }
        let args = PgList::<pg_sys::Node>::from_pg((*f).args);
        let column = args.get_ptr(0)?;
        // The parameters: every argument after the column, constant and not
        // NULL (otherwise the expression is left as written).
        let params: Vec<pg_sys::Datum> = (1..args.len())
            .map(|i| constant(args.get_ptr(i)?))
            .collect::<Option<_>>()?;
        let step = match scale_step(name, &params) {
            Some(step) => step,
            None => return Some((Step::Value, element)),
        };
        Some((step, column))
    }
}

/// The step of a call of the `scale_*` function `name` with these constant
/// parameters (its arguments after the column, defaults filled in). Every
/// `scale_*` function has its arm here (tests/sql/fused.sql lists them from
/// the catalogue and checks that each one fuses).
///
/// SAFETY: `params` are the non-NULL constant arguments of that call, of
/// the function's declared types.
unsafe fn scale_step(name: &str, params: &[pg_sys::Datum]) -> Option<Step> {
    let float = |i: usize| f64::from_bits(params[i].value() as u64);
    let boolean = |i: usize| params[i].value() != 0;
    // SAFETY (both): the argument is a non-NULL text or float8[] constant.
    let range = |i: usize| OutOfRange::parse(&unsafe { text_of(params[i]) }?).ok();
    let floats = |i: usize| unsafe { float_array(params[i]) };
    let (normaliser, higher_is_better) = match (name, params.len()) {
        ("scale_linear", 4) => (
            Normaliser::Linear {
                lo: float(0),
                hi: float(1),
                out_of_range: range(3)?,
            },
            boolean(2),
        ),
        ("scale_log", 4) => (
            Normaliser::Log {
                lo: float(0),
                hi: float(1),
                out_of_range: range(3)?,
            },
            boolean(2),
        ),
        ("scale_target", 2) => (Normaliser::Target { target: float(0) }, boolean(1)),
        ("scale_zscore", 3) => (
            Normaliser::ZScore {
                mean: float(0),
                stddev: float(1),
                log: false,
                clip: None,
            },
            boolean(2),
        ),
        ("scale_zscore_linear", 4) => (
            Normaliser::ZScore {
                mean: float(0),
                stddev: float(1),
                log: false,
                clip: Some(float(2)),
            },
            boolean(3),
        ),
        ("scale_bands", 2) => (
            Normaliser::Bands {
                cutoffs: floats(0)?,
                scores: floats(1)?,
            },
            true,
        ),
        ("scale_piecewise", 2) => (
            Normaliser::Piecewise {
                knots: floats(0)?,
                scores: floats(1)?,
            },
            true,
        ),
        ("scale_profile", 3) => {
            // SAFETY: a non-NULL health.profile constant: a varlena of its stored bytes.
            let bytes = unsafe { pgrx::varlena::varlena_to_byte_slice(detoasted(params[0])) }.to_vec();
            let by = Method::parse(&unsafe { text_of(params[1]) }?).ok()?;
            (
                Normaliser::Profile {
                    profile: Some(bytes),
                    by,
                },
                boolean(2),
            )
        }
        _ => return None,
    };
    Some(Step::Scale {
        normaliser,
        higher_is_better,
    })
}

/// The value of a non-NULL `Const` node.
///
/// SAFETY: `node` is a planner expression node.
unsafe fn constant(node: *mut pg_sys::Node) -> Option<pg_sys::Datum> {
    unsafe {
        if !pgrx::is_a(node, pg_sys::NodeTag::T_Const) {
            return None;
        }
        let c = node.cast::<pg_sys::Const>();
        (!(*c).constisnull).then_some((*c).constvalue)
    }
}

/// A constant `float8[]` without NULL elements.
///
/// SAFETY: `datum` is a non-NULL float8[] datum.
unsafe fn float_array(datum: pg_sys::Datum) -> Option<Vec<f64>> {
    unsafe { Array::<f64>::from_datum(datum, false)? }.iter().collect()
}

/// A constant `text`.
///
/// SAFETY: `datum` is a non-NULL text datum.
unsafe fn text_of(datum: pg_sys::Datum) -> Option<String> {
    unsafe { String::from_datum(datum, false) }
}

/// `weighted_score_fused(spec, VARIADIC "any")`: what the planner writes for
/// a fused wide form. A plain V1 C function: it reads each column straight
/// from `fcinfo` (no array is built), and the spec is parsed once per call
/// site. Callable by hand, but meant for the planner.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn weighted_score_fused_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with the declared arguments: a text spec
    // (NULL only when called by hand) and any number of further arguments,
    // whose types are checked against double precision before they are read.
    unsafe {
        pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
            let nargs = (*fcinfo).nargs as usize;
            let args = (*fcinfo).args.as_slice(nargs);
            if args[0].isnull {
                raise(FUSED, HealthError::null("spec must not be NULL"));
            }
            let spec_text = crate::args::word_of(args[0].value);
            let key = [callsite::stable_or_bytes(fcinfo, 0, spec_text.bytes())];
            let site = CallSite::of(fcinfo);
            let spec = site.get_or_build(&key, || {
                let spec = WideScore::parse(spec_text.as_str(FUSED, "spec")).or_raise(FUSED);
                check_columns(fcinfo, Some(spec.steps.len()), FUSED);
                // Vectors of parameters (a profile's bytes) take at most half their hex text.
                let size = 64 + 48 * spec.steps.len() + spec_text.bytes().len() / 2;
                (spec, size)
            });
            let mut buffer = [None; 32];
            let mut heap = Vec::new();
            let values = column_values(&args[1..], &mut buffer, &mut heap);
            match spec.score(values) {
                Ok(score) => float_result(fcinfo, score),
                Err((function, error)) => raise(function, error),
            }
        })
    }
}

/// Every argument after the first must be double precision, and as many
/// as `expected` when given.
///
/// SAFETY: `fcinfo` is the live call information.
pub(crate) unsafe fn check_columns(fcinfo: pg_sys::FunctionCallInfo, expected: Option<usize>, function: &str) {
    unsafe {
        let columns = (*fcinfo).nargs as usize - 1;
        if let Some(expected) = expected.filter(|&e| e != columns) {
            raise(
                function,
                HealthError::array(format!("the spec has {expected} steps, got {columns} values")),
            );
        }
        for i in 1..=columns {
            let t = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, i as i32);
            if t != pg_sys::FLOAT8OID {
                raise(
                    function,
                    HealthError::invalid(format!("argument {} must be double precision", i + 1)),
                );
            }
        }
    }
}

/// The float8 arguments as values (None = NULL), in a stack buffer when they fit.
pub(crate) fn column_values<'b>(
    columns: &[pg_sys::NullableDatum],
    buffer: &'b mut [Option<f64>; 32],
    heap: &'b mut Vec<Option<f64>>,
) -> &'b mut [Option<f64>] {
    let values: &mut [Option<f64>] = if columns.len() <= buffer.len() {
        &mut buffer[..columns.len()]
    } else {
        heap.resize(columns.len(), None);
        heap
    };
    for (v, arg) in values.iter_mut().zip(columns) {
        *v = (!arg.isnull).then(|| f64::from_bits(arg.value.value() as u64));
    }
    values
}

crate::args::v1_function!(pg_finfo_weighted_score_fused_v1 for "weighted_score_fused_v1", requires []:
    "weighted_score_fused(spec text, VARIADIC \"any\")" "IMMUTABLE PARALLEL SAFE",
    "weighted_score_fused(text, \"any\")" is "What the planner writes for weighted_score(ARRAY[scale_*(column, constants), ...], constant weights): one call over the columns, the same answers.");

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    const WIDE: &str = "health.weighted_score(ARRAY[health.scale_linear(x, 0, 20), health.scale_target(x, 10, false), NULL], '{3,1,1}')";

    #[pg_test]
    fn the_fused_wide_form_answers_as_written() {
        // (EXPLAIN shows the fused call: tests/sql/fused.sql.)
        let fused = Spi::get_one::<String>(&format!(
            "SELECT string_agg(coalesce({WIDE}::text, 'null'), ',' ORDER BY x) FROM generate_series(0, 30) x(x)"
        ))
        .unwrap();
        Spi::run("SET customer_health.fuse_wide_scores = off").unwrap();
        let written = Spi::get_one::<String>(&format!(
            "SELECT string_agg(coalesce({WIDE}::text, 'null'), ',' ORDER BY x) FROM generate_series(0, 30) x(x)"
        ))
        .unwrap();
        assert_eq!(fused, written);
        // x = 5: linear 25, target 100 (lower is better, below the target): (75 + 100) / 4
        let at_5 = Spi::get_one::<f64>(&format!("SELECT {} FROM (VALUES (5::float8)) v(x)", WIDE)).unwrap();
        assert_eq!(at_5, Some(43.75));
    }
}

//! SQL wrappers for docs/reference.md §5: the `health.profile` type, the `profile(value)`
//! and `rollup(profile)` aggregates, and the accessors `percentile_rank`,
//! `quantile`, `scale_profile`, `quantile_tier` (plus `profile_count`,
//! `profile_mean`, `profile_stddev`).
//!
//! Accessors read a stored profile in place. A profile of a large population
//! is kept out of line by TOAST (the type's storage is `external`, so it is
//! never compressed); the accessors keep the profiles they fetched per call
//! site, so joining a million rows to a few stored profiles fetches each
//! profile once, not once per row.

use health_core::profile::{bytes_from_text, check_fractions, Method, Profile as CoreProfile, ProfileView, RankIndex};
use pgrx::prelude::*;

use crate::agg::aggregate;
use crate::args::{borrowed_argument, detoasted, f64_bytes, FloatArray, TextArray, Word};
use crate::callsite::{self, CallSite, Part};
use crate::errors::OrRaise;
use crate::stored::stored_type;

stored_type! {
    /// A finished profile in its stored form (see `health_core::profile`).
    pub struct Profile is "profile";
    text: bytes_from_text, |bytes| ProfileView::new(bytes).map(|view| view.to_text());
    // Binary send/receive, so COPY BINARY, pg_dump -Fc and binary clients work.
    binary { profile_send(p), profile_recv, check: |bytes| ProfileView::new(bytes).and_then(|view| view.validate()) }
    schema "profile_type_options" {
        r#"
-- Large profiles go out of line uncompressed, so accessors can cache them by
-- TOAST pointer instead of decompressing them on every row.
ALTER TYPE profile SET (STORAGE = external);
COMMENT ON TYPE profile IS
    'A population profile: count, mean, variance, min, max, moments of ln(1+x) and a mergeable quantile sketch (exact up to 32768 distinct values).';
"#
    } requires [];
}

// ---- in-place profile arguments with a per-call-site cache of TOASTed ones ----

/// A `health.profile` argument, not yet detoasted.
pub struct ProfileArg<'a>(pg_sys::Datum, std::marker::PhantomData<&'a ()>);

impl<'a> ProfileArg<'a> {
    /// SAFETY: `datum` is a non-NULL profile datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        ProfileArg(datum, std::marker::PhantomData)
    }
}

borrowed_argument!(ProfileArg, Profile);

/// Profiles beyond this many per call site are read without a lookup table
/// (binary search): the tables (up to 1 MiB each) stay within the cache's
/// byte bound when a query joins thousands of segments.
const PROFILES_WITH_LOOKUP_TABLE: usize = 64;

/// A profile and, for the first profiles a call site sees, its lookup table.
struct CachedProfile {
    bytes: Vec<u8>,
    index: Option<RankIndex>,
}

/// Runs `f` on the profile passed as argument `argno`: read in place when
/// it is an ordinary in-memory value; fetched (and decompressed) once per
/// query when it is stored out of line or the same on every row, and kept
/// with its lookup table in the call site's cache (callsite.rs).
fn with_profile<R>(
    fcinfo: pg_sys::FunctionCallInfo,
    argno: u32,
    arg: &ProfileArg,
    function: &str,
    f: impl FnOnce(ProfileView) -> R,
) -> R {
    // SAFETY: fcinfo is this call's; arg.0 is the non-NULL profile passed as
    // argument argno (PostgreSQL passed it; the functions are STRICT).
    let part = unsafe { callsite::varlena_part(fcinfo, argno, arg.0) };
    if let Part::Bytes(_) = part {
        // SAFETY: as above.
        let bytes = unsafe { pgrx::varlena::varlena_to_byte_slice(detoasted(arg.0)) };
        return f(ProfileView::new(bytes).or_raise(function));
    }
    let site = unsafe { CallSite::of(fcinfo) };
    let with_table = site.len() < PROFILES_WITH_LOOKUP_TABLE;
    let cached = site.get_or_build(&[part], || {
        // SAFETY: as above; the copy is owned by the cache entry.
        let bytes = unsafe { pgrx::varlena::varlena_to_byte_slice(detoasted(arg.0)) }.to_vec();
        let index = if with_table {
            RankIndex::build(&ProfileView::new(&bytes).or_raise(function))
        } else {
            None
        };
        let size = bytes.len() + index.as_ref().map_or(0, RankIndex::size_in_bytes);
        (CachedProfile { bytes, index }, size)
    });
    let view = ProfileView::new(&cached.bytes).or_raise(function);
    f(match &cached.index {
        Some(index) => view.with_index(index),
        None => view,
    })
}

// ---- profile(value) ----

aggregate! {
    aggregate "profile", state CoreProfile;
    defines support (profile_combine, profile_serial, profile_deserial);
    requires (Profile);
    transition profile_trans(value: Option<f64>) {
        value
    }
    finalize profile_final(p) -> Profile {
        if p.count() == 0 {
            return None;
        }
        Some(Profile(p.to_bytes().or_raise("profile")))
    }
    sql "profile" {
        profile(value "double precision") via profile_trans, sspace 4096
            is "Profiles a population of values (NULLs skipped): moments and a mergeable quantile sketch. Read it with percentile_rank(), quantile(), scale_profile(), quantile_tier().";
    }
}

// ---- rollup(profile) ----

aggregate! {
    aggregate "rollup", state CoreProfile;
    shares support (profile_combine, profile_serial, profile_deserial);
    requires (Profile);
    transition profile_rollup_trans(p: Option<Profile>) {
        Some(CoreProfile::from_bytes(&p?.0).or_raise("rollup"))
    }
    shares final (profile_final);
    sql "profile_rollup" {
        rollup(p "profile") via profile_rollup_trans, sspace 4096
            is "Merges profiles (days into a month, segments into the company) into the profile of all their values.";
    }
}

// ---- accessors ----

/// 0–100: the share of the population at or below `value` (as `100 * cume_dist()`).
///
/// The hottest accessor (one call per row and metric when scoring against
/// stored profiles), so it is a plain V1 C function: it reads its two
/// arguments straight from `fcinfo` instead of going through pgrx's generic
/// argument and memory-context machinery, which costs about as much as the
/// lookup itself. Errors still go through pgrx's guard.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn percentile_rank_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with the two non-NULL arguments declared
    // below (the function is STRICT): a float8 by value and a profile varlena.
    unsafe {
        pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
            const F: &str = "percentile_rank";
            let value = f64::from_bits(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).value() as u64);
            let profile = ProfileArg::from_datum_unchecked(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1));
            let rank = with_profile(fcinfo, 1, &profile, F, |view| view.percentile_rank(value)).or_raise(F);
            pg_sys::Datum::from(rank.to_bits())
        })
    }
}

crate::args::v1_function!(pg_finfo_percentile_rank_v1 for "percentile_rank_v1", requires [Profile]:
    "percentile_rank(value double precision, p profile)" "IMMUTABLE STRICT PARALLEL SAFE",
    "percentile_rank(double precision, profile)" is "0-100: the share of the population at or below value (as 100 * cume_dist()).");

/// The value at quantile `q` (0..1), interpolated as `percentile_cont`.
#[pg_extern(immutable, strict, parallel_safe)]
fn quantile(p: ProfileArg, q: f64, fcinfo: pg_sys::FunctionCallInfo) -> f64 {
    const F: &str = "quantile";
    with_profile(fcinfo, 0, &p, F, |view| view.quantile(q)).or_raise(F)
}

/// A 0–100 sub-score by position in the population.
#[pg_extern(immutable, strict, parallel_safe)]
fn scale_profile(
    value: f64,
    p: ProfileArg,
    method: default!(Word, "'percentile'"),
    higher_is_better: default!(bool, true),
    fcinfo: pg_sys::FunctionCallInfo,
) -> f64 {
    const F: &str = "scale_profile";
    let method = Method::parse(method.as_str(F, "method")).or_raise(F);
    with_profile(fcinfo, 1, &p, F, |view| view.scale(value, method, higher_is_better)).or_raise(F)
}

/// Tier by position in the population: bottom `fractions[1]`, ..., top.
#[pg_extern(immutable, strict, parallel_safe)]
fn quantile_tier(
    score: f64,
    p: ProfileArg,
    fractions: default!(FloatArray, "'{0.25,0.75}'"),
    labels: default!(TextArray, "'{bottom,middle,top}'"),
    fcinfo: pg_sys::FunctionCallInfo,
) -> String {
    const F: &str = "quantile_tier";
    let fraction_values = fractions.values(F, "fractions");
    // The scheme is validated and its labels decoded once per query and
    // scheme (see callsite.rs).
    // SAFETY: fcinfo is this call's; the key parts are read before the next call.
    let key = unsafe {
        [
            callsite::stable_or_bytes(fcinfo, 2, f64_bytes(fraction_values)),
            callsite::stable_or_bytes(fcinfo, 3, labels.raw()),
        ]
    };
    // SAFETY: fcinfo is this call's.
    let names = unsafe { CallSite::of(fcinfo) }.get_or_build(&key, || {
        let names = labels.to_strings(F, "labels");
        check_fractions(fraction_values, names.len()).or_raise(F);
        let size = names.iter().map(|n| n.len() + 24).sum();
        (names, size)
    });
    let band = with_profile(fcinfo, 1, &p, F, |view| view.quantile_band(score, fraction_values)).or_raise(F);
    names[band].clone()
}

/// Number of values in the profile.
#[pg_extern(immutable, strict, parallel_safe)]
fn profile_count(p: ProfileArg, fcinfo: pg_sys::FunctionCallInfo) -> i64 {
    with_profile(fcinfo, 0, &p, "profile_count", |view| view.count()) as i64
}

/// Mean of the profiled values.
#[pg_extern(immutable, strict, parallel_safe)]
fn profile_mean(p: ProfileArg, fcinfo: pg_sys::FunctionCallInfo) -> f64 {
    with_profile(fcinfo, 0, &p, "profile_mean", |view| view.mean())
}

/// Sample standard deviation of the profiled values (0 for one value).
#[pg_extern(immutable, strict, parallel_safe)]
fn profile_stddev(p: ProfileArg, fcinfo: pg_sys::FunctionCallInfo) -> f64 {
    with_profile(fcinfo, 0, &p, "profile_stddev", |view| view.stddev())
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn one(sql: &str) -> Option<f64> {
        Spi::get_one::<f64>(sql).expect("query failed")
    }

    const P: &str = "(SELECT health.profile(x) FROM generate_series(1, 100) x)";

    #[pg_test]
    fn profile_accessors() {
        assert_eq!(one(&format!("SELECT health.percentile_rank(25, {P})")), Some(25.0));
        assert_eq!(one(&format!("SELECT health.quantile({P}, 0.5)")), Some(50.5));
        assert_eq!(one(&format!("SELECT health.scale_profile(25, {P})")), Some(25.0));
        assert_eq!(
            one(&format!("SELECT health.scale_profile(25, {P}, 'percentile', false)")),
            Some(76.0)
        );
        assert_eq!(
            one(&format!("SELECT health.scale_profile(100, {P}, 'minmax')")),
            Some(100.0)
        );
        assert_eq!(
            one(&format!("SELECT health.scale_profile(50.5, {P}, 'zscore')")),
            Some(50.0)
        );
        assert_eq!(one(&format!("SELECT health.profile_mean({P})")), Some(50.5));
        let tier = Spi::get_one::<String>(&format!("SELECT health.quantile_tier(80, {P})")).unwrap();
        assert_eq!(tier.as_deref(), Some("top"));
    }

    #[pg_test]
    fn empty_and_null_groups_give_null() {
        let none = Spi::get_one::<bool>("SELECT health.profile(x) IS NULL FROM (SELECT NULL::float8 AS x) t").unwrap();
        assert_eq!(none, Some(true));
        let empty = Spi::get_one::<bool>("SELECT health.profile(x) IS NULL FROM generate_series(1, 0) x").unwrap();
        assert_eq!(empty, Some(true));
    }

    #[pg_test]
    fn rollup_equals_one_profile() {
        let same = Spi::get_one::<bool>(&format!(
            "SELECT (health.rollup(p)::text::jsonb) -> 'buckets' = ({P}::text::jsonb) -> 'buckets' FROM (
                 SELECT health.profile(x) AS p FROM generate_series(1, 100) x GROUP BY x % 7) parts"
        ))
        .unwrap();
        assert_eq!(same, Some(true));
    }

    #[pg_test(
        error = "scale_profile: method must be one of 'percentile', 'minmax', 'zscore', 'log_zscore', got 'rank'"
    )]
    fn scale_profile_rejects_unknown_method() {
        one(&format!("SELECT health.scale_profile(1, {P}, 'rank')"));
    }
}

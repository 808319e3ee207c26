//! SQL wrappers for docs/reference.md §3: score -> tier, colour, grade.

use health_core::tier as tiers;
use pgrx::prelude::*;

use crate::args::{f64_bytes, FloatArray, TextArray};
use crate::callsite::{self, CallSite};
use crate::errors::OrRaise;

/// Upper-inclusive tier label: `score <= cutoffs[1]` -> `labels[1]`, ...
#[pg_extern(immutable, strict, parallel_safe)]
fn tier(
    score: f64,
    cutoffs: default!(FloatArray, "'{40,70}'"),
    labels: default!(TextArray, "'{at_risk,neutral,healthy}'"),
    fcinfo: pg_sys::FunctionCallInfo,
) -> String {
    const F: &str = "tier";
    let cutoff_values = cutoffs.values(F, "cutoffs");
    // The scheme is validated and its labels decoded once per query and
    // scheme (see callsite.rs).
    // SAFETY: fcinfo is this call's; the key parts are read before the next call.
    let key = unsafe {
        [
            callsite::stable_or_bytes(fcinfo, 1, f64_bytes(cutoff_values)),
            callsite::stable_or_bytes(fcinfo, 2, labels.raw()),
        ]
    };
    // SAFETY: fcinfo is this call's.
    let site = unsafe { CallSite::of(fcinfo) };
    let labels = site.get_or_build(&key, || {
        let labels = labels.to_strings(F, "labels");
        tiers::check_scheme(cutoff_values, labels.len()).or_raise(F);
        let size = labels.iter().map(|l| l.len() + 24).sum();
        (labels, size)
    });
    let index = tiers::tier_index(score, cutoff_values, labels.len()).or_raise(F);
    labels[index].clone()
}

/// `red` / `yellow` / `green`, same bands as `tier`.
#[pg_extern(immutable, strict, parallel_safe)]
fn color(score: f64, cutoffs: default!(FloatArray, "'{40,70}'")) -> &'static str {
    const F: &str = "color";
    tiers::color(score, cutoffs.values(F, "cutoffs")).or_raise(F)
}

/// Letter grade: A >= 90, B >= 80, C >= 70, D >= 60, else F.
#[pg_extern(immutable, strict, parallel_safe)]
fn grade(score: f64) -> &'static str {
    tiers::grade(score).or_raise("grade")
}
#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn text(sql: &str) -> Option<String> {
        Spi::get_one::<String>(sql).expect("query failed")
    }

    #[pg_test]
    fn tiers_colors_grades() {
        assert_eq!(text("SELECT health.tier(40)").as_deref(), Some("at_risk"));
        assert_eq!(text("SELECT health.tier(40.000001)").as_deref(), Some("neutral"));
        assert_eq!(text("SELECT health.tier(70)").as_deref(), Some("neutral"));
        assert_eq!(text("SELECT health.tier(70.5)").as_deref(), Some("healthy"));
        assert_eq!(
            text("SELECT health.tier(55, '{50}', '{low,high}')").as_deref(),
            Some("high")
        );
        assert_eq!(text("SELECT health.color(71)").as_deref(), Some("green"));
        assert_eq!(text("SELECT health.grade(90)").as_deref(), Some("A"));
        assert_eq!(text("SELECT health.grade(NULL)"), None);
    }

    #[pg_test(error = "tier: labels must have one more element than cutoffs, got 2 labels for 2 cutoffs")]
    fn tier_rejects_label_count() {
        Spi::get_one::<String>("SELECT health.tier(50, '{40,70}', '{a,b}')").unwrap();
    }
}

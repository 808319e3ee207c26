//! SQL wrappers for docs/reference.md §3: score -> tier, colour, grade.

use health_core::tier as tiers;
use pgrx::prelude::*;

use crate::args::{cached, FloatArray, TextArray};
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
    // The scheme is validated and its labels decoded once per query (or
    // whenever the arrays change from one row to the next).
    let labels = cached(fcinfo, &[f64_bytes(cutoff_values), labels.raw()], || {
        let labels = labels.to_strings(F, "labels");
        tiers::check_scheme(cutoff_values, labels.len()).or_raise(F);
        labels
    });
    let index = tiers::tier_index(score, cutoff_values, labels.len()).or_raise(F);
    labels[index].clone()
}

fn f64_bytes(values: &[f64]) -> &[u8] {
    // SAFETY: any f64 is 8 plain bytes; the slice covers exactly the values.
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }
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

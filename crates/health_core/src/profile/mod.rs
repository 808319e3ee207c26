//! Population profiles (docs/reference.md §5): the moments of a metric over a population
//! plus a mergeable quantile sketch, so a value can be placed relative to its
//! segment ("15th percentile") without sorting the table again.
//!
//! # The sketch, and why it is ours
//! Values are counted in logarithmic buckets, as in DDSketch: bucket `i` holds
//! the values `x` with `GAMMA^(i-1) < |x| <= GAMMA^i` (`GAMMA = 1.01`), zero has
//! its own bucket, negatives mirror positives. Unlike DDSketch, every bucket
//! also keeps the exact smallest and largest value it has seen. That gives:
//!
//! - **Exact, order-free merges.** Counts add and extremes take min/max, so a
//!   profile does not depend on row order, parallel splitting or how it was
//!   rolled up: a forced-parallel plan returns bit-for-bit the same sketch.
//!   (KLL and t-digest, the rank-error sketches, compact or cluster in an
//!   order-dependent way.)
//! - **Quantiles within 1 % of the true value.** The true k-th smallest value
//!   and our estimate lie in the same bucket, whose ends differ by at most 1 %.
//! - **Ranks that are exact unless neighbours crowd.** `count_at_or_below(v)`
//!   is exact when no other value lies within 1 % of `v` in `v`'s bucket (in
//!   particular for ties, integers above 100 apart, constant columns, a bucket
//!   whose values all sit on one side of `v`); otherwise the values of that one
//!   bucket are assumed evenly spread between its extremes, so the rank error
//!   is at most the share of the population inside that 1 %-wide bucket, and
//!   far less when the density is smooth there.
//!
//! Crates considered: `sketches-ddsketch` keeps bucket counts only, so a rank
//! inside a bucket is a guess, and tied values (logins, seats, NPS answers)
//! all sit in one bucket: with 30 % of accounts at exactly 5 logins,
//! `percentile_rank(5)` could be 15 points off. KLL (`kll-rs`, bindings to
//! the C++ DataSketches library) and t-digest (`tdigest`) bound rank error
//! (KLL) or do well at the tails (t-digest), but compact in an order-dependent
//! way, so a parallel plan or a roll-up would answer differently from a serial
//! pass. The per-bucket extremes cost 16 bytes a bucket and fix both.
//!
//! The moments (count, mean, variance; mean and variance of `ln(1+x)` over the
//! non-negative values) use Welford updates and Chan's merge.
//!
//! # Stored form (little-endian), read in place by the accessors
//! ```text
//! 0  u32 version (1)      4  u32 n_buckets
//! 8  u64 count           16  u64 negatives (values < 0)
//! 24 f64 mean            32  f64 m2 (sum of squared deviations)
//! 40 f64 min             48  f64 max
//! 56 f64 log_mean        64  f64 log_m2 (of ln(1+x), over values >= 0)
//! 72 i32 key[n] | u64 cumulative_count[n] | f64 bucket_min[n] | f64 bucket_max[n]
//! ```
//! Keys ascend with the values, so ranks are one binary search away.

//!
//! # Modules
//! - `sketch`: the profile as the aggregate builds it ([`Profile`]): moments
//!   and buckets, merges, its stored form.
//! - `view`: a stored profile read in place ([`ProfileView`]): ranks,
//!   quantiles, sub-scores, with a lookup table for hot profiles
//!   ([`RankIndex`]).
//! - `text`: the readable JSON text form, both ways.

mod sketch;
mod text;
mod view;

pub use sketch::Profile;
pub use text::bytes_from_text;
pub use view::{check_fractions, Method, ProfileView, RankIndex};

/// Ratio between bucket ends: neighbouring values within 1 % share a bucket.
pub const GAMMA: f64 = 1.01;
const VERSION: u32 = 1;
const HEADER: usize = 72;
const BYTES_PER_BUCKET: usize = 4 + 8 + 8 + 8;
/// Keeps every positive key above zero: |ln x| / ln(GAMMA) < 75 000 for all f64.
const KEY_BIAS: i32 = 80_000;

/// `1 / ln(GAMMA)`, a constant so no call pays for a logarithm twice (checked
/// against `libm` in the tests). Keys depend on it: never change it without a
/// new stored-form version.
const INV_LN_GAMMA: f64 = 100.49917080713044;

#[inline]
fn inv_ln_gamma() -> f64 {
    INV_LN_GAMMA
}

/// Bucket index of a non-zero magnitude: `GAMMA^(i-1) < abs <= GAMMA^i`.
#[inline]
fn index_of(abs: f64, inv_ln_gamma: f64) -> i32 {
    // The platform's ln is faster than libm's and within an ulp of it: its
    // ceiling is the same unless ln(abs)/ln(GAMMA) lies within 1e-9 of a
    // whole number, and there libm (the definition, identical on every
    // machine, so stored keys stay valid) decides.
    let fast = abs.ln() * inv_ln_gamma;
    let key = ceil_to_i32(fast);
    if (key as f64 - fast) > 1e-9 && (fast - (key - 1) as f64) > 1e-9 {
        key
    } else {
        ceil_to_i32(libm::log(abs) * inv_ln_gamma)
    }
}

/// `x.ceil() as i32` without a call into libm's `ceil` (no SSE4.1 by default);
/// the same result for every |x| < 2^31.
#[inline]
fn ceil_to_i32(x: f64) -> i32 {
    let t = x as i32;
    if (t as f64) < x {
        t + 1
    } else {
        t
    }
}

/// The ordered key of a value: monotone non-decreasing in `x`.
#[inline]
fn key_of(x: f64, inv_ln_gamma: f64) -> i32 {
    if x > 0.0 {
        index_of(x, inv_ln_gamma) + KEY_BIAS
    } else if x < 0.0 {
        -(index_of(-x, inv_ln_gamma) + KEY_BIAS)
    } else {
        0
    }
}

#[cfg(test)]
mod tests;

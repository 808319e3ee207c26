//! Population profiles (docs/reference.md §5): the moments of a metric over a population
//! plus a mergeable quantile sketch, so a value can be placed relative to its
//! segment ("15th percentile") without sorting the table again.
//!
//! # The sketch, and why it is ours
//! Every value is mapped to a 64-bit key that orders like the value
//! ([`ordered`]: the float's bits, sign-adjusted). A profile groups the values
//! into buckets of the keys that agree above a bit, the profile's *shift*:
//!
//! - **Exact (shift 0)** while the population has at most [`EXACT_LIMIT`]
//!   distinct values: one bucket per distinct value with its count, so ranks
//!   and quantiles equal `cume_dist()` and `percentile_cont` exactly. Small
//!   segments, the common case in B2B, and integer-valued metrics with heavy
//!   ties (logins, seats, NPS answers) stay exact at any population size.
//! - **Sketch (shift > 0)** above that: the smallest shift at which at most
//!   [`SKETCH_LIMIT`] buckets are occupied. Buckets have the same width on the
//!   key scale, which is logarithmic across binades and linear inside one, so
//!   values clustered far from zero (N(100, 0.3)) get as many buckets as
//!   values spread over decades. Each bucket keeps its count, its exact
//!   smallest and largest value and how many values sit on each of those two;
//!   a rank inside a bucket takes the values between its extremes as evenly
//!   spread.
//!
//! The shift is the smallest one at which the population fits, and a bucket
//! is a function of the values that fall in it, so a profile is a function of
//! the multiset of values: merging two profiles starts at the larger shift and
//! coarsens while too many buckets are occupied, which gives bit-for-bit the
//! profile of all their values. A forced-parallel plan, a roll-up of days into
//! a month and a serial pass all store the same sketch. (KLL and t-digest
//! compact or cluster in an order-dependent way; DDSketch keeps counts only,
//! so ties and values clustered far from zero lose their ranks.)
//!
//! The moments (count, mean, variance; mean and variance of `ln(1+x)` over the
//! non-negative values) use Welford updates and Chan's merge.
//!
//! # Stored form (little-endian), read in place by the accessors
//! ```text
//! 0  u32 version (2)      4  u32 n_buckets
//! 8  u64 count           16  u64 negatives (values < 0)
//! 24 f64 mean            32  f64 m2 (sum of squared deviations)
//! 40 f64 min             48  f64 max
//! 56 f64 log_mean        64  f64 log_m2 (of ln(1+x), over values >= 0)
//! 72 u32 global_shift    76  u32 block_shift (0: exact)
//! 80 u32 count width w (4 when count < 2^32, else 8)
//! 84 u32 at width a (a sketch: 1, 2, 4 or 8, the fewest bytes that hold
//!        every count at a bucket's min or max; exact: 0)
//! 88 exact:  f64 value[n] | uw cumulative_count[n]
//!    sketch: f64 bucket_max[n] | f64 bucket_min[n] | uw cumulative_count[n]
//!            | ua count_at_min[n] | ua count_at_max[n] | u8 shift[n]
//! ```
//! Buckets ascend, so a rank is one binary search on the bucket maxima away.
//!
//! Version 1 (releases 0.1.0 and 0.2.0: buckets of 1 % relative width, no
//! counts at the extremes) is still read, and answers as those releases did:
//! its buckets are read as buckets with one value at each extreme, which is
//! the rule those releases applied. Merging a version-1 profile writes
//! version 2 at the coarsest resolution its buckets need.
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

/// Populations with at most this many distinct values are held exactly.
pub const EXACT_LIMIT: usize = 32_768;
/// The global shift is the smallest at which at most this many buckets
/// are occupied over the whole population.
pub const GLOBAL_LIMIT: usize = 512;
/// Blocks: the keys that agree above the block shift, at least a binade
/// (one sign and exponent); at most this many are occupied.
pub const MAX_BLOCKS: usize = 8;
const MIN_BLOCK_SHIFT: u32 = 52;
/// A block's own shift is the smallest at which at most this many of its
/// buckets are occupied; it is refined to it when that is finer than the
/// global shift, so a narrow cluster beside a wide spread keeps resolution.
pub const BLOCK_LIMIT: usize = 128;
/// Most buckets a sketch can hold.
pub const SKETCH_LIMIT: usize = GLOBAL_LIMIT + MAX_BLOCKS * BLOCK_LIMIT;

const VERSION: u32 = 2;
const HEADER: usize = 88;

/// The version-1 layout (0.1.0, 0.2.0), still read.
mod v1 {
    pub const VERSION: u32 = 1;
    pub const HEADER: usize = 72;
    pub const BYTES_PER_BUCKET: usize = 4 + 8 + 8 + 8;
    /// Ratio between bucket ends.
    pub const GAMMA: f64 = 1.01;

    /// The bucket key of a value (`GAMMA^(i-1) < |x| <= GAMMA^i`, offset so
    /// keys ascend with the values), as those releases wrote it.
    pub fn key(x: f64) -> i32 {
        const KEY_BIAS: i32 = 80_000;
        // 1 / ln(GAMMA), the constant those releases multiplied by.
        const INV_LN_GAMMA: f64 = 100.49917080713044;
        if !x.is_finite() || x == 0.0 {
            return 0;
        }
        let index = (libm::log(x.abs()) * INV_LN_GAMMA).ceil() as i32 + KEY_BIAS;
        if x > 0.0 {
            index
        } else {
            -index
        }
    }
}

/// A key that orders like the value: `a < b` iff `ordered(a) < ordered(b)`
/// for finite values (`-0.0` is taken as `0.0` by the callers).
#[inline]
pub(crate) fn ordered(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The value of an [`ordered`] key.
#[inline]
pub(crate) fn from_ordered(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// The bucket of a key at `shift` (shifts stay below 64: at 63 there are
/// at most two buckets, one per sign).
#[inline]
fn cell(key: u64, shift: u32) -> u64 {
    key >> shift
}

#[cfg(test)]
mod tests;

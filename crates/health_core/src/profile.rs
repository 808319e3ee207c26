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

use serde::Deserialize;

use crate::error::{finite, num, HealthError, Result};
use crate::normalise::normal_cdf;

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

#[derive(Clone, Copy, Debug, PartialEq)]
struct Bucket {
    count: u64,
    min: f64,
    max: f64,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        count: 0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    #[inline]
    fn add(&mut self, x: f64) {
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn merge(&mut self, other: &Bucket) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Dense run of buckets for one sign: `buckets[i]` holds index `offset + i`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Store {
    offset: i32,
    buckets: Vec<Bucket>,
}

impl Store {
    #[inline]
    fn bucket(&mut self, index: i32) -> &mut Bucket {
        if self.buckets.is_empty() {
            self.offset = index;
            self.buckets.push(Bucket::EMPTY);
        } else if index < self.offset || index >= self.offset + self.buckets.len() as i32 {
            self.grow_to(index);
        }
        &mut self.buckets[(index - self.offset) as usize]
    }

    /// Extends the run to cover `index`, with some slack on the growing side.
    #[cold]
    fn grow_to(&mut self, index: i32) {
        const SLACK: i32 = 16;
        if index < self.offset {
            let new_offset = index - SLACK;
            let mut grown = vec![Bucket::EMPTY; (self.offset - new_offset) as usize];
            grown.extend_from_slice(&self.buckets);
            self.buckets = grown;
            self.offset = new_offset;
        } else {
            self.buckets
                .resize((index + SLACK - self.offset) as usize, Bucket::EMPTY);
        }
    }

    fn non_empty(&self) -> impl DoubleEndedIterator<Item = (i32, &Bucket)> {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.count > 0)
            .map(move |(i, b)| (self.offset + i as i32, b))
    }
}

/// Count, mean and sum of squared deviations, merged with Chan's formula.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    #[inline]
    fn add(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * (nb / n);
        self.m2 += other.m2 + delta * delta * (na * nb / n);
        self.count += other.count;
    }

    /// Sample standard deviation (n-1), 0 for fewer than two values.
    fn stddev(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2.max(0.0) / (self.count - 1) as f64).sqrt()
        }
    }
}

/// A profile being built by the aggregate: moments plus the sketch.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    moments: Moments,
    /// Moments of `ln(1+x)` over the values `>= 0`.
    log_moments: Moments,
    negatives: u64,
    min: f64,
    max: f64,
    zero: Bucket,
    positive: Store,
    negative: Store,
    inv_ln_gamma: f64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::new()
    }
}

impl Profile {
    pub fn new() -> Self {
        Profile {
            moments: Moments::default(),
            log_moments: Moments::default(),
            negatives: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zero: Bucket::EMPTY,
            positive: Store::default(),
            negative: Store::default(),
            inv_ln_gamma: inv_ln_gamma(),
        }
    }

    pub fn count(&self) -> u64 {
        self.moments.count
    }

    /// Adds one value; NaN and ±Infinity are errors (22023).
    #[inline]
    pub fn add(&mut self, x: f64) -> Result<()> {
        if !x.is_finite() {
            finite("value", x)?;
        }
        let x = x + 0.0; // -0.0 -> 0.0, so the zero bucket prints and reads back alike
        self.moments.add(x);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x > 0.0 {
            self.log_moments.add(libm::log1p(x));
            self.positive.bucket(index_of(x, self.inv_ln_gamma)).add(x);
        } else if x < 0.0 {
            self.negatives += 1;
            self.negative.bucket(index_of(-x, self.inv_ln_gamma)).add(x);
        } else {
            self.log_moments.add(0.0);
            self.zero.add(x);
        }
        Ok(())
    }

    /// Folds `other` in; the sketch part is exact and order-free.
    pub fn merge(&mut self, other: &Profile) {
        self.moments.merge(&other.moments);
        self.log_moments.merge(&other.log_moments);
        self.negatives += other.negatives;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.zero.merge(&other.zero);
        for (index, b) in other.positive.non_empty() {
            self.positive.bucket(index).merge(b);
        }
        for (index, b) in other.negative.non_empty() {
            self.negative.bucket(index).merge(b);
        }
    }

    /// Non-empty buckets in ascending order of value, with their keys.
    fn ordered_buckets(&self) -> Vec<(i32, Bucket)> {
        let mut out = Vec::new();
        // Larger magnitude = smaller value on the negative side.
        for (index, b) in self.negative.non_empty().rev() {
            out.push((-(index + KEY_BIAS), *b));
        }
        if self.zero.count > 0 {
            out.push((0, self.zero));
        }
        for (index, b) in self.positive.non_empty() {
            out.push((index + KEY_BIAS, *b));
        }
        out
    }

    /// The stored form; an empty profile is an error (the aggregate returns
    /// NULL for empty groups and never asks).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.count() == 0 {
            return Err(HealthError::invalid("a profile needs at least one value"));
        }
        let buckets = self.ordered_buckets();
        let n = buckets.len();
        let mut out = Vec::with_capacity(HEADER + n * BYTES_PER_BUCKET);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&self.moments.count.to_le_bytes());
        out.extend_from_slice(&self.negatives.to_le_bytes());
        for v in [
            self.moments.mean,
            self.moments.m2,
            self.min,
            self.max,
            self.log_moments.mean,
            self.log_moments.m2,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (key, _) in &buckets {
            out.extend_from_slice(&key.to_le_bytes());
        }
        let mut cumulative = 0u64;
        for (_, b) in &buckets {
            cumulative += b.count;
            out.extend_from_slice(&cumulative.to_le_bytes());
        }
        for (_, b) in &buckets {
            out.extend_from_slice(&b.min.to_le_bytes());
        }
        for (_, b) in &buckets {
            out.extend_from_slice(&b.max.to_le_bytes());
        }
        Ok(out)
    }

    /// Rebuilds a profile from its stored form (validated), for merging.
    pub fn from_bytes(bytes: &[u8]) -> Result<Profile> {
        let view = ProfileView::new(bytes)?;
        view.validate()?;
        let mut p = Profile::new();
        p.moments = Moments {
            count: view.count(),
            mean: view.mean(),
            m2: view.m2(),
        };
        p.negatives = view.negatives();
        p.log_moments = Moments {
            count: view.count() - view.negatives(),
            mean: view.log_mean(),
            m2: view.log_m2(),
        };
        p.min = view.min();
        p.max = view.max();
        for j in 0..view.n_buckets() {
            let b = Bucket {
                count: view.bucket_count(j),
                min: view.bucket_min(j),
                max: view.bucket_max(j),
            };
            let key = view.key(j);
            if key > 0 {
                *p.positive.bucket(key - KEY_BIAS) = b;
            } else if key < 0 {
                *p.negative.bucket(-key - KEY_BIAS) = b;
            } else {
                p.zero = b;
            }
        }
        Ok(p)
    }
}

/// A stored profile read in place: every accessor works on these bytes.
#[derive(Clone, Copy)]
pub struct ProfileView<'a> {
    bytes: &'a [u8],
    n: usize,
    index: Option<&'a RankIndex>,
}

/// A direct key -> bucket table for a profile that is read many times in one
/// query (a stored profile joined to millions of rows): replaces the binary
/// search of every rank lookup by one array read.
#[derive(Debug)]
pub struct RankIndex {
    first_key: i32,
    /// The profile it was built for (so a view never uses another's table).
    buckets: usize,
    count: u64,
    /// For each key from `first_key`: the first bucket whose key is >= it.
    slots: Vec<u32>,
}

impl RankIndex {
    /// Keys spanning more than this (values of both signs, or many orders of
    /// magnitude) keep the binary search; 1 MiB of table at most.
    const MAX_SLOTS: i64 = 1 << 18;

    /// Memory the table takes.
    pub fn size_in_bytes(&self) -> usize {
        std::mem::size_of::<RankIndex>() + 4 * self.slots.len()
    }

    pub fn build(view: &ProfileView) -> Option<RankIndex> {
        if view.n == 0 {
            return None;
        }
        let (first, last) = (view.key(0), view.key(view.n - 1));
        if i64::from(last) - i64::from(first) >= Self::MAX_SLOTS {
            return None;
        }
        let mut slots = Vec::with_capacity((last - first + 1) as usize);
        let mut j = 0;
        for key in first..=last {
            while view.key(j) < key {
                j += 1;
            }
            slots.push(j as u32);
        }
        Some(RankIndex {
            first_key: first,
            buckets: view.n,
            count: view.count(),
            slots,
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}
fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

fn corrupt(what: impl Into<String>) -> HealthError {
    HealthError::text(format!("invalid profile: {}", what.into()))
}

impl<'a> ProfileView<'a> {
    /// Checks the header and length (cheap; done on every access).
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < HEADER {
            return Err(corrupt(format!(
                "{} bytes is shorter than the {HEADER}-byte header",
                bytes.len()
            )));
        }
        let version = u32_at(bytes, 0);
        if version != VERSION {
            return Err(corrupt(format!(
                "stored format {version} is not one this build of customer_health reads (format {VERSION}); \
                 it was written by a newer release: install that release's library"
            )));
        }
        let n = u32_at(bytes, 4) as usize;
        if bytes.len() != HEADER + n * BYTES_PER_BUCKET {
            return Err(corrupt(format!("{} bytes do not hold {n} buckets", bytes.len())));
        }
        Ok(ProfileView { bytes, n, index: None })
    }

    pub fn n_buckets(&self) -> usize {
        self.n
    }
    pub fn count(&self) -> u64 {
        u64_at(self.bytes, 8)
    }
    pub fn negatives(&self) -> u64 {
        u64_at(self.bytes, 16)
    }
    pub fn mean(&self) -> f64 {
        f64_at(self.bytes, 24)
    }
    fn m2(&self) -> f64 {
        f64_at(self.bytes, 32)
    }
    pub fn min(&self) -> f64 {
        f64_at(self.bytes, 40)
    }
    pub fn max(&self) -> f64 {
        f64_at(self.bytes, 48)
    }
    fn log_mean(&self) -> f64 {
        f64_at(self.bytes, 56)
    }
    fn log_m2(&self) -> f64 {
        f64_at(self.bytes, 64)
    }
    fn moments(&self) -> Moments {
        Moments {
            count: self.count(),
            mean: self.mean(),
            m2: self.m2(),
        }
    }
    fn log_moments(&self) -> Moments {
        Moments {
            count: self.count() - self.negatives(),
            mean: self.log_mean(),
            m2: self.log_m2(),
        }
    }
    /// Sample standard deviation; 0 for a single value.
    pub fn stddev(&self) -> f64 {
        self.moments().stddev()
    }
    /// `N` bytes at `at` (zeros past the end, which `new`'s length check
    /// and the callers' `j < n` never reach: a bounds check, not a trust).
    #[inline]
    fn raw<const N: usize>(&self, at: usize) -> [u8; N] {
        debug_assert!(at + N <= self.bytes.len());
        match self.bytes.get(at..at + N) {
            Some(b) => b.try_into().unwrap_or([0; N]),
            None => [0; N],
        }
    }
    #[inline]
    fn key(&self, j: usize) -> i32 {
        debug_assert!(j < self.n);
        i32::from_le_bytes(self.raw(HEADER + 4 * j))
    }
    #[inline]
    fn cumulative(&self, j: usize) -> u64 {
        debug_assert!(j < self.n);
        u64::from_le_bytes(self.raw(HEADER + 4 * self.n + 8 * j))
    }
    fn before(&self, j: usize) -> u64 {
        if j == 0 {
            0
        } else {
            self.cumulative(j - 1)
        }
    }
    fn bucket_count(&self, j: usize) -> u64 {
        self.cumulative(j) - self.before(j)
    }
    #[inline]
    fn bucket_min(&self, j: usize) -> f64 {
        debug_assert!(j < self.n);
        f64::from_le_bytes(self.raw(HEADER + 12 * self.n + 8 * j))
    }
    #[inline]
    fn bucket_max(&self, j: usize) -> f64 {
        debug_assert!(j < self.n);
        f64::from_le_bytes(self.raw(HEADER + 20 * self.n + 8 * j))
    }

    /// Full consistency check, for bytes that come from outside (binary
    /// receive, text input, roll-ups): the accessors rely on these facts.
    pub fn validate(&self) -> Result<()> {
        let count = self.count();
        if count == 0 || self.n == 0 {
            return Err(corrupt("a profile needs at least one value"));
        }
        for (name, v) in [
            ("mean", self.mean()),
            ("m2", self.m2()),
            ("min", self.min()),
            ("max", self.max()),
            ("log_mean", self.log_mean()),
            ("log_m2", self.log_m2()),
        ] {
            if !v.is_finite() {
                return Err(corrupt(format!("{name} must be finite, got {}", num(v))));
            }
        }
        if self.m2() < 0.0 || self.log_m2() < 0.0 {
            return Err(corrupt("m2 and log_m2 must not be negative"));
        }
        if self.negatives() > count {
            return Err(corrupt("more negative values than values"));
        }
        let inv = inv_ln_gamma();
        let mut previous_max = f64::NEG_INFINITY;
        let mut previous_key = i32::MIN;
        let mut negatives = 0;
        for j in 0..self.n {
            let (key, lo, hi) = (self.key(j), self.bucket_min(j), self.bucket_max(j));
            let c = self.cumulative(j);
            if j > 0 && c <= self.cumulative(j - 1) || j == 0 && c == 0 {
                return Err(corrupt(format!("bucket {} is empty", j + 1)));
            }
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(corrupt(format!(
                    "bucket {} has min {} and max {}",
                    j + 1,
                    num(lo),
                    num(hi)
                )));
            }
            if key <= previous_key || lo <= previous_max {
                return Err(corrupt(format!("buckets must ascend, bucket {} does not", j + 1)));
            }
            if key_of(lo, inv) != key || key_of(hi, inv) != key {
                return Err(corrupt(format!(
                    "bucket {} spans more than 1 %: min {} and max {}",
                    j + 1,
                    num(lo),
                    num(hi)
                )));
            }
            if hi < 0.0 {
                negatives += self.bucket_count(j);
            }
            previous_key = key;
            previous_max = hi;
        }
        if self.cumulative(self.n - 1) != count {
            return Err(corrupt(format!(
                "the buckets hold {} values but count is {count}",
                self.cumulative(self.n - 1)
            )));
        }
        if negatives != self.negatives() {
            return Err(corrupt(format!(
                "negatives is {} but the buckets hold {negatives} negative values",
                self.negatives()
            )));
        }
        if self.bucket_min(0) != self.min() || self.bucket_max(self.n - 1) != self.max() {
            return Err(corrupt("min and max must be the smallest and largest bucket values"));
        }
        if !(self.min() <= self.mean() && self.mean() <= self.max()) {
            return Err(corrupt(format!("mean {} lies outside [min, max]", num(self.mean()))));
        }
        Ok(())
    }

    /// The same view, looking buckets up through `index` (built from these bytes).
    /// This view with a lookup table; a table built for another profile
    /// (its key span differs) is not used.
    pub fn with_index(self, index: &'a RankIndex) -> Self {
        let fits = self.n > 0
            && index.buckets == self.n
            && index.count == self.count()
            && index.first_key == self.key(0)
            && i64::from(self.key(self.n - 1)) - i64::from(index.first_key) + 1 == index.slots.len() as i64;
        ProfileView {
            index: fits.then_some(index),
            ..self
        }
    }

    /// The bucket holding `key`, or the index of the first bucket above it.
    #[inline]
    fn find(&self, key: i32) -> std::result::Result<usize, usize> {
        if let Some(index) = self.index {
            let offset = i64::from(key) - i64::from(index.first_key);
            if offset < 0 {
                return Err(0);
            }
            return match index.slots.get(offset as usize) {
                None => Err(self.n),
                Some(&j) if self.key(j as usize) == key => Ok(j as usize),
                Some(&j) => Err(j as usize),
            };
        }
        let (mut lo, mut hi) = (0usize, self.n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let k = self.key(mid);
            if k == key {
                return Ok(mid);
            } else if k < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Err(lo)
    }

    /// Estimated number of values `<= v` (`strict`: `< v`). Values of the
    /// bucket of `v` are taken as evenly spread between its extremes.
    fn count_up_to(&self, v: f64, strict: bool) -> u64 {
        match self.find(key_of(v, inv_ln_gamma())) {
            Err(next) => self.before(next),
            Ok(j) => {
                let (before, c) = (self.before(j), self.bucket_count(j));
                let (lo, hi) = (self.bucket_min(j), self.bucket_max(j));
                if v > hi || (!strict && v == hi) {
                    return before + c;
                }
                if v < lo || (strict && v == lo) {
                    return before;
                }
                // lo <= v <= hi, lo < hi, c >= 2: positions lo + (hi-lo)*t/(c-1).
                let x = (v - lo) / (hi - lo) * (c - 1) as f64;
                // x >= 0, so truncation is floor (and no libm call).
                let whole = x as u64;
                let below = if strict {
                    whole + u64::from((whole as f64) < x)
                } else {
                    whole + 1
                };
                before + below.min(c)
            }
        }
    }

    /// 0–100: the share of the population at or below `v` (like `cume_dist`).
    pub fn percentile_rank(&self, v: f64) -> Result<f64> {
        finite("value", v)?;
        Ok(100.0 * self.count_up_to(v, false) as f64 / self.count() as f64)
    }

    /// 0–1 share of the population strictly below `v`.
    fn share_below(&self, v: f64) -> f64 {
        self.count_up_to(v, true) as f64 / self.count() as f64
    }

    /// The (0-based) `r`-th smallest value, estimated within its bucket.
    fn value_at_rank(&self, r: u64) -> f64 {
        // First bucket whose cumulative count exceeds r.
        let (mut lo, mut hi) = (0usize, self.n - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.cumulative(mid) > r {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let c = self.bucket_count(lo);
        let (bmin, bmax) = (self.bucket_min(lo), self.bucket_max(lo));
        if c < 2 {
            return bmin;
        }
        let t = (r - self.before(lo)) as f64 / (c - 1) as f64;
        bmin + (bmax - bmin) * t
    }

    /// The value at quantile `q` (0..1), interpolated between neighbouring
    /// ranks as `percentile_cont` does.
    pub fn quantile(&self, q: f64) -> Result<f64> {
        finite("q", q)?;
        if !(0.0..=1.0).contains(&q) {
            return Err(HealthError::out_of_range(format!(
                "q must be between 0 and 1, got {}",
                num(q)
            )));
        }
        let h = q * (self.count() - 1) as f64;
        let below = h.floor();
        let low = self.value_at_rank(below as u64);
        let frac = h - below;
        if frac == 0.0 {
            return Ok(low);
        }
        let high = self.value_at_rank(below as u64 + 1);
        Ok(low + (high - low) * frac)
    }

    /// A 0–100 sub-score by position in the population (see [`Method`]).
    pub fn scale(&self, v: f64, method: Method, higher_is_better: bool) -> Result<f64> {
        finite("value", v)?;
        let toward_better = |score: f64| if higher_is_better { score } else { 100.0 - score };
        Ok(match method {
            Method::Percentile => {
                if higher_is_better {
                    100.0 * self.count_up_to(v, false) as f64 / self.count() as f64
                } else {
                    100.0 * (1.0 - self.share_below(v))
                }
            }
            Method::MinMax => {
                let (lo, hi) = (self.min(), self.max());
                toward_better(if hi > lo {
                    (100.0 * (v - lo) / (hi - lo)).clamp(0.0, 100.0)
                } else {
                    step(v, lo)
                })
            }
            Method::ZScore => toward_better(z_score(v, &self.moments())),
            Method::LogZScore => {
                if self.negatives() > 0 {
                    return Err(HealthError::invalid(format!(
                        "log_zscore needs a profile of values >= 0, this one holds {} negative values",
                        self.negatives()
                    )));
                }
                if v < 0.0 {
                    return Err(HealthError::out_of_range(format!(
                        "value must be >= 0 for log_zscore, got {}",
                        num(v)
                    )));
                }
                toward_better(z_score(libm::log1p(v), &self.log_moments()))
            }
        })
    }

    /// Index of the band of `v` by its position: `position <= fractions[1]`
    /// -> 0, ..., `position > fractions[n]` -> n (upper-inclusive, as `tier`).
    pub fn quantile_band(&self, v: f64, fractions: &[f64]) -> Result<usize> {
        finite("score", v)?;
        let position = self.count_up_to(v, false) as f64 / self.count() as f64;
        Ok(fractions.iter().take_while(|&&f| position > f).count())
    }

    /// The readable JSON text form; whole numbers print without a fraction.
    pub fn to_text(&self) -> String {
        use serde_json::{json, Value};
        let buckets: Vec<Value> = (0..self.n)
            .map(|j| {
                json!([
                    self.bucket_count(j),
                    json_number(self.bucket_min(j)),
                    json_number(self.bucket_max(j))
                ])
            })
            .collect();
        let text = json!({
            "count": self.count(),
            "mean": json_number(self.mean()),
            "stddev": json_number(self.stddev()),
            "min": json_number(self.min()),
            "max": json_number(self.max()),
            "negatives": self.negatives(),
            "m2": json_number(self.m2()),
            "log_mean": json_number(self.log_mean()),
            "log_m2": json_number(self.log_m2()),
            "gamma": GAMMA,
            "buckets": buckets,
        });
        // serde_json keeps insertion order only with its preserve_order
        // feature; write the fields in the documented order by hand.
        let mut out = String::from("{");
        for (i, key) in FIELDS.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("\"{key}\": {}", text[key]));
        }
        out.push('}');
        out
    }
}

/// Parses the text form, checking it as thoroughly as binary input.
pub fn bytes_from_text(text: &str) -> Result<Vec<u8>> {
    let t: ProfileText = serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid profile: {e}")))?;
    if let Some(g) = t.gamma {
        if g != GAMMA {
            return Err(corrupt(format!("gamma must be {GAMMA}, got {}", num(g))));
        }
    }
    let inv = inv_ln_gamma();
    let n = t.buckets.len();
    let mut out = Vec::with_capacity(HEADER + n * BYTES_PER_BUCKET);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&t.count.to_le_bytes());
    out.extend_from_slice(&t.negatives.to_le_bytes());
    for v in [t.mean, t.m2, t.min, t.max, t.log_mean, t.log_m2] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (_, lo, _) in &t.buckets {
        let key = if lo.is_finite() { key_of(*lo, inv) } else { 0 };
        out.extend_from_slice(&key.to_le_bytes());
    }
    let mut cumulative = 0u64;
    for (c, _, _) in &t.buckets {
        cumulative = cumulative.saturating_add(*c);
        out.extend_from_slice(&cumulative.to_le_bytes());
    }
    for (_, lo, _) in &t.buckets {
        out.extend_from_slice(&lo.to_le_bytes());
    }
    for (_, _, hi) in &t.buckets {
        out.extend_from_slice(&hi.to_le_bytes());
    }
    let view = ProfileView::new(&out)?;
    view.validate()?;
    if let Some(sd) = t.stddev {
        let expected = view.stddev();
        if (sd - expected).abs() > 1e-9 * expected.abs().max(1.0) {
            return Err(corrupt(format!(
                "stddev {} does not match m2 (expected {}); stddev is derived, omit it or leave it unchanged",
                num(sd),
                num(expected)
            )));
        }
    }
    Ok(out)
}

/// The fields of the text form, in the order they are printed.
const FIELDS: [&str; 11] = [
    "count",
    "mean",
    "stddev",
    "min",
    "max",
    "negatives",
    "m2",
    "log_mean",
    "log_m2",
    "gamma",
    "buckets",
];

/// Whole numbers as JSON integers (1, not 1.0); others as the shortest
/// decimal that reads back to the same f64.
fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// 50 at the centre of a population without spread, 0 below, 100 above.
fn step(v: f64, centre: f64) -> f64 {
    if v > centre {
        100.0
    } else if v < centre {
        0.0
    } else {
        50.0
    }
}

fn z_score(v: f64, m: &Moments) -> f64 {
    let sd = m.stddev();
    if sd > 0.0 {
        100.0 * normal_cdf((v - m.mean) / sd)
    } else {
        step(v, m.mean)
    }
}

/// The text form, field order as printed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileText {
    count: u64,
    mean: f64,
    #[serde(default)]
    stddev: Option<f64>,
    min: f64,
    max: f64,
    negatives: u64,
    m2: f64,
    log_mean: f64,
    log_m2: f64,
    #[serde(default)]
    gamma: Option<f64>,
    /// `[count, min, max]` per non-empty bucket, ascending.
    buckets: Vec<(u64, f64, f64)>,
}

/// How `scale_profile` turns a position into a 0–100 sub-score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Share of the population at or below the value (at or above when lower is better).
    Percentile,
    /// `100*(v-min)/(max-min)`, clamped.
    MinMax,
    /// `100*Phi(z)`, `z = (v-mean)/stddev`.
    ZScore,
    /// `100*Phi(z)` of `ln(1+v)` against the log moments.
    LogZScore,
}

impl Method {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "percentile" => Ok(Method::Percentile),
            "minmax" => Ok(Method::MinMax),
            "zscore" => Ok(Method::ZScore),
            "log_zscore" => Ok(Method::LogZScore),
            other => Err(HealthError::invalid(format!(
                "method must be one of 'percentile', 'minmax', 'zscore', 'log_zscore', got '{other}'"
            ))),
        }
    }
}

/// Validates a `quantile_tier` scheme: fractions strictly ascending inside
/// (0, 1), one more label than fractions.
pub fn check_fractions(fractions: &[f64], labels: usize) -> Result<()> {
    crate::error::check_ascending("fractions", fractions)?;
    for (i, &f) in fractions.iter().enumerate() {
        if !(f > 0.0 && f < 1.0) {
            return Err(HealthError::out_of_range(format!(
                "fractions must lie strictly between 0 and 1, got fractions[{}]={}",
                i + 1,
                num(f)
            )));
        }
    }
    if labels != fractions.len() + 1 {
        return Err(HealthError::array(format!(
            "labels must have one more element than fractions, got {labels} labels for {} fractions",
            fractions.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn profile_of(values: &[f64]) -> Vec<u8> {
        let mut p = Profile::new();
        for &v in values {
            p.add(v).unwrap();
        }
        p.to_bytes().unwrap()
    }

    fn exact_rank(sorted: &[f64], v: f64) -> f64 {
        100.0 * sorted.iter().filter(|&&x| x <= v).count() as f64 / sorted.len() as f64
    }

    fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
        let h = q * (sorted.len() - 1) as f64;
        let (lo, frac) = (h.floor() as usize, h - h.floor());
        if frac == 0.0 {
            sorted[lo]
        } else {
            sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac
        }
    }

    /// A small deterministic generator (xorshift), so tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.next().max(1e-300), self.next());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    proptest! {
        #[test]
        fn fast_index_equals_libm_index(x in prop_oneof![1e-300f64..1e300, 0.001f64..1000.0]) {
            prop_assert_eq!(index_of(x, INV_LN_GAMMA), ceil_to_i32(libm::log(x) * INV_LN_GAMMA));
        }
    }

    #[test]
    fn index_at_bucket_boundaries_follows_libm() {
        for i in -2000..2000 {
            let x = libm::pow(GAMMA, i as f64);
            for y in [x, x * (1.0 + f64::EPSILON), x * (1.0 - f64::EPSILON)] {
                assert_eq!(index_of(y, INV_LN_GAMMA), ceil_to_i32(libm::log(y) * INV_LN_GAMMA));
            }
        }
    }

    #[test]
    fn fast_ceil_is_ceil() {
        for x in [
            0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.000001, -2.000001, 74813.2, -74813.2, 1e-300, -1e-300,
        ] {
            assert_eq!(ceil_to_i32(x), x.ceil() as i32, "{x}");
        }
    }

    #[test]
    fn bucket_constant_is_one_over_ln_gamma() {
        assert!((INV_LN_GAMMA - 1.0 / libm::log(GAMMA)).abs() < 1e-12);
    }

    #[test]
    fn moments_match_direct_formulas() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let bytes = profile_of(&values);
        let v = ProfileView::new(&bytes).unwrap();
        assert_eq!(v.count(), 8);
        assert_eq!(v.mean(), 5.0);
        // sum of squared deviations = 32, sample variance 32/7.
        assert!((v.stddev() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((v.min(), v.max()), (2.0, 9.0));
    }

    #[test]
    fn ties_and_small_populations_are_exact() {
        let bytes = profile_of(&[3.0, 3.0, 3.0, 10.0]);
        let v = ProfileView::new(&bytes).unwrap();
        assert_eq!(v.percentile_rank(3.0).unwrap(), 75.0);
        assert_eq!(v.percentile_rank(2.9).unwrap(), 0.0);
        assert_eq!(v.percentile_rank(10.0).unwrap(), 100.0);
        assert_eq!(v.quantile(0.0).unwrap(), 3.0);
        assert_eq!(v.quantile(1.0).unwrap(), 10.0);
        // two values in one bucket: both extremes are exact
        let bytes = profile_of(&[100.0, 100.5]);
        let v = ProfileView::new(&bytes).unwrap();
        assert_eq!(v.quantile(0.5).unwrap(), 100.25);
        assert_eq!(v.percentile_rank(100.0).unwrap(), 50.0);
        assert_eq!(v.percentile_rank(100.5).unwrap(), 100.0);
    }

    #[test]
    fn signs_and_zero_order_correctly() {
        let values = [-1000.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 1000.0];
        let bytes = profile_of(&values);
        let v = ProfileView::new(&bytes).unwrap();
        v.validate().unwrap();
        for (i, &x) in values.iter().enumerate() {
            let expected = exact_rank(&values, x);
            assert_eq!(v.percentile_rank(x).unwrap(), expected, "at {x} (#{i})");
        }
        assert_eq!(v.negatives(), 3);
        assert_eq!(v.quantile(0.5).unwrap(), 0.0);
    }

    #[test]
    fn degenerate_populations_have_defined_scores() {
        let bytes = profile_of(&[5.0; 10]);
        let v = ProfileView::new(&bytes).unwrap();
        assert_eq!(v.stddev(), 0.0);
        for m in [Method::MinMax, Method::ZScore, Method::LogZScore] {
            assert_eq!(v.scale(5.0, m, true).unwrap(), 50.0);
            assert_eq!(v.scale(6.0, m, true).unwrap(), 100.0);
            assert_eq!(v.scale(4.0, m, false).unwrap(), 100.0);
        }
        assert_eq!(v.scale(5.0, Method::Percentile, true).unwrap(), 100.0);
        assert_eq!(v.scale(5.0, Method::Percentile, false).unwrap(), 100.0);
        let neg = profile_of(&[-1.0, 2.0]);
        let e = ProfileView::new(&neg)
            .unwrap()
            .scale(1.0, Method::LogZScore, true)
            .unwrap_err();
        assert_eq!(
            e.message,
            "log_zscore needs a profile of values >= 0, this one holds 1 negative values"
        );
        let e = ProfileView::new(&bytes)
            .unwrap()
            .scale(-1.0, Method::LogZScore, true)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::OutOfRange);
        assert!(Profile::new().to_bytes().is_err());
    }

    #[test]
    fn accuracy_on_a_fat_tail() {
        let mut rng = Rng(42);
        let mut values: Vec<f64> = (0..200_000).map(|_| (3.0 + 1.5 * rng.normal()).exp()).collect();
        let bytes = profile_of(&values);
        values.sort_by(f64::total_cmp);
        let v = ProfileView::new(&bytes).unwrap();
        let mut worst_rank = 0.0f64;
        let mut worst_value = 0.0f64;
        for i in (0..values.len()).step_by(97) {
            let x = values[i];
            let exact = 100.0 * values.partition_point(|&y| y <= x) as f64 / values.len() as f64;
            worst_rank = worst_rank.max((v.percentile_rank(x).unwrap() - exact).abs());
        }
        for k in 0..=100 {
            let q = k as f64 / 100.0;
            let exact = exact_quantile(&values, q);
            worst_value = worst_value.max(((v.quantile(q).unwrap() - exact) / exact).abs());
        }
        assert!(worst_rank < 0.1, "rank error {worst_rank}");
        assert!(worst_value < 0.01, "relative value error {worst_value}");
    }

    #[test]
    fn text_round_trip_and_validation() {
        let bytes = profile_of(&[0.0, 1.5, 2.0, 2.01, 300.0, -4.0]);
        let view = ProfileView::new(&bytes).unwrap();
        let text = view.to_text();
        assert_eq!(bytes_from_text(&text).unwrap(), bytes);
        let e = bytes_from_text(r#"{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "buckets": [[2, 1, 1]]}"#).unwrap_err();
        assert_eq!(e.message, "invalid profile: the buckets hold 2 values but count is 1");
        let e = bytes_from_text(r#"{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "buckets": [[2, 1, 2]]}"#).unwrap_err();
        assert_eq!(
            e.message,
            "invalid profile: bucket 1 spans more than 1 %: min 1 and max 2"
        );
        assert!(bytes_from_text("[]").is_err());
        assert!(ProfileView::new(&bytes[..10]).is_err());
    }

    fn arb_values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(
            prop_oneof![
                (-1e6f64..1e6),
                (0u32..20).prop_map(|i| i as f64),
                (0.001f64..10.0),
                Just(0.0)
            ],
            1..300,
        )
    }

    proptest! {
        #[test]
        fn merge_is_exact_and_order_free(values in arb_values(), split in 0usize..300) {
            let split = split.min(values.len());
            let whole = profile_of(&values);
            let mut a = Profile::new();
            let mut b = Profile::new();
            for &v in &values[..split] { a.add(v).unwrap(); }
            for &v in values[split..].iter().rev() { b.add(v).unwrap(); }
            b.merge(&a);
            let merged = b.to_bytes().unwrap();
            let (w, m) = (ProfileView::new(&whole).unwrap(), ProfileView::new(&merged).unwrap());
            // The sketch part (buckets) is identical; moments agree to rounding.
            prop_assert_eq!(&whole[HEADER..], &merged[HEADER..]);
            prop_assert_eq!(w.count(), m.count());
            prop_assert!((w.mean() - m.mean()).abs() <= 1e-9 * w.mean().abs().max(1.0));
            // Round trip through the stored form changes nothing.
            prop_assert_eq!(Profile::from_bytes(&merged).unwrap().to_bytes().unwrap(), merged.clone());
            m.validate().unwrap();
        }

        #[test]
        fn ranks_and_quantiles_stay_within_bounds(values in arb_values(), probe in -1e6f64..1e6) {
            let bytes = profile_of(&values);
            let v = ProfileView::new(&bytes).unwrap();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            // The rank error is at most the share of values sharing x's bucket.
            let inv = inv_ln_gamma();
            for x in sorted.iter().copied().chain([probe]) {
                let r = v.percentile_rank(x).unwrap();
                let crowd = sorted.iter().filter(|&&y| key_of(y, inv) == key_of(x, inv)).count();
                let bound = 100.0 * crowd as f64 / sorted.len() as f64;
                prop_assert!((r - exact_rank(&sorted, x)).abs() <= bound + 1e-9, "rank {} of {}", r, x);
            }
            // Each rank's estimate shares the true value's bucket: within 1 %.
            for k in 0..=10 {
                let q = k as f64 / 10.0;
                let h = q * (sorted.len() - 1) as f64;
                let scale = sorted[h.floor() as usize].abs().max(sorted[h.ceil() as usize].abs());
                let (est, exact) = (v.quantile(q).unwrap(), exact_quantile(&sorted, q));
                prop_assert!((est - exact).abs() <= 0.0101 * scale + 1e-12, "q {} est {} exact {}", q, est, exact);
            }
            prop_assert_eq!(v.quantile(0.0).unwrap(), sorted[0]);
            prop_assert_eq!(v.quantile(1.0).unwrap(), sorted[sorted.len() - 1]);
        }

        #[test]
        fn indexed_lookups_equal_binary_search(values in arb_values(), probes in prop::collection::vec(-2e6f64..2e6, 1..50)) {
            let bytes = profile_of(&values);
            let plain = ProfileView::new(&bytes).unwrap();
            if let Some(index) = RankIndex::build(&plain) {
                let fast = plain.with_index(&index);
                for x in values.iter().copied().chain(probes) {
                    prop_assert_eq!(plain.percentile_rank(x).unwrap(), fast.percentile_rank(x).unwrap());
                    prop_assert_eq!(plain.scale(x, Method::Percentile, false).unwrap(), fast.scale(x, Method::Percentile, false).unwrap());
                }
            }
        }

        #[test]
        fn scores_are_sub_scores(values in arb_values(), probe in -1e7f64..1e7, higher in any::<bool>()) {
            let bytes = profile_of(&values);
            let v = ProfileView::new(&bytes).unwrap();
            for m in [Method::Percentile, Method::MinMax, Method::ZScore] {
                let s = v.scale(probe, m, higher).unwrap();
                prop_assert!((0.0..=100.0).contains(&s));
            }
        }
    }
}

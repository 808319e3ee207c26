//! A stored profile read in place: counts, ranks, quantiles and the
//! population-relative sub-scores, straight from its bytes.

use super::sketch::Moments;
use super::*;
use crate::error::{finite, num, HealthError, Result};
use crate::normalise::normal_cdf;

/// A stored profile read in place: every accessor works on these bytes.
#[derive(Clone, Copy)]
pub struct ProfileView<'a> {
    bytes: &'a [u8],
    pub(super) n: usize,
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

pub(super) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
pub(super) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}
pub(super) fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

pub(super) fn corrupt(what: impl Into<String>) -> HealthError {
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
    pub(super) fn m2(&self) -> f64 {
        f64_at(self.bytes, 32)
    }
    pub fn min(&self) -> f64 {
        f64_at(self.bytes, 40)
    }
    pub fn max(&self) -> f64 {
        f64_at(self.bytes, 48)
    }
    pub(super) fn log_mean(&self) -> f64 {
        f64_at(self.bytes, 56)
    }
    pub(super) fn log_m2(&self) -> f64 {
        f64_at(self.bytes, 64)
    }
    pub(super) fn moments(&self) -> Moments {
        Moments {
            count: self.count(),
            mean: self.mean(),
            m2: self.m2(),
        }
    }
    pub(super) fn log_moments(&self) -> Moments {
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
    pub(super) fn raw<const N: usize>(&self, at: usize) -> [u8; N] {
        debug_assert!(at + N <= self.bytes.len());
        match self.bytes.get(at..at + N) {
            Some(b) => b.try_into().unwrap_or([0; N]),
            None => [0; N],
        }
    }
    #[inline]
    pub(super) fn key(&self, j: usize) -> i32 {
        debug_assert!(j < self.n);
        i32::from_le_bytes(self.raw(HEADER + 4 * j))
    }
    #[inline]
    pub(super) fn cumulative(&self, j: usize) -> u64 {
        debug_assert!(j < self.n);
        u64::from_le_bytes(self.raw(HEADER + 4 * self.n + 8 * j))
    }
    pub(super) fn before(&self, j: usize) -> u64 {
        if j == 0 {
            0
        } else {
            self.cumulative(j - 1)
        }
    }
    pub(super) fn bucket_count(&self, j: usize) -> u64 {
        self.cumulative(j) - self.before(j)
    }
    #[inline]
    pub(super) fn bucket_min(&self, j: usize) -> f64 {
        debug_assert!(j < self.n);
        f64::from_le_bytes(self.raw(HEADER + 12 * self.n + 8 * j))
    }
    #[inline]
    pub(super) fn bucket_max(&self, j: usize) -> f64 {
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
    pub(super) fn find(&self, key: i32) -> std::result::Result<usize, usize> {
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
    pub(super) fn count_up_to(&self, v: f64, strict: bool) -> u64 {
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
    pub(super) fn share_below(&self, v: f64) -> f64 {
        self.count_up_to(v, true) as f64 / self.count() as f64
    }

    /// The (0-based) `r`-th smallest value, estimated within its bucket.
    pub(super) fn value_at_rank(&self, r: u64) -> f64 {
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
        // A position a rounding error above a fraction (59/177 against 1/3)
        // counts as on it, as `tier` treats cutoffs.
        Ok(fractions.iter().take_while(|&&f| position - f > 1e-12).count())
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

//! The profile as the `profile` aggregate builds it: moments and the buckets
//! of the sketch, exact merges, and the stored form.

use super::view::{encode, Header, StoredBucket};
use super::*;
use crate::aggregate::{Accumulate, AggregateState};
use crate::error::{finite, HealthError, Result};

/// The values of one bucket: how many, the smallest and largest (as
/// [`ordered`] keys), how many of them equal each of those two, and the
/// shift of the bucket (the values whose keys agree above that bit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Bucket {
    pub(super) count: u64,
    pub(super) lo: u64,
    pub(super) hi: u64,
    pub(super) at_lo: u64,
    pub(super) at_hi: u64,
    pub(super) shift: u32,
}

impl Bucket {
    /// `count` copies of one value.
    fn single(key: u64, count: u64) -> Bucket {
        Bucket {
            count,
            lo: key,
            hi: key,
            at_lo: count,
            at_hi: count,
            shift: 0,
        }
    }

    /// Folds in the values of another bucket: the result depends only on
    /// the values of both, not on which came first.
    fn absorb(&mut self, other: &Bucket) {
        self.count += other.count;
        if other.lo < self.lo {
            (self.lo, self.at_lo) = (other.lo, other.at_lo);
        } else if other.lo == self.lo {
            self.at_lo += other.at_lo;
        }
        if other.hi > self.hi {
            (self.hi, self.at_hi) = (other.hi, other.at_hi);
        } else if other.hi == self.hi {
            self.at_hi += other.at_hi;
        }
        self.shift = self.shift.max(other.shift);
    }
}

/// The lowest shift at which two keys share a bucket: they agree above the
/// highest bit in which they differ.
#[inline]
fn shift_joining(a: u64, b: u64) -> u32 {
    64 - (a ^ b).leading_zeros()
}

/// The lowest shift at which two neighbouring buckets are one.
#[inline]
fn split(left: &Bucket, right: &Bucket) -> u32 {
    shift_joining(left.hi, right.lo)
}

/// The smallest shift at which buckets whose neighbour splits are `splits`
/// occupy at most `limit` buckets: at shift `s` there are `1 + #{split > s}`.
fn fitting(splits: &[u32], limit: usize) -> u32 {
    if splits.len() < limit {
        return 0;
    }
    let mut splits = splits.to_vec();
    let (_, nth, _) = splits.select_nth_unstable_by(limit - 1, |a, b| b.cmp(a));
    *nth
}

/// Merges two ascending runs of buckets; a bucket inside another's bucket
/// (at the larger of their shifts) joins it.
fn merge_runs(a: &[Bucket], b: &[Bucket]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j == b.len() || (i < a.len() && a[i].lo <= b[j].lo) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if cell(last.hi, last.shift.max(next.shift)) == cell(next.lo, last.shift.max(next.shift)) => {
                last.absorb(&next)
            }
            _ => out.push(next),
        }
    }
    out
}

/// Brings ascending buckets to `shift`, joining those that become one.
fn coarsen(buckets: &mut [Bucket], shift: u32) -> Vec<Bucket> {
    for b in buckets.iter_mut() {
        b.shift = shift;
    }
    merge_runs(buckets, &[])
}

/// Count, mean and sum of squared deviations, merged with Chan's formula.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Moments {
    pub(super) count: u64,
    pub(super) mean: f64,
    pub(super) m2: f64,
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
    pub(super) fn stddev(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2.max(0.0) / (self.count - 1) as f64).sqrt()
        }
    }
}

/// Values collected before they are sorted into buckets, in one batch.
const PENDING_LIMIT: usize = 2048;

/// A profile being built by the aggregate: moments plus the sketch.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    moments: Moments,
    /// Moments of `ln(1+x)` over the values `>= 0`.
    log_moments: Moments,
    negatives: u64,
    min: f64,
    max: f64,
    /// The sketch's global and block shifts; both 0 while it is exact.
    global: u32,
    block: u32,
    /// Ascending, one per occupied bucket.
    buckets: Vec<Bucket>,
    /// Keys of values added since the last [`flush`](Self::flush).
    pending: Vec<u64>,
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
            global: 0,
            block: 0,
            buckets: Vec::new(),
            pending: Vec::new(),
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
        let x = x + 0.0; // -0.0 -> 0.0: one key for zero
        self.moments.add(x);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x >= 0.0 {
            self.log_moments.add(libm::log1p(x));
        } else {
            self.negatives += 1;
        }
        self.pending.push(ordered(x));
        if self.pending.len() >= PENDING_LIMIT {
            self.flush();
        }
        Ok(())
    }

    /// Sorts the pending values into the buckets.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable();
        let mut batch: Vec<Bucket> = Vec::new();
        for &key in &self.pending {
            match batch.last_mut() {
                Some(last) if last.hi == key => {
                    last.count += 1;
                    last.at_lo += 1;
                    last.at_hi += 1;
                }
                _ => batch.push(Bucket::single(key, 1)),
            }
        }
        self.pending.clear();
        self.buckets = merge_runs(&self.buckets, &batch);
        self.normalise();
    }

    /// Brings the buckets to the resolution the population calls for (see
    /// the module docs): exact while at most [`EXACT_LIMIT`] distinct values;
    /// then each block of keys as fine as the coarser of the global shift
    /// (at most [`GLOBAL_LIMIT`] buckets over all) and the block's own (at
    /// most [`BLOCK_LIMIT`] buckets in it). Each shift is the smallest that
    /// fits, and only grows as values are added, so the buckets are a
    /// function of the values whatever the order or split.
    fn normalise(&mut self) {
        if self.block == 0 && self.buckets.len() <= EXACT_LIMIT {
            return;
        }
        let lowest = self.buckets.iter().map(|b| b.shift).max().unwrap_or(0);
        let splits: Vec<u32> = self.buckets.windows(2).map(|w| split(&w[0], &w[1])).collect();
        self.global = fitting(&splits, GLOBAL_LIMIT).max(self.global).max(lowest);
        self.block = fitting(&splits, MAX_BLOCKS)
            .max(self.block)
            .max(lowest)
            .max(MIN_BLOCK_SHIFT);
        let mut out = Vec::with_capacity(self.buckets.len().min(GLOBAL_LIMIT + MAX_BLOCKS * BLOCK_LIMIT));
        let mut start = 0;
        while start < self.buckets.len() {
            let block = cell(self.buckets[start].lo, self.block);
            let mut end = start + 1;
            while end < self.buckets.len() && cell(self.buckets[end].lo, self.block) == block {
                end += 1;
            }
            let lowest = self.buckets[start..end].iter().map(|b| b.shift).max().unwrap_or(0);
            let own = fitting(&splits[start..end - 1], BLOCK_LIMIT).max(lowest);
            out.extend(coarsen(&mut self.buckets[start..end], own.min(self.global).max(lowest)));
            start = end;
        }
        self.buckets = out;
    }

    /// Folds `other` in; the sketch part is exact and order-free.
    pub fn merge(&mut self, other: &Profile) {
        self.moments.merge(&other.moments);
        self.log_moments.merge(&other.log_moments);
        self.negatives += other.negatives;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.flush();
        self.buckets = merge_runs(&self.buckets, &other.buckets);
        self.global = self.global.max(other.global);
        self.block = self.block.max(other.block);
        self.normalise();
        self.pending.extend_from_slice(&other.pending);
        self.flush();
    }

    /// The stored form; an empty profile is an error (the aggregate returns
    /// NULL for empty groups and never asks).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.count() == 0 {
            return Err(HealthError::invalid("a profile needs at least one value"));
        }
        if !self.pending.is_empty() {
            let mut flushed = self.clone();
            flushed.flush();
            return flushed.to_bytes();
        }
        let header = Header {
            count: self.moments.count,
            negatives: self.negatives,
            moments: [
                self.moments.mean,
                self.moments.m2,
                self.min,
                self.max,
                self.log_moments.mean,
                self.log_moments.m2,
            ],
        };
        let buckets: Vec<StoredBucket> = self
            .buckets
            .iter()
            .map(|b| StoredBucket {
                count: b.count,
                min: from_ordered(b.lo),
                max: from_ordered(b.hi),
                at_min: b.at_lo,
                at_max: b.at_hi,
                shift: b.shift as u8,
            })
            .collect();
        Ok(encode(&header, (self.global, self.block), &buckets))
    }

    /// Rebuilds a profile from its stored form (validated), for merging.
    /// A version-1 profile's buckets are placed at the smallest shift that
    /// holds each of them in one bucket.
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
        p.buckets = (0..view.n_buckets())
            .map(|j| Bucket {
                count: view.bucket_count(j),
                lo: ordered(view.bucket_min(j) + 0.0),
                hi: ordered(view.bucket_max(j) + 0.0),
                at_lo: view.count_at_min(j),
                at_hi: view.count_at_max(j),
                shift: view.bucket_shift(j),
            })
            .collect();
        match view.shifts() {
            Some((global, block)) => (p.global, p.block) = (global, block),
            None => {
                // Version 1: each bucket at the smallest shift that holds it;
                // then the profile's shifts as for any other.
                for b in &mut p.buckets {
                    b.shift = shift_joining(b.lo, b.hi);
                }
                p.buckets = merge_runs(&p.buckets, &[]);
                if p.buckets.iter().any(|b| b.shift > 0) {
                    p.block = MIN_BLOCK_SHIFT;
                }
            }
        }
        p.normalise();
        Ok(p)
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

/// An empty profile travels as no bytes (a worker that saw only NULLs).
impl AggregateState for Profile {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Profile::new())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Profile::merge(self, other);
        Ok(())
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        if self.count() == 0 {
            return Ok(Vec::new());
        }
        self.to_bytes()
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Ok(Profile::new());
        }
        Profile::from_bytes(bytes)
    }
}

/// `profile(value)`: one value.
impl Accumulate<f64> for Profile {
    #[inline]
    fn add_row(&mut self, value: f64) -> Result<()> {
        self.add(value)
    }
}

/// `rollup(profile)`: one finished profile.
impl Accumulate<Profile> for Profile {
    fn add_row(&mut self, part: Profile) -> Result<()> {
        Profile::merge(self, &part);
        Ok(())
    }
}

#[cfg(test)]
mod aggregate_state_tests {
    use super::*;
    use crate::aggregate::testing::{serially, split_and_merge};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn profile_split_anywhere(values in prop::collection::vec(-1e6f64..1e6, 0..300), at in 0usize..300) {
            let split: Profile = split_and_merge("profile", &values, at);
            let serial: Profile = serially("profile", &values);
            prop_assert_eq!(split.count(), serial.count());
            if serial.count() > 0 {
                let median = |p: &Profile| {
                    let bytes = p.to_bytes().unwrap();
                    crate::profile::ProfileView::new(&bytes).unwrap().quantile(0.5).unwrap()
                };
                prop_assert_eq!(median(&split), median(&serial));
            }
        }
    }

    #[test]
    fn an_empty_profile_travels_as_no_bytes() {
        let empty = Profile::new();
        assert!(AggregateState::serialize(&empty).unwrap().is_empty());
        assert_eq!(<Profile as AggregateState>::deserialize(&[]).unwrap().count(), 0);
    }
}

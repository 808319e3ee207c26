//! The profile as the `profile` aggregate builds it: moments and logarithmic
//! buckets with their extremes, exact merges, and the stored form.

use super::*;
use crate::error::{finite, HealthError, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Bucket {
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
pub(super) struct Store {
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

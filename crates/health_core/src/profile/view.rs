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
    layout: Layout,
    index: Option<&'a RankIndex>,
}

/// Where the columns of a stored profile start (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    /// The global and block shifts; `None` for version 1, which has none.
    shifts: Option<(u32, u32)>,
    /// Bytes per count: 4 or 8.
    pub(super) width: usize,
    /// Bytes of each count at a bucket's min and max (1, 2, 4 or 8; format 2
    /// sketches only): the smallest that holds the largest of them.
    at_width: usize,
    max_at: usize,
    min_at: usize,
    cumulative_at: usize,
    /// The counts at the extremes; `None` where they are implied (one
    /// value at each end, or all of them when the extremes are equal).
    at_min_at: Option<usize>,
    at_max_at: Option<usize>,
    /// One byte per bucket: its shift (`None`: all 0, or version 1).
    shift_at: Option<usize>,
    /// One value per bucket (format 2 at shift 0).
    exact: bool,
    size: usize,
}

impl Layout {
    /// The layout of `n` buckets holding `count` values, whose counts at a
    /// min or max are at most `largest_at` (ignored when exact).
    pub(super) fn v2(n: usize, exact: bool, count: u64, largest_at: u64) -> Layout {
        let width = if count <= u64::from(u32::MAX) { 4 } else { 8 };
        let at_width = [1, 2, 4, 8]
            .into_iter()
            .find(|&w| w == 8 || largest_at < 1u64 << (8 * w))
            .unwrap_or(8);
        Self::v2_with(n, if exact { (0, 0) } else { (1, 1) }, width, at_width)
    }

    fn v2_with(n: usize, shifts: (u32, u32), width: usize, at_width: usize) -> Layout {
        let max_at = HEADER;
        if shifts.1 == 0 {
            return Layout {
                shifts: Some(shifts),
                width,
                at_width: 0,
                max_at,
                min_at: max_at,
                cumulative_at: max_at + 8 * n,
                at_min_at: None,
                at_max_at: None,
                shift_at: None,
                exact: true,
                size: HEADER + n * (8 + width),
            };
        }
        let cumulative_at = max_at + 16 * n;
        Layout {
            shifts: Some(shifts),
            width,
            at_width,
            max_at,
            min_at: max_at + 8 * n,
            cumulative_at,
            at_min_at: Some(cumulative_at + width * n),
            at_max_at: Some(cumulative_at + (width + at_width) * n),
            shift_at: Some(cumulative_at + (width + 2 * at_width) * n),
            exact: false,
            size: HEADER + n * (17 + width + 2 * at_width),
        }
    }

    pub(super) fn v1(n: usize) -> Layout {
        let h = v1::HEADER;
        Layout {
            shifts: None,
            width: 8,
            at_width: 0,
            max_at: h + 20 * n,
            min_at: h + 12 * n,
            cumulative_at: h + 4 * n,
            at_min_at: None,
            at_max_at: None,
            shift_at: None,
            exact: false,
            size: h + n * v1::BYTES_PER_BUCKET,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }
}

/// The fields every stored form starts with, after its version.
pub(super) struct Header {
    pub(super) count: u64,
    pub(super) negatives: u64,
    /// mean, m2, min, max, log_mean, log_m2.
    pub(super) moments: [f64; 6],
}

impl Header {
    /// Version, bucket count, then the fields: the first 72 bytes of both formats.
    pub(super) fn write(&self, version: u32, n: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.negatives.to_le_bytes());
        for v in self.moments {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// One bucket as format 2 stores it.
pub(super) struct StoredBucket {
    pub(super) count: u64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) at_min: u64,
    pub(super) at_max: u64,
    pub(super) shift: u8,
}

/// The format-2 bytes of a profile (see the module docs), written from its
/// header, shifts and ascending buckets; exact when `block` is 0.
pub(super) fn encode(header: &Header, (global, block): (u32, u32), buckets: &[StoredBucket]) -> Vec<u8> {
    let exact = block == 0;
    let largest_at = buckets.iter().map(|b| b.at_min.max(b.at_max)).max().unwrap_or(0);
    let layout = Layout::v2(buckets.len(), exact, header.count, largest_at);
    let mut out = Vec::with_capacity(layout.size());
    header.write(VERSION, buckets.len(), &mut out);
    for field in [global, block, layout.width as u32, layout.at_width as u32] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    // A count too large for four bytes is written as their largest value,
    // never wrapped, so validation sees the counts disagree.
    let put = |out: &mut Vec<u8>, c: u64| {
        if layout.width == 4 {
            out.extend_from_slice(&(c.min(u64::from(u32::MAX)) as u32).to_le_bytes())
        } else {
            out.extend_from_slice(&c.to_le_bytes())
        }
    };
    for b in buckets {
        out.extend_from_slice(&b.max.to_le_bytes());
    }
    if !exact {
        for b in buckets {
            out.extend_from_slice(&b.min.to_le_bytes());
        }
    }
    let mut cumulative = 0u64;
    for b in buckets {
        cumulative = cumulative.saturating_add(b.count);
        put(&mut out, cumulative);
    }
    if !exact {
        let put_at = |out: &mut Vec<u8>, c: u64| out.extend_from_slice(&c.to_le_bytes()[..layout.at_width]);
        for b in buckets {
            put_at(&mut out, b.at_min);
        }
        for b in buckets {
            put_at(&mut out, b.at_max);
        }
        out.extend(buckets.iter().map(|b| b.shift));
    }
    debug_assert_eq!(out.len(), layout.size());
    out
}

/// A slot table for a profile that is read many times in one query (a
/// stored profile joined to millions of rows): the bucket of a value is
/// found among the few buckets of its slot instead of among all of them.
/// Slots cut the profile's range into equal parts, by value (whole numbers,
/// narrow clusters) or by ordered key (values spread over decades),
/// whichever leaves fewer buckets in the fullest slot.
#[derive(Debug)]
pub struct RankIndex {
    slots: Slots,
    /// The profile it was built for (so a view never uses another's table).
    buckets: usize,
    count: u64,
    min: f64,
    max: f64,
    /// For each slot, and one past the last: the first bucket whose
    /// largest value lies in that slot or above.
    starts: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Slots {
    /// `(v - min) * scale`.
    ByValue { scale: f64 },
    /// `ordered(v) >> shift`, less the first slot.
    ByKey { shift: u32, first: u64 },
}

impl Slots {
    /// The slot of `v`, for `min <= v <= max`.
    #[inline]
    fn of(self, v: f64, min: f64) -> usize {
        match self {
            // >= 0 here, so truncation is floor.
            Slots::ByValue { scale } => ((v - min) * scale) as usize,
            Slots::ByKey { shift, first } => ((ordered(v + 0.0) >> shift) - first) as usize,
        }
    }
}

impl RankIndex {
    /// Slots per bucket, and at most this many in all (64 KiB of table).
    const SLOTS_PER_BUCKET: usize = 4;
    const MAX_SLOTS: usize = 1 << 14;

    /// Memory the table takes.
    pub fn size_in_bytes(&self) -> usize {
        std::mem::size_of::<RankIndex>() + 4 * self.starts.len()
    }

    pub fn build(view: &ProfileView) -> Option<RankIndex> {
        if view.n < 8 || view.min() >= view.max() {
            return None;
        }
        let (min, max) = (view.min(), view.max());
        let wanted = (view.n * Self::SLOTS_PER_BUCKET).clamp(64, Self::MAX_SLOTS);
        let by_value = Slots::ByValue {
            scale: (wanted - 1) as f64 / (max - min),
        };
        let (low, high) = (ordered(min + 0.0), ordered(max + 0.0));
        let mut shift = 0;
        while (high >> shift) - (low >> shift) >= wanted as u64 {
            shift += 1;
        }
        let by_key = Slots::ByKey {
            shift,
            first: low >> shift,
        };
        let table = |slots: Slots| {
            let count = slots.of(max, min) + 1;
            let mut starts = Vec::with_capacity(count + 1);
            let mut j = 0;
            for slot in 0..=count {
                while j < view.n && slots.of(view.bucket_max(j), min) < slot {
                    j += 1;
                }
                starts.push(j as u32);
            }
            let fullest = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
            (starts, fullest)
        };
        let (key_starts, key_fullest) = table(by_key);
        // A range too wide or too narrow for a finite scale is cut by key.
        let (value_starts, value_fullest) = match by_value {
            Slots::ByValue { scale } if scale.is_finite() && scale > 0.0 => table(by_value),
            _ => (Vec::new(), u32::MAX),
        };
        let (slots, starts) = if value_fullest <= key_fullest {
            (by_value, value_starts)
        } else {
            (by_key, key_starts)
        };
        Some(RankIndex {
            slots,
            buckets: view.n,
            count: view.count(),
            min,
            max,
            starts,
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
        if bytes.len() < v1::HEADER {
            return Err(corrupt(format!(
                "{} bytes is shorter than the {}-byte header",
                bytes.len(),
                v1::HEADER
            )));
        }
        let n = u32_at(bytes, 4) as usize;
        let layout = match u32_at(bytes, 0) {
            VERSION if bytes.len() >= HEADER => {
                let (global, block) = (u32_at(bytes, 72), u32_at(bytes, 76));
                let width = u32_at(bytes, 80) as usize;
                let at_width = u32_at(bytes, 84) as usize;
                let at_width_fits = if block == 0 {
                    at_width == 0
                } else {
                    matches!(at_width, 1 | 2 | 4 | 8)
                };
                if global > 63 || block > 63 || !(width == 4 || width == 8) || !at_width_fits {
                    return Err(corrupt(format!(
                        "shifts {global} and {block} with count widths {width} and {at_width} are not a layout"
                    )));
                }
                Layout::v2_with(n, (global, block), width, at_width)
            }
            v1::VERSION => Layout::v1(n),
            VERSION => {
                return Err(corrupt(format!(
                    "{} bytes is shorter than the {HEADER}-byte header",
                    bytes.len()
                )))
            }
            version => {
                return Err(corrupt(format!(
                    "stored format {version} is not one this build of customer_health reads (formats 1 and {VERSION}); \
                     it was written by a newer release: install that release's library"
                )))
            }
        };
        if n > u32::MAX as usize / 64 || bytes.len() != layout.size {
            return Err(corrupt(format!("{} bytes do not hold {n} buckets", bytes.len())));
        }
        Ok(ProfileView {
            bytes,
            n,
            layout,
            index: None,
        })
    }

    pub fn n_buckets(&self) -> usize {
        self.n
    }
    /// The global and block shifts (both 0: exact); `None` for a version-1
    /// profile.
    pub fn shifts(&self) -> Option<(u32, u32)> {
        self.layout.shifts
    }
    /// Whether every rank and quantile is exact (one bucket per value).
    pub fn is_exact(&self) -> bool {
        self.layout.shifts == Some((0, 0))
    }
    /// The shift of bucket `j`: its values' keys agree above that bit.
    pub(super) fn bucket_shift(&self, j: usize) -> u32 {
        match self.layout.shift_at {
            Some(column) => u32::from(self.raw::<1>(column + j)[0]),
            None => 0,
        }
    }
    /// Stored-form version.
    pub fn version(&self) -> u32 {
        u32_at(self.bytes, 0)
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
    fn raw<const N: usize>(&self, at: usize) -> [u8; N] {
        debug_assert!(at + N <= self.bytes.len());
        match self.bytes.get(at..at + N) {
            Some(b) => b.try_into().unwrap_or([0; N]),
            None => [0; N],
        }
    }
    #[inline]
    fn count_in(&self, column: usize, j: usize) -> u64 {
        debug_assert!(j < self.n);
        if self.layout.width == 4 {
            u64::from(u32::from_le_bytes(self.raw(column + 4 * j)))
        } else {
            u64::from_le_bytes(self.raw(column + 8 * j))
        }
    }
    #[inline]
    pub(super) fn cumulative(&self, j: usize) -> u64 {
        self.count_in(self.layout.cumulative_at, j)
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
        f64::from_le_bytes(self.raw(self.layout.min_at + 8 * j))
    }
    #[inline]
    pub(super) fn bucket_max(&self, j: usize) -> f64 {
        debug_assert!(j < self.n);
        f64::from_le_bytes(self.raw(self.layout.max_at + 8 * j))
    }
    /// A count of the at-min or at-max column, `at_width` bytes each.
    #[inline]
    fn count_at(&self, column: usize, j: usize) -> u64 {
        debug_assert!(j < self.n);
        let at = column + self.layout.at_width * j;
        match self.layout.at_width {
            1 => u64::from(u8::from_le_bytes(self.raw(at))),
            2 => u64::from(u16::from_le_bytes(self.raw(at))),
            4 => u64::from(u32::from_le_bytes(self.raw(at))),
            _ => u64::from_le_bytes(self.raw(at)),
        }
    }
    /// How many values of bucket `j` equal its smallest value.
    pub(super) fn count_at_min(&self, j: usize) -> u64 {
        match self.layout.at_min_at {
            Some(column) => self.count_at(column, j),
            None => self.implied_count_at_extreme(j),
        }
    }
    /// How many values of bucket `j` equal its largest value.
    pub(super) fn count_at_max(&self, j: usize) -> u64 {
        match self.layout.at_max_at {
            Some(column) => self.count_at(column, j),
            None => self.implied_count_at_extreme(j),
        }
    }
    /// Exact buckets hold one value; a version-1 bucket is read, as its
    /// releases read it, as one value at each extreme.
    fn implied_count_at_extreme(&self, j: usize) -> u64 {
        if self.bucket_min(j) == self.bucket_max(j) {
            self.bucket_count(j)
        } else {
            1
        }
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
        if let Some((global, block)) = self.layout.shifts {
            let limit = if block == 0 { EXACT_LIMIT } else { SKETCH_LIMIT };
            if self.n > limit {
                return Err(corrupt(format!("{} buckets, at most {limit} fit", self.n)));
            }
            if block == 0 && global != 0 || block != 0 && block < MIN_BLOCK_SHIFT {
                return Err(corrupt(format!("global_shift {global} with block_shift {block}")));
            }
            if self.layout.width == 4 && count > u64::from(u32::MAX) {
                return Err(corrupt("a count above 2^32 needs eight-byte counts"));
            }
        }
        let mut previous_max = f64::NEG_INFINITY;
        let mut negatives = 0;
        for j in 0..self.n {
            let (lo, hi) = (self.bucket_min(j), self.bucket_max(j));
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
            if lo <= previous_max {
                return Err(corrupt(format!("buckets must ascend, bucket {} does not", j + 1)));
            }
            if self.layout.shifts.is_none() {
                let key = i32::from_le_bytes(self.raw(v1::HEADER + 4 * j));
                if v1::key(lo) != key || v1::key(hi) != key {
                    return Err(corrupt(format!(
                        "bucket {} spans more than 1 %: min {} and max {}",
                        j + 1,
                        num(lo),
                        num(hi)
                    )));
                }
            }
            if let Some((_, block)) = self.layout.shifts {
                let shift = self.bucket_shift(j);
                let (low, high) = (ordered(lo + 0.0), ordered(hi + 0.0));
                if shift > block || cell(low, shift) != cell(high, shift) {
                    return Err(corrupt(format!(
                        "bucket {} (min {}, max {}) is not one bucket at its shift {shift}",
                        j + 1,
                        num(lo),
                        num(hi)
                    )));
                }
                if j > 0 {
                    let previous = ordered(previous_max + 0.0);
                    let same_block = cell(previous, block) == cell(low, block);
                    if same_block && (self.bucket_shift(j - 1) != shift || cell(previous, shift) == cell(low, shift)) {
                        return Err(corrupt(format!(
                            "buckets {} and {} share a block but not its shift, or are one bucket",
                            j,
                            j + 1
                        )));
                    }
                }
                let (c, at_min, at_max) = (self.bucket_count(j), self.count_at_min(j), self.count_at_max(j));
                let fits = if lo == hi {
                    at_min == c && at_max == c
                } else {
                    at_min >= 1 && at_max >= 1 && at_min.checked_add(at_max).is_some_and(|ends| ends <= c)
                };
                if !fits {
                    return Err(corrupt(format!(
                        "bucket {} holds {c} values, {at_min} at its min and {at_max} at its max",
                        j + 1
                    )));
                }
            }
            if hi < 0.0 {
                negatives += self.bucket_count(j);
            } else if lo < 0.0 {
                return Err(corrupt(format!("bucket {} holds values of both signs", j + 1)));
            }
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

    /// This view with a lookup table; a table built for another profile
    /// is not used.
    pub fn with_index(self, index: &'a RankIndex) -> Self {
        let fits = self.n > 0
            && index.buckets == self.n
            && index.count == self.count()
            && index.min == self.min()
            && index.max == self.max();
        ProfileView {
            index: fits.then_some(index),
            ..self
        }
    }

    /// The first bucket whose largest value is `>= v` (`n` when none is).
    #[inline]
    pub(super) fn find(&self, v: f64) -> usize {
        let (mut base, mut end) = (0usize, self.n);
        if let Some(index) = self.index {
            if v <= index.min {
                return 0;
            }
            if v > index.max {
                return self.n;
            }
            let at = index.slots.of(v, index.min);
            match (index.starts.get(at), index.starts.get(at + 1)) {
                (Some(&first), Some(&last)) => (base, end) = (first as usize, last as usize),
                _ => return self.n,
            }
        }
        if self.index.is_none() && end > 16 {
            // No table: start where v would lie if the buckets were evenly
            // spread between the extremes (exactly so for whole numbers
            // 0..n), then widen the step until the answer is bracketed.
            let (low, high) = (self.min(), self.max());
            let guess = if v <= low {
                0
            } else if v >= high {
                end - 1
            } else {
                (((v - low) / (high - low)) * (end - 1) as f64) as usize
            };
            let guess = guess.min(end - 1);
            let mut step = 1;
            if self.bucket_max(guess) < v {
                base = guess + 1;
                while base + step < end && self.bucket_max(base + step - 1) < v {
                    base += step;
                    step *= 2;
                }
                end = end.min(base + step);
            } else {
                end = guess + 1;
                while end > step && self.bucket_max(end - step - 1) >= v {
                    end -= step;
                    step *= 2;
                }
                base = end.saturating_sub(step);
            }
        }
        while end - base > 8 {
            let middle = base + (end - base) / 2;
            if self.bucket_max(middle - 1) < v {
                base = middle;
            } else {
                end = middle;
            }
        }
        // The last few are counted without branches.
        base + (base..end).map(|j| usize::from(self.bucket_max(j) < v)).sum::<usize>()
    }

    /// Estimated number of values `<= v` (`strict`: `< v`): exact outside
    /// the bucket of `v` and at its extremes; between them, the values of
    /// the bucket are taken as evenly spread.
    pub(super) fn count_up_to(&self, v: f64, strict: bool) -> u64 {
        let j = self.find(v);
        if j == self.n {
            return self.count();
        }
        if self.layout.exact {
            // One value per bucket.
            return if strict || self.bucket_max(j) > v {
                self.before(j)
            } else {
                self.cumulative(j)
            };
        }
        let (before, lo, hi) = (self.before(j), self.bucket_min(j), self.bucket_max(j));
        if v < lo || (strict && v == lo) {
            return before;
        }
        if v == lo {
            return before + self.count_at_min(j);
        }
        let c = self.bucket_count(j);
        if v == hi {
            return before + if strict { c - self.count_at_max(j) } else { c };
        }
        // lo < v < hi: the `between` values sit at lo + (hi-lo)*i/(between+1).
        let at_min = self.count_at_min(j);
        let between = c - at_min - self.count_at_max(j);
        let x = (v - lo) / (hi - lo) * (between + 1) as f64;
        // x >= 0, so truncation is floor (and no libm call).
        let whole = x as u64;
        let below = if strict {
            (whole + u64::from((whole as f64) < x)).saturating_sub(1)
        } else {
            whole
        };
        before + at_min + below.min(between)
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

    /// The (0-based) `r`-th smallest value: exact at the extremes of its
    /// bucket, evenly spread between them.
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
        let (c, within) = (self.bucket_count(lo), r - self.before(lo));
        let (bmin, bmax) = (self.bucket_min(lo), self.bucket_max(lo));
        if self.layout.shifts.is_none() {
            // Version 1's rule, kept so its profiles answer as they did.
            if c < 2 {
                return bmin;
            }
            return bmin + (bmax - bmin) * (within as f64 / (c - 1) as f64);
        }
        let (at_min, at_max) = (self.count_at_min(lo), self.count_at_max(lo));
        if within < at_min {
            bmin
        } else if within >= c - at_max {
            bmax
        } else {
            let between = c - at_min - at_max;
            bmin + (bmax - bmin) * ((within - at_min + 1) as f64 / (between + 1) as f64)
        }
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
    /// Its name as `scale_profile` and models take it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Percentile => "percentile",
            Method::MinMax => "minmax",
            Method::ZScore => "zscore",
            Method::LogZScore => "log_zscore",
        }
    }

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

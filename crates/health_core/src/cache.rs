//! A bounded cache of typed values, for what a SQL function works out from
//! its arguments (a parsed model, a profile's lookup table, a validated tier
//! scheme) and reuses on the next rows of the same query.
//!
//! Every operation is O(1), whatever the number of entries: a look-up is a
//! hash probe, an entry found moves to the front of a doubly linked
//! least-recently-used list, and the entry evicted is that list's tail. A
//! cache must never make a query slower than no cache at all:
//!
//! - **Bounded**: at most [`Limits::entries`] entries and [`Limits::bytes`]
//!   bytes (as estimated by each value's builder); the least recently used
//!   entry goes first.
//! - **Admission**: a full cache that hardly ever hits (keys that cycle
//!   through more values than it holds, or never repeat) keeps fewer of
//!   the values it builds, down to one in [`MAX_SKIP`], chosen at random.
//!   What it holds then stays long enough to be hit (a share of the keys,
//!   instead of none under pure LRU), and a key seen once costs its build
//!   and a probe, no copy and no eviction. Once the values in use fit
//!   again (a window without evictions) it keeps everything again.
//! - **Typed**: each entry holds its value's `TypeId`, and a look-up only
//!   finds entries of the type it asks for.
//! - **Owned handles** (`Rc`): an entry may be evicted while a caller still
//!   uses its value; the value lives until its last handle goes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// One part of a key (a key has one part per argument it depends on).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    /// The same value on every row of the caller: argument `n` (0-based).
    Argument(u32),
    /// A value stored out of line, by where it is stored (relation, value id).
    Stored(u32, u32),
    /// The value's bytes as passed.
    Bytes(&'a [u8]),
}

#[derive(Debug, PartialEq, Eq)]
enum OwnedPart {
    Argument(u32),
    Stored(u32, u32),
    Bytes(Box<[u8]>),
}

impl OwnedPart {
    fn of(part: &Part) -> OwnedPart {
        match *part {
            Part::Argument(n) => OwnedPart::Argument(n),
            Part::Stored(r, v) => OwnedPart::Stored(r, v),
            Part::Bytes(b) => OwnedPart::Bytes(b.into()),
        }
    }

    fn is(&self, part: &Part) -> bool {
        match (self, part) {
            (OwnedPart::Argument(a), Part::Argument(b)) => a == b,
            (OwnedPart::Stored(r, v), Part::Stored(r2, v2)) => r == r2 && v == v2,
            (OwnedPart::Bytes(a), Part::Bytes(b)) => a[..] == b[..],
            _ => false,
        }
    }
}

/// The bounds of one cache.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 4096,
            bytes: 128 << 20,
        }
    }
}

/// What a cache has done so far (for tests and benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub lookups: u64,
    pub hits: u64,
    /// Values built and kept.
    pub kept: u64,
    /// Values built and handed out without keeping them (admission).
    pub passed: u64,
    pub evicted: u64,
}

/// A fast, non-cryptographic hash (the multiply-rotate of rustc's FxHash):
/// keys come from the query's own arguments, and a look-up runs per row.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// The index's keys are those hashes already: it hashes them no further.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn hash_key(kind: TypeId, parts: &[Part]) -> u64 {
    let mut h = FastHasher::default();
    kind.hash(&mut h);
    for part in parts {
        match *part {
            Part::Argument(n) => (0u8, n).hash(&mut h),
            Part::Stored(r, v) => (1u8, r, v).hash(&mut h),
            Part::Bytes(b) => (2u8, b).hash(&mut h),
        }
    }
    h.finish()
}

/// No entry (the end of a list).
const NIL: u32 = u32::MAX;

struct Entry {
    kind: TypeId,
    hash: u64,
    key: Box<[OwnedPart]>,
    value: Rc<dyn Any>,
    bytes: usize,
    /// The least-recently-used list, newest first.
    newer: u32,
    older: u32,
    /// The next entry whose key has the same hash (rare, but possible).
    same_hash: u32,
}

impl Entry {
    fn is(&self, kind: TypeId, key: &[Part]) -> bool {
        self.kind == kind && self.key.len() == key.len() && self.key.iter().zip(key).all(|(o, p)| o.is(p))
    }
}

/// Look-ups per admission window.
const WINDOW: u32 = 1024;
/// The fewest a full, missing cache keeps: one value in this many.
pub const MAX_SKIP: u32 = 64;

/// How many of the values built a full cache keeps, from its hit rate.
struct Admission {
    lookups: u32,
    hits: u32,
    /// Whether the cache evicted during this window (it is full).
    evicted: bool,
    /// Keep one built value in `one_in`.
    one_in: u32,
    /// xorshift state: which values are kept is random, so that no cycle
    /// of keys lines up with it.
    random: u64,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            lookups: 0,
            hits: 0,
            evicted: false,
            one_in: 1,
            random: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Admission {
    fn record(&mut self, hit: bool) {
        self.lookups += 1;
        self.hits += u32::from(hit);
        if self.lookups == WINDOW {
            // Under half the look-ups hit while entries were evicted: keeping
            // every value only pushes out others before they are used again,
            // so keep fewer. With fewer kept, what is held stays and is hit;
            // that share stays while entries still go (keeping everything
            // again would restart the churn). A window without evictions:
            // the values in use all fit, keep everything.
            if !self.evicted {
                self.one_in = 1;
            } else if self.hits < WINDOW / 2 {
                self.one_in = (self.one_in * 2).min(MAX_SKIP);
            }
            *self = Admission {
                one_in: self.one_in,
                random: self.random,
                ..Admission::default()
            };
        }
    }

    fn keep(&mut self, full: bool) -> bool {
        if !full || self.one_in == 1 {
            return true;
        }
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random.is_multiple_of(u64::from(self.one_in))
    }
}

/// The cache. See the module's documentation.
pub struct Cache {
    limits: Limits,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    /// hash of the key -> the first entry with that hash.
    index: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    newest: u32,
    oldest: u32,
    len: usize,
    bytes: usize,
    /// The entry found or kept last: rows that repeat the last value (the
    /// common case) compare one key and take it, without hashing.
    last: u32,
    admission: Admission,
    stats: Stats,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new(Limits::default())
    }
}

impl Cache {
    pub fn new(limits: Limits) -> Cache {
        Cache {
            limits,
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::default(),
            newest: NIL,
            oldest: NIL,
            len: 0,
            bytes: 0,
            last: NIL,
            admission: Admission::default(),
            stats: Stats::default(),
        }
    }

    /// The value for `key`, built by `build` when missing (and kept, unless
    /// admission passes it on); `build` returns the value and its size in
    /// bytes, for the bound.
    pub fn get_or_build<T: 'static>(&mut self, key: &[Part], build: impl FnOnce() -> (T, usize)) -> Rc<T> {
        let kind = TypeId::of::<T>();
        self.stats.lookups += 1;
        let mut hash = None;
        let mut found = self.entry(self.last).filter(|e| e.is(kind, key)).map(|_| self.last);
        if found.is_none() {
            let h = hash_key(kind, key);
            hash = Some(h);
            found = self.find(h, kind, key);
        }
        if let Some(slot) = found {
            if let Some(value) = self.entry(slot).and_then(|e| e.value.clone().downcast::<T>().ok()) {
                self.stats.hits += 1;
                self.admission.record(true);
                self.touch(slot);
                self.last = slot;
                return value;
            }
        }
        self.admission.record(false);
        let (value, bytes) = build();
        let value = Rc::new(value);
        let full = self.len >= self.limits.entries || self.bytes + bytes > self.limits.bytes;
        if bytes > self.limits.bytes || !self.admission.keep(full) {
            self.stats.passed += 1;
            return value;
        }
        self.make_room(bytes);
        let hash = hash.unwrap_or_else(|| hash_key(kind, key));
        self.insert(Entry {
            kind,
            hash,
            key: key.iter().map(OwnedPart::of).collect(),
            value: value.clone(),
            bytes,
            newer: NIL,
            older: NIL,
            same_hash: NIL,
        });
        self.stats.kept += 1;
        value
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held now, as the builders estimated them.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    fn find(&self, hash: u64, kind: TypeId, key: &[Part]) -> Option<u32> {
        let mut slot = *self.index.get(&hash)?;
        while let Some(entry) = self.entry(slot) {
            if entry.is(kind, key) {
                return Some(slot);
            }
            slot = entry.same_hash;
        }
        None
    }

    /// Takes `slot` out of the least-recently-used list.
    fn unlink(&mut self, slot: u32) {
        let Some((newer, older)) = self.entry(slot).map(|e| (e.newer, e.older)) else {
            return;
        };
        match self.entry_mut(newer) {
            Some(e) => e.older = older,
            None => self.newest = older,
        }
        match self.entry_mut(older) {
            Some(e) => e.newer = newer,
            None => self.oldest = newer,
        }
    }

    /// Puts `slot` at the front of the least-recently-used list.
    fn push_newest(&mut self, slot: u32) {
        let previous = self.newest;
        if let Some(e) = self.entry_mut(slot) {
            e.newer = NIL;
            e.older = previous;
        }
        match self.entry_mut(previous) {
            Some(e) => e.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }

    fn touch(&mut self, slot: u32) {
        if self.newest != slot {
            self.unlink(slot);
            self.push_newest(slot);
        }
    }

    fn insert(&mut self, mut entry: Entry) {
        let hash = entry.hash;
        let bytes = entry.bytes;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        entry.same_hash = self.index.insert(hash, slot).unwrap_or(NIL);
        self.slots[slot as usize] = Some(entry);
        self.push_newest(slot);
        self.len += 1;
        self.bytes += bytes;
        self.last = slot;
    }

    /// Evicts least recently used entries until one more of `bytes` fits.
    fn make_room(&mut self, bytes: usize) {
        while self.len > 0 && (self.len >= self.limits.entries || self.bytes + bytes > self.limits.bytes) {
            self.evict(self.oldest);
        }
    }

    fn evict(&mut self, slot: u32) {
        self.unlink(slot);
        let Some(gone) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        // Out of its hash's chain: usually the chain is this entry alone.
        if self.index.get(&gone.hash) == Some(&slot) {
            if gone.same_hash == NIL {
                self.index.remove(&gone.hash);
            } else {
                self.index.insert(gone.hash, gone.same_hash);
            }
        } else {
            let mut at = self.index.get(&gone.hash).copied().unwrap_or(NIL);
            while let Some(e) = self.entry_mut(at) {
                if e.same_hash == slot {
                    e.same_hash = gone.same_hash;
                    break;
                }
                at = e.same_hash;
            }
        }
        self.free.push(slot);
        self.len -= 1;
        self.bytes -= gone.bytes;
        if self.last == slot {
            self.last = NIL;
        }
        self.admission.evicted = true;
        self.stats.evicted += 1;
    }

    /// Checks the structure's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut seen = 0;
        let mut bytes = 0;
        let mut slot = self.newest;
        let mut newer = NIL;
        while slot != NIL {
            let e = self.entry(slot).expect("listed entries exist");
            assert_eq!(e.newer, newer);
            let mut at = *self.index.get(&e.hash).expect("indexed");
            while at != slot {
                at = self.entry(at).expect("chained").same_hash;
                assert_ne!(at, NIL, "an entry is in its hash's chain");
            }
            seen += 1;
            bytes += e.bytes;
            newer = slot;
            slot = e.older;
        }
        assert_eq!(self.oldest, newer);
        assert_eq!((seen, bytes), (self.len, self.bytes));
        assert_eq!(self.slots.iter().filter(|s| s.is_some()).count(), self.len);
        assert!(self.len <= self.limits.entries && self.bytes <= self.limits.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn small() -> Cache {
        Cache::new(Limits {
            entries: 64,
            bytes: 1 << 20,
        })
    }

    #[test]
    fn typed_entries_owned_handles_and_a_least_recently_used_bound() {
        let mut cache = Cache::new(Limits::default());
        let kept = cache.get_or_build(&[Part::Bytes(b"first")], || (String::from("first value"), 16));
        // Same key, other type: another entry.
        let other = cache.get_or_build(&[Part::Bytes(b"first")], || (7u32, 4));
        assert_eq!((kept.as_str(), *other), ("first value", 7));
        // A hit builds nothing.
        let again = cache.get_or_build(&[Part::Bytes(b"first")], || -> (String, usize) { unreachable!() });
        assert!(Rc::ptr_eq(&again, &kept));
        // Thousands of keys: the bound holds, the one in use survives, the
        // oldest unused goes, and a handle outlives its entry's eviction.
        let entries = Limits::default().entries;
        for i in 0..entries + 100 {
            let key = i.to_le_bytes();
            cache.get_or_build(&[Part::Bytes(&key)], || (i, 8));
            cache.get_or_build(&[Part::Bytes(b"first")], || -> (String, usize) { unreachable!() });
        }
        cache.check();
        assert_eq!(cache.len(), entries);
        assert_eq!(kept.as_str(), "first value");
        let mut rebuilt = false;
        cache.get_or_build(&[Part::Bytes(&0usize.to_le_bytes())], || {
            rebuilt = true;
            (0usize, 8)
        });
        assert!(rebuilt, "the least recently used entry was evicted");
        // The byte bound: one huge entry evicts what it needs to.
        let bytes = Limits::default().bytes;
        cache.get_or_build(&[Part::Stored(1, 2)], || (vec![0u8; 16], bytes - 100));
        cache.check();
        assert!(cache.bytes() <= bytes && cache.len() <= 100);
        // A value larger than the whole cache is handed out, not kept.
        let before = cache.stats();
        let huge = cache.get_or_build(&[Part::Stored(1, 3)], || (1u8, bytes + 1));
        assert_eq!((*huge, cache.stats().passed), (1, before.passed + 1));
        cache.check();
    }

    #[test]
    fn least_recently_used_goes_first() {
        let mut cache = small();
        for i in 0..64u32 {
            cache.get_or_build(&[Part::Argument(i)], || (i, 1));
        }
        // Touch the oldest; the next insertion evicts the second oldest.
        cache.get_or_build(&[Part::Argument(0)], || -> (u32, usize) { unreachable!() });
        cache.get_or_build(&[Part::Argument(100)], || (100, 1));
        cache.check();
        let mut built = vec![];
        for i in [2u32, 0, 1] {
            cache.get_or_build(&[Part::Argument(i)], || {
                built.push(i);
                (i, 1)
            });
        }
        assert_eq!(built, vec![1]);
    }

    #[test]
    fn a_full_cache_that_never_hits_stops_keeping() {
        let mut cache = small();
        for i in 0..100_000u64 {
            let key = i.to_le_bytes();
            cache.get_or_build(&[Part::Bytes(&key)], || (i, 8));
        }
        cache.check();
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.kept + stats.passed), (0, 100_000));
        // From the second window on, at most one in MAX_SKIP (plus noise) is kept.
        assert!(
            stats.kept < 100_000 / u64::from(MAX_SKIP) * 2 + 3 * u64::from(WINDOW),
            "{stats:?}"
        );
    }

    #[test]
    fn keys_cycling_through_more_than_fit_still_hit() {
        // 64 entries, 256 keys in a cycle: least-recently-used alone never
        // hits; with admission about a quarter of the look-ups hit.
        let mut cache = small();
        for _round in 0..400 {
            for k in 0..256u32 {
                cache.get_or_build(&[Part::Argument(k)], || (k, 1));
            }
        }
        cache.check();
        let stats = cache.stats();
        let rate = stats.hits as f64 / stats.lookups as f64;
        assert!(rate > 0.15, "{stats:?}");
        // Just over what fits (80 keys, 64 entries): most look-ups hit (none
        // would under least-recently-used alone).
        let mut cache = small();
        for _round in 0..2000 {
            for k in 0..80u32 {
                cache.get_or_build(&[Part::Argument(k)], || (k, 1));
            }
        }
        let stats = cache.stats();
        let rate = stats.hits as f64 / stats.lookups as f64;
        assert!(rate > 0.5, "{stats:?}");
    }

    #[test]
    fn hits_bring_back_keeping_everything() {
        let mut cache = small();
        for i in 0..20_000u64 {
            cache.get_or_build(&[Part::Bytes(&i.to_le_bytes())], || (i, 8));
        }
        // Now a working set that fits: within a few windows every key is kept and hit.
        for _ in 0..200 {
            for k in 0..32u32 {
                cache.get_or_build(&[Part::Argument(k)], || (k, 1));
            }
        }
        let before = cache.stats();
        for k in 0..32u32 {
            cache.get_or_build(&[Part::Argument(k)], || (k, 1));
        }
        assert_eq!(cache.stats().hits, before.hits + 32);
        cache.check();
    }

    proptest! {
        /// Whatever the sequence, every look-up returns the value built for
        /// its key and type, and the structure stays consistent and bounded.
        #[test]
        fn values_always_match_their_keys(
            ops in prop::collection::vec((0u8..40, any::<bool>(), 1usize..400), 1..3000),
            entries in 1usize..24,
        ) {
            let mut cache = Cache::new(Limits { entries, bytes: 2000 });
            for (key, typed_u64, size) in ops {
                // Parts of differing shapes, some keys sharing a byte prefix.
                let bytes = [key % 7, key];
                let parts = [Part::Bytes(&bytes[..1 + usize::from(key % 2)]), Part::Argument(u32::from(key % 3))];
                if typed_u64 {
                    let v = cache.get_or_build(&parts, || (u64::from(key) * 10, size));
                    prop_assert_eq!(*v, u64::from(key) * 10);
                } else {
                    let v = cache.get_or_build(&parts, || (format!("k{key}"), size));
                    prop_assert_eq!(v.as_str(), format!("k{key}"));
                }
                cache.check();
            }
        }
    }

    #[test]
    fn equal_hashes_chain() {
        // Force collisions through the index directly: entries with the same
        // hash but different keys are all found and evicted cleanly.
        let mut cache = small();
        let kind = TypeId::of::<u32>();
        for i in 0..10u32 {
            cache.make_room(1);
            cache.insert(Entry {
                kind,
                hash: 42,
                key: vec![OwnedPart::Argument(i)].into(),
                value: Rc::new(i),
                bytes: 1,
                newer: NIL,
                older: NIL,
                same_hash: NIL,
            });
        }
        cache.check();
        for i in 0..10u32 {
            assert!(cache.find(42, kind, &[Part::Argument(i)]).is_some());
        }
        let middle = cache.find(42, kind, &[Part::Argument(5)]).unwrap_or(NIL);
        cache.evict(middle);
        cache.check();
        assert!(cache.find(42, kind, &[Part::Argument(5)]).is_none());
        assert!(cache.find(42, kind, &[Part::Argument(4)]).is_some());
        assert!(cache.find(42, kind, &[Part::Argument(6)]).is_some());
    }
}

//! One cache per call site: what a function works out from its arguments
//! (a parsed model, a detoasted profile with its lookup table, a validated
//! tier scheme, a resolved catalogue model) is kept for the rest of the query
//! in `flinfo->fn_extra`, so a million rows that pass the same value pay for
//! it once. This module is the only user of `fn_extra`.
//!
//! - **Keys** say what the value is, without decoding it: an argument
//!   PostgreSQL promises is the same on every row (a constant, a query
//!   parameter) is keyed by its position; a value stored out of line is
//!   keyed by its TOAST pointer, so it is neither fetched nor decompressed
//!   again; anything else by its bytes as they are (compressed or not),
//!   hashed, and compared in full on a hit.
//! - **Entries are typed**: each holds its value's `TypeId`, and a lookup
//!   only finds entries of the type it asks for.
//! - **Handles are owned** (`Rc`): an entry may be evicted while a caller
//!   still uses its value; the value lives until the last handle goes.
//! - **Bounded**: at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes
//!   (as estimated by the builder); the least recently used entry goes
//!   first, so thousands of segments keep the hot ones, and a query that
//!   sees each value once pays one build per row, never more.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

use pgrx::pg_sys;

pub const MAX_ENTRIES: usize = 4096;
pub const MAX_BYTES: usize = 128 << 20;

/// One part of a key (a key has one part per argument it depends on).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    /// The same value on every row of this call site: argument `n` (0-based).
    Stable(u32),
    /// A value stored out of line: (TOAST relation, value id).
    Toast(u32, u32),
    /// The value's bytes as passed (a varlena's whole datum, or plain bytes).
    Bytes(&'a [u8]),
}

#[derive(Debug, PartialEq, Eq)]
enum OwnedPart {
    Stable(u32),
    Toast(u32, u32),
    Bytes(Box<[u8]>),
}

impl OwnedPart {
    fn of(part: &Part) -> OwnedPart {
        match *part {
            Part::Stable(n) => OwnedPart::Stable(n),
            Part::Toast(r, v) => OwnedPart::Toast(r, v),
            Part::Bytes(b) => OwnedPart::Bytes(b.into()),
        }
    }

    fn is(&self, part: &Part) -> bool {
        match (self, part) {
            (OwnedPart::Stable(a), Part::Stable(b)) => a == b,
            (OwnedPart::Toast(r, v), Part::Toast(r2, v2)) => r == r2 && v == v2,
            (OwnedPart::Bytes(a), Part::Bytes(b)) => a[..] == b[..],
            _ => false,
        }
    }
}

/// A fast, non-cryptographic hash (the multiply-rotate of rustc's FxHash):
/// keys come from the query's own arguments, and a lookup runs per row.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
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

/// The map's keys are those hashes already: it hashes them no further.
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
            Part::Stable(n) => (0u8, n).hash(&mut h),
            Part::Toast(r, v) => (1u8, r, v).hash(&mut h),
            Part::Bytes(b) => (2u8, b).hash(&mut h),
        }
    }
    h.finish()
}

struct Entry {
    kind: TypeId,
    hash: u64,
    key: Vec<OwnedPart>,
    value: Rc<dyn Any>,
    bytes: usize,
    last_used: u64,
}

impl Entry {
    fn is(&self, kind: TypeId, key: &[Part]) -> bool {
        self.kind == kind && same_key(&self.key, key)
    }
}

/// Up to this many entries a lookup scans them (cheaper than hashing the
/// key); beyond, it goes through a hash index.
const SCAN_UP_TO: usize = 16;

type Index = HashMap<u64, Vec<usize>, BuildHasherDefault<PassThrough>>;

/// The cache of one call site.
#[derive(Default)]
pub struct CallSite {
    entries: Vec<Entry>,
    /// hash of the key -> positions in `entries`, once there are many.
    index: Option<Index>,
    bytes: usize,
    clock: u64,
    /// The position of the last entry found or built: rows that repeat the
    /// last value (the common case) compare one key and take it.
    last: Option<usize>,
    /// Per argument: whether PostgreSQL says it is the same on every row
    /// (0 = not asked yet, 1 = yes, 2 = no). The expression does not change
    /// within a query, so each argument is asked once.
    stable: [u8; 8],
}

impl CallSite {
    /// The cache of the function being called, made on its first call.
    ///
    /// # Safety
    /// `fcinfo` is the live call information of the current call, and the
    /// function's `fn_extra` is used by this module only (so it holds a
    /// `CallSite` allocated here, or nothing). The reference must not be
    /// kept beyond the current call.
    pub unsafe fn of<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CallSite {
        // SAFETY: per the contract above; the CallSite is allocated in
        // fn_mcxt, which outlives every call made through this flinfo, and
        // dropped when that context goes.
        unsafe {
            let flinfo = (*fcinfo).flinfo;
            if (*flinfo).fn_extra.is_null() {
                let site = pgrx::PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(CallSite::default());
                (*flinfo).fn_extra = site as *mut std::ffi::c_void;
            }
            &mut *((*flinfo).fn_extra as *mut CallSite)
        }
    }

    /// The value for `key`, built (and kept) by `build` when missing;
    /// `build` returns the value and its size in bytes, for the bound.
    pub fn get_or_build<T: 'static>(&mut self, key: &[Part], build: impl FnOnce() -> (T, usize)) -> Rc<T> {
        let kind = TypeId::of::<T>();
        self.clock += 1;
        let found = match self.last {
            Some(i) if self.entries.get(i).is_some_and(|e| e.is(kind, key)) => Some(i),
            _ => self.position(kind, key),
        };
        if let Some(i) = found {
            let entry = &mut self.entries[i];
            entry.last_used = self.clock;
            if let Ok(value) = entry.value.clone().downcast::<T>() {
                self.last = Some(i);
                return value;
            }
        }
        let (value, bytes) = build();
        let value = Rc::new(value);
        self.make_room(bytes);
        let hash = hash_key(kind, key);
        self.entries.push(Entry {
            kind,
            hash,
            key: key.iter().map(OwnedPart::of).collect(),
            value: value.clone(),
            bytes,
            last_used: self.clock,
        });
        let i = self.entries.len() - 1;
        self.bytes += bytes;
        match &mut self.index {
            Some(index) => index.entry(hash).or_default().push(i),
            None if self.entries.len() > SCAN_UP_TO => self.reindex(),
            None => {}
        }
        self.last = Some(i);
        value
    }

    fn position(&self, kind: TypeId, key: &[Part]) -> Option<usize> {
        match &self.index {
            None => self.entries.iter().position(|e| e.is(kind, key)),
            Some(index) => index
                .get(&hash_key(kind, key))?
                .iter()
                .copied()
                .find(|&i| self.entries[i].is(kind, key)),
        }
    }

    fn reindex(&mut self) {
        let mut index = Index::default();
        for (i, e) in self.entries.iter().enumerate() {
            index.entry(e.hash).or_default().push(i);
        }
        self.index = Some(index);
    }

    /// Evicts least recently used entries until one more of `bytes` fits.
    fn make_room(&mut self, bytes: usize) {
        let mut evicted = false;
        while !self.entries.is_empty() && (self.entries.len() >= MAX_ENTRIES || self.bytes + bytes > MAX_BYTES) {
            let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].last_used) else {
                break;
            };
            let gone = self.entries.swap_remove(oldest);
            self.bytes -= gone.bytes;
            evicted = true;
        }
        if evicted {
            self.last = None;
            if self.index.is_some() {
                self.reindex();
            }
        }
    }

    /// Whether argument `argno` is the same on every row of this call site.
    fn is_stable(&mut self, fcinfo: pg_sys::FunctionCallInfo, argno: u32) -> bool {
        // SAFETY: fcinfo is the live call information (CallSite::of's contract).
        let ask = || unsafe { pg_sys::get_fn_expr_arg_stable((*fcinfo).flinfo, argno as i32) };
        match self.stable.get_mut(argno as usize) {
            Some(known @ 0) => {
                // SAFETY: fcinfo is the live call information (CallSite::of's contract).
                let stable = ask();
                *known = if stable { 1 } else { 2 };
                stable
            }
            Some(known) => *known == 1,
            None => ask(),
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

fn same_key(owned: &[OwnedPart], key: &[Part]) -> bool {
    owned.len() == key.len() && owned.iter().zip(key).all(|(o, p)| o.is(p))
}

/// `bytes` as the key part of argument `argno`, or its position when
/// PostgreSQL says the argument is the same on every row.
///
/// # Safety
/// `fcinfo` is the live call information of the current call.
pub unsafe fn stable_or_bytes(fcinfo: pg_sys::FunctionCallInfo, argno: u32, bytes: &[u8]) -> Part<'_> {
    // SAFETY: per the contract.
    if unsafe { CallSite::of(fcinfo) }.is_stable(fcinfo, argno) {
        Part::Stable(argno)
    } else {
        Part::Bytes(bytes)
    }
}

/// The key part of varlena argument `argno` (0-based) with raw datum
/// `datum`: its position when PostgreSQL says it is the same on every row,
/// its TOAST pointer when it is stored out of line, else its bytes as they
/// are (not detoasted: equal bytes are an equal value; equal values with
/// different bytes only cost a second entry).
///
/// # Safety
/// `fcinfo` is the live call information and `datum` is the non-NULL
/// varlena passed as argument `argno`, valid for `'a`.
pub unsafe fn varlena_part<'a>(fcinfo: pg_sys::FunctionCallInfo, argno: u32, datum: pg_sys::Datum) -> Part<'a> {
    // SAFETY: per the contract; the TOAST pointer is read with pgrx's
    // helpers for PostgreSQL's varatt macros.
    unsafe {
        let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
        if CallSite::of(fcinfo).is_stable(fcinfo, argno) {
            return Part::Stable(argno);
        }
        if pgrx::varlena::varatt_is_1b_e(ptr)
            && u32::from(pgrx::varlena::vartag_external(ptr)) == pg_sys::vartag_external::VARTAG_ONDISK
        {
            let external = std::ptr::read_unaligned(pgrx::varlena::vardata_1b_e(ptr) as *const pg_sys::varatt_external);
            return Part::Toast(u32::from(external.va_toastrelid), u32::from(external.va_valueid));
        }
        if pgrx::varlena::varatt_is_1b_e(ptr) {
            // an in-memory external value (expanded or indirect): its bytes
            let flat = pg_sys::pg_detoast_datum_packed(ptr);
            return Part::Bytes(std::slice::from_raw_parts(
                flat as *const u8,
                pgrx::varlena::varsize_any(flat),
            ));
        }
        Part::Bytes(std::slice::from_raw_parts(
            ptr as *const u8,
            pgrx::varlena::varsize_any(ptr),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_entries_owned_handles_and_a_least_recently_used_bound() {
        let mut site = CallSite::default();
        let kept = site.get_or_build(&[Part::Bytes(b"first")], || (String::from("first value"), 16));
        // Same key, other type: another entry.
        let other = site.get_or_build(&[Part::Bytes(b"first")], || (7u32, 4));
        assert_eq!((kept.as_str(), *other), ("first value", 7));
        // A hit builds nothing.
        let again = site.get_or_build(&[Part::Bytes(b"first")], || -> (String, usize) { unreachable!() });
        assert!(Rc::ptr_eq(&again, &kept));
        // Thousands of keys: the bound holds, the one in use survives, the
        // oldest unused goes, and a handle outlives its entry's eviction.
        for i in 0..MAX_ENTRIES + 100 {
            let key = i.to_le_bytes();
            site.get_or_build(&[Part::Bytes(&key)], || (i, 8));
            site.get_or_build(&[Part::Bytes(b"first")], || -> (String, usize) { unreachable!() });
        }
        assert_eq!(site.len(), MAX_ENTRIES);
        assert_eq!(kept.as_str(), "first value");
        let mut rebuilt = false;
        site.get_or_build(&[Part::Bytes(&0usize.to_le_bytes())], || {
            rebuilt = true;
            (0usize, 8)
        });
        assert!(rebuilt, "the least recently used entry was evicted");
        // The byte bound: one huge entry evicts what it needs to.
        site.get_or_build(&[Part::Toast(1, 2)], || (vec![0u8; 16], MAX_BYTES - 100));
        assert!(site.bytes <= MAX_BYTES);
        assert!(site.len() <= MAX_ENTRIES);
    }
}

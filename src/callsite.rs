//! One cache per call site: what a function works out from its arguments
//! (a parsed model, a detoasted profile with its lookup table, a validated
//! tier scheme, a resolved catalogue model) is kept for the rest of the query
//! in `flinfo->fn_extra`, so a million rows that pass the same value pay for
//! it once. This module is the only user of `fn_extra`; the cache itself
//! (bounded, typed, O(1) per look-up, insertion and eviction, and keeping
//! fewer values when it hardly ever hits) is `health_core::cache`.
//!
//! Keys say what the value is, without decoding it: an argument PostgreSQL
//! promises is the same on every row (a constant, a query parameter) is
//! keyed by its position; a value stored out of line is keyed by its TOAST
//! pointer, so it is neither fetched nor decompressed again; anything else
//! by its bytes as they are (compressed or not), hashed, and compared in
//! full on a hit.

use std::rc::Rc;

use health_core::cache::Cache;
pub use health_core::cache::Part;
use pgrx::pg_sys;

/// The cache of one call site.
#[derive(Default)]
pub struct CallSite {
    cache: Cache,
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

    /// The value for `key`, built by `build` when missing; `build` returns
    /// the value and its size in bytes, for the cache's bound.
    pub fn get_or_build<T: 'static>(&mut self, key: &[Part], build: impl FnOnce() -> (T, usize)) -> Rc<T> {
        self.cache.get_or_build(key, build)
    }

    /// Whether argument `argno` is the same on every row of this call site.
    fn is_stable(&mut self, fcinfo: pg_sys::FunctionCallInfo, argno: u32) -> bool {
        // SAFETY: fcinfo is the live call information (CallSite::of's contract).
        let ask = || unsafe { pg_sys::get_fn_expr_arg_stable((*fcinfo).flinfo, argno as i32) };
        match self.stable.get_mut(argno as usize) {
            Some(known @ 0) => {
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
        self.cache.len()
    }
}

/// `bytes` as the key part of argument `argno`, or its position when
/// PostgreSQL says the argument is the same on every row.
///
/// # Safety
/// `fcinfo` is the live call information of the current call.
pub unsafe fn stable_or_bytes(fcinfo: pg_sys::FunctionCallInfo, argno: u32, bytes: &[u8]) -> Part<'_> {
    // SAFETY: per the contract.
    if unsafe { CallSite::of(fcinfo) }.is_stable(fcinfo, argno) {
        Part::Argument(argno)
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
            return Part::Argument(argno);
        }
        if pgrx::varlena::varatt_is_1b_e(ptr)
            && u32::from(pgrx::varlena::vartag_external(ptr)) == pg_sys::vartag_external::VARTAG_ONDISK
        {
            let external = std::ptr::read_unaligned(pgrx::varlena::vardata_1b_e(ptr) as *const pg_sys::varatt_external);
            return Part::Stored(u32::from(external.va_toastrelid), u32::from(external.va_valueid));
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

//! Plumbing shared by the `internal`-state aggregates: states live in the
//! aggregate's memory context, not the per-row one (or PostgreSQL frees them
//! between rows), and everything a state allocates as it grows lives there
//! too (see `memory.rs`), so hash aggregation sees it. pgrx 0.18's
//! #[pg_aggregate] cannot build parallel internal-state aggregates, so we
//! declare them in SQL.

use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

use crate::errors::raise;
use crate::memory;

/// The aggregate memory context of this call; an error when a support
/// function is called outside an aggregate.
fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo, function: &str) -> pg_sys::MemoryContext {
    let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: fcinfo is the live call info PostgreSQL passed to us.
    let is_aggregate = unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) };
    if is_aggregate == 0 || context.is_null() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{function} can only be called as part of an aggregate")
        );
    }
    context
}

/// Copies a plain-data `state` into the aggregate memory context: no Rust
/// allocation and no drop callback, so a million groups cost a million
/// pallocs and nothing at reset.
pub fn new_plain_state<T: Copy>(fcinfo: pg_sys::FunctionCallInfo, function: &str, state: T) -> Internal {
    let context = aggregate_context(fcinfo, function);
    // SAFETY: palloc returns memory aligned for any type (MAXALIGN), sized for T.
    unsafe {
        let ptr = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<T>()) as *mut T;
        ptr.write(state);
        Internal::from(Some(pg_sys::Datum::from(ptr)))
    }
}

/// The state behind an `internal` argument, if any.
///
/// SAFETY: the caller names the type it stored with [`update`] for this
/// aggregate; PostgreSQL hands each aggregate only its own states.
pub unsafe fn state_mut<T>(state: &mut Internal) -> Option<&mut T> {
    unsafe { state.get_mut::<T>() }
}

/// The transition step: makes the state with `init` on a group's first row,
/// then applies `step`. Both run with the Rust heap in the aggregate's
/// memory context, so all the state allocates is counted against
/// `work_mem` by hash aggregation and freed with the group; an error is
/// raised (naming `function`) only after leaving it.
///
/// SAFETY: `T` is the only type this aggregate stores in `state`.
pub unsafe fn update<T>(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    mut state: Internal,
    init: impl FnOnce() -> Result<T, HealthError>,
    step: impl FnOnce(&mut T) -> Result<(), HealthError>,
) -> Option<Internal> {
    let context = aggregate_context(fcinfo, function);
    // SAFETY: what init and step allocate belongs to the state, which lives
    // in `context` (an existing one, or the one made here).
    let outcome = unsafe {
        memory::in_context(context, || match state.get_mut::<T>() {
            Some(existing) => step(existing).map(|()| state),
            None => {
                let mut fresh = init()?;
                step(&mut fresh)?;
                Ok(PgMemoryContexts::For(context).switch_to(|_| Internal::new(fresh)))
            }
        })
    };
    Some(outcome.unwrap_or_else(|e| raise(function, e)))
}

/// Combine step shared by all our aggregates: fold `other` into `current`,
/// or copy `other` into the aggregate context when `current` is empty
/// (PostgreSQL may hand us an `other` that lives in a shorter-lived context).
/// Runs in the aggregate's memory context, as [`update`] does.
pub fn combine<T: Clone>(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    mut current: Internal,
    mut other: Internal,
    merge: impl FnOnce(&mut T, &T) -> Result<(), HealthError>,
) -> Option<Internal> {
    let context = aggregate_context(fcinfo, function);
    // SAFETY: both states were made by this aggregate's own functions; what
    // the merge allocates belongs to `current`, in `context`.
    let outcome = unsafe {
        memory::in_context(context, || {
            let other_state = state_mut::<T>(&mut other);
            match (state_mut::<T>(&mut current), other_state) {
                (Some(cur), Some(oth)) => merge(cur, oth).map(|()| Some(current)),
                (Some(_), None) => Ok(Some(current)),
                (None, Some(oth)) => {
                    let copy = oth.clone();
                    Ok(Some(PgMemoryContexts::For(context).switch_to(|_| Internal::new(copy))))
                }
                (None, None) => Ok(None),
            }
        })
    };
    outcome.unwrap_or_else(|e| raise(function, e))
}

/// The largest serial state a parallel worker may hand over, in bytes: one
/// value of PostgreSQL can hold 1 GB (less its 4-byte header);
/// `customer_health.max_state_size` lowers it (to test this limit without
/// gigabytes of data).
pub static MAX_STATE_SIZE: pgrx::GucSetting<i32> = pgrx::GucSetting::<i32>::new(MAX_VALUE_BYTES);
const MAX_VALUE_BYTES: i32 = 0x3FFF_FFFB; // MaxAllocSize - VARHDRSZ

/// The serial form of a state of `rows` rows must fit in one value: a clear
/// error naming the aggregate and how many rows fit, instead of a failed
/// allocation deep inside PostgreSQL.
pub fn check_serial_size(function: &str, rows: usize, size_of: impl Fn(usize) -> usize) {
    let limit = MAX_STATE_SIZE.get().clamp(1, MAX_VALUE_BYTES) as usize;
    if size_of(rows) <= limit {
        return;
    }
    // the largest row count whose serial form fits
    let (mut lo, mut hi) = (0usize, rows);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if size_of(mid) <= limit {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    raise(
        function,
        HealthError::program_limit(format!(
            "a parallel worker's state of {rows} rows takes {} bytes, more than the {limit} bytes one value may hold; \
             at most {lo} rows fit in one worker's state. Run this aggregate without parallel workers \
             (SET max_parallel_workers_per_gather = 0) or over smaller groups",
            size_of(rows)
        )),
    )
}

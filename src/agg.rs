//! Plumbing shared by the `internal`-state aggregates: states must live in
//! the aggregate's memory context, not the per-row one, or PostgreSQL frees
//! them between rows (pgrx 0.18's #[pg_aggregate] cannot build
//! parallel internal-state aggregates, so we declare them in SQL).

use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

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

/// Moves `state` into the aggregate memory context; it is dropped when that
/// context is reset or deleted.
pub fn new_state<T>(fcinfo: pg_sys::FunctionCallInfo, function: &str, state: T) -> Internal {
    let context = aggregate_context(fcinfo, function);
    // SAFETY: context is a valid memory context for the whole aggregation.
    unsafe { PgMemoryContexts::For(context).switch_to(|_| Internal::new(state)) }
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
/// SAFETY: the caller names the type it stored with [`new_state`] for this
/// aggregate; PostgreSQL hands each aggregate only its own states.
pub unsafe fn state_mut<T>(state: &mut Internal) -> Option<&mut T> {
    unsafe { state.get_mut::<T>() }
}

/// Combine step shared by all our aggregates: fold `other` into `current`,
/// or copy `other` into the aggregate context when `current` is empty
/// (PostgreSQL may hand us an `other` that lives in a shorter-lived context).
pub fn combine<T: Clone>(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    mut current: Internal,
    mut other: Internal,
    merge: impl FnOnce(&mut T, &T),
) -> Option<Internal> {
    // SAFETY: both states were made by this aggregate's own functions.
    let other_state = unsafe { state_mut::<T>(&mut other) };
    match (unsafe { state_mut::<T>(&mut current) }, other_state) {
        (Some(cur), Some(oth)) => {
            merge(cur, oth);
            Some(current)
        }
        (Some(_), None) => Some(current),
        (None, Some(oth)) => Some(new_state(fcinfo, function, oth.clone())),
        (None, None) => None,
    }
}

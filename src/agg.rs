//! Plumbing shared by the `internal`-state aggregates: states live in the
//! aggregate's memory context, not the per-row one (or PostgreSQL frees them
//! between rows), and everything a state allocates as it grows lives there
//! too (see `memory.rs`), so hash aggregation sees it.
//!
//! Every aggregate is one [`aggregate!`] block over a state of
//! `health_core::aggregate` (start, add a row, merge, to and from bytes):
//! the block names its support functions, converts each row's arguments and
//! reads the finished state; the macro emits the SQL functions and writes
//! each `CREATE AGGREGATE` from them, `parallel = safe`. (pgrx 0.18's
//! #[pg_aggregate] cannot build parallel aggregates over an `internal`
//! state.)

use health_core::aggregate::{Accumulate, AggregateState};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

use crate::errors::{raise, OrRaise};
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

/// Moves a group's `state` into the aggregate memory context `context`,
/// where it lives until the group is done. A state without a destructor is
/// copied into one palloc: no Rust allocation and no drop callback, so a
/// million groups cost a million pallocs and nothing at reset. One that owns
/// heap memory gets a callback that drops it when the context is reset.
fn keep_in<S>(context: pg_sys::MemoryContext, state: S) -> Internal {
    if std::mem::needs_drop::<S>() {
        // SAFETY: `context` is this call's aggregate context (aggregate_context).
        return unsafe { PgMemoryContexts::For(context).switch_to(|_| Internal::new(state)) };
    }
    // SAFETY: as above; palloc returns memory aligned for any type (MAXALIGN), sized for S.
    unsafe {
        let ptr = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<S>()) as *mut S;
        ptr.write(state);
        Internal::from(Some(pg_sys::Datum::from(ptr)))
    }
}

/// The state behind an `internal` argument, if any.
///
/// SAFETY: the caller names the type it stored with [`transition`] for this
/// aggregate; PostgreSQL hands each aggregate only its own states.
pub unsafe fn state_mut<T>(state: &mut Internal) -> Option<&mut T> {
    unsafe { state.get_mut::<T>() }
}

/// The transition function of every aggregate: adds `row` to the group's
/// state, started on its first row. `None` is a row the aggregate skips
/// (NULL arguments): a group of only such rows keeps a NULL state, and the
/// aggregate answers NULL.
///
/// SAFETY: `S` is the only type this aggregate stores in `state`.
#[inline]
pub unsafe fn transition<S: Accumulate<R>, R>(
    fcinfo: pg_sys::FunctionCallInfo,
    aggregate: &'static str,
    mut state: Internal,
    row: Option<R>,
) -> Option<Internal> {
    let Some(row) = row else { return Some(state) };
    if std::mem::needs_drop::<S>() {
        // SAFETY: as the caller promised.
        return unsafe { update(fcinfo, aggregate, state, || S::start(aggregate), |s| s.add_row(row)) };
    }
    // A fixed-size state owns no heap: one palloc per group, no context switch per row.
    // SAFETY: as the caller promised.
    match unsafe { state.get_mut::<S>() } {
        Some(existing) => {
            existing.add_row(row).or_raise(aggregate);
            Some(state)
        }
        None => {
            let mut fresh = S::start(aggregate).or_raise(aggregate);
            fresh.add_row(row).or_raise(aggregate);
            Some(keep_in(aggregate_context(fcinfo, aggregate), fresh))
        }
    }
}

/// The transition step of a state that grows: makes the state with `init`
/// on a group's first row, then applies `step`. Both run with the Rust heap
/// in the aggregate's memory context, so all the state allocates is counted
/// against `work_mem` by hash aggregation and freed with the group; an error
/// is raised (naming `function`) only after leaving it.
///
/// SAFETY: `T` is the only type this aggregate stores in `state`.
unsafe fn update<T>(
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
                Ok(keep_in(context, fresh))
            }
        })
    };
    Some(outcome.unwrap_or_else(|e| raise(function, e)))
}

/// The combine function of every aggregate: folds `other` into `current`,
/// or copies `other` into the aggregate context when `current` is empty
/// (PostgreSQL may hand us an `other` that lives in a shorter-lived context).
/// Runs in the aggregate's memory context, as [`update`] does.
///
/// SAFETY: `S` is the only type this aggregate stores in its states.
pub unsafe fn combine<S: AggregateState>(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    mut current: Internal,
    mut other: Internal,
) -> Option<Internal> {
    let context = aggregate_context(fcinfo, function);
    // SAFETY: both states were made by this aggregate's own functions; what
    // the merge allocates belongs to `current`, in `context`.
    let outcome = unsafe {
        memory::in_context(context, || {
            let other_state = state_mut::<S>(&mut other);
            match (state_mut::<S>(&mut current), other_state) {
                (Some(cur), Some(oth)) => cur.merge(oth).map(|()| Some(current)),
                (Some(_), None) => Ok(Some(current)),
                (None, Some(oth)) => Ok(Some(keep_in(context, oth.clone()))),
                (None, None) => Ok(None),
            }
        })
    };
    outcome.unwrap_or_else(|e| raise(function, e))
}

/// The serial function of every aggregate: the state's bytes, after
/// checking they fit in one value.
///
/// SAFETY: `S` is the only type this aggregate stores in its states.
pub unsafe fn serialize<S: AggregateState>(function: &'static str, mut state: Internal) -> Vec<u8> {
    // SAFETY: as the caller promised.
    let Some(s) = (unsafe { state_mut::<S>(&mut state) }) else {
        return Vec::new();
    };
    let function = s.aggregate().unwrap_or(function);
    if let Some(rows) = s.held_rows() {
        check_serial_size(function, rows, |n| s.serial_size(n));
    }
    s.serialize().or_raise(function)
}

/// The deserial function of every aggregate.
pub fn deserialize<S: AggregateState>(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &'static str,
    bytes: &[u8],
) -> Option<Internal> {
    let state = S::deserialize(bytes).or_raise(function);
    // A growing state stays in the current (per-call) context: the combine
    // step merges it, or copies it into the aggregate's when it is the first.
    Some(if std::mem::needs_drop::<S>() {
        Internal::new(state)
    } else {
        keep_in(aggregate_context(fcinfo, function), state)
    })
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

/// One aggregate, from one definition: its state type and the name its
/// messages use; its combine, serial and deserial functions (`defines` them,
/// or `shares` those another block defined for the same state); one
/// transition function per SQL form, whose block turns the SQL arguments
/// into the state's row (`None` skips the row), or those another block
/// defined (`shares transition`); the final function, whose block reads the
/// state (`$s`), or another block's (`shares final`); and one line per SQL
/// form: its name and arguments, the transition it uses (`via`), an optional
/// `sspace` and the `COMMENT` (`is`). The macro writes each `CREATE
/// AGGREGATE` itself, so every one has the block's support functions, an
/// `internal` state and `parallel = safe`; a transition no form uses fails
/// to compile.
///
/// ```ignore
/// aggregate! {
///     aggregate "brier", state Brier;
///     defines support (brier_combine, brier_serial, brier_deserial);
///     transition brier_trans(probability: Option<f64>, churned: Option<bool>) {
///         Some((probability?, churned?))
///     }
///     finalize brier_final(b) -> f64 { b.value() }
///     sql "brier" {
///         brier(probability "double precision", churned "boolean") via brier_trans
///             is "Brier score of churn probabilities.";
///     }
/// }
/// ```
macro_rules! aggregate {
    (
        aggregate $name:literal, state $state:ty;
        $mode:ident support ($combine:ident, $serial:ident, $deserial:ident);
        $(requires ($($required:ident),*);)?
        $(shares transition ($($shared:ident),*);)?
        $(transition $trans:ident($($args:tt)*) $row:block)*
        $(finalize $final:ident($s:ident) -> $ret:ident $read:block)?
        $(shares final ($shared_final:ident);)?
        sql $block:literal { $($form:ident($($signature:tt)*) via $sfunc:ident $(, sspace $sspace:literal)? $(is $comment:literal)?;)+ }
    ) => {
        $crate::agg::aggregate!(@support $mode $state, $name, $combine, $serial, $deserial);

        $(
            // SQL decides the arguments: an aggregate of seven has eight here.
            #[allow(clippy::too_many_arguments)]
            #[pg_extern(immutable, parallel_safe)]
            fn $trans(
                state: ::pgrx::Internal,
                $($args)*,
                fcinfo: ::pgrx::pg_sys::FunctionCallInfo,
            ) -> Option<::pgrx::Internal> {
                #[allow(clippy::redundant_closure_call)]
                let row = (|| $row)();
                // SAFETY: this aggregate only ever stores the block's state.
                unsafe { $crate::agg::transition::<$state, _>(fcinfo, $name, state, row) }
            }
        )*

        $(
            #[pg_extern(immutable, parallel_safe)]
            #[allow(unused_braces)]
            fn $final(mut state: ::pgrx::Internal) -> Option<$ret> {
                // SAFETY: this aggregate only ever stores the block's state.
                let $s = unsafe { $crate::agg::state_mut::<$state>(&mut state) }?;
                $read
            }
        )?

        const _: () = assert!(
            $crate::agg::all_used(&[$(stringify!($trans),)* $($(stringify!($shared),)*)?], &[$(stringify!($sfunc)),+]),
            concat!("aggregate! ", $block, ": a transition function is no SQL form's `via`, or a `via` is not a transition of the block")
        );

        $crate::agg::aggregate!(
            @sql $block, [$($($required,)*)? $($($shared,)*)? $($trans,)*],
            ($combine, $serial, $deserial, $($final)? $($shared_final)?),
            $($form($($signature)*) via $sfunc $(, sspace $sspace)? $(is $comment)?;)+
        );
    };

    (@sql $block:literal, [$($required:ident,)*], ($combine:ident, $serial:ident, $deserial:ident, $final:ident),
        $($form:ident($($signature:tt)*) via $sfunc:ident $(, sspace $sspace:literal)? $(is $comment:literal)?;)+
    ) => {
        $crate::schema::schema_sql!(
            concat!($($crate::agg::aggregate!(@create ($combine, $serial, $deserial, $final)
                $form($($signature)*) via $sfunc $(, sspace $sspace)? $(is $comment)?)),+),
            name = $block,
            requires = [$($required,)* $final, $combine, $serial, $deserial]
        );
    };

    // One form's CREATE AGGREGATE, and its COMMENT when it has one.
    (@create ($combine:ident, $serial:ident, $deserial:ident, $final:ident)
        $form:ident($arg0:ident $type0:literal $(, $arg:ident $type:literal)*) via $sfunc:ident $(, sspace $sspace:literal)?
    ) => {
        concat!(
            "CREATE AGGREGATE ", stringify!($form),
            "(", stringify!($arg0), " ", $type0, $(", ", stringify!($arg), " ", $type,)* ") (\n",
            "    sfunc = ", stringify!($sfunc), ", stype = internal, combinefunc = ", stringify!($combine), ",\n",
            "    serialfunc = ", stringify!($serial), ", deserialfunc = ", stringify!($deserial),
            ", finalfunc = ", stringify!($final), ",\n",
            "    ", $("sspace = ", $sspace, ", ",)? "parallel = safe\n",
            ");\n"
        )
    };
    (@create $support:tt
        $form:ident($arg0:ident $type0:literal $(, $arg:ident $type:literal)*) via $sfunc:ident $(, sspace $sspace:literal)?
        is $comment:literal
    ) => {
        concat!(
            $crate::agg::aggregate!(@create $support $form($arg0 $type0 $(, $arg $type)*) via $sfunc $(, sspace $sspace)?),
            "COMMENT ON AGGREGATE ", stringify!($form), "(", $type0, $(", ", $type,)* ") IS\n    '", $comment, "';\n"
        )
    };

    (@support shares $state:ty, $name:literal, $combine:ident, $serial:ident, $deserial:ident) => {};

    (@support defines $state:ty, $name:literal, $combine:ident, $serial:ident, $deserial:ident) => {
        #[pg_extern(immutable, parallel_safe)]
        fn $combine(
            current: ::pgrx::Internal,
            other: ::pgrx::Internal,
            fcinfo: ::pgrx::pg_sys::FunctionCallInfo,
        ) -> Option<::pgrx::Internal> {
            // SAFETY: the aggregates of this state only ever store it.
            unsafe { $crate::agg::combine::<$state>(fcinfo, $name, current, other) }
        }

        #[pg_extern(immutable, strict, parallel_safe)]
        fn $serial(state: ::pgrx::Internal) -> Vec<u8> {
            // SAFETY: the aggregates of this state only ever store it.
            unsafe { $crate::agg::serialize::<$state>($name, state) }
        }

        #[pg_extern(immutable, strict, parallel_safe)]
        fn $deserial(
            bytes: &[u8],
            _unused: ::pgrx::Internal,
            fcinfo: ::pgrx::pg_sys::FunctionCallInfo,
        ) -> Option<::pgrx::Internal> {
            $crate::agg::deserialize::<$state>(fcinfo, $name, bytes)
        }
    };
}

pub(crate) use aggregate;

/// Whether every name of `transitions` is one of `used` and every one of
/// `used` is one of `transitions` (at compile time, for [`aggregate!`]).
pub const fn all_used(transitions: &[&str], used: &[&str]) -> bool {
    contains_all(transitions, used) && contains_all(used, transitions)
}

const fn contains_all(set: &[&str], items: &[&str]) -> bool {
    let mut i = 0;
    while i < items.len() {
        let mut found = false;
        let mut j = 0;
        while j < set.len() {
            found |= same(set[j].as_bytes(), items[i].as_bytes());
            j += 1;
        }
        if !found {
            return false;
        }
        i += 1;
    }
    true
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// The check itself, checked where it runs: at compile time.
const _: () = {
    assert!(all_used(
        &["a_trans", "a_trans_default"],
        &["a_trans_default", "a_trans"]
    ));
    // a transition no form uses
    assert!(!all_used(&["a_trans", "a_trans_default"], &["a_trans"]));
    // a form whose transition the block does not have
    assert!(!all_used(&["a_trans"], &["a_trans", "a_tran"]));
};

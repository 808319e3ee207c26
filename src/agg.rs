//! Plumbing shared by the `internal`-state aggregates: states live in the
//! aggregate's memory context, not the per-row one (or PostgreSQL frees them
//! between rows), and everything a state allocates as it grows lives there
//! too (see `memory.rs`), so hash aggregation sees it.
//!
//! Every aggregate is one [`aggregate!`] block over a state of
//! `health_core::aggregate` (start, add a row, merge, to and from bytes):
//! the block names its support functions, converts each row's arguments and
//! reads the finished state; the macro emits the SQL functions and checks,
//! when the crate compiles, that the block's `CREATE AGGREGATE` names all of
//! them and is `parallel = safe`. (pgrx 0.18's #[pg_aggregate] cannot build
//! parallel aggregates over an `internal` state, and its `extension_sql!`
//! takes only a literal, so the SQL is written out and checked instead of
//! generated.)

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
/// defined (`shares transition`); the final function, whose
/// block reads the state (`$s`), or another block's (`shares final`); and the SQL, checked when the crate
/// compiles (see [`aggregate_sql_problem`]).
///
/// ```ignore
/// aggregate! {
///     aggregate "brier", state Brier;
///     defines support (brier_combine, brier_serial, brier_deserial);
///     transition brier_trans(probability: Option<f64>, churned: Option<bool>) {
///         Some((probability?, churned?))
///     }
///     finalize brier_final(b) -> f64 { b.value() }
///     sql "brier_aggregate" r#"CREATE AGGREGATE brier(...) (sfunc = brier_trans, ...);"#;
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
        sql $block:tt $sql:tt;
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

        const _: () = if let Some(problem) = $crate::agg::aggregate_sql_problem(
            $sql,
            &[$(stringify!($trans),)* $($(stringify!($shared),)*)?],
            concat!($(stringify!($final),)? $(stringify!($shared_final))?),
            [stringify!($combine), stringify!($serial), stringify!($deserial)],
        ) {
            panic!("{}", problem)
        };

        ::pgrx::extension_sql!(
            $sql,
            name = $block,
            requires = [$($($required,)*)? $($($shared,)*)? $($trans,)* $($final,)? $($shared_final,)? $combine, $serial, $deserial]
        );
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

/// What is wrong with an aggregate block's SQL, if anything: every
/// `CREATE AGGREGATE` in it must use one of the block's transition
/// functions, its final, combine, serial and deserial functions, an
/// `internal` state and `parallel = safe`, and every transition function
/// must be used. Runs at compile time.
pub const fn aggregate_sql_problem(
    sql: &str,
    transitions: &[&str],
    final_function: &str,
    [combine, serial, deserial]: [&str; 3],
) -> Option<&'static str> {
    let text = sql.as_bytes();
    let mut used = [false; 8];
    if transitions.len() > used.len() {
        return Some("aggregate!: more than 8 transition functions in one block");
    }
    let mut statements = 0;
    let mut at = 0;
    while let Some(start) = find(text, at, b"CREATE AGGREGATE") {
        let end = match find(text, start, b");") {
            Some(end) => end,
            None => return Some("aggregate!: a CREATE AGGREGATE without its closing `);`"),
        };
        statements += 1;
        let statement = (start, end);
        let mut uses_a_transition = false;
        let mut i = 0;
        while i < transitions.len() {
            if has_setting(text, statement, "sfunc", transitions[i]) {
                used[i] = true;
                uses_a_transition = true;
            }
            i += 1;
        }
        if !uses_a_transition {
            return Some("aggregate!: a CREATE AGGREGATE's sfunc is not a transition of its block");
        }
        if !has_setting(text, statement, "stype", "internal") {
            return Some("aggregate!: a CREATE AGGREGATE lacks `stype = internal,`");
        }
        if !has_setting(text, statement, "finalfunc", final_function) {
            return Some("aggregate!: a CREATE AGGREGATE lacks its block's finalfunc");
        }
        if !has_setting(text, statement, "combinefunc", combine) {
            return Some("aggregate!: a CREATE AGGREGATE lacks its block's combinefunc");
        }
        if !has_setting(text, statement, "serialfunc", serial) {
            return Some("aggregate!: a CREATE AGGREGATE lacks its block's serialfunc");
        }
        if !has_setting(text, statement, "deserialfunc", deserial) {
            return Some("aggregate!: a CREATE AGGREGATE lacks its block's deserialfunc");
        }
        if find_within(text, statement, b"parallel = safe").is_none() {
            return Some("aggregate!: a CREATE AGGREGATE is not `parallel = safe`");
        }
        at = end;
    }
    if statements == 0 {
        return Some("aggregate!: the block's SQL has no CREATE AGGREGATE");
    }
    let mut i = 0;
    while i < transitions.len() {
        if !used[i] {
            return Some("aggregate!: a transition function of the block is no CREATE AGGREGATE's sfunc");
        }
        i += 1;
    }
    None
}

/// Whether `key = value,` is a setting of the statement (`key` a whole word).
const fn has_setting(text: &[u8], (start, end): (usize, usize), key: &str, value: &str) -> bool {
    let (key, value) = (key.as_bytes(), value.as_bytes());
    let mut at = start;
    while let Some(i) = find_within(text, (at, end), key) {
        let word_start = i == 0 || !is_word_byte(text[i - 1]);
        let v = i + key.len() + 3;
        if word_start
            && starts_with_at(text, i + key.len(), b" = ")
            && starts_with_at(text, v, value)
            && v + value.len() < text.len()
            && text[v + value.len()] == b','
        {
            return true;
        }
        at = i + 1;
    }
    false
}

const fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const fn starts_with_at(text: &[u8], at: usize, prefix: &[u8]) -> bool {
    if at + prefix.len() > text.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if text[at + i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    find_within(text, (from, text.len()), needle)
}

const fn find_within(text: &[u8], (from, to): (usize, usize), needle: &[u8]) -> Option<usize> {
    let mut i = from;
    while i + needle.len() <= to {
        if starts_with_at(text, i, needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

// The checker itself, checked where it runs: at compile time.
const _: () = {
    const GOOD: &str = "CREATE AGGREGATE a(x int) (\n    sfunc = a_trans, stype = internal, combinefunc = a_combine,\n    serialfunc = a_serial, deserialfunc = a_deserial, finalfunc = a_final,\n    parallel = safe\n);";
    const NAMES: [&str; 3] = ["a_combine", "a_serial", "a_deserial"];
    assert!(aggregate_sql_problem(GOOD, &["a_trans"], "a_final", NAMES).is_none());
    // a second transition no statement uses
    assert!(aggregate_sql_problem(GOOD, &["a_trans", "a_trans_default"], "a_final", NAMES).is_some());
    // `deserialfunc = a_serial` must not pass for `serialfunc = a_serial`
    const SWAPPED: &str = "CREATE AGGREGATE a(x int) (\n    sfunc = a_trans, stype = internal, combinefunc = a_combine,\n    deserialfunc = a_serial, finalfunc = a_final,\n    parallel = safe\n);";
    assert!(aggregate_sql_problem(SWAPPED, &["a_trans"], "a_final", NAMES).is_some());
    const NOT_PARALLEL: &str = "CREATE AGGREGATE a(x int) (\n    sfunc = a_trans, stype = internal, combinefunc = a_combine,\n    serialfunc = a_serial, deserialfunc = a_deserial, finalfunc = a_final,\n    sspace = 8\n);";
    assert!(aggregate_sql_problem(NOT_PARALLEL, &["a_trans"], "a_final", NAMES).is_some());
    // `sfunc = a_trans` is not `sfunc = a_trans_default`
    assert!(aggregate_sql_problem(GOOD, &["a_trans_default"], "a_final", NAMES).is_some());
    assert!(aggregate_sql_problem("COMMENT ON AGGREGATE a(int) IS 'x';", &["a_trans"], "a_final", NAMES).is_some());
};

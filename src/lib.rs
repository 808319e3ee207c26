//! `customer_health`: customer health scores as SQL functions and aggregates.
//!
//! Every module here is a thin wrapper: it converts SQL arguments, calls the
//! pure core in `crates/health_core`, and turns core errors into SQL errors
//! with a SQLSTATE (see [`errors`]). All objects live in schema `health`
//! (set by `customer_health.control`).

::pgrx::pg_module_magic!();

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry};

/// Runs when a backend loads the library: long loops of the core learn to
/// honour cancels and timeouts, and the state-size setting is registered.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    health_core::resources::set_interrupt_check(check_for_interrupts);
    GucRegistry::define_int_guc(
        c"customer_health.max_state_size",
        c"Largest state a parallel worker may pass on, in bytes (at most 1 GB, PostgreSQL's limit for one value).",
        c"An aggregate whose serialised state would be larger fails with a clear error naming how many rows fit. Lower it only to test that limit.",
        &agg::MAX_STATE_SIZE,
        1024,
        0x3FFF_FFFB,
        GucContext::Userset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_bool_guc(
        c"customer_health.fuse_wide_scores",
        c"Whether the planner computes weighted_score(ARRAY[scale_*(...)], ...) with constant parameters in one call.",
        c"The fused call gives the same answers and errors; off plans the expression as written (for comparison).",
        &fused::FUSE_WIDE_SCORES,
        GucContext::Userset,
        GucFlags::default(),
    );
}

fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}

mod agg;
mod args;
mod callsite;
mod catalogue;
mod comments;
mod errors;
mod fused;
mod memory;
mod model;
mod normalise;
mod profile;
mod schema;
mod score;
mod scorecard;
mod signals;
mod stored;
mod tier;
mod validate;

/// Used by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}

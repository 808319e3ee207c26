//! `customer_health`: customer health scores as SQL functions and aggregates.
//!
//! Every module here is a thin wrapper: it converts SQL arguments, calls the
//! pure core in `crates/health_core`, and turns core errors into SQL errors
//! with a SQLSTATE (see [`errors`]). All objects live in schema `health`
//! (set by `customer_health.control`).

::pgrx::pg_module_magic!();

mod agg;
mod args;
mod catalogue;
mod comments;
mod errors;
mod model;
mod normalise;
mod profile;
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

//! Argument conversion shared by the wrappers.

use health_core::HealthError;
use pgrx::prelude::*;

use crate::errors::raise;

/// The elements of a float8[] argument; NULL elements are an error (22004).
/// Borrows PostgreSQL's array data directly (no copy).
pub fn floats<'a>(function: &str, name: &str, array: &'a Array<'a, f64>) -> &'a [f64] {
    match array.as_slice() {
        Ok(slice) => slice,
        Err(_) => raise(
            function,
            HealthError::null(format!("{name} must not contain NULL elements")),
        ),
    }
}

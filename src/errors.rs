//! Core errors -> SQL errors. The only place that knows SQLSTATEs.

use health_core::{ErrorKind, HealthError};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

fn sqlstate(kind: ErrorKind) -> PgSqlErrorCode {
    match kind {
        ErrorKind::InvalidParameter => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::OutOfRange => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        ErrorKind::ArraySubscript => PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR, // 2202E, a.k.a. array_subscript_error
        ErrorKind::NullValue => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        ErrorKind::InvalidText => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        ErrorKind::Cardinality => PgSqlErrorCode::ERRCODE_CARDINALITY_VIOLATION,
        ErrorKind::OutOfMemory => PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        ErrorKind::ProgramLimit => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
    }
}

/// Raises `err` as a SQL ERROR prefixed with the SQL function name, with
/// its hint when it has one.
pub fn raise(function: &str, err: HealthError) -> ! {
    let message = format!("{function}: {}", err.message);
    let report = pgrx::pg_sys::panic::ErrorReport::new(sqlstate(err.kind), message, "customer_health");
    match err.hint {
        Some(hint) => report.set_hint(hint),
        None => report,
    }
    .report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Unwraps a core result or raises its error for `function`.
pub trait OrRaise<T> {
    fn or_raise(self, function: &str) -> T;
}

impl<T> OrRaise<T> for Result<T, HealthError> {
    #[inline]
    fn or_raise(self, function: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(function, e),
        }
    }
}

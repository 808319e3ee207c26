//! What the stored types (`scorecard`, `profile`, `model`, `trend`,
//! `outcomes`, `responses`, `fit_rows`) share: each is a `PostgresType` over
//! its stored bytes, kept in a plain varlena (no CBOR), with text I/O of its
//! own and binary send/receive written by one macro.

use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::Internal;

use crate::errors::raise;

/// Implements pgrx's datum traits for `struct $ty(Vec<u8>)`, stored as a
/// varlena of exactly those bytes and declared in SQL as `$sql_name`;
/// errors name `$function`.
macro_rules! stored_bytes_type {
    ($ty:ident, $sql_name:literal, $function:expr) => {
        impl ::pgrx::datum::IntoDatum for $ty {
            fn into_datum(self) -> Option<::pgrx::pg_sys::Datum> {
                Some(::pgrx::pg_sys::Datum::from(
                    ::pgrx::rust_byte_slice_to_bytea(&self.0).into_pg(),
                ))
            }

            fn type_oid() -> ::pgrx::pg_sys::Oid {
                ::pgrx::regtypein($sql_name)
            }
        }

        impl ::pgrx::datum::FromDatum for $ty {
            unsafe fn from_polymorphic_datum(
                datum: ::pgrx::pg_sys::Datum,
                is_null: bool,
                _typoid: ::pgrx::pg_sys::Oid,
            ) -> Option<Self> {
                if is_null {
                    return None;
                }
                // SAFETY: a non-NULL datum of our type is a varlena we wrote
                // (or that input/receive validated).
                let bytes = unsafe {
                    let varlena = ::pgrx::pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
                    ::pgrx::varlena::varlena_to_byte_slice(varlena)
                };
                Some($ty(bytes.to_vec()))
            }
        }

        // SAFETY: the value is returned as a datum of its own SQL type.
        unsafe impl ::pgrx::callconv::BoxRet for $ty {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut ::pgrx::callconv::FcInfo<'fcx>) -> ::pgrx::datum::Datum<'fcx> {
                match ::pgrx::datum::IntoDatum::into_datum(self) {
                    None => fcinfo.return_null(),
                    // SAFETY: the datum was just allocated in the current memory context.
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                }
            }
        }

        $crate::args::argument_from_datum!([] $ty, $ty, $ty, $function);
    };
}
pub(crate) use stored_bytes_type;

/// The binary send and receive functions of a stored type `$ty(Vec<u8>)`,
/// `$send($arg $ty)` and `$recv(buffer internal)`, the one way every stored
/// type crosses the binary protocol (COPY BINARY, pg_dump -Fc, binary
/// clients); errors name `$name`. Received bytes are checked before they
/// become a value, in one of two ways:
/// - `check: f` (`fn(&[u8]) -> Result<_>`): stored as received once `f`
///   accepts them;
/// - `rewrite: f` (`fn(&[u8]) -> Result<Vec<u8>>`): stored as `f` rewrites
///   them (a value of an older format becomes the current one).
///
/// A value is sent as stored, or as `send: g` (`fn(Vec<u8>) -> Result<Vec<u8>>`)
/// turns its stored bytes.
macro_rules! stored_send_recv {
    ($ty:ident, $send:ident($arg:ident), $recv:ident, $name:expr, check: $check:expr) => {
        $crate::stored::stored_send_recv!($ty, $send($arg), $recv, $name,
            rewrite: |bytes: &[u8]| ($check)(bytes).map(|_| bytes.to_vec()));
    };
    ($ty:ident, $send:ident($arg:ident), $recv:ident, $name:expr, rewrite: $rewrite:expr) => {
        $crate::stored::stored_send_recv!($ty, $send($arg), $recv, $name, rewrite: $rewrite,
            send: |stored: Vec<u8>| Ok::<_, ::health_core::HealthError>(stored));
    };
    ($ty:ident, $send:ident($arg:ident), $recv:ident, $name:expr, rewrite: $rewrite:expr, send: $send_as:expr) => {
        #[::pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $send($arg: $ty) -> Vec<u8> {
            $crate::errors::OrRaise::or_raise(($send_as)($arg.0), $name)
        }

        #[::pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $recv(mut buffer: ::pgrx::Internal) -> $ty {
            let bytes = $crate::stored::received_bytes(&mut buffer, $name);
            $ty($crate::errors::OrRaise::or_raise(($rewrite)(bytes), $name))
        }
    };
}
pub(crate) use stored_send_recv;

/// The text given to a type's input function, or 22P02 when it is not UTF-8.
pub fn input_text<'a>(input: &'a core::ffi::CStr, function: &str) -> &'a str {
    input
        .to_str()
        .unwrap_or_else(|_| raise(function, HealthError::text("input is not valid UTF-8")))
}

/// The unread bytes of a binary-receive buffer; marks them read. The caller
/// validates them before building a value.
pub fn received_bytes<'a>(buffer: &'a mut Internal, function: &str) -> &'a [u8] {
    // SAFETY: a type's receive function gets a StringInfo holding the message.
    let buf = unsafe { buffer.get_mut::<pg_sys::StringInfoData>() }
        .unwrap_or_else(|| raise(function, HealthError::null("no data to receive")));
    // SAFETY: data/len describe the message; cursor..len is what is unread.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (buf.data as *const u8).add(buf.cursor as usize),
            (buf.len - buf.cursor) as usize,
        )
    };
    buf.cursor = buf.len;
    bytes
}

//! What the stored types (`scorecard`, `profile`, `model`) share: each is a
//! `PostgresType` over its stored bytes, kept in a plain varlena (no CBOR),
//! with text I/O of its own and binary send/receive of the same bytes.

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

        unsafe impl ::pgrx::callconv::BoxRet for $ty {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut ::pgrx::callconv::FcInfo<'fcx>) -> ::pgrx::datum::Datum<'fcx> {
                match ::pgrx::datum::IntoDatum::into_datum(self) {
                    None => fcinfo.return_null(),
                    // SAFETY: the datum was just allocated in the current memory context.
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                }
            }
        }

        unsafe impl ::pgrx::datum::UnboxDatum for $ty {
            type As<'dat>
                = Self
            where
                Self: 'dat;
            unsafe fn unbox<'dat>(datum: ::pgrx::datum::Datum<'dat>) -> Self::As<'dat>
            where
                Self: 'dat,
            {
                // SAFETY: PostgreSQL passes a non-NULL datum of our type here.
                unsafe {
                    <Self as ::pgrx::datum::FromDatum>::from_datum(
                        std::mem::transmute::<::pgrx::datum::Datum<'dat>, ::pgrx::pg_sys::Datum>(datum),
                        false,
                    )
                }
                .unwrap_or_else(|| {
                    $crate::errors::raise(
                        $function,
                        ::health_core::HealthError::null("unexpected NULL value"),
                    )
                })
            }
        }

        unsafe impl<'fcx> ::pgrx::callconv::ArgAbi<'fcx> for $ty {
            unsafe fn unbox_arg_unchecked(arg: ::pgrx::callconv::Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                // SAFETY: pgrx only calls this for arguments of our type.
                unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| {
                    $crate::errors::raise(
                        $function,
                        ::health_core::HealthError::null(format!("argument {index} must not be NULL")),
                    )
                })
            }
        }
    };
}
pub(crate) use stored_bytes_type;

/// The binary send and receive functions of a stored type `$ty(Vec<u8>)`:
/// its bytes as they are, and received bytes checked by `$check` (a
/// `fn(&[u8]) -> Result<_>`) before they become a value; errors name `$name`.
macro_rules! stored_send_recv {
    ($ty:ident, $send:ident, $recv:ident, $name:expr, $check:expr) => {
        #[::pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $send(value: $ty) -> Vec<u8> {
            value.0
        }

        #[::pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $recv(mut buffer: ::pgrx::Internal) -> $ty {
            let bytes = $crate::stored::received_bytes(&mut buffer, $name);
            $crate::errors::OrRaise::or_raise(($check)(bytes), $name);
            $ty(bytes.to_vec())
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

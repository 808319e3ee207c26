//! What the stored types (`scorecard`, `profile`, `model`, `trend`,
//! `outcomes`, `responses`, `fit_rows`) share: each is a `PostgresType` over
//! its stored bytes, kept in a plain varlena (no CBOR), with text I/O of its
//! own and binary send/receive written by one macro.

use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::Internal;

use crate::errors::raise;

/// Declares a stored type whole: `pub struct $ty(Vec<u8>)`, the SQL type
/// `$sql` whose value is a plain varlena of exactly those bytes (errors name
/// `$sql`), with
/// - `text: from, to`: its input function stores `from(&str) ->
///   Result<Vec<u8>>`, its output function prints `to(&[u8]) ->
///   Result<impl AsRef<str>>`;
/// - `binary { $send($arg), $recv, ... }`: its send and receive functions
///   (see [`stored_send_recv!`] for how received bytes are checked);
/// - `schema "entry" { "SQL" } requires [...]`: the install-script entry
///   that sets the type's RECEIVE and SEND and runs the SQL after it
///   (comments, storage, casts), requiring the type, both functions and the
///   Rust names listed.
macro_rules! stored_type {
    (
        $(#[$attr:meta])*
        pub struct $ty:ident is $sql:literal;
        text: $from_text:expr, $to_text:expr;
        binary { $send:ident($arg:ident), $recv:ident, $($receive:tt)* }
        schema $entry:literal { $extra_sql:literal } requires [$($required:ident),* $(,)?];
    ) => {
        $(#[$attr])*
        #[derive(::pgrx::prelude::PostgresType, Debug, Clone, PartialEq)]
        #[inoutfuncs]
        #[bikeshed_postgres_type_manually_impl_from_into_datum]
        pub struct $ty(Vec<u8>);

        impl ::pgrx::datum::IntoDatum for $ty {
            fn into_datum(self) -> Option<::pgrx::pg_sys::Datum> {
                Some(::pgrx::pg_sys::Datum::from(
                    ::pgrx::rust_byte_slice_to_bytea(&self.0).into_pg(),
                ))
            }

            fn type_oid() -> ::pgrx::pg_sys::Oid {
                ::pgrx::regtypein(concat!("health.", $sql))
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

        $crate::args::argument_from_datum!([] $ty, $ty, $ty, $sql);

        impl ::pgrx::inoutfuncs::InOutFuncs for $ty {
            fn input(input: &core::ffi::CStr) -> Self {
                let text = $crate::stored::input_text(input, $sql);
                $ty($crate::errors::OrRaise::or_raise(($from_text)(text), $sql))
            }

            fn output(&self, buffer: &mut ::pgrx::StringInfo) {
                let text = $crate::errors::OrRaise::or_raise(($to_text)(&self.0), $sql);
                buffer.push_str(AsRef::<str>::as_ref(&text));
            }
        }

        $crate::stored::stored_send_recv!($ty, $send($arg), $recv, $sql, $($receive)*);

        $crate::schema::schema_sql!(
            concat!(
                "ALTER TYPE ", $sql, " SET (RECEIVE = ", stringify!($recv), ", SEND = ", stringify!($send), ");\n",
                $crate::stored::equality_sql!($sql),
                $extra_sql
            ),
            name = $entry,
            requires = [$ty, $recv, $send, $($required),*]
        );
    };
}
pub(crate) use stored_type;

/// Equality of a stored type `$sql`, so that `DISTINCT`, `GROUP BY`, `UNION`
/// and hash joins work over its columns: two values are equal when their
/// stored bytes are, compared and hashed by PostgreSQL's own functions for
/// bytea (every stored type is a varlena of exactly its bytes; they detoast
/// what they read). A hash operator class, no ordering: the values have no
/// order that would mean anything.
macro_rules! equality_sql {
    ($sql:literal) => {
        concat!(
            "CREATE FUNCTION ",
            $sql,
            "_eq(a ",
            $sql,
            ", b ",
            $sql,
            ") RETURNS boolean\n",
            "    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteaeq';\n",
            "CREATE FUNCTION ",
            $sql,
            "_ne(a ",
            $sql,
            ", b ",
            $sql,
            ") RETURNS boolean\n",
            "    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'byteane';\n",
            "CREATE FUNCTION ",
            $sql,
            "_hash(value ",
            $sql,
            ") RETURNS integer\n",
            "    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlena';\n",
            "CREATE FUNCTION ",
            $sql,
            "_hash_extended(value ",
            $sql,
            ", seed bigint) RETURNS bigint\n",
            "    IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF LANGUAGE internal AS 'hashvarlenaextended';\n",
            "CREATE OPERATOR = (FUNCTION = ",
            $sql,
            "_eq, LEFTARG = ",
            $sql,
            ", RIGHTARG = ",
            $sql,
            ",\n",
            "    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);\n",
            "CREATE OPERATOR <> (FUNCTION = ",
            $sql,
            "_ne, LEFTARG = ",
            $sql,
            ", RIGHTARG = ",
            $sql,
            ",\n",
            "    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);\n",
            "CREATE OPERATOR CLASS ",
            $sql,
            "_ops DEFAULT FOR TYPE ",
            $sql,
            " USING hash AS\n",
            "    OPERATOR 1 =, FUNCTION 1 ",
            $sql,
            "_hash(",
            $sql,
            "), FUNCTION 2 ",
            $sql,
            "_hash_extended(",
            $sql,
            ", bigint);\n",
            "COMMENT ON FUNCTION ",
            $sql,
            "_eq(",
            $sql,
            ", ",
            $sql,
            ") IS\n",
            "    'The = of two values of type ",
            $sql,
            ": equal when stored the same (byte for byte).';\n",
            "COMMENT ON FUNCTION ",
            $sql,
            "_ne(",
            $sql,
            ", ",
            $sql,
            ") IS\n",
            "    'The <> of two values of type ",
            $sql,
            ": not stored the same.';\n",
            "COMMENT ON FUNCTION ",
            $sql,
            "_hash(",
            $sql,
            ") IS\n",
            "    'Hash of a value of type ",
            $sql,
            " (its operator class for hash joins, DISTINCT and GROUP BY).';\n",
            "COMMENT ON FUNCTION ",
            $sql,
            "_hash_extended(",
            $sql,
            ", bigint) IS\n",
            "    'Seeded 64-bit hash of a value of type ",
            $sql,
            " (its operator class; hash partitioning).';\n",
        )
    };
}
pub(crate) use equality_sql;

/// The binary send and receive functions of a stored type `$ty(Vec<u8>)`
/// (part of [`stored_type!`]),
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

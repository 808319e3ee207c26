//! Argument types for the hot paths. pgrx's `Array<f64>` looks up the element
//! type's layout on every call (~200 ns); these read PostgreSQL's array and
//! text datums in place instead (~10 ns), which is what brings the extension
//! close to hand-written SQL (see bench/).

use health_core::HealthError;
use pgrx::datum::Array;
use pgrx::prelude::*;

use crate::errors::raise;

/// Implements pgrx's argument traits for a type read in place from a
/// non-NULL datum by its `unsafe fn from_datum_unchecked(Datum) -> Self`,
/// declared in SQL exactly as the pgrx type `$sql` is.
macro_rules! borrowed_argument {
    ($ty:ident, $sql:ty) => {
        impl<'a> ::pgrx::datum::FromDatum for $ty<'a> {
            unsafe fn from_polymorphic_datum(
                datum: ::pgrx::pg_sys::Datum,
                is_null: bool,
                _typoid: ::pgrx::pg_sys::Oid,
            ) -> Option<Self> {
                // SAFETY: PostgreSQL passes a datum of the declared SQL type.
                (!is_null).then(|| unsafe { Self::from_datum_unchecked(datum) })
            }
        }

        $crate::args::argument_from_datum!(['a] $ty<'a>, $ty<'dat>, $ty<'fcx>, "customer_health");

        // SAFETY: the SQL type named is the one the datum is read as.
        unsafe impl<'a> ::pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable for $ty<'a> {
            const TYPE_IDENT: &'static str =
                <$sql as ::pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable>::TYPE_IDENT;
            const TYPE_ORIGIN: ::pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin =
                <$sql as ::pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable>::TYPE_ORIGIN;
            const ARGUMENT_SQL: Result<
                ::pgrx::pgrx_sql_entity_graph::metadata::SqlMappingRef,
                ::pgrx::pgrx_sql_entity_graph::metadata::ArgumentError,
            > = <$sql as ::pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable>::ARGUMENT_SQL;
            const RETURN_SQL: Result<
                ::pgrx::pgrx_sql_entity_graph::metadata::ReturnsRef,
                ::pgrx::pgrx_sql_entity_graph::metadata::ReturnsError,
            > = <$sql as ::pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable>::RETURN_SQL;
        }
    };
}
pub(crate) use borrowed_argument;

/// pgrx's `UnboxDatum` and `ArgAbi` for a type with a `FromDatum`: `$ty`
/// (generic over `[$lt]`, if any), as which it unboxes (`$as`, over `'dat`)
/// and as which it is an argument (`$arg`, over `'fcx`). A NULL where the
/// function is strict is an error naming `$function`, not a crash.
macro_rules! argument_from_datum {
    ([$($lt:lifetime)?] $ty:ty, $as:ty, $arg:ty, $function:expr) => {
        // SAFETY: unbox reads a datum of the declared SQL type, as from_datum does.
        unsafe impl<$($lt)?> ::pgrx::datum::UnboxDatum for $ty {
            type As<'dat>
                = $as
            where
                Self: 'dat;
            unsafe fn unbox<'dat>(datum: ::pgrx::datum::Datum<'dat>) -> Self::As<'dat>
            where
                Self: 'dat,
            {
                // SAFETY: PostgreSQL passes a non-NULL datum of the type here,
                // which outlives 'dat.
                unsafe {
                    <$as as ::pgrx::datum::FromDatum>::from_datum(
                        std::mem::transmute::<::pgrx::datum::Datum<'dat>, ::pgrx::pg_sys::Datum>(datum),
                        false,
                    )
                }
                .unwrap_or_else(|| {
                    $crate::errors::raise($function, ::health_core::HealthError::null("unexpected NULL value"))
                })
            }
        }

        // SAFETY: an argument of the declared SQL type is read as one.
        unsafe impl<'fcx> ::pgrx::callconv::ArgAbi<'fcx> for $arg {
            unsafe fn unbox_arg_unchecked(arg: ::pgrx::callconv::Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                // SAFETY: pgrx only calls this for arguments of the declared SQL type.
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
pub(crate) use argument_from_datum;

/// A plain C function (one that reads `fcinfo` itself): declares
/// `$info`, which tells PostgreSQL that `$symbol` uses the V1 calling
/// convention, and writes its `CREATE FUNCTION $signature RETURNS double
/// precision`, `$attributes`, with `COMMENT ON FUNCTION $declared IS $comment`.
macro_rules! v1_function {
    (
        $info:ident for $symbol:literal, requires [$($required:ident),*]:
        $signature:literal $attributes:literal, $declared:literal is $comment:literal
    ) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $info() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1_API: ::pgrx::pg_sys::Pg_finfo_record = ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1_API
        }

        $crate::schema::schema_sql!(
            concat!(
                "CREATE FUNCTION ", $signature, " RETURNS double precision\n",
                "    ", $attributes, " LANGUAGE c AS 'MODULE_PATHNAME', '", $symbol, "';\n",
                "COMMENT ON FUNCTION ", $declared, " IS\n",
                "    '", $comment, "';\n"
            ),
            name = $symbol,
            requires = [$($required),*]
        );
    };
}
pub(crate) use v1_function;

/// A float8 result, or SQL NULL for `None`.
///
/// # Safety
/// `fcinfo` is the live call information of the current call.
pub unsafe fn float_result(fcinfo: pg_sys::FunctionCallInfo, value: Option<f64>) -> pg_sys::Datum {
    match value {
        Some(v) => pg_sys::Datum::from(v.to_bits()),
        None => {
            // SAFETY: per the contract.
            unsafe { (*fcinfo).isnull = true };
            pg_sys::Datum::from(0)
        }
    }
}

/// A `float8[]` argument, read in place. NULL elements are kept as a bitmap.
pub struct FloatArray<'a> {
    /// The non-NULL elements, packed (PostgreSQL stores no space for NULLs).
    values: std::borrow::Cow<'a, [f64]>,
    /// Null bitmap (bit set = present), if the array has NULLs.
    nulls: Option<&'a [u8]>,
    len: usize,
}

impl<'a> FloatArray<'a> {
    /// The elements, if none is NULL.
    pub fn as_slice(&self) -> Option<&[f64]> {
        self.nulls.is_none().then_some(&self.values[..])
    }

    /// The elements, raising 22004 naming `name` when one is NULL.
    pub fn values(&self, function: &str, name: &str) -> &[f64] {
        self.as_slice().unwrap_or_else(|| {
            raise(
                function,
                HealthError::null(format!("{name} must not contain NULL elements")),
            )
        })
    }

    /// Every element, NULL as `None`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<f64>> + '_ {
        let mut next = 0;
        (0..self.len).map(move |i| match self.nulls {
            Some(bits) if bits[i / 8] & (1 << (i % 8)) == 0 => None,
            _ => {
                next += 1;
                Some(self.values[next - 1])
            }
        })
    }

    /// SAFETY: `datum` is a non-NULL `float8[]` datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        unsafe {
            let array = detoasted(datum) as *mut pg_sys::ArrayType;
            if (*array).elemtype != pg_sys::FLOAT8OID {
                raise("customer_health", HealthError::invalid("expected a float8[] argument"));
            }
            let ndim = (*array).ndim as usize;
            let base = array as *const u8;
            let header = std::mem::size_of::<pg_sys::ArrayType>();
            let dims = std::slice::from_raw_parts(base.add(header) as *const i32, ndim);
            let len = if ndim == 0 {
                0
            } else {
                dims.iter().map(|&d| d as usize).product()
            };
            let bitmap_at = header + 2 * std::mem::size_of::<i32>() * ndim;
            let (data, nulls) = if (*array).dataoffset == 0 {
                (base.add(maxalign(bitmap_at)), None)
            } else {
                let bits = std::slice::from_raw_parts(base.add(bitmap_at), len.div_ceil(8));
                (base.add((*array).dataoffset as usize), Some(bits))
            };
            let present = match nulls {
                None => len,
                Some(bits) => (0..len).filter(|&i| bits[i / 8] & (1 << (i % 8)) != 0).count(),
            };
            let values = if (data as usize).is_multiple_of(std::mem::align_of::<f64>()) {
                std::borrow::Cow::Borrowed(std::slice::from_raw_parts(data as *const f64, present))
            } else {
                std::borrow::Cow::Owned(
                    (0..present)
                        .map(|i| (data as *const f64).add(i).read_unaligned())
                        .collect(),
                )
            };
            FloatArray { values, nulls, len }
        }
    }
}

/// The datum as a plain 4-byte-header varlena. Calls into PostgreSQL (behind
/// pgrx's sigsetjmp guard, ~20 ns) only when the value really is toasted,
/// compressed or short-headed; constants and most column values are not.
///
/// SAFETY: `datum` is a non-NULL varlena datum.
pub unsafe fn detoasted(datum: pg_sys::Datum) -> *mut pg_sys::varlena {
    unsafe {
        let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
        if pgrx::varlena::varatt_is_4b_u(ptr) {
            ptr
        } else {
            pg_sys::pg_detoast_datum(ptr)
        }
    }
}

/// A short `text` argument naming a policy (`'clamp'`, `'renormalize'`):
/// its bytes, read in place when the value is not toasted.
pub struct Word<'a>(&'a [u8]);

impl<'a> Word<'a> {
    /// The raw bytes (a cache key).
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text, or 22023 when it is not UTF-8 (then it names no policy).
    pub fn as_str(&self, function: &str, name: &str) -> &'a str {
        std::str::from_utf8(self.0)
            .unwrap_or_else(|_| raise(function, HealthError::invalid(format!("{name} is not valid UTF-8"))))
    }

    /// SAFETY: `datum` is a non-NULL `text` datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        unsafe {
            let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
            let ptr = if pgrx::varlena::varatt_is_1b(ptr) && !pgrx::varlena::varatt_is_1b_e(ptr)
                || pgrx::varlena::varatt_is_4b_u(ptr)
            {
                ptr
            } else {
                pg_sys::pg_detoast_datum_packed(ptr)
            };
            Word(pgrx::varlena::varlena_to_byte_slice(ptr))
        }
    }
}

borrowed_argument!(Word, &'static str);

/// A `text` datum read as a [`Word`], for functions that read `fcinfo` themselves.
///
/// # Safety
/// `datum` is a non-NULL `text` datum valid for `'a`.
pub unsafe fn word_of<'a>(datum: pg_sys::Datum) -> Word<'a> {
    // SAFETY: the caller's contract above.
    unsafe { Word::from_datum_unchecked(datum) }
}

fn maxalign(n: usize) -> usize {
    let a = pg_sys::MAXIMUM_ALIGNOF as usize;
    n.div_ceil(a) * a
}

borrowed_argument!(FloatArray, Array<'static, f64>);

/// A `text[]` argument kept as its raw bytes: a call-site cache compares the
/// bytes (a memcmp), and only a changed array is decoded (see `tier`).
pub struct TextArray<'a> {
    datum: pg_sys::Datum,
    raw: &'a [u8],
}

impl<'a> TextArray<'a> {
    pub fn raw(&self) -> &[u8] {
        self.raw
    }

    /// The elements, raising 22004 naming `name` when one is NULL.
    pub fn to_strings(&self, function: &str, name: &str) -> Vec<String> {
        // SAFETY: the datum is the non-NULL text[] this struct was made from.
        let array = unsafe { Array::<&str>::from_datum(self.datum, false) }
            .unwrap_or_else(|| raise(function, HealthError::null(format!("{name} must not be NULL"))));
        array
            .iter()
            .map(|v| match v {
                Some(s) => s.to_string(),
                None => raise(
                    function,
                    HealthError::null(format!("{name} must not contain NULL elements")),
                ),
            })
            .collect()
    }

    /// SAFETY: `datum` is a non-NULL `text[]` datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        unsafe {
            let ptr = detoasted(datum);
            let raw = std::slice::from_raw_parts(ptr as *const u8, pgrx::varlena::varsize_any(ptr));
            TextArray {
                datum: pg_sys::Datum::from(ptr),
                raw,
            }
        }
    }
}

borrowed_argument!(TextArray, Array<'static, &'static str>);

/// A `regclass` argument: the table's OID, not opened here (the query that
/// reads the table takes its lock and checks the caller's privileges).
pub struct TableOid<'a>(pub pg_sys::Oid, std::marker::PhantomData<&'a ()>);

impl<'a> TableOid<'a> {
    /// SAFETY: `datum` is a non-NULL `regclass` datum.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        TableOid(pg_sys::Oid::from(datum.value() as u32), std::marker::PhantomData)
    }
}

borrowed_argument!(TableOid, pgrx::PgRelation);

/// The bytes of a slice of floats (a cache key).
pub fn f64_bytes(values: &[f64]) -> &[u8] {
    // SAFETY: any f64 is 8 plain bytes; the slice covers exactly the values.
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }
}

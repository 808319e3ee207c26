//! SQL that the crate's macros write ([`crate::agg::aggregate!`]'s `CREATE
//! AGGREGATE`s, [`crate::args::v1_function!`]'s C functions) goes into the
//! install script pgrx generates, beside what `extension_sql!` puts there.

/// `extension_sql!` for SQL that a macro writes: pgrx 0.18's
/// `extension_sql!` takes only a string literal, not a `concat!`. This
/// writes the same schema entry as that macro's expansion
/// (`ExtensionSql::to_entity_graph_tokens` in pgrx-sql-entity-graph 0.18.0,
/// the exact version Cargo.toml pins) with the text as a constant; each
/// `requires` item is a Rust name, as in `extension_sql!`. The release check
/// of `make test` compares the install script pgrx writes from these with
/// the released one.
macro_rules! schema_sql {
    ($sql:expr, name = $name:literal, requires = [$($required:ident),* $(,)?]) => {
        const _: () = {
            use ::pgrx::pgrx_sql_entity_graph::section as s;
            const SQL: &str = $sql;
            const LOCATION: &str = concat!(file!(), ':', line!());
            const PAYLOAD: usize = s::u8_len()
                + s::str_len(SQL)
                + s::str_len(module_path!())
                + s::str_len(LOCATION)
                + s::str_len(file!())
                + s::u32_len()
                + s::str_len($name)
                + s::bool_len() // bootstrap
                + s::bool_len() // finalize
                + s::list_len(&[$(s::u8_len() + s::str_len(stringify!($required))),*])
                + s::list_len(&[]); // creates
            const LEN: usize = s::u32_len() + PAYLOAD;
            ::pgrx::pgrx_sql_entity_graph::__pgrx_schema_entry!(ENTRY, LEN, {
                let writer = s::EntryWriter::<LEN>::new()
                    .u32(PAYLOAD as u32)
                    .u8(s::ENTITY_CUSTOM_SQL)
                    .str(SQL)
                    .str(module_path!())
                    .str(LOCATION)
                    .str(file!())
                    .u32(line!())
                    .str($name)
                    .bool(false)
                    .bool(false)
                    .u32(<[&str]>::len(&[$(stringify!($required)),*]) as u32);
                $(let writer = writer.u8(s::POSITIONING_REF_FULL_PATH).str(stringify!($required));)*
                writer.u32(0).finish()
            });
        };
    };
}

pub(crate) use schema_sql;

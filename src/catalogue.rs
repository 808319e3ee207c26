//! The catalogue: named, versioned scoring models (`health.models`) and
//! population profiles (`health.profiles`), read as of a moment with
//! `model_for(name, at)` and `resolve_profiles(model, at)`, an append-only
//! history of every change to them (`health.catalogue_history`), and the
//! privileges the extension grants (docs/administration.md).
//!
//! `model_for` is STABLE: within one statement the same (name, at) has one
//! answer, so each call site keeps the models it resolved (callsite.rs) and
//! a query over a million accounts reads the catalogue once per distinct
//! (name, at), not once per row.

use health_core::{model, HealthError};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;

use crate::args::TableOid;
use crate::callsite::{CallSite, Part};
use crate::errors::raise;
use crate::model::Model;

/// The catalogue query, schema-qualified so that no object a user creates
/// can take its place (CVE-2018-1058). `model_in_force` checks the tables'
/// columns, reads the version in force and resolves its profiles; a NULL
/// table is the extension's own.
const MODEL_IN_FORCE: &str = "SELECT health.model_in_force($1, $2, \
     COALESCE($3::pg_catalog.regclass, 'health.models'), COALESCE($4::pg_catalog.regclass, 'health.profiles'))";

/// The three forms of a catalogue look-up named `$sql`: `(name, at DEFAULT
/// now())` from `health.models`, `(name, at, models)` from a models table the
/// caller names (the columns of `health.models`), and `(name, at, models,
/// profiles)` with profiles from a table the caller names too (the columns
/// of `health.profiles`). Each returns the version of model `name` in force
/// at `at`, every `profile_name` replaced by the profile of that name in
/// force at `at`; `$if_none` says what a known model with no version in
/// force then gives.
macro_rules! catalogue_look_up {
    ($sql:literal, $if_none:expr, $own:ident, $in:ident, $in_with_profiles:ident) => {
        #[pg_extern(stable, strict, parallel_safe, name = $sql)]
        fn $own(
            name: &str,
            at: default!(TimestampWithTimeZone, "now()"),
            fcinfo: pg_sys::FunctionCallInfo,
        ) -> Option<Model> {
            in_force(fcinfo, name, at, [None, None], $if_none)
        }

        #[pg_extern(stable, strict, parallel_safe, name = $sql)]
        fn $in(
            name: &str,
            at: TimestampWithTimeZone,
            models: TableOid,
            fcinfo: pg_sys::FunctionCallInfo,
        ) -> Option<Model> {
            in_force(fcinfo, name, at, [Some(models.0), None], $if_none)
        }

        #[pg_extern(stable, strict, parallel_safe, name = $sql)]
        fn $in_with_profiles(
            name: &str,
            at: TimestampWithTimeZone,
            models: TableOid,
            profiles: TableOid,
            fcinfo: pg_sys::FunctionCallInfo,
        ) -> Option<Model> {
            in_force(fcinfo, name, at, [Some(models.0), Some(profiles.0)], $if_none)
        }
    };
}

// model_for: an error when no version is in force at `at`.
catalogue_look_up!(
    "model_for",
    IfNone::Error,
    model_for,
    model_for_in,
    model_for_in_with_profiles
);
// model_for_or_null: NULL then, for scoring history that starts before the
// model (a name the catalogue does not hold at all is still an error).
catalogue_look_up!(
    "model_for_or_null",
    IfNone::Null,
    model_for_or_null,
    model_for_or_null_in,
    model_for_or_null_in_with_profiles
);

/// What `model_for` answers for a known model with no version in force.
#[derive(Clone, Copy, PartialEq)]
enum IfNone {
    Error,
    Null,
}

impl IfNone {
    /// The SQL function, as its errors name it.
    fn function(self) -> &'static str {
        match self {
            IfNone::Error => "model_for",
            IfNone::Null => "model_for_or_null",
        }
    }
}

/// The model in force, kept per call site for each (name, moment, tables):
/// `[models, profiles]`, None for the extension's own table.
fn in_force(
    fcinfo: pg_sys::FunctionCallInfo,
    name: &str,
    at: TimestampWithTimeZone,
    tables: [Option<pg_sys::Oid>; 2],
    if_none: IfNone,
) -> Option<Model> {
    let micros = at.into_inner().to_le_bytes();
    // (OID 0 names no table: the key of an extension's own table.)
    let oids = tables.map(|t| t.map_or(0, |oid| oid.to_u32()).to_le_bytes()).concat();
    let key = [Part::Bytes(name.as_bytes()), Part::Bytes(&micros), Part::Bytes(&oids)];
    // SAFETY: fcinfo is this call's.
    let site = unsafe { CallSite::of(fcinfo) };
    let model = site.get_or_build(&key, || {
        let [models, profiles] = tables.map(|t| match t {
            Some(oid) => DatumWithOid::from(oid),
            None => DatumWithOid::null_oid(pg_sys::OIDOID),
        });
        let model = Spi::connect(|client| {
            client
                .select(MODEL_IN_FORCE, Some(1), &[name.into(), at.into(), models, profiles])?
                .first()
                .get_one::<Model>()
        })
        .unwrap_or_else(|e| catalogue_unreadable(e, if_none));
        if model.is_none() {
            explain_absence(name, at, tables[0], if_none);
        }
        let size = 64 + name.len() + model.as_ref().map_or(0, Model::size_in_bytes);
        (model, size)
    });
    (*model).clone()
}

/// What a catalogue table answered could not be read (a table not shaped
/// like health.models): the caller's table, so 22023 with a hint, naming
/// the look-up that read it.
fn catalogue_unreadable(e: pgrx::spi::SpiError, if_none: IfNone) -> ! {
    raise(
        if_none.function(),
        HealthError::invalid(format!("reading the model catalogue failed: {e}"))
            .with_hint("A catalogue table has the columns of health.models."),
    )
}

/// No version in force: an error when the catalogue (`models`, None for
/// `health.models`) has no row of that name at all, naming the likely one;
/// for a name with versions, none in force at `at`, an error saying when its
/// first takes effect, or NULL when the caller asked for that. The catalogue
/// is read again only to explain.
fn explain_absence(name: &str, at: TimestampWithTimeZone, models: Option<pg_sys::Oid>, if_none: IfNone) {
    let error = Spi::connect(|client| {
        let catalogue = match models {
            None => "health.models".to_owned(),
            Some(oid) => client
                .select(
                    "SELECT $1::pg_catalog.regclass::pg_catalog.text",
                    Some(1),
                    &[oid.into()],
                )?
                .first()
                .get_one::<String>()?
                .unwrap_or_default(),
        };
        // regclass's text is the table's name, quoted as SQL needs it;
        // timestamps print as the session's settings print them.
        let row = client
            .select(
                &format!(
                    "SELECT pg_catalog.count(*) > 0, $2::pg_catalog.text, \
                            pg_catalog.min(m.effective_from) FILTER (WHERE m.effective_from > $2)::pg_catalog.text \
                     FROM {catalogue} m WHERE m.name = $1"
                ),
                Some(1),
                &[name.into(), at.into()],
            )?
            .first();
        let (known, at_text, first) = (row.get::<bool>(1)?, row.get::<String>(2)?, row.get::<String>(3)?);
        if known == Some(true) {
            return Ok(match if_none {
                IfNone::Null => None,
                IfNone::Error => Some(model::no_version_in_force(
                    name,
                    &catalogue,
                    at_text.as_deref().unwrap_or_default(),
                    first.as_deref(),
                )),
            });
        }
        let names = client
            .select(
                &format!(
                    "SELECT pg_catalog.array_agg(DISTINCT m.name::pg_catalog.text ORDER BY m.name::pg_catalog.text) \
                     FROM {catalogue} m"
                ),
                Some(1),
                &[],
            )?
            .first()
            .get_one::<Vec<String>>()?
            .unwrap_or_default();
        Ok::<_, pgrx::spi::SpiError>(Some(model::unknown_model(name, &catalogue, &names)))
    })
    .unwrap_or_else(|e| catalogue_unreadable(e, if_none));
    if let Some(error) = error {
        raise(if_none.function(), error)
    }
}

extension_sql!(
    r#"
-- Named population profiles that models reference by "profile_name", one
-- row per version: the version in force at a moment is the one with the
-- latest effective_from at or before it.
CREATE TABLE profiles (
    name           text NOT NULL,
    profile        profile NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    effective_from timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT profiles_pkey PRIMARY KEY (name, effective_from)
);
SELECT pg_catalog.pg_extension_config_dump('profiles', '');

-- The model catalogue: every version of every model, with the moment it took effect.
CREATE TABLE models (
    name           text NOT NULL,
    version        text NOT NULL,
    effective_from timestamptz NOT NULL,
    model          model NOT NULL,
    PRIMARY KEY (name, effective_from),
    UNIQUE (name, version)
);
SELECT pg_catalog.pg_extension_config_dump('models', '');

-- A row of a models table and its document name one version: a document
-- without a version takes the row's, and one whose version differs is
-- refused, so that explain() and the catalogue never disagree. Any table
-- with the columns of health.models can use it as its own trigger.
CREATE FUNCTION model_version_agrees() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := NEW.model::text::jsonb;
BEGIN
    IF doc IS NULL OR NEW.version IS NULL THEN
        RETURN NEW;
    ELSIF NOT doc ? 'version' THEN
        NEW.model := jsonb_set(doc, '{version}', to_jsonb(NEW.version))::health.model;
    ELSIF doc ->> 'version' IS DISTINCT FROM NEW.version THEN
        RAISE EXCEPTION '%.%: the row of model "%" says version "%", its document says "%"',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, NEW.name, NEW.version, doc ->> 'version'
            USING ERRCODE = '23514',
                  HINT = 'Give both the same version: a new version of a model is a new row (with its effective_from); '
                         'to relabel one, set the document''s too: model = jsonb_set(model::text::jsonb, ''{version}'', to_jsonb(version))::health.model.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER version_agrees BEFORE INSERT OR UPDATE ON models
    FOR EACH ROW EXECUTE FUNCTION model_version_agrees();

-- The columns a table needs to serve as a catalogue (those of health.models
-- or health.profiles) that it lacks, or NULL; column types other than the
-- document's are left to the query's own comparisons.
CREATE FUNCTION catalogue_lacks(catalogue regclass, document_column text, document_type regtype) RETURNS text
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(format('%I %s', want.col, want.typ), ', ' ORDER BY want.i)
    FROM (VALUES (1, 'name', 'text'), (2, 'effective_from', 'timestamptz'),
                 (3, document_column, format_type(document_type, NULL))) want(i, col, typ)
    WHERE NOT EXISTS (
        SELECT FROM pg_attribute a
        WHERE a.attrelid = catalogue AND a.attname = want.col AND a.attnum > 0 AND NOT a.attisdropped
          AND (want.col <> document_column OR a.atttypid = document_type))
$$;

-- Replaces every "profile_name" of a model by the profile of that name in
-- force at a moment, read from a profiles table (health.profiles or one with
-- its columns). The table is read with the caller's privileges.
CREATE FUNCTION resolve_profiles(m model, at timestamptz, profiles regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := m::text::jsonb;
    i int;
    wanted text;
    found_profile health.profile;
    found_rows bigint;
    lacking text;
    checked boolean := false;
BEGIN
    FOR i IN 0 .. jsonb_array_length(doc -> 'metrics') - 1 LOOP
        wanted := doc -> 'metrics' -> i -> 'scale' ->> 'profile_name';
        CONTINUE WHEN wanted IS NULL;
        IF NOT checked THEN
            lacking := health.catalogue_lacks(profiles, 'profile', 'health.profile');
            IF lacking IS NOT NULL THEN
                RAISE EXCEPTION 'resolve_profiles: % is not a profiles table: it has no column %', profiles, lacking
                    USING ERRCODE = '42703',
                          HINT = 'A profiles table has the columns of health.profiles: name text, effective_from timestamptz, profile health.profile.';
            END IF;
            checked := true;
        END IF;
        EXECUTE format('SELECT p.profile FROM %s p WHERE p.name = $1 AND p.effective_from <= $2 '
                       'ORDER BY p.effective_from DESC LIMIT 1', profiles)
            INTO found_profile USING wanted, at;
        GET DIAGNOSTICS found_rows = ROW_COUNT;
        IF found_rows = 0 THEN
            EXECUTE format('SELECT count(*) FROM %s p WHERE p.name = $1', profiles) INTO found_rows USING wanted;
            IF found_rows > 0 THEN
                RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" has no version in % in force at %', i, wanted, profiles, at
                    USING ERRCODE = '22023',
                          HINT = 'Every version of that profile has an effective_from later than that moment.';
            END IF;
            RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" is not in %', i, wanted, profiles
                USING ERRCODE = '22023';
        END IF;
        IF found_profile IS NULL THEN
            RAISE EXCEPTION 'resolve_profiles: metrics[%].scale.profile_name "%" is NULL in % in force at %', i, wanted, profiles, at
                USING ERRCODE = '22004';
        END IF;
        doc := jsonb_set(doc, ARRAY['metrics', i::text, 'scale', 'profile'], found_profile::text::jsonb);
    END LOOP;
    RETURN doc::text::health.model;
END
$$;

-- The same, from health.profiles.
CREATE FUNCTION resolve_profiles(m model, at timestamptz) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT health.resolve_profiles(m, at, 'health.profiles')
$$;

-- The same, with the profiles in force now.
CREATE FUNCTION resolve_profiles(m model) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT health.resolve_profiles(m, now())
$$;

-- model_for's look-up, uncached (model_for keeps its answers per statement):
-- the version of a model in force at a moment in a models table, with its
-- profiles resolved from a profiles table, both read with the caller's
-- privileges; NULL when the model has no version in force then.
CREATE FUNCTION model_in_force(model_name text, at timestamptz, models regclass, profiles regclass) RETURNS model
STABLE STRICT PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lacking text := health.catalogue_lacks(models, 'model', 'health.model');
    found_model health.model;
BEGIN
    IF lacking IS NOT NULL THEN
        RAISE EXCEPTION 'model_for: % is not a model catalogue: it has no column %', models, lacking
            USING ERRCODE = '42703',
                  HINT = 'A model catalogue has the columns of health.models: name text, effective_from timestamptz, model health.model.';
    END IF;
    EXECUTE format('SELECT m.model FROM %s m WHERE m.name = $1 AND m.effective_from <= $2 '
                   'ORDER BY m.effective_from DESC LIMIT 1', models)
        INTO found_model USING model_name, at;
    IF found_model IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN health.resolve_profiles(found_model, at, profiles);
END
$$;
"#,
    name = "model_catalogue",
    requires = [Model, model_for, "profile_type_options", "model_type_options"]
);

extension_sql!(
    r#"
-- Every change to health.models and health.profiles, appended by triggers:
-- who (the role in effect, and the role that logged in), when, what the row
-- was before and after. Nobody can change or remove what is recorded.
CREATE TABLE catalogue_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    changed_by     name NOT NULL,
    login_role     name NOT NULL,
    catalogue      text NOT NULL CHECK (catalogue IN ('models', 'profiles')),
    operation      text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    name           text NOT NULL,
    effective_from timestamptz NOT NULL,
    old_row        jsonb,
    new_row        jsonb
);
CREATE INDEX catalogue_history_row ON catalogue_history (catalogue, name, effective_from, id);
SELECT pg_catalog.pg_extension_config_dump('catalogue_history', '');
SELECT pg_catalog.pg_extension_config_dump('catalogue_history_id_seq', '');

-- Runs as the extension's owner, so that roles allowed to change the
-- catalogue can append to its history without being able to write to it
-- themselves. The role recorded is the one in effect for the statement (SET
-- ROLE counts), read from the role setting because current_user inside a
-- SECURITY DEFINER function is the owner.
CREATE FUNCTION record_catalogue_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    actor name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    -- the column holding the model or profile, recorded as its JSON document
    doc_column text := CASE TG_TABLE_NAME WHEN 'models' THEN 'model' ELSE 'profile' END;
    key_name text;
    key_from timestamptz;
    old_json jsonb;
    new_json jsonb;
    last health.catalogue_history;
BEGIN
    IF TG_OP = 'DELETE' THEN
        key_name := OLD.name; key_from := OLD.effective_from;
    ELSE
        key_name := NEW.name; key_from := NEW.effective_from;
        new_json := to_jsonb(NEW);
        new_json := jsonb_set(new_json, ARRAY[doc_column], (new_json ->> doc_column)::jsonb);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_json := to_jsonb(OLD);
        old_json := jsonb_set(old_json, ARRAY[doc_column], (old_json ->> doc_column)::jsonb);
    END IF;
    IF TG_OP = 'UPDATE' AND old_json = new_json THEN
        RETURN NULL; -- nothing changed
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- A restore (pg_dump) inserts rows that its restored history already
        -- holds as present: when the latest entry about this row says it
        -- exists with exactly this content, the insert is not a change.
        SELECT h.* INTO last FROM health.catalogue_history h
        WHERE h.catalogue = TG_TABLE_NAME
          AND ((h.name = key_name AND h.effective_from = key_from)
               OR (h.old_row ->> 'name' = key_name AND (h.old_row ->> 'effective_from')::timestamptz = key_from))
        ORDER BY h.id DESC LIMIT 1;
        IF FOUND AND last.operation <> 'DELETE' AND last.name = key_name
           AND last.effective_from = key_from AND last.new_row = new_json THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO health.catalogue_history (changed_by, login_role, catalogue, operation, name, effective_from, old_row, new_row)
    VALUES (actor, session_user, TG_TABLE_NAME, TG_OP, key_name, key_from, old_json, new_json);
    RETURN NULL;
END
$$;

CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change();
CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change();

CREATE FUNCTION refuse_history_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'health.catalogue_history is append-only: its rows cannot be changed or removed'
        USING ERRCODE = '42501',
              HINT = 'The history is written by the triggers on health.models and health.profiles.';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON catalogue_history
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON catalogue_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- Privileges (docs/administration.md): every function, aggregate and type is
-- usable by every role (EXECUTE and USAGE are PostgreSQL's defaults); the
-- catalogue is readable by every role and writable only by roles the DBA
-- grants it to.
GRANT USAGE ON SCHEMA health TO PUBLIC;
GRANT SELECT ON models, profiles, catalogue_history TO PUBLIC;
"#,
    name = "catalogue_history",
    requires = ["model_catalogue"]
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn model_for_resolves_versions_and_profiles_as_of_each_moment() {
        Spi::run(
            r#"INSERT INTO health.profiles (name, effective_from, profile)
               SELECT 'logins', '2026-01-01'::timestamptz, health.profile(x) FROM generate_series(1, 100) x
               UNION ALL SELECT 'logins', '2026-06-01', health.profile(x) FROM generate_series(1, 1000) x;
               INSERT INTO health.models VALUES
                 ('m', 'v1', '2026-01-01', '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "logins"}}]}'),
                 ('m', 'v2', '2026-09-01', '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "target", "target": 200}}]}')"#,
        )
        .unwrap();
        // One statement, many moments (some repeated): each row gets the
        // model and profiles in force at its moment, cached or not.
        let scores = Spi::get_one::<String>(
            r#"SELECT string_agg(coalesce(round(health.evaluate(health.model_for_or_null('m', at), '{"logins": 50}'::jsonb)::numeric, 1)::text, 'none'), ' ' ORDER BY i)
               FROM unnest('{2025-12-31, 2026-03-01, 2026-07-01, 2026-03-01, 2026-09-01, 2026-07-01}'::timestamptz[]) WITH ORDINALITY t(at, i)"#,
        )
        .unwrap();
        assert_eq!(scores.as_deref(), Some("none 50.0 5.0 50.0 25.0 5.0"));
    }

    #[pg_test(error = "model_for: health.models has no version of model \"m\" in force at 2025-06-01 00:00:00+00")]
    fn a_moment_before_the_first_version_is_an_error() {
        Spi::run(
            r#"INSERT INTO health.models VALUES ('m', 'v1', '2026-01-01 00:00+00', '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "linear", "lo": 0, "hi": 10}}]}')"#,
        )
        .unwrap();
        Spi::get_one::<bool>("SELECT health.model_for('m', '2025-06-01 00:00+00') IS NULL").unwrap();
    }

    #[pg_test(error = "model_for: health.models has no model named \"n\"")]
    fn a_name_the_catalogue_lacks_is_an_error() {
        Spi::get_one::<bool>("SELECT health.model_for('n') IS NULL").unwrap();
    }

    #[pg_test]
    fn model_for_reads_a_catalogue_the_caller_names() {
        Spi::run(
            r#"CREATE TABLE my_models (LIKE health.models INCLUDING ALL);
               CREATE TABLE my_profiles (LIKE health.profiles INCLUDING ALL);
               INSERT INTO my_profiles (name, effective_from, profile)
               SELECT 'logins', '2026-01-01', health.profile(x) FROM generate_series(1, 400) x;
               INSERT INTO my_models VALUES
                 ('m', 'v1', '2026-01-01', '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "logins"}}]}')"#,
        )
        .unwrap();
        // 50 of the values 1..400 are at or below 50: 12.5 %
        let score = Spi::get_one::<f64>(
            r#"SELECT health.evaluate(health.model_for('m', '2026-06-01', 'my_models', 'my_profiles'), '{"logins": 50}'::jsonb)"#,
        )
        .unwrap();
        assert_eq!(score, Some(12.5));
        let none =
            Spi::get_one::<bool>("SELECT health.model_for_or_null('m', '2025-06-01', 'my_models') IS NULL").unwrap();
        assert_eq!(none, Some(true));
    }

    #[pg_test(
        error = "resolve_profiles: metrics[0].scale.profile_name \"logins\" has no version in health.profiles in force at 2025-06-01 00:00:00+00"
    )]
    fn a_profile_not_yet_in_force_is_an_error() {
        Spi::run(
            r#"SET TIME ZONE 'UTC';
               INSERT INTO health.profiles (name, effective_from, profile) SELECT 'logins', '2026-01-01', health.profile(1);
               INSERT INTO health.models VALUES ('m', 'v1', '2025-01-01', '{"metrics": [{"name": "logins", "weight": 1, "scale": {"method": "profile", "by": "percentile", "profile_name": "logins"}}]}')"#,
        )
        .unwrap();
        Spi::get_one::<bool>("SELECT health.model_for('m', '2025-06-01 00:00+00') IS NULL").unwrap();
    }
}

-- pg_temp.describe_extension(): every object of the extension in one line
-- each, with everything that makes it what it is (definitions, defaults,
-- volatility, strictness, parallel safety, C symbols, aggregate steps, type
-- I/O, operators and operator classes, columns, constraints, indexes,
-- triggers, privileges, comments) and no
-- OIDs, so that two databases can be compared line by line. A temporary
-- function: \i this file in each session that compares.
CREATE FUNCTION pg_temp.describe_extension() RETURNS SETOF text LANGUAGE sql AS $describe$
WITH ext AS (
    SELECT oid, extnamespace, extowner, extconfig, extcondition FROM pg_extension WHERE extname = 'customer_health'
), members AS (
    SELECT d.classid, d.objid FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
), described AS (
    SELECT 'function ' || p.oid::regprocedure::text || ' '
           || CASE WHEN p.prokind = 'a' THEN
                  (SELECT concat_ws(' ', 'aggregate sfunc=' || a.aggtransfn::regproc::text,
                                    'stype=' || format_type(a.aggtranstype, NULL),
                                    'final=' || a.aggfinalfn::regproc::text,
                                    'combine=' || a.aggcombinefn::regproc::text,
                                    'serial=' || a.aggserialfn::regproc::text,
                                    'deserial=' || a.aggdeserialfn::regproc::text,
                                    'sspace=' || a.aggtransspace, 'init=' || a.agginitval,
                                    'parallel=' || p.proparallel::text, 'strict=' || p.proisstrict::text)
                   FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
              ELSE regexp_replace(pg_get_functiondef(p.oid), '\s+', ' ', 'g') END
           || ' acl=' || coalesce(p.proacl::text, 'default')
           || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), 'none')
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT concat_ws(' ', 'type', t.oid::regtype::text, t.typlen, t.typalign, t.typstorage,
                     t.typinput::regproc::text, t.typoutput::regproc::text,
                     t.typreceive::regproc::text, t.typsend::regproc::text,
                     'acl=' || coalesce(t.typacl::text, 'default'),
                     'comment=' || coalesce(obj_description(t.oid, 'pg_type'), 'none'))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT concat_ws(' ', 'relation', c.relkind, c.oid::regclass::text,
                     'acl=' || coalesce(c.relacl::text, 'default'),
                     'comment=' || coalesce(obj_description(c.oid, 'pg_class'), 'none'))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT concat_ws(' ', 'column', a.attrelid::regclass::text, a.attnum, a.attname,
                     format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' END,
                     nullif(a.attidentity::text, ''), 'default ' || pg_get_expr(ad.adbin, ad.adrelid))
    FROM members m
    JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'r'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT concat_ws(' ', 'constraint', co.conrelid::regclass::text, co.conname, pg_get_constraintdef(co.oid))
    FROM members m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(tg.oid)
    FROM members m JOIN pg_trigger tg ON m.classid = 'pg_class'::regclass AND tg.tgrelid = m.objid AND NOT tg.tgisinternal
    UNION ALL
    SELECT concat_ws(' ', 'operator', o.oid::regoperator::text, 'function=' || o.oprcode::regproc::text,
                     'commutator=' || o.oprcom::regoperator::text, 'negator=' || o.oprnegate::regoperator::text,
                     'restrict=' || o.oprrest::regproc::text, 'join=' || o.oprjoin::regproc::text,
                     'hashes=' || o.oprcanhash, 'merges=' || o.oprcanmerge,
                     'comment=' || coalesce(obj_description(o.oid, 'pg_operator'), 'none'))
    FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
    UNION ALL
    SELECT concat_ws(' ', 'operator class', oc.opcname, am.amname, oc.opcintype::regtype::text, 'default=' || oc.opcdefault,
                     'operators=' || (SELECT string_agg(ao.amopstrategy || ':' || ao.amopopr::regoperator::text, ',' ORDER BY ao.amopstrategy)
                                      FROM pg_amop ao WHERE ao.amopfamily = oc.opcfamily),
                     'functions=' || (SELECT string_agg(ap.amprocnum || ':' || ap.amproc::regprocedure::text, ',' ORDER BY ap.amprocnum)
                                      FROM pg_amproc ap WHERE ap.amprocfamily = oc.opcfamily))
    FROM members m JOIN pg_opclass oc ON m.classid = 'pg_opclass'::regclass AND oc.oid = m.objid
    JOIN pg_am am ON am.oid = oc.opcmethod
    UNION ALL
    SELECT concat_ws(' ', 'schema', n.nspname,
                     'acl=' || replace(coalesce(n.nspacl::text, 'default'), pg_get_userbyid(n.nspowner), 'OWNER'),
                     'member=' || EXISTS (SELECT FROM members m WHERE m.classid = 'pg_namespace'::regclass AND m.objid = n.oid))
    FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
    UNION ALL
    SELECT 'configuration tables ' || (SELECT string_agg(x::regclass::text, ', ' ORDER BY x::regclass::text) FROM unnest(ext.extconfig) x)
           || ' conditions ' || array_to_string(ext.extcondition, ',')
    FROM ext
    UNION ALL
    SELECT 'object ' || pg_describe_object(m.classid, m.objid, 0) FROM members m
)
SELECT * FROM described
$describe$;

-- The lines that differ between this database's extension and another
-- description (a fresh install's, one line each), marked by where they are.
CREATE FUNCTION pg_temp.differences_from(fresh_install text) RETURNS SETOF text LANGUAGE sql AS $differences$
SELECT 'only after the update: ' || line FROM (
    SELECT line FROM pg_temp.describe_extension() AS d(line)
    EXCEPT SELECT unnest(string_to_array(fresh_install, E'\n'))) d
UNION ALL
SELECT 'only in a fresh install: ' || line FROM (
    SELECT unnest(string_to_array(fresh_install, E'\n')) AS line
    EXCEPT SELECT line FROM pg_temp.describe_extension() AS d(line)) d
$differences$;

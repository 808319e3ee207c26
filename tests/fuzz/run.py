"""Calls every function and aggregate of schema health with random and
hostile arguments, each call in its own subtransaction, and counts what
happened. Passing means: the server never crashed and no call raised an
internal error (SQLSTATE class XX, which is what a Rust panic or a bug
becomes); every other outcome (a value, NULL, or an ERROR with a proper
SQLSTATE) is how bad input should be answered.

Arguments come from pools per type: numbers at and beyond every boundary
(NaN, ±Infinity, ±0, the largest and smallest doubles), NULLs, empty,
multi-dimensional and non-1-based arrays, 100 000-element arrays, garbage
and mutated text of every health.* type, mutated model JSON; aggregates get
0 to 20 random rows. Deterministic for a seed.

    python3 tests/fuzz/run.py --host H --port P --db D [--calls N] [--seed S]

Prints counts by outcome and "fuzz: N passed, M failed" (one check each for
crashes and for internal errors, plus one per call that failed).
"""
import argparse
import collections
import random
import subprocess

BATCH = 500

# Runs one call in its own subtransaction and returns its SQLSTATE (with
# the message, on one line, for an internal error): the fuzzer's only
# helper, made in each session. One output line per call.
FUZZ_CALL = ("CREATE OR REPLACE FUNCTION pg_temp.fuzz_call(q text) RETURNS text LANGUAGE plpgsql AS $f$ "
             "BEGIN EXECUTE q; RETURN '00000'; "
             "EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || CASE WHEN SQLSTATE LIKE 'XX%' "
             "THEN ' ' || regexp_replace(SQLERRM, '[[:cntrl:]]', ' ', 'g') ELSE '' END; END $f$;\n")


class Db:
    def __init__(self, a):
        self.args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", a.host, "-p", str(a.port),
                     "-U", a.user, "-d", a.db]

    def run(self, sql):
        r = subprocess.run(self.args, input=sql, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr


def quote(text):
    return "'" + text.replace("'", "''") + "'"


class Args:
    """Random SQL expressions of each argument type."""

    NUMBERS = ["0", "1", "-1", "0.5", "40", "50", "70", "99.999999", "100", "100.0000001", "101", "-0.0", "1e308",
               "-1e308", "5e-324", "1e-300", "'NaN'", "'Infinity'", "'-Infinity'", "NULL", "2147483648", "1e15"]
    WORDS = ["renormalize", "renormalise", "zero", "neutral", "null", "clamp", "percentile", "minmax", "zscore",
             "log_zscore", "", " ", "NULL", "ünïcödé", "a" * 300, "'; DROP TABLE x; --", "\\", "%s%n", "\t\n"]

    def __init__(self, rng, samples):
        self.rng = rng
        self.samples = samples  # valid text forms of the stored types, by type

    def number(self):
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(self.NUMBERS)
        if r < 0.8:
            return repr(self.rng.uniform(-200, 200))
        return repr(self.rng.choice([-1, 1]) * 10 ** self.rng.uniform(-320, 308))

    def integer(self):
        return self.rng.choice(["0", "1", "-1", "3", "5", "7", "10", "11", "1000", "1001", "2147483647",
                                "-2147483648", "NULL", str(self.rng.randint(-100, 100))])

    def number_array(self):
        r = self.rng.random()
        if r < 0.08:
            return "NULL"
        if r < 0.14:
            return "'{}'"
        if r < 0.18:
            return "'{{1,2},{3,4}}'"
        if r < 0.22:
            return "'[0:2]={10,20,30}'"
        if r < 0.25:
            return "'{NULL,NULL}'"
        if r < 0.27:
            return "(SELECT array_agg((g % 101)::float8) FROM generate_series(1, 100000) g)"
        n = self.rng.randint(1, 12)
        return "ARRAY[" + ", ".join(self.number() for _ in range(n)) + "]::float8[]"

    def word(self):
        return "NULL" if self.rng.random() < 0.08 else quote(self.rng.choice(self.WORDS))

    def word_array(self):
        r = self.rng.random()
        if r < 0.1:
            return "NULL"
        if r < 0.15:
            return "'{}'"
        if r < 0.2:
            return "'{{a,b},{c,d}}'"
        n = self.rng.randint(1, 6)
        return "ARRAY[" + ", ".join(self.word() for _ in range(n)) + "]::text[]"

    def boolean(self):
        return self.rng.choice(["true", "false", "NULL"])

    def timestamp(self):
        return self.rng.choice(["'2026-01-01 00:00+00'", "'2026-06-15 12:00+00'", "'infinity'", "'-infinity'",
                                "'4713-01-01 BC'", "'294276-12-31'", "now()", "NULL",
                                quote(f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}")])

    def interval(self):
        return self.rng.choice(["'30 days'", "'1 day'", "'0'", "'-1 day'", "'1 microsecond'", "'178000000 years'",
                                "'1 month'", "NULL"])

    def regclass(self):
        # catalogue tables, tables that are not catalogues, OIDs of nothing
        return self.rng.choice(["'health.models'", "'health.profiles'", "'health.catalogue_history'", "'pg_class'",
                                "'0'", "'1'", "'4294967295'", "NULL"])

    def regtype(self):
        return self.rng.choice(["'health.model'", "'health.profile'", "'integer'", "'0'", "'4294967295'", "NULL"])

    def mutate(self, text):
        chars = list(text)
        for _ in range(self.rng.randint(1, 4)):
            op = self.rng.random()
            i = self.rng.randrange(len(chars) + 1)
            if op < 0.3 and chars:
                del chars[min(i, len(chars) - 1)]
            elif op < 0.55:
                chars.insert(i, self.rng.choice('{}[]",:-0123456789.eE NaInfity\\'))
            elif op < 0.75 and chars:
                chars[min(i, len(chars) - 1)] = self.rng.choice('0912345e-.,"}]')
            elif op < 0.9:
                chars[i:i] = list(self.rng.choice(['1e308', '-1e308', 'NaN', '"NaN"', '-0', '1e-320', 'null',
                                                   '99999999999999999999', '[]', '{}', '""']))
            else:
                chars = chars[: self.rng.randrange(len(chars) + 1)]
        return "".join(chars)

    def stored(self, type_name):
        r = self.rng.random()
        if r < 0.08:
            return "NULL"
        valid = self.rng.choice(self.samples[type_name])
        if r < 0.45:
            return f"{quote(valid)}::health.{type_name}"
        if r < 0.9:
            return f"{quote(self.mutate(valid))}::health.{type_name}"
        return f"{quote(self.rng.choice(['', 'garbage', '[]', '{}', 'null', '[[[[', chr(0x1F600)]))}::health.{type_name}"

    def jsonb(self):
        r = self.rng.random()
        if r < 0.08:
            return "NULL"
        if r < 0.3:
            return quote(self.rng.choice(['{}', '[]', 'null', '1', '"x"', '{"logins": "nine"}', '{"logins": null}',
                                          '{"logins": 1e308, "tickets": -1e308}', '{"frequncy": 2}',
                                          '{"logins": 12, "tickets": 3, "nps": 45}'])) + "::jsonb"
        keys = ["logins", "tickets", "nps", "seats", "adoption", "x", ""]
        parts = [f'"{self.rng.choice(keys)}": {self.rng.choice(["0", "1", "-5", "100", "1e300", "12.5", "true", "[]"])}'
                 for _ in range(self.rng.randint(0, 5))]
        return quote("{" + ", ".join(parts) + "}") + "::jsonb"

    def of(self, sql_type):
        """An expression of `sql_type` (always cast, so overloads and VALUES lists resolve)."""
        if sql_type == '"any"':
            # a VARIADIC "any" argument (the fused calls): a value of some type
            return self.of(self.rng.choice(["double precision", "double precision", "integer", "text", "jsonb"]))
        make = {
            "double precision": self.number,
            "double precision[]": self.number_array,
            "integer": self.integer,
            "bigint": self.integer,
            "text": self.word,
            "text[]": self.word_array,
            "boolean": self.boolean,
            "timestamp with time zone": self.timestamp,
            "interval": self.interval,
            "jsonb": self.jsonb,
            "regclass": self.regclass,
            "regtype": self.regtype,
            "health.scorecard": lambda: self.stored("scorecard"),
            "health.profile": lambda: self.stored("profile"),
            "health.trend": lambda: self.stored("trend"),
            "health.model": lambda: self.stored("model"),
            "health.outcomes": lambda: self.stored("outcomes"),
            "health.responses": lambda: self.stored("responses"),
            "health.fit_rows": lambda: self.stored("fit_rows"),
        }[sql_type]
        return f"({make()})::{sql_type}"


SAMPLES = """
SELECT 'scorecard', health.scorecard(m, s, w)::text FROM (VALUES ('logins', 80.0, 3.0), ('nps', NULL, 1.0), ('tickets', 40.0, 2.0)) v(m, s, w)
UNION ALL SELECT 'scorecard', '[]'::health.scorecard::text
UNION ALL SELECT 'profile', health.profile(x)::text FROM generate_series(1, 50) x
UNION ALL SELECT 'profile', health.profile(x)::text FROM (SELECT exp(g / 100.0) - 5 AS x FROM generate_series(1, 2000) g) s
UNION ALL SELECT 'trend', health.trend(at, s)::text FROM (VALUES ('2026-01-01 00:00+00'::timestamptz, 70.0), ('2026-02-01 00:00+00', 66.0)) v(at, s)
UNION ALL SELECT 'model', '{"metrics": [{"name": "logins", "weight": 3, "scale": {"method": "log", "lo": 0, "hi": 100}}, {"name": "tickets", "weight": 1, "higher_is_better": false, "scale": {"method": "linear", "lo": 0, "hi": 10}}, {"name": "nps", "weight": 2, "scale": {"method": "bands", "cutoffs": [0, 30], "scores": [20, 60, 100]}, "critical_floor": 25}], "tiers": {"scheme": "grade"}}'::health.model::text
UNION ALL SELECT 'outcomes', health.outcomes(s, c)::text FROM (VALUES (80.0, false), (60, true), (60, false), (20.5, true), (100, false)) v(s, c)
UNION ALL SELECT 'outcomes', '{"retained": [], "churned": [[0, 3]]}'::health.outcomes::text
UNION ALL SELECT 'responses', health.responses(r)::text FROM unnest(ARRAY[10, 9, 9, 7, 3, 0, 5]) r
UNION ALL SELECT 'responses', '[[1, 2], [4, 1], [5, 7]]'::health.responses::text
UNION ALL SELECT 'fit_rows', health.fit_rows(ARRAY[a, b], c, '{logins,nps}')::text FROM (VALUES (1.0, 20.0, true), (5, 80, false), (3, 50, false), (4, 10, true)) v(a, b, c)
UNION ALL SELECT 'fit_rows', '{"names": null, "features": [[1], [2], [3]], "churned": [true, false, false], "skipped": 1, "imputed": 0}'::health.fit_rows::text
UNION ALL SELECT 'model', '{"metrics": [{"name": "seats", "weight": 1, "scale": {"method": "piecewise", "knots": [0, 50, 100], "scores": [0, 80, 100]}}, {"name": "adoption", "weight": 1, "scale": {"method": "zscore", "mean": 50, "stddev": 10}}], "missing": "zero", "min_coverage": 0.5}'::health.model::text
"""

FUNCTIONS = """
SELECT p.proname, p.prokind, p.pronargs,
       array_to_string(ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t), ';')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'health' AND p.prorettype <> 'trigger'::regtype
  AND NOT EXISTS (SELECT FROM unnest(p.proargtypes) t WHERE t IN ('internal'::regtype, 'cstring'::regtype))
ORDER BY 1, 4
"""


# Valid specs of the fused wide form (the planner writes them; fuzzed with
# any number of values of any type).
FUSED_SPECS = [
    "'linear 0.0 20.0 higher clamp; target 10.0 lower; weights 1.0,2.0; missing zero; min_coverage 0.0'::text",
    "'log 0.0 400.0 higher null; bands 3.0,6.0 0.0,50.0,100.0; value; weights 1.0,1.0,1e-300; missing null; min_coverage 0.5'::text",
    "'piecewise 0.0,10.0 0.0,100.0; zscore 50.0 10.0 lower; weights 3.0,0.0; missing renormalize; min_coverage 1.0'::text",
]


def call(rng, gen, name, kind, types):
    if name in ("weighted_score_fused", "evaluate_fused"):
        first = rng.choice(FUSED_SPECS) if name == "weighted_score_fused" and rng.random() < 0.7 else gen.of(types[0])
        values = [gen.of('"any"') for _ in range(rng.randint(0, 4))]
        return f"SELECT health.{name}({', '.join([first] + values)})"
    if kind == "a":
        rows = rng.randint(0, 20)
        cols = [f"c{i}" for i in range(len(types))]
        if rows == 0:
            source = f"(SELECT {', '.join(f'{gen.of(t)} AS {c}' for t, c in zip(types, cols))} WHERE false) v"
        else:
            values = ", ".join("(" + ", ".join(gen.of(t) for t in types) + ")" for _ in range(rows))
            source = f"(VALUES {values}) v({', '.join(cols)})"
        return f"SELECT health.{name}({', '.join(cols)}) FROM {source}"
    return f"SELECT health.{name}({', '.join(gen.of(t) for t in types)})"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--calls", type=int, default=50000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    db = Db(a)
    rng = random.Random(a.seed)

    code, out, err = db.run(SAMPLES)
    if code != 0:
        raise SystemExit(f"fuzz: could not make sample values: {err}")
    samples = collections.defaultdict(list)
    for line in out.splitlines():
        kind, text = line.split("|", 1)
        samples[kind].append(text)
    code, out, err = db.run(FUNCTIONS)
    functions = []
    for line in out.splitlines():
        name, kind, nargs, types = line.split("|")
        functions.append((name, kind, types.split(";") if int(nargs) else []))
    gen = Args(rng, samples)
    queries = [call(rng, gen, *rng.choice(functions)) for _ in range(a.calls)]

    outcomes = collections.Counter()
    internal, crashes = [], []
    for start in range(0, len(queries), BATCH):
        batch = queries[start:start + BATCH]
        script = (FUZZ_CALL + "SET statement_timeout = '60s';\n"
                  + "".join(f"SELECT pg_temp.fuzz_call({quote(q)});\n" for q in batch))
        code, out, err = db.run(script)
        results = out.splitlines()
        if code != 0 and ("server closed the connection" in err or "terminated abnormally" in err
                          or "connection to server was lost" in err):
            # find the call that took the backend down, one at a time
            for q in batch[len(results):]:
                c, o, e = db.run(FUZZ_CALL + f"SELECT pg_temp.fuzz_call({quote(q)});")
                if c != 0:
                    crashes.append(q)
                    break
            outcomes["crash"] += 1
            continue
        for q, r in zip(batch, results):
            state = r.split(" ", 1)[0]
            outcomes[state] += 1
            if state.startswith("XX"):
                internal.append((q, r))

    total = sum(v for k, v in outcomes.items() if k != "crash")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])[:12])
    print(f"calls: {total} over {len(functions)} functions and aggregates (seed {a.seed}); outcomes by SQLSTATE: {summary}")
    passed = failed = 0
    for name, bad in (("no backend crashed", crashes), ("no call raised an internal error (SQLSTATE XX...)", internal)):
        if bad:
            failed += 1
            print(f"FAILED fuzz: {name}: {len(bad)}; first: {bad[0]}")
        else:
            passed += 1
            print(f"ok fuzz: {name}")
    ran_all = total + len(crashes) >= a.calls * 0.99
    print(f"{'ok' if ran_all else 'FAILED'} fuzz: {total} of {a.calls} calls ran")
    passed += ran_all
    failed += not ran_all
    print(f"fuzz: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end checks of the paths analysts use (started by scripts/integration):

  warehouse   demo/generate.sql: size bounds, same rows for the same seed,
              other rows for another seed; plausible churn (the score's AUC);
              fit_model learned on four folds ranks the fifth at least as
              well as the hand-written model
  jdbc        a JDBC client (examples/jdbc), logged in as a BI service
              account (a plain LOGIN role with SELECT on schema demo), reads
              demo.scored_accounts: plain column types, the same values as
              psql, jsonb as text
  html        demo/html_report.py rendered by headless Chromium shows the
              numbers of the SQL report
  dbt         examples/dbt: `dbt build` (models + tests); its scores equal
              the extension's scored view for every account
  lookml      examples/looker: every dimension's SQL runs against the view,
              as the BI service account
  schedule    pg_cron refreshes the scores on schedule
  concurrent  a REFRESH ... CONCURRENTLY in progress does not block readers,
              who keep seeing the previous rows until it commits

Prints one "ok"/"FAILED" line per check, then "integration: N passed, M failed".
"""
import argparse
import csv
import html.parser
import io
import json
import os
import re
import subprocess
import sys
import time


# The roles BI tools and dbt log in as: no superuser, no grant on schema
# health (the extension grants its use to every role); read access to the
# warehouse, and for dbt the right to create its own schema.
BI_ROLE = "ch_bi_service"
DBT_ROLE = "ch_dbt_runner"


class Run:
    def __init__(self, args):
        self.a = args
        self.passed = 0
        self.failed = 0

    # -- helpers --------------------------------------------------------------
    def psql_args(self, db=None, user="postgres"):
        return ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", self.a.host, "-p", str(self.a.port),
                "-U", user, "-d", db or self.a.db]

    def sql(self, query, db=None, user="postgres"):
        """Rows of a query, as lists of strings (psql --csv, no header)."""
        out = subprocess.run(self.psql_args(db, user) + ["-q", "--csv", "-t", "-c", query],
                             check=True, capture_output=True, text=True).stdout
        return list(csv.reader(io.StringIO(out)))

    def plain_roles(self):
        """The BI and dbt roles, made once per cluster, granted what they need in this database."""
        self.sql(f"""DO $$ BEGIN
                       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BI_ROLE}') THEN CREATE ROLE {BI_ROLE} LOGIN; END IF;
                       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DBT_ROLE}') THEN CREATE ROLE {DBT_ROLE} LOGIN; END IF;
                     END $$;
                     GRANT USAGE ON SCHEMA demo TO {BI_ROLE}, {DBT_ROLE};
                     GRANT SELECT ON ALL TABLES IN SCHEMA demo TO {BI_ROLE}, {DBT_ROLE};
                     GRANT CREATE ON DATABASE {self.a.db} TO {DBT_ROLE}""")
        flags = self.sql(f"""SELECT bool_or(rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls)
                             FROM pg_roles WHERE rolname IN ('{BI_ROLE}', '{DBT_ROLE}')""")[0][0]
        return flags == "f"

    def value(self, query, db=None):
        rows = self.sql(query, db)
        return rows[0][0] if rows else None

    def run_file(self, path, db=None, **variables):
        cmd = self.psql_args(db) + ["-q", "-f", path]
        for k, v in variables.items():
            cmd += ["-v", f"{k}={v}"]
        return subprocess.run(cmd, capture_output=True, text=True)

    def check(self, name, good, detail=""):
        self.passed += bool(good)
        self.failed += not good
        print(f"{'ok' if good else 'FAILED'} {name}" + (f": {detail}" if detail else ""), flush=True)
        return good

    def path(self, *parts):
        return os.path.join(self.a.root, *parts)

    # -- warehouse ------------------------------------------------------------
    FINGERPRINT_TABLES = ["accounts", "users", "product_events", "support_tickets", "invoices",
                          "survey_responses", "onboarding_milestones", "renewals"]

    def fingerprint(self, db):
        parts = [f"(SELECT md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) FROM demo.{t} t)"
                 for t in self.FINGERPRINT_TABLES]
        return self.value("SELECT " + " || ".join(parts), db)

    def warehouse(self):
        scratch = "customer_health_generator_check"
        subprocess.run(self.psql_args("postgres") + ["-q", "-c", "SET client_min_messages = warning",
                                                     "-c", f"DROP DATABASE IF EXISTS {scratch}",
                                                     "-c", f"CREATE DATABASE {scratch}"], check=True)
        generate = self.path("demo", "generate.sql")
        r = self.run_file(generate, scratch, accounts=500)
        self.check("warehouse: fewer than 1 000 accounts is refused",
                   r.returncode != 0 and "accounts must be between 1000 and 1000000" in r.stdout + r.stderr,
                   (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "")
        t0 = time.time()
        first = self.run_file(generate, scratch, accounts=1000, seed=42)
        seconds = time.time() - t0
        fp1 = self.fingerprint(scratch) if first.returncode == 0 else "error: " + first.stderr
        self.run_file(generate, scratch, accounts=1000, seed=42)
        fp2 = self.fingerprint(scratch)
        self.check("warehouse: the same seed gives the same rows in every table", fp1 == fp2,
                   f"1 000 accounts generated in {seconds:.1f} s")
        self.run_file(generate, scratch, accounts=1000, seed=7)
        self.check("warehouse: another seed gives other rows", self.fingerprint(scratch) != fp1)
        subprocess.run(self.psql_args("postgres") + ["-q", "-c", f"DROP DATABASE {scratch}"], check=True)

        # The database the rest of the checks use: scripts/integration made
        # it fresh before pg_cron's scheduler started (cron.database_name).
        for step, path, variables in (("generate", "generate.sql", {"accounts": 1000, "seed": 42}),
                                      ("score", "warehouse.sql", {}), ("schedule", "schedule.sql", {})):
            r = self.run_file(self.path("demo", path), **variables)
            if not self.check(f"warehouse: demo/{path} runs", r.returncode == 0, r.stderr.strip()[-300:]):
                return False
        self.check("warehouse: the BI and dbt roles are plain LOGIN roles (no superuser, no CREATEDB, no CREATEROLE)",
                   self.plain_roles(), f"{BI_ROLE}, {DBT_ROLE}")
        counts = dict(self.sql("""
            SELECT 'accounts', count(*) FROM demo.accounts UNION ALL
            SELECT 'subsidiaries', count(*) FROM demo.accounts WHERE parent_account_id IS NOT NULL UNION ALL
            SELECT 'users', count(*) FROM demo.users UNION ALL
            SELECT 'logins', count(*) FROM demo.product_events WHERE event = 'login' UNION ALL
            SELECT 'key_feature_uses', count(*) FROM demo.product_events WHERE event = 'key_feature' UNION ALL
            SELECT 'tickets', count(*) FROM demo.support_tickets UNION ALL
            SELECT 'invoices', count(*) FROM demo.invoices UNION ALL
            SELECT 'nps_answers', count(*) FROM demo.survey_responses WHERE survey = 'nps' UNION ALL
            SELECT 'csat_answers', count(*) FROM demo.survey_responses WHERE survey = 'csat' UNION ALL
            SELECT 'milestones', count(*) FROM demo.onboarding_milestones UNION ALL
            SELECT 'renewal_outcomes', count(*) FROM demo.renewals UNION ALL
            SELECT 'scored', count(score) FROM demo.scored_accounts"""))
        self.check("warehouse: every table has rows, every account an outcome",
                   counts["accounts"] == "1000" and counts["renewal_outcomes"] == "1000"
                   and all(int(v) > 0 for v in counts.values()), json.dumps(counts))
        auc = float(self.value("""SELECT health.auc(s.score, r.churned)
                                  FROM demo.scored_accounts s JOIN demo.renewals r USING (account_id)"""))
        self.check("warehouse: churn depends on the signals (AUC of the score above 0.75)", auc > 0.75,
                   f"AUC {auc:.3f}")
        rates = dict(self.sql("""SELECT s.tier, avg(r.churned::int) FROM demo.scored_accounts s
                                 JOIN demo.renewals r USING (account_id) WHERE s.tier IS NOT NULL GROUP BY s.tier"""))
        self.check("warehouse: churn falls from at_risk to neutral to healthy",
                   float(rates["at_risk"]) > float(rates["neutral"]) > float(rates["healthy"]), json.dumps(rates))
        # fit_model learns on four folds of accounts; on the fifth it must rank
        # at least as well as the hand-written demo model (as the report shows).
        held_out = dict((m, (float(a), int(n))) for m, a, n in self.sql("""
            WITH data AS (
              SELECT w.account_id, to_jsonb(w) - 'account_id' AS metrics, r.churned, h.score AS hand_score
              FROM demo.account_metrics_wide w JOIN demo.renewals r USING (account_id)
              JOIN demo.scored_accounts h USING (account_id)),
            learned AS (SELECT health.fit_model(account_id::text, metrics, churned) AS model
                        FROM data WHERE health.fold(account_id::text, 5) <> 5)
            SELECT s.model, health.auc(s.score, d.churned), count(*)
            FROM data d, learned l,
                 LATERAL (VALUES ('hand', d.hand_score),
                                 ('learned', health.evaluate(l.model, d.metrics, extra_keys => 'ignore'))) s(model, score)
            WHERE health.fold(d.account_id::text, 5) = 5 AND d.hand_score IS NOT NULL
            GROUP BY s.model"""))
        self.check("warehouse: fit_model, learned on folds 1-4, ranks the held-out fold 5 at least as well as the hand-written model",
                   held_out["learned"][0] >= held_out["hand"][0],
                   f"held-out AUC: learned {held_out['learned'][0]:.3f}, hand-written {held_out['hand'][0]:.3f}, "
                   f"{held_out['hand'][1]} accounts")
        trend = self.sql("""SELECT avg(health.delta(a.trend)) FILTER (WHERE t.drift > 0.03),
                                   avg(health.delta(a.trend)) FILTER (WHERE t.drift <= 0.03)
                            FROM demo.account_trends a JOIN demo.account_truth t USING (account_id)""")[0]
        self.check("warehouse: the score history follows the hidden decline (declining accounts lose points)",
                   float(trend[0]) < -3 and float(trend[0]) < float(trend[1]),
                   f"mean change over the history: declining {float(trend[0]):.1f}, others {float(trend[1]):.1f}")
        return True

    # -- JDBC -----------------------------------------------------------------
    def jdbc(self):
        url = f"jdbc:postgresql://127.0.0.1:{self.a.port}/{self.a.db}"
        r = subprocess.run(["java", "-cp", "/usr/share/java/postgresql.jar",
                            self.path("examples", "jdbc", "ScoredAccounts.java"), url, BI_ROLE, "5"],
                           capture_output=True, text=True)
        if not self.check(f"jdbc: the client connects as {BI_ROLE} and reads demo.scored_accounts", r.returncode == 0,
                          r.stderr.strip()[-300:]):
            return
        lines = [line.split("\t") for line in r.stdout.splitlines()]
        types = {l[1]: (l[2], l[3]) for l in lines if l[0] == "column"}
        expected = {"account_id": "int4", "name": "text", "segment": "text", "plan": "text", "arr": "numeric",
                    "seats": "int4", "renewal_date": "date", "score": "numeric", "tier": "text", "color": "text",
                    "grade": "text", "coverage": "numeric", "weakest_metrics": "text", "explanation": "jsonb",
                    "metrics_as_of": "date"}
        self.check("jdbc: columns are plain types (numeric, int, text, date; jsonb for the explanation)",
                   {k: v[0] for k, v in types.items()} == expected,
                   ", ".join(f"{k} {v[0]}" for k, v in types.items()))
        self.check("jdbc: numbers arrive as BigDecimal and dates as java.sql.Date",
                   types["score"][1] == "java.math.BigDecimal" and types["renewal_date"][1] == "java.sql.Date")
        got = [l[1:] for l in lines if l[0] == "row"]
        want = self.sql("""SELECT account_id, score, tier, renewal_date, arr, explanation -> 0 ->> 'metric'
                           FROM demo.scored_accounts WHERE score IS NOT NULL ORDER BY score, account_id LIMIT 5""")
        self.check("jdbc: values equal psql's, and the jsonb explanation comes through as JSON",
                   got == want and len(got) == 5, f"first row {got[0] if got else None}")

    # -- HTML report in Chromium ---------------------------------------------
    class Checked(html.parser.HTMLParser):
        """Collects the text of every element with a data-check attribute."""

        def __init__(self):
            super().__init__()
            self.values, self.stack = {}, []

        def handle_starttag(self, tag, attrs):
            self.stack.append(dict(attrs).get("data-check"))

        def handle_endtag(self, tag):
            if self.stack:
                self.stack.pop()

        def handle_data(self, data):
            if self.stack and self.stack[-1]:
                self.values[self.stack[-1]] = self.values.get(self.stack[-1], "") + data

    def html_report(self):
        out = os.path.join(self.a.work, "report.html")
        psql_conn = ["-h", self.a.host, "-p", str(self.a.port), "-U", "postgres", "-d", self.a.db]
        r = subprocess.run([sys.executable, self.path("demo", "html_report.py"), out, *psql_conn],
                           capture_output=True, text=True)
        if not self.check("html: demo/html_report.py writes the report", r.returncode == 0, r.stderr[-300:]):
            return
        chromium = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={os.path.join(self.a.work, 'chromium-profile')}"]
        dom = subprocess.run(chromium + ["--dump-dom", "file://" + out], capture_output=True, text=True, timeout=120)
        shot = os.path.join(self.a.work, "report.png")
        subprocess.run(chromium + ["--window-size=1200,1400", f"--screenshot={shot}", "file://" + out],
                       capture_output=True, text=True, timeout=120)
        self.check("html: Chromium renders the page and takes a screenshot",
                   dom.returncode == 0 and "Customer health report" in dom.stdout
                   and os.path.exists(shot) and os.path.getsize(shot) > 10000, shot)
        parser = self.Checked()
        parser.feed(dom.stdout)
        shown = {k: v.strip() for k, v in parser.values.items()}
        # The same numbers, computed here in SQL independently of the report's queries.
        want = {}
        for tier, n, churn in self.sql("""
                SELECT s.tier, count(*), to_char(100.0 * avg(r.churned::int), 'FM990.0')
                FROM demo.scored_accounts s JOIN demo.renewals r USING (account_id)
                WHERE s.tier IS NOT NULL GROUP BY s.tier"""):
            want[f"tier-accounts-{tier}"] = n
            want[f"tier-churn-{tier}"] = churn
        for low, n in self.sql("""
                SELECT 10 * (least(width_bucket(score, 0, 100, 10), 10) - 1), count(*)
                FROM demo.scored_accounts WHERE score IS NOT NULL GROUP BY 1"""):
            want[f"histogram-{low}"] = n
        for b in range(0, 100, 10):
            want.setdefault(f"histogram-{b}", "0")
        accounts, avg_score, auc, as_of = self.sql("""
            SELECT count(*), to_char(avg(score), 'FM990.0'), to_char(health.auc(s.score, r.churned), 'FM0.000'),
                   to_char(max(metrics_as_of), 'YYYY-MM-DD')
            FROM demo.scored_accounts s JOIN demo.renewals r USING (account_id)""")[0]
        want.update({"accounts": accounts, "avg-score": avg_score, "auc": auc, "as-of": as_of})
        for i, (account, score) in enumerate(self.sql("""
                SELECT account_id, score FROM demo.scored_accounts WHERE score IS NOT NULL
                ORDER BY score, arr DESC, account_id LIMIT 10"""), start=1):
            want[f"risk-{i}-account"] = account
            want[f"risk-{i}-score"] = score
        wrong = {k: (shown.get(k), v) for k, v in want.items() if shown.get(k) != v}
        self.check(f"html: the rendered page shows the SQL report's {len(want)} numbers", not wrong,
                   f"differences (shown, sql): {wrong}" if wrong else "tiers, churn per tier, histogram, "
                   "overview, ten riskiest accounts")

    # -- dbt ------------------------------------------------------------------
    def dbt(self):
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.a.port), PGUSER=DBT_ROLE,
                   PGDATABASE=self.a.db, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        project = self.path("examples", "dbt")
        target = os.path.join(self.a.work, "dbt-target")
        r = subprocess.run([os.path.join(self.a.venv, "bin", "dbt"), "build", "--project-dir", project,
                            "--profiles-dir", project, "--target-path", target, "--no-use-colors",
                            "--log-path", os.path.join(self.a.work, "dbt-logs")],
                           capture_output=True, text=True, env=env, cwd=self.a.work)
        summary = [l for l in r.stdout.splitlines() if "PASS=" in l]
        if not self.check(f"dbt: dbt build (models and their tests) succeeds as {DBT_ROLE}", r.returncode == 0,
                          summary[-1].strip() if summary else r.stdout[-500:]):
            return
        with open(os.path.join(target, "run_results.json")) as f:
            results = json.load(f)["results"]
        models = [x for x in results if x["unique_id"].startswith("model.")]
        tests = [x for x in results if x["unique_id"].startswith("test.")]
        self.check("dbt: 3 models built, every data test passes",
                   len(models) == 3 and all(x["status"] == "success" for x in models)
                   and len(tests) >= 15 and all(x["status"] == "pass" for x in tests),
                   f"{len(models)} models, {len(tests)} tests")
        same = self.sql("""SELECT count(*), count(*) FILTER (WHERE d.score IS NOT DISTINCT FROM s.score
                                                          AND d.tier IS NOT DISTINCT FROM s.tier)
                           FROM analytics.account_scores d JOIN demo.scored_accounts s USING (account_id)""")[0]
        self.check("dbt: its scores and tiers equal the extension's scored view for every account",
                   same[0] == same[1] == "1000", f"{same[1]} of {same[0]} equal")

    # -- LookML ---------------------------------------------------------------
    def lookml(self):
        script = r"""
import json, sys, lkml
view = lkml.load(open(sys.argv[1]))["views"][0]
model = lkml.load(open(sys.argv[2]))
fields = {}
for kind in ("dimensions", "dimension_groups", "measures"):
    for f in view.get(kind, []):
        fields[f["name"]] = f.get("sql")
print(json.dumps({"view": view["name"], "table": view["sql_table_name"], "fields": fields,
                  "explores": [e["name"] for e in model.get("explores", [])]}))
"""
        r = subprocess.run([os.path.join(self.a.venv, "bin", "python"), "-c", script,
                            self.path("examples", "looker", "scored_accounts.view.lkml"),
                            self.path("examples", "looker", "customer_health.model.lkml")],
                           capture_output=True, text=True)
        if not self.check("lookml: the view and the model parse", r.returncode == 0, r.stderr[-300:]):
            return
        parsed = json.loads(r.stdout)
        fields = parsed["fields"]

        def expand(sql_text, depth=0):
            # ${TABLE} -> the view's alias, ${field} -> that field's SQL
            sql_text = sql_text.replace("${TABLE}", "t")
            return re.sub(r"\$\{(\w+)\}", lambda m: "(" + expand(fields[m.group(1)], depth + 1) + ")", sql_text)

        exprs = {name: expand(s.strip()) for name, s in fields.items() if s}
        query = "SELECT " + ", ".join(f"{e} AS {n}" for n, e in exprs.items()) + \
                f" FROM {parsed['table'].strip()} t LIMIT 5"
        try:
            self.sql(query, user=BI_ROLE)
            ran, detail = True, f"{len(exprs)} fields of view {parsed['view']}, as {BI_ROLE}"
        except subprocess.CalledProcessError as err:
            ran, detail = False, err.stderr.strip()[-300:]
        self.check("lookml: every field's SQL runs against demo.scored_accounts", ran, detail)
        self.check("lookml: the model explores the view", parsed["view"] in parsed["explores"])

    # -- the scheduled refresh ------------------------------------------------
    def degrade(self, account):
        """SQL that zeroes three usage metrics of today's snapshot for an account."""
        return f"""UPDATE demo.metric_snapshots SET value = 0
                   WHERE account_id = {account} AND measured_at = (SELECT as_of FROM demo.generation)
                     AND metric IN ('active_days_30d', 'feature_adoption', 'seats_used_pct')"""

    def schedule(self):
        job = self.sql("SELECT schedule, command FROM cron.job WHERE jobname = 'customer_health nightly scores'")
        self.check("schedule: the nightly job is registered with pg_cron",
                   job == [["0 5 * * *", "CALL demo.refresh_scores()"]], str(job))
        account = self.value("SELECT min(account_id) FROM demo.scored_accounts WHERE score > 60")
        before, refreshed = self.sql(f"SELECT score, refreshed_at FROM demo.scored_accounts WHERE account_id = {account}")[0]
        self.sql(self.degrade(account))
        live = self.value(f"SELECT score FROM demo.account_health WHERE account_id = {account}")
        stale = self.value(f"SELECT score FROM demo.scored_accounts WHERE account_id = {account}")
        self.check("schedule: new data changes the live view, not yet the materialized one",
                   float(live) < float(before) and stale == before, f"live {live}, materialized {stale}")
        # every minute (pg_cron's finest schedule here), for this test only
        self.sql("SELECT cron.schedule('customer_health integration test', '* * * * *', 'CALL demo.refresh_scores()')")
        t0 = time.time()
        now = stale
        while time.time() - t0 < 100 and now == stale:
            time.sleep(2)
            now = self.value(f"SELECT score FROM demo.scored_accounts WHERE account_id = {account}")
        runs = self.sql("""SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                           WHERE j.jobname = 'customer_health integration test'""")
        self.sql("SELECT cron.unschedule('customer_health integration test')")
        history = self.value(f"""SELECT score FROM demo.score_history WHERE account_id = {account}
                                 AND scored_at = (SELECT as_of FROM demo.generation)::timestamp AT TIME ZONE 'UTC'""")
        self.check("schedule: pg_cron refreshed the scores on schedule and snapshotted them",
                   now == live and ["succeeded"] in runs and history is not None
                   and abs(float(history) - float(live)) < 0.05,
                   f"after {time.time() - t0:.0f} s: materialized {now}, run status {runs}, history {history}")

    # -- readers during a concurrent refresh ----------------------------------
    def concurrent(self):
        account = self.value("SELECT max(account_id) FROM demo.scored_accounts WHERE score > 60")
        before = self.value(f"SELECT score FROM demo.scored_accounts WHERE account_id = {account}")
        count = self.value("SELECT count(*) FROM demo.scored_accounts")
        script = f"""SET application_name = 'customer_health_refresh_test';
BEGIN;
{self.degrade(account)};
REFRESH MATERIALIZED VIEW CONCURRENTLY demo.scored_accounts;
SELECT pg_sleep(6);
COMMIT;
"""
        refresh = subprocess.Popen(self.psql_args() + ["-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        refresh.stdin.write(script)
        refresh.stdin.close()
        # wait until the refresh has run and its transaction is still open
        t0 = time.time()
        holding = None
        while time.time() - t0 < 30:
            holding = self.value("""SELECT l.mode FROM pg_stat_activity a JOIN pg_locks l USING (pid)
                                    WHERE a.application_name = 'customer_health_refresh_test'
                                      AND a.query LIKE 'SELECT pg_sleep%' AND l.relation = 'demo.scored_accounts'::regclass
                                      AND l.granted AND l.mode = 'ExclusiveLock'""")
            if holding:
                break
            time.sleep(0.1)
        t1 = time.time()
        try:
            during = self.sql(f"""SET statement_timeout = '3s';
                                  SELECT count(*), (SELECT score FROM demo.scored_accounts WHERE account_id = {account})
                                  FROM demo.scored_accounts""")
            during = during[-1]
        except subprocess.CalledProcessError as err:
            during = ["error", err.stderr.strip()]
        waited = time.time() - t1
        refresh.wait(timeout=60)
        after = self.value(f"SELECT score FROM demo.scored_accounts WHERE account_id = {account}")
        live = self.value(f"SELECT score FROM demo.account_health WHERE account_id = {account}")
        self.check("concurrent: while REFRESH ... CONCURRENTLY holds its lock, readers are not blocked",
                   holding == "ExclusiveLock" and during[0] == count and waited < 1.0,
                   f"refresh holds {holding}; a reader got {during[0]} rows in {waited * 1000:.0f} ms")
        self.check("concurrent: readers see the previous rows until the refresh commits, then the new ones",
                   during[1] == before and after == live and after != before and refresh.returncode == 0,
                   f"during {during[1]}, after {after} (live {live}, before {before})")


def main():
    p = argparse.ArgumentParser()
    for name in ("root", "host", "port", "db", "venv", "work"):
        p.add_argument("--" + name, required=True)
    run = Run(p.parse_args())
    try:
        if run.warehouse():
            run.jdbc()
            run.html_report()
            run.dbt()
            run.lookml()
            run.schedule()
            run.concurrent()
    except Exception as err:  # a crash is a failure, reported with the others
        run.check("integration: the checks ran to the end", False, f"{type(err).__name__}: {err}")
    print(f"integration: {run.passed} passed, {run.failed} failed")
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

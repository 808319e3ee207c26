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
  dbt         examples/dbt, built on the dbt package dbt/customer_health
              (dbt deps from a local path, dbt build as a plain role): its
              scores, tiers, weakest metrics and explanations equal the
              extension's scored view for every account; the package's
              generic tests pass there and fail on bad rows
  lookml      examples/looker: every dimension's SQL runs against the view,
              as the BI service account
  schedule    pg_cron refreshes the scores on schedule
  concurrent  a REFRESH ... CONCURRENTLY in progress does not block readers,
              who keep seeing the previous rows until it commits
  alerts      examples/alerts: a refresh queues one alert per tier change in
              the outbox and announces it with NOTIFY; the listener, as a
              plain role, POSTs each to a local webhook exactly once, also
              when the webhook was down for an attempt and across a restart
              (SIGTERM) and a kill (SIGKILL) of the listener
  sharded     examples/sharded: a coordinator and two shards (postgres_fdw
              partitions): scoring, trends and profiles run on the shards
              (EXPLAIN VERBOSE shows the extension in the remote SQL) and equal
              the single-server answers for every account; family rollups
              across shards; the pg_cron refresh reads through the shards
  crm         demo.crm_export through \copy to CSV: header, quoting of
              commas, quotes and line breaks, UTF-8, and back into a table
              unchanged

Prints one "ok"/"FAILED" line per check, then "integration: N passed, M failed".
"""
import argparse
import csv
import html.parser
import http.server
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import psycopg


# The roles BI tools and dbt log in as: no superuser, no grant on schema
# health (the extension grants its use to every role); read access to the
# warehouse, and for dbt the right to create its own schema.
BI_ROLE = "ch_bi_service"
DBT_ROLE = "ch_dbt_runner"
ALERTS_ROLE = "ch_alert_listener"


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
        for path, variables in (("demo/generate.sql", {"accounts": 1000, "seed": 42}),
                                ("demo/warehouse.sql", {}), ("examples/alerts/outbox.sql", {}),
                                ("demo/schedule.sql", {})):
            r = self.run_file(self.path(*path.split("/")), **variables)
            if not self.check(f"warehouse: {path} runs", r.returncode == 0, r.stderr.strip()[-300:]):
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
            learned AS (SELECT health.fit_model(account_id::text, metrics, churned, '{"folds": 0}') AS model
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
        common = ["--project-dir", project, "--profiles-dir", project, "--no-use-colors",
                  "--log-path", os.path.join(self.a.work, "dbt-logs")]
        dbt = os.path.join(self.a.venv, "bin", "dbt")
        r = subprocess.run([dbt, "deps"] + common, capture_output=True, text=True, env=env, cwd=self.a.work)
        installed = os.path.exists(os.path.join(project, "dbt_packages", "customer_health", "dbt_project.yml"))
        if not self.check("dbt: dbt deps installs the customer_health package from its local path (packages.yml)",
                          r.returncode == 0 and installed, r.stdout[-300:] if r.returncode else ""):
            return
        r = subprocess.run([dbt, "build", "--target-path", target] + common,
                           capture_output=True, text=True, env=env, cwd=self.a.work)
        summary = [l for l in r.stdout.splitlines() if "PASS=" in l]
        if not self.check(f"dbt: dbt build (models and their tests) succeeds as {DBT_ROLE}", r.returncode == 0,
                          summary[-1].strip() if summary else r.stdout[-500:]):
            return
        with open(os.path.join(target, "run_results.json")) as f:
            results = json.load(f)["results"]
        models = [x for x in results if x["unique_id"].startswith("model.")]
        tests = [x for x in results if x["unique_id"].startswith("test.")]
        package_tests = [x for x in tests if x["unique_id"].split(".")[2].startswith("customer_health_")]
        self.check("dbt: 3 models built, every data test passes, the package's generic tests among them",
                   len(models) == 3 and all(x["status"] == "success" for x in models)
                   and len(tests) >= 20 and all(x["status"] == "pass" for x in tests) and len(package_tests) == 9,
                   f"{len(models)} models, {len(tests)} tests, {len(package_tests)} of them the package's")
        same = self.sql("""SELECT count(*),
                                  count(*) FILTER (WHERE d.score IS NOT DISTINCT FROM s.score AND d.tier IS NOT DISTINCT FROM s.tier
                                                   AND d.color IS NOT DISTINCT FROM s.color AND d.grade IS NOT DISTINCT FROM s.grade),
                                  count(*) FILTER (WHERE d.weakest_metrics IS NOT DISTINCT FROM s.weakest_metrics
                                                   AND d.explanation IS NOT DISTINCT FROM s.explanation)
                           FROM analytics.account_scores d JOIN demo.scored_accounts s USING (account_id)""")[0]
        self.check("dbt: its scores, tiers, colours and grades equal the extension's scored view for every account",
                   same[0] == same[1] == "1000", f"{same[1]} of {same[0]} equal")
        self.check("dbt: its weakest metrics and explanations (package macros) equal the view's for every account",
                   same[0] == same[2] == "1000", f"{same[2]} of {same[0]} equal")
        # The generic tests fail where they should: a score out of range, a tier that is not the score's.
        bad = {"health_score": "select 1 as id, 100.5::numeric as score, 'healthy'::text as tier",
               "tier_matches_score": "select 1 as id, 55.0::numeric as score, 'healthy'::text as tier"}
        caught = {}
        for name, body in bad.items():
            probe = os.path.join(self.a.work, f"dbt-probe-{name}")
            os.makedirs(os.path.join(probe, "models"), exist_ok=True)
            with open(os.path.join(probe, "dbt_project.yml"), "w") as f:
                f.write("name: probe\nversion: '1.0.0'\nconfig-version: 2\nprofile: customer_health\n")
            with open(os.path.join(probe, "packages.yml"), "w") as f:
                f.write(f"packages:\n  - local: {self.path('dbt', 'customer_health')}\n")
            with open(os.path.join(probe, "models", "probe.sql"), "w") as f:
                f.write(body + "\n")
            test = ("customer_health.health_score" if name == "health_score"
                    else "customer_health.tier_matches_score: {score_column: score, precision: 0.1}")
            column = "score" if name == "health_score" else "tier"
            with open(os.path.join(probe, "models", "schema.yml"), "w") as f:
                f.write(f"version: 2\nmodels:\n  - name: probe\n    columns:\n      - name: {column}\n"
                        f"        tests:\n          - {test}\n")
            args = ["--project-dir", probe, "--profiles-dir", project, "--no-use-colors",
                    "--log-path", os.path.join(probe, "logs")]
            subprocess.run([dbt, "deps"] + args, capture_output=True, text=True, env=env, cwd=probe)
            r = subprocess.run([dbt, "build", "--target-path", os.path.join(probe, "target")] + args,
                               capture_output=True, text=True, env=env, cwd=probe)
            caught[name] = r.returncode != 0 and "FAIL 1" in r.stdout
        self.check("dbt: the package's tests fail on a score of 100.5 and on tier 'healthy' for a score of 55",
                   all(caught.values()), json.dumps(caught))
        with open(os.path.join(probe, "models", "probe.sql"), "w") as f:
            f.write("select {{ customer_health.sub_score('logins', {'method': 'linaer', 'lo': 0, 'hi': 20}) }} as s\n")
        r = subprocess.run([dbt, "compile", "--target-path", os.path.join(probe, "target")] + args,
                           capture_output=True, text=True, env=env, cwd=probe)
        said = [l.strip() for l in r.stdout.splitlines() if "customer_health.sub_score" in l]
        self.check("dbt: a metric config with an unknown method stops the compile with a message naming it",
                   r.returncode != 0 and said and "method must be one of" in said[0], said[0] if said else r.stdout[-300:])

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

    # -- CRM hand-off ---------------------------------------------------------
    CRM_NAMES = {"Müller, Söhne & Co. KG": "commas and UTF-8", 'The "Quoted" Company': "double quotes",
                 "株式会社サンプル": "CJK", "Line\nBreak Ltd": "a line break", " Spaces ": "leading and trailing spaces"}

    def crm(self):
        accounts = [int(r[0]) for r in self.sql("SELECT account_id FROM demo.crm_export JOIN demo.accounts "
                                                "ON crm_id = external_id ORDER BY account_id LIMIT 5")]
        with psycopg.connect(f"host=127.0.0.1 port={self.a.port} dbname={self.a.db} user=postgres", autocommit=True) as c:
            for account, name in zip(accounts, self.CRM_NAMES):
                c.execute("UPDATE demo.accounts SET name = %s WHERE account_id = %s", (name, account))
        path = os.path.join(self.a.work, "health_scores.csv")
        export = (f"\\copy (SELECT * FROM demo.crm_export ORDER BY external_id) TO '{path}' "
                  "WITH (FORMAT csv, HEADER, ENCODING 'UTF8')")
        r = subprocess.run(self.psql_args(user=BI_ROLE) + ["-q", "-c", export], capture_output=True, text=True)
        if not self.check(f"crm: the \\copy recipe writes the CSV as {BI_ROLE}", r.returncode == 0, r.stderr.strip()[-300:]):
            return
        raw = open(path, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            self.check("crm: the file is UTF-8", False, str(err))
            return
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header = ["external_id", "account_name", "health_score", "health_tier", "health_color", "health_grade",
                  "weakest_metrics", "health_updated_at"]
        self.check("crm: the header names the CRM columns", rows[0] == header, str(rows[0]))
        with psycopg.connect(f"host=127.0.0.1 port={self.a.port} dbname={self.a.db} user={BI_ROLE}") as c:
            want = [["" if v is None else str(v) for v in row]
                    for row in c.execute("SELECT * FROM demo.crm_export ORDER BY external_id")]
        names = {row[1] for row in rows[1:]}
        self.check("crm: every row reads back equal to the view, the awkward names byte for byte",
                   rows[1:] == want and set(self.CRM_NAMES) <= names,
                   f"{len(rows) - 1} rows; names with {', '.join(self.CRM_NAMES.values())}")
        self.check("crm: fields with commas, quotes or line breaks are quoted, quotes doubled (RFC 4180)",
                   '"Müller, Söhne & Co. KG"' in text and '"The ""Quoted"" Company"' in text
                   and '"Line\nBreak Ltd"' in text)
        back = (f"CREATE TEMP TABLE crm_back AS SELECT * FROM demo.crm_export LIMIT 0;\n"
                f"\\copy crm_back FROM '{path}' WITH (FORMAT csv, HEADER, ENCODING 'UTF8')\n"
                "SELECT (SELECT count(*) FROM crm_back), (SELECT count(*) FROM demo.crm_export),"
                " (SELECT count(*) FROM (TABLE crm_back EXCEPT ALL TABLE demo.crm_export) d)"
                " + (SELECT count(*) FROM (TABLE demo.crm_export EXCEPT ALL TABLE crm_back) d);\n")
        r = subprocess.run(self.psql_args(user=BI_ROLE) + ["-q", "--csv", "-t"], input=back, capture_output=True, text=True)
        counts = r.stdout.strip().split(",") if r.returncode == 0 else [r.stderr.strip()[-200:]]
        self.check("crm: loaded back with \\copy FROM, the table equals the view (no row or value changed)",
                   len(counts) == 3 and counts[0] == counts[1] and counts[2] == "0", f"rows back, rows, differences: {counts}")

    # -- sharded ---------------------------------------------------------------
    def sharded(self):
        port = int(self.a.port) + 10
        env = dict(os.environ, SHARDED_PORT=str(port), SHARDED_ACCOUNTS="1000", SHARDED_SEED="42")
        script = self.path("examples", "sharded", "run")
        subprocess.run([script, "stop"], capture_output=True, text=True, env=env)  # fresh clusters, on this port
        t0 = time.time()
        r = subprocess.run([script], capture_output=True, text=True, env=env)
        if not self.check("sharded: examples/sharded/run starts a coordinator and two shards and loads them",
                          r.returncode == 0, f"{time.time() - t0:.0f} s" if r.returncode == 0 else r.stderr[-400:]):
            return
        try:
            self.sharded_checks(port)
        finally:
            subprocess.run([script, "stop"], capture_output=True, text=True, env=env)

    def sharded_checks(self, port):
        db = "customer_health_sharded"
        dsn = f"host=127.0.0.1 port={port} dbname={db}"

        def rows(query, user="postgres"):
            with psycopg.connect(f"{dsn} user={user}", autocommit=True) as c:
                cur = c.execute(query)
                return cur.fetchall() if cur.description else []

        def remote_sql(query):
            plan = [r[0] for r in rows("EXPLAIN (VERBOSE, COSTS OFF) " + query)]
            return [l.split("Remote SQL: ", 1)[1] for l in plan if "Remote SQL: " in l], plan

        split = dict(rows("""SELECT CASE tableoid WHEN 'sharded.accounts_1'::regclass THEN 1 ELSE 2 END, count(*)
                              FROM sharded.accounts GROUP BY 1"""))
        self.check("sharded: the accounts are hash-partitioned over both shards",
                   set(split) == {1, 2} and sum(split.values()) == 1000 and min(split.values()) > 300, str(split))
        remote, plan = remote_sql("SELECT * FROM sharded.account_scores")
        wanted = ["health.scorecard(", "health.scale_bands(", "health.score(", "health.tier(", "health.weakest(", "GROUP BY"]
        self.check("sharded: EXPLAIN (VERBOSE) of the per-account scores sends scorecard, score, tier and weakest "
                   "to each shard in one remote aggregate query, scanned asynchronously",
                   len(remote) == 2 and all(w in q for q in remote for w in wanted)
                   and sum("Async Foreign Scan" in l for l in plan) == 2,
                   "Remote SQL: " + remote[0][:90] + " ... " + remote[0][-60:] if remote else "no remote SQL")
        same = rows("""SELECT count(*), count(*) FILTER (WHERE s.score IS NOT DISTINCT FROM h.score AND s.tier IS NOT DISTINCT FROM h.tier
                                                   AND s.color IS NOT DISTINCT FROM h.color AND s.grade IS NOT DISTINCT FROM h.grade
                                                   AND s.coverage = h.coverage AND s.weakest = h.weakest
                                                   AND s.card::text = h.card::text)
                       FROM sharded.account_scores s FULL JOIN demo.account_health h USING (account_id)""")[0]
        self.check("sharded: scorecards, scores, tiers, colours, grades, coverage and weakest metrics equal the single server's for every account",
                   same == (1000, 1000), f"{same[1]} of {same[0]} equal")
        remote, _ = remote_sql("SELECT * FROM sharded.account_trends")
        same = rows("""SELECT count(*), count(*) FILTER (WHERE s.trend::text = d.trend::text AND s.sparkline = d.sparkline AND s.events = d.events)
                       FROM sharded.account_trends s FULL JOIN (
                            SELECT account_id, health.trend(scored_at, score) AS trend, health.sparkline(scored_at, score) AS sparkline,
                                   health.tier_changes(scored_at, score, tier) AS events
                            FROM demo.score_history GROUP BY account_id) d USING (account_id)""")[0]
        self.check("sharded: trends, sparklines and tier-change events run on the shards and equal the single server's for every account",
                   len(remote) == 2 and all("health.trend(" in q and "health.tier_changes(" in q for q in remote)
                   and same == (1000, 1000), f"{same[1]} of {same[0]} equal")
        remote, _ = remote_sql("SELECT * FROM sharded.segment_profiles")
        profiles = rows("""
            SELECT count(*),
                   count(*) FILTER (WHERE health.profile_count(s.profile) = health.profile_count(d.profile)
                                     AND (SELECT bool_and(health.quantile(s.profile, q) = health.quantile(d.profile, q))
                                          FROM unnest('{0,0.1,0.25,0.37,0.5,0.75,0.9,1}'::float8[]) q)
                                     AND (SELECT bool_and(health.percentile_rank(v, s.profile) = health.percentile_rank(v, d.profile))
                                          FROM unnest('{0,1,5,10,20,50,85,100}'::float8[]) v)),
                   max(abs(health.profile_mean(s.profile) - health.profile_mean(d.profile))
                       / greatest(1, abs(health.profile_mean(d.profile)))),
                   max(abs(health.profile_stddev(s.profile) - health.profile_stddev(d.profile))
                       / greatest(1, health.profile_stddev(d.profile)))
            FROM sharded.segment_profiles s FULL JOIN demo.segment_profiles d USING (segment, metric)""")[0]
        self.check("sharded: per-segment profiles built on each shard (join and aggregate in the remote SQL) and merged "
                   "with rollup equal the single server's: counts, quantiles and ranks exactly, mean and stddev to rounding",
                   len(remote) == 2 and all("health.profile(" in q and "JOIN" in q for q in remote)
                   and profiles[0] == profiles[1] == 21 and profiles[2] < 1e-12 and profiles[3] < 1e-12,
                   f"{profiles[1]} of {profiles[0]} profiles; mean and stddev differ by at most "
                   f"{max(profiles[2], profiles[3]):.1e} (relative)")
        families = rows("""
            SELECT count(*), count(*) FILTER (WHERE s.card::text = d.card::text AND s.score IS NOT DISTINCT FROM d.score),
                   (SELECT count(*) FROM (SELECT coalesce(parent_account_id, account_id) FROM sharded.accounts
                                          WHERE parent_account_id IS NOT NULL
                                             OR account_id IN (SELECT parent_account_id FROM sharded.accounts)
                                          GROUP BY 1 HAVING count(DISTINCT tableoid) > 1) x)
            FROM sharded.family_scores s FULL JOIN (
                 SELECT coalesce(a.parent_account_id, a.account_id) AS parent_account_id, health.rollup(h.card) AS card,
                        round(health.score(health.rollup(h.card))::numeric, 1) AS score
                 FROM demo.accounts a JOIN demo.account_health h USING (account_id)
                 WHERE a.parent_account_id IS NOT NULL
                    OR a.account_id IN (SELECT parent_account_id FROM demo.accounts WHERE parent_account_id IS NOT NULL)
                 GROUP BY 1) d USING (parent_account_id)""")[0]
        self.check("sharded: family scorecards (parent and subsidiaries) rolled up across shards equal the single server's",
                   families[0] == families[1] and families[0] >= 10 and families[2] >= 1,
                   f"{families[1]} of {families[0]} families equal, {families[2]} of them span both shards")
        remote, _ = remote_sql("SELECT * FROM sharded.segment_surveys")
        surveys = rows("""
            SELECT count(*), count(*) FILTER (WHERE s.nps = d.nps AND s.nps_breakdown = d.nps_breakdown AND s.csat = d.csat)
            FROM sharded.segment_surveys s FULL JOIN (
                 SELECT a.segment, health.nps(r.rating) FILTER (WHERE r.survey = 'nps') AS nps,
                        health.nps_breakdown(r.rating) FILTER (WHERE r.survey = 'nps') AS nps_breakdown,
                        health.csat(r.rating) FILTER (WHERE r.survey = 'csat') AS csat
                 FROM demo.survey_responses r JOIN demo.accounts a USING (account_id) GROUP BY a.segment) d USING (segment)""")[0]
        self.check("sharded: NPS, its breakdown and CSAT per segment from health.responses built on each shard and merged "
                   "with rollup equal the aggregates over all answers on one server",
                   len(remote) == 2 and all("health.responses(" in q and "JOIN" in q for q in remote)
                   and surveys[0] == surveys[1] == 3, f"{surveys[1]} of {surveys[0]} segments equal")
        remote, _ = remote_sql("SELECT * FROM sharded.score_validation")
        validation = rows("""
            SELECT s.auc = d.auc AND s.lift_bottom_10pct = d.lift AND s.calibration = d.calibration, s.auc, s.lift_bottom_10pct
            FROM sharded.score_validation s,
                 (SELECT health.auc(h.score, r.churned) AS auc, health.lift(h.score, r.churned) AS lift,
                         health.calibration(h.score, r.churned) AS calibration
                  FROM demo.score_history h JOIN demo.renewals r USING (account_id)
                  WHERE h.scored_at = timestamptz '2026-11-01 00:00+00') d""")[0]
        self.check("sharded: auc, lift and calibration from health.outcomes built on each shard and merged with rollup "
                   "equal the aggregates over all rows on one server, to the bit",
                   len(remote) == 2 and all("health.outcomes(" in q and "JOIN" in q for q in remote) and validation[0],
                   f"AUC {validation[1]:.6f}, lift {validation[2]:.4f}")
        remote, _ = remote_sql("SELECT * FROM sharded.score_fit")
        fit = rows("""
            SELECT abs((s.fit -> 'coefficients' ->> 0)::float8 - (d.fit -> 'coefficients' ->> 0)::float8),
                   abs((s.fit ->> 'intercept')::float8 - (d.fit ->> 'intercept')::float8),
                   s.fit ->> 'rows' = d.fit ->> 'rows' AND s.fit -> 'weights' = d.fit -> 'weights',
                   (s.fit -> 'coefficients' ->> 0)::float8
            FROM sharded.score_fit s,
                 (SELECT health.fit_weights(ARRAY[h.score], r.churned, 0.01) AS fit
                  FROM demo.score_history h JOIN demo.renewals r USING (account_id)
                  WHERE h.scored_at = timestamptz '2026-11-01 00:00+00') d""")[0]
        self.check("sharded: fit_weights of health.fit_rows built on each shard and merged with rollup equals the "
                   "aggregate over all rows on one server (coefficients to 1e-9)",
                   len(remote) == 2 and all("health.fit_rows(" in q for q in remote)
                   and fit[0] < 1e-9 and fit[1] < 1e-9 and fit[2],
                   f"score coefficient {fit[3]:.6f}, differences {fit[0]:.1e} and {fit[1]:.1e}")
        rows(f"""DO $$ BEGIN
                     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BI_ROLE}') THEN CREATE ROLE {BI_ROLE} LOGIN; END IF;
                   END $$; GRANT ch_analyst TO {BI_ROLE}""")
        analyst = rows("""SELECT (SELECT count(*) FROM sharded.scored_accounts),
                                 (SELECT count(score) FROM sharded.account_scores)""", user=BI_ROLE)[0]
        self.check(f"sharded: a plain role ({BI_ROLE}, member of ch_analyst) reads the scores, live through the shards and materialized",
                   analyst == (1000, 1000), str(analyst))
        # The scheduled refresh on the coordinator reads through the shards:
        # change an account's metrics on its shard, let pg_cron refresh.
        account = rows("SELECT min(account_id) FROM sharded.scored_accounts WHERE score > 60")[0][0]
        before = rows(f"SELECT score FROM sharded.scored_accounts WHERE account_id = {account}")[0][0]
        rows(f"""UPDATE sharded.metric_snapshots SET value = 0 WHERE account_id = {account} AND measured_at = '2026-11-01'
                 AND metric IN ('active_days_30d', 'feature_adoption', 'seats_used_pct')""")
        live = rows(f"SELECT score FROM sharded.account_scores WHERE account_id = {account}")[0][0]
        rows("SELECT cron.schedule('sharded integration test', '* * * * *', "
             "'REFRESH MATERIALIZED VIEW CONCURRENTLY sharded.scored_accounts')")
        t0 = time.time()
        now = before
        while time.time() - t0 < 100 and now == before:
            time.sleep(2)
            now = rows(f"SELECT score FROM sharded.scored_accounts WHERE account_id = {account}")[0][0]
        status = rows("""SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                         WHERE j.jobname = 'sharded integration test'""")
        rows("SELECT cron.unschedule('sharded integration test')")
        self.check("sharded: pg_cron on the coordinator refreshes the scored materialized view through the shards",
                   now == live and live < before and ("succeeded",) in status,
                   f"account {account}: {before} -> {now} after {time.time() - t0:.0f} s (live {live}), runs {status}")

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


class Webhook:
    """An HTTP receiver on 127.0.0.1 that records every POST (its
    Idempotency-Key and JSON body); it can go down and come back on its port."""

    def __init__(self):
        self.posts, self.lock, self.server, self.port = [], threading.Lock(), None, 0
        # hold_next: keep the next request waiting (after recording it) until release is set
        self.hold_next, self.held, self.release = False, threading.Event(), threading.Event()

    def start(self):
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    hook.posts.append((self.headers.get("Idempotency-Key"), body))
                    hold, hook.hold_next = hook.hold_next, False
                if hold:
                    hook.held.set()
                    hook.release.wait(60)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        server, self.server = self.server, None
        if server:
            server.shutdown()
            server.server_close()

    def keys(self):
        with self.lock:
            return [k for k, _ in self.posts]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/customer-health"


class Alerts:
    """examples/alerts end to end: the refresh queues and announces alerts, the
    listener delivers them to a Webhook."""

    def __init__(self, run):
        self.run, self.a = run, run.a
        self.hook = Webhook()
        self.listener = None
        self.log = open(os.path.join(self.a.work, "alert-listener.log"), "a")
        self.dsn = f"host=127.0.0.1 port={self.a.port} dbname={self.a.db}"

    def start_listener(self):
        self.listener = subprocess.Popen(
            [sys.executable, self.run.path("examples", "alerts", "listener.py"), "--dsn", f"{self.dsn} user={ALERTS_ROLE}",
             "--webhook", self.hook.url, "--backoff-base", "1", "--poll", "2"], stdout=self.log, stderr=self.log)

    def outbox(self):
        return self.run.sql("SELECT alert_id, account_id, event, to_tier, attempts, delivered_at IS NOT NULL, last_error "
                            "FROM demo.alert_outbox ORDER BY alert_id")

    def wait(self, condition, seconds=60):
        t0 = time.time()
        while time.time() - t0 < seconds:
            if condition():
                return True
            time.sleep(0.2)
        return False

    def undelivered(self):
        return int(self.run.value("SELECT count(*) FROM demo.alert_outbox WHERE delivered_at IS NULL"))

    def healthy_accounts(self, n):
        """Accounts healthy (score above 80) now and at the previous snapshot, not yet degraded."""
        return [int(r[0]) for r in self.run.sql(f"""
            SELECT h.account_id FROM demo.score_history h
            JOIN demo.score_history p ON p.account_id = h.account_id
             AND p.scored_at = (SELECT max(scored_at) FROM demo.score_history WHERE scored_at < h.scored_at)
            WHERE h.scored_at = (SELECT max(scored_at) FROM demo.score_history)
              AND h.score > 80 AND p.tier = 'healthy'
              AND h.account_id NOT IN (SELECT account_id FROM demo.alert_outbox)
            ORDER BY h.account_id LIMIT {n}""")]

    def degrade_and_refresh(self, accounts, listen=None):
        """Zeroes three usage metrics of each account, then runs the nightly
        refresh; returns the outbox rows it added and the notifications heard."""
        last = int(self.run.value("SELECT coalesce(max(alert_id), 0) FROM demo.alert_outbox"))
        for account in accounts:
            self.run.sql(self.run.degrade(account))
        self.run.sql("CALL demo.refresh_scores()")
        heard = []
        if listen is not None:
            heard = [json.loads(n.payload) for n in listen.notifies(timeout=5, stop_after=len(accounts))]
        added = self.run.sql(f"""SELECT alert_id, account_id, event, payload FROM demo.alert_outbox
                                 WHERE alert_id > {last} ORDER BY alert_id""")
        return added, heard

    def exactly_once(self, ids):
        keys = self.hook.keys()
        return all(keys.count(f"customer-health-alert-{i}") == 1 for i in ids)

    def check(self):
        run = self.run
        run.sql(f"""DO $$ BEGIN
                      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ALERTS_ROLE}') THEN CREATE ROLE {ALERTS_ROLE} LOGIN; END IF;
                    END $$;
                    GRANT USAGE ON SCHEMA demo TO {ALERTS_ROLE};
                    GRANT SELECT, UPDATE (attempts, next_attempt_at, last_error, delivered_at) ON demo.alert_outbox TO {ALERTS_ROLE}""")
        # Settle what earlier checks changed, so the next refresh queues only what this test does.
        run.sql("CALL demo.refresh_scores()")
        again = int(run.value("SELECT demo.queue_alerts()"))
        run.check("alerts: queuing twice for the same snapshot adds nothing", again == 0, f"{again} added")

        self.hook.start()
        self.start_listener()
        queued = self.outbox()
        ok = self.wait(lambda: self.undelivered() == 0)
        got = {k: b for k, b in self.hook.posts}
        want = {f"customer-health-alert-{r[0]}": json.loads(p) for r, (p,) in
                zip(queued, run.sql("SELECT jsonb_build_object('alert_id', alert_id) || payload FROM demo.alert_outbox ORDER BY alert_id"))}
        run.check(f"alerts: the listener (a plain role) delivers the {len(queued)} queued alerts, each exactly once, "
                  "with the outbox's payload in a Slack-style body",
                  ok and self.exactly_once(r[0] for r in queued) and len(self.hook.posts) == len(queued)
                  and all(got[k]["alert"] == v and got[k]["text"] for k, v in want.items()),
                  f"{len(self.hook.posts)} POSTs for {len(queued)} alerts")

        # A refresh after new data: one tier-change alert per degraded account, announced by NOTIFY.
        accounts = self.healthy_accounts(3)
        with psycopg.connect(self.dsn + " user=postgres", autocommit=True) as listen:
            listen.execute("LISTEN customer_health_alert")
            added, heard = self.degrade_and_refresh(accounts, listen)
        live = {int(r[0]): (r[1], r[2]) for r in run.sql(
            f"SELECT account_id, tier, (health.weakest(card, 1))[1] FROM demo.account_health WHERE account_id IN ({','.join(map(str, accounts))})")}
        actions = dict(run.sql("SELECT metric, action FROM demo.alert_playbook"))
        payloads = [json.loads(r[3]) for r in added]
        run.check("alerts: the refresh queues one tier_change per degraded account, healthy to its new tier",
                  sorted(int(r[1]) for r in added) == sorted(accounts)
                  and all(p["event"] == "tier_change" and p["previous_tier"] == "healthy"
                          and p["tier"] == live[p["account_id"]][0] and p["direction"] == "down" for p in payloads),
                  "; ".join(f"{p['account_id']}: {p['previous_tier']} -> {p['tier']} ({p['delta']})" for p in payloads))
        usage = {"active_days_30d", "feature_adoption", "seats_used_pct"}
        run.check("alerts: each says which metrics moved it (the zeroed ones) and the playbook's action for its weakest metric",
                  all(p["moved_by"] and {m["metric"] for m in p["moved_by"]} <= usage
                      and all(m["points"] < 0 for m in p["moved_by"])
                      and p["weakest_metric"] == live[p["account_id"]][1]
                      and p["suggested_action"] == actions[p["weakest_metric"]] for p in payloads),
                  "; ".join(f"{p['account_id']}: {[m['metric'] for m in p['moved_by']]}, weakest {p['weakest_metric']}"
                            for p in payloads))
        run.check("alerts: NOTIFY customer_health_alert carried each new alert, with its alert_id, once the refresh committed",
                  sorted(h["alert_id"] for h in heard) == sorted(int(r[0]) for r in added)
                  and all(h["account_id"] in accounts for h in heard), f"{len(heard)} notifications")
        ids = [int(r[0]) for r in added]
        run.check("alerts: the listener delivers them at once, exactly once",
                  self.wait(lambda: self.exactly_once(ids), 20), f"alert ids {ids}")

        # The webhook is down for a delivery attempt: the alert waits and is retried.
        self.hook.stop()
        added, _ = self.degrade_and_refresh(self.healthy_accounts(2))
        ids = [int(r[0]) for r in added]
        failed = self.wait(lambda: all(r[4] != "0" and r[5] == "f" and r[6] for r in self.outbox() if int(r[0]) in ids), 30)
        errors = {r[6] for r in self.outbox() if int(r[0]) in ids}
        self.hook.start()
        delivered = self.wait(lambda: self.exactly_once(ids) and self.undelivered() == 0, 60)
        attempts = [int(r[4]) for r in self.outbox() if int(r[0]) in ids]
        run.check("alerts: with the webhook down, the attempt fails and is recorded; when it is back, each alert arrives exactly once",
                  len(ids) == 2 and failed and delivered and all(a >= 2 for a in attempts),
                  f"errors {sorted(errors)}; attempts {attempts}")

        # The listener stops (SIGTERM), then is killed (SIGKILL): alerts queued meanwhile wait in the outbox.
        for how in (signal.SIGTERM, signal.SIGKILL):
            self.listener.send_signal(how)
            code = self.listener.wait(timeout=30)
            added, _ = self.degrade_and_refresh(self.healthy_accounts(2))
            ids = [int(r[0]) for r in added]
            waiting = self.undelivered()
            self.start_listener()
            delivered = self.wait(lambda: self.exactly_once(ids) and self.undelivered() == 0, 60)
            run.check(f"alerts: queued while the listener was down ({how.name}, exit {code}), delivered exactly once after its restart",
                      len(ids) == 2 and waiting == 2 and delivered, f"{waiting} waiting, alert ids {ids}")

        rows = self.outbox()
        keys = self.hook.keys()
        run.check("alerts: over the whole run every alert in the outbox was POSTed exactly once and marked delivered",
                  len(keys) == len(rows) == len(set(keys)) and all(r[5] == "t" for r in rows)
                  and set(keys) == {f"customer-health-alert-{r[0]}" for r in rows},
                  f"{len(rows)} alerts, {len(keys)} POSTs")

        # The one window the outbox cannot close: the listener dies after the
        # webhook took the alert but before the delivery was committed. The
        # alert is sent again with the same Idempotency-Key.
        self.hook.hold_next = True
        added, _ = self.degrade_and_refresh(self.healthy_accounts(1))
        posted = self.hook.held.wait(30)
        self.listener.kill()
        self.listener.wait(timeout=30)
        self.hook.release.set()
        self.start_listener()
        key = f"customer-health-alert-{added[0][0]}" if added else None
        delivered = self.wait(lambda: self.undelivered() == 0 and self.hook.keys().count(key) == 2, 60)
        row = [r for r in self.outbox() if added and r[0] == added[0][0]]
        run.check("alerts: killed between the webhook's answer and the commit, the listener resends the alert "
                  "with the same Idempotency-Key (one alert to a receiver that keeps the keys)",
                  posted and delivered and row and row[0][5] == "t" and row[0][4] == "1",
                  f"{self.hook.keys().count(key)} POSTs with key {key}; attempts recorded {row[0][4] if row else None}")

    def close(self):
        if self.listener and self.listener.poll() is None:
            self.listener.terminate()
            self.listener.wait(timeout=30)
        self.hook.stop()
        self.log.close()


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
            alerts = Alerts(run)
            try:
                alerts.check()
            finally:
                alerts.close()
            run.crm()
            run.sharded()
    except Exception as err:  # a crash is a failure, reported with the others
        run.check("integration: the checks ran to the end", False, f"{type(err).__name__}: {err}")
    print(f"integration: {run.passed} passed, {run.failed} failed")
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Never take the server down (started by tests/resilience/run):

  memory     scorecard over 5 000 000 accounts with work_mem = 64MB: the
             states live in the aggregate's memory context, so the hash
             aggregate counts them, spills to disk, and the backend's peak
             memory stays near work_mem x hash_mem_multiplier; the answer
             equals the hand-written weighted mean
  oom        a cluster started under an address-space limit (ulimit -v, as
             containers impose): auc fed more rows than fit fails with
             53200, the server log shows no terminated backend, and the
             server keeps serving
  cancel     a statement_timeout that fires inside fit_weights' Newton
             iterations ends the statement within 1 s of the timeout (57014)
  limit      a parallel worker's state larger than one value may hold is a
             clear 54000 naming the aggregate and the rows that fit (the
             1 GB limit lowered with customer_health.max_state_size)

Prints one "ok"/"FAILED" line per check, then "resilience: N passed, M failed".
"""
import argparse
import os
import re
import subprocess
import time


class Run:
    def __init__(self, args):
        self.a = args
        self.passed = 0
        self.failed = 0

    def check(self, name, good, detail=""):
        self.passed += bool(good)
        self.failed += not good
        print(f"{'ok' if good else 'FAILED'} {name}" + (f": {detail}" if detail else ""), flush=True)

    def cluster(self, *args):
        subprocess.run([os.path.join(self.a.root, "scripts", "cluster"), *args], check=True)

    def cluster_dir(self, name):
        return subprocess.run([os.path.join(self.a.root, "scripts", "cluster"), "dir", name],
                              check=True, capture_output=True, text=True).stdout.strip()

    def psql(self, name, port, sql, db="postgres", check=False):
        """Runs SQL through psql -X; returns (returncode, stdout, stderr)."""
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                            "-h", os.path.join(self.cluster_dir(name), "run"), "-p", str(port), "-U", "postgres",
                            "-d", db], input=sql, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(r.stderr.strip())
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    # -- memory ---------------------------------------------------------------
    def memory(self, port):
        name = "resilience"
        self.psql(name, port, """SET client_min_messages = warning;
            DROP EXTENSION IF EXISTS customer_health CASCADE; CREATE EXTENSION customer_health;
            DROP TABLE IF EXISTS subscores;
            CREATE UNLOGGED TABLE subscores AS
            SELECT a AS account, m.metric, ((a::bigint * 7919 + m.k * 104729) % 10001) / 100.0 AS score, m.weight
            FROM generate_series(1, 5000000) a,
                 (VALUES (1, 'logins', 3.0::float8), (2, 'tickets', 1.0::float8)) m(k, metric, weight);
            VACUUM ANALYZE subscores;""", check=True)
        peak_memory = os.path.join(self.a.root, "bench", "peak-memory")
        code, out, err = self.psql(name, port, f"""SET work_mem = '64MB';
            SET max_parallel_workers_per_gather = 0;
            SET jit = off;
            SELECT pg_backend_pid() AS backend_pid \\gset
            \\setenv BENCH_BACKEND_PID :backend_pid
            \\! {peak_memory} start
            EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
            SELECT count(*), sum(score) FROM (
                SELECT account, health.score(health.scorecard(metric, score, weight)) AS score
                FROM subscores GROUP BY account) s;
            \\! {peak_memory} stop scorecard
            SELECT 'answer', count(*), round(sum(score)::numeric, 4) FROM (
                SELECT account, health.score(health.scorecard(metric, score, weight)) AS score
                FROM subscores GROUP BY account) s;
            SELECT 'hand-written', count(*), round(sum(score)::numeric, 4) FROM (
                SELECT account, sum(weight * score) / sum(weight) AS score FROM subscores GROUP BY account) s;""")
        batches = re.search(r"Batches: (\d+)\s+Memory Usage: (\d+)kB\s+Disk Usage: (\d+)kB", out)
        peak = re.search(r"scorecard: (\d+) -> (\d+) MiB \(\+(\d+)\)", out)
        answers = {line.split("|")[0]: line.split("|")[1:] for line in out.splitlines()
                   if line.startswith(("answer|", "hand-written|"))}
        grown = int(peak.group(3)) if peak else None
        self.check("memory: scorecard over 5 000 000 accounts with work_mem = 64MB spills to disk",
                   code == 0 and batches is not None and int(batches.group(1)) > 1 and int(batches.group(3)) > 0,
                   f"{batches.group(0)}" if batches else err[-300:])
        # hash_mem_multiplier 2: the hash table may hold 128 MB; the rest is the executor's own.
        self.check("memory: the backend's peak memory stays bounded (below 256 MiB over its start)",
                   grown is not None and grown < 256, f"peak private memory +{grown} MiB" if peak else out[-300:])
        self.check("memory: the spilled aggregate's answer equals the hand-written weighted mean",
                   len(answers) == 2 and answers["answer"] == answers["hand-written"]
                   and answers["answer"][0] == "5000000", str(answers))
        self.psql(name, port, "DROP TABLE subscores;")

    # -- out of memory -------------------------------------------------------
    def out_of_memory(self, port):
        name = "resilience-oom"
        # ulimit -v applies to the postmaster and every backend it forks.
        self.cluster("stop", name)
        limit_kib = 600000
        subprocess.run(["bash", "-c", f"ulimit -v {limit_kib} && '{self.a.root}/scripts/cluster' start {name} {port}"],
                       check=True, env=dict(os.environ, CH_PG_OPTS="-c shared_buffers=16MB"))
        try:
            pid_file = os.path.join(self.cluster_dir(name), "data", "postmaster.pid")
            postmaster = open(pid_file).readline().strip()
            limit = [l for l in open(f"/proc/{postmaster}/limits") if l.startswith("Max address space")]
            self.psql(name, port, "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS customer_health;",
                      check=True)
            _, started, _ = self.psql(name, port, "SELECT pg_postmaster_start_time();")
            t0 = time.time()
            code, _, err = self.psql(name, port, """SET max_parallel_workers_per_gather = 0;
                SELECT health.auc(x, x > 0.5) FROM (SELECT random() AS x FROM generate_series(1, 250000000)) s;""")
            seconds = time.time() - t0
            first = err.splitlines()[0] if err else "no error"
            self.check("oom: auc fed more rows than fit under an address-space limit fails with 53200",
                       code != 0 and "53200" in err and "out of memory" in err,
                       f"{limit[0].split()[3] if limit else '?'} bytes of address space; after {seconds:.0f} s: {first}")
            log = open(os.path.join(self.cluster_dir(name), "postgres.log")).read()
            crashed = re.findall(r"terminated by signal|server process .* was terminated|all server processes terminated", log)
            code2, now, _ = self.psql(name, port, "SELECT pg_postmaster_start_time();")
            self.check("oom: no backend was terminated, and the server keeps serving without a restart",
                       not crashed and code2 == 0 and now == started,
                       f"log: {len(crashed)} terminations; started {started}, now {now}")
        finally:
            self.cluster("stop", name)

    # -- cancel --------------------------------------------------------------
    def cancel(self, port):
        name = "resilience"
        self.psql(name, port, """SET client_min_messages = warning;
            DROP TABLE IF EXISTS fit_rows;
            CREATE UNLOGGED TABLE fit_rows AS
            SELECT array(SELECT random() + 0 * g FROM generate_series(1, 60)) AS features, random() < 0.3 AS churned
            FROM generate_series(1, 600000) g;
            VACUUM ANALYZE fit_rows;""", check=True)
        setup = "SET max_parallel_workers_per_gather = 0; SET jit = off;"
        t0 = time.time()
        code, iterations, err = self.psql(name, port, setup + """
            SELECT health.fit_weights(features, churned) ->> 'iterations' FROM fit_rows;""")
        total = time.time() - t0
        t0 = time.time()
        self.psql(name, port, setup + "SELECT sum(features[60]) FROM fit_rows;")
        scan = time.time() - t0
        # Half-way through the whole run: well past the rows' accumulation,
        # inside the Newton iterations of the final step.
        timeout = (scan + total) / 2
        t0 = time.time()
        code, _, err = self.psql(name, port, setup + f"""SET statement_timeout = '{int(timeout * 1000)}ms';
            SELECT health.fit_weights(features, churned) ->> 'iterations' FROM fit_rows;""")
        elapsed = time.time() - t0
        self.check("cancel: a statement_timeout inside fit_weights' iterations ends it within 1 s (57014)",
                   code != 0 and "57014" in err and elapsed - timeout < 1.0,
                   f"600 000 rows x 60 features: scan {scan:.2f} s, whole fit {total:.2f} s ({iterations} iterations); "
                   f"timeout {timeout:.2f} s, ended after {elapsed:.2f} s")
        self.psql(name, port, "DROP TABLE fit_rows;")

    # -- the size of one value -----------------------------------------------
    def state_limit(self, port):
        name = "resilience"
        code, _, err = self.psql(name, port, """SET client_min_messages = warning;
            DROP TABLE IF EXISTS outcomes;
            CREATE UNLOGGED TABLE outcomes AS
            SELECT ((g::bigint * 7919) % 1000003) / 10000.0 AS score, g % 3 = 0 AS churned FROM generate_series(1, 1000000) g;
            ANALYZE outcomes;
            SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
            SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
            SET customer_health.max_state_size = '1MB';
            SELECT health.auc(score, churned) FROM outcomes;""")
        message = err.splitlines()[0] if err else ""
        self.check("limit: a parallel worker's state over the size of one value is 54000 naming the aggregate and the rows that fit",
                   code != 0 and "54000" in err and "auc:" in err and re.search(r"at most \d+ rows fit", err) is not None,
                   message)
        code, out, err = self.psql(name, port, """SET max_parallel_workers_per_gather = 0;
            SET customer_health.max_state_size = '1MB';
            SELECT round(health.auc(score, churned)::numeric, 9) FROM outcomes;""")
        self.check("limit: the same aggregate without parallel workers has no such limit", code == 0 and out != "",
                   f"auc {out}" if code == 0 else err[-300:])
        self.psql(name, port, "DROP TABLE outcomes;")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    run = Run(args)
    try:
        run.cluster("start", "resilience", str(args.port))
        try:
            run.memory(args.port)
            run.cancel(args.port)
            run.state_limit(args.port)
        finally:
            run.cluster("stop", "resilience")
        run.out_of_memory(args.port + 1)
    except Exception as err:  # a crash is a failure, reported with the others
        run.check("resilience: the checks ran to the end", False, f"{type(err).__name__}: {err}")
    print(f"resilience: {run.passed} passed, {run.failed} failed")
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

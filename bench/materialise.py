"""Materialise a score and a tier for every account, two ways, on the same
data (bench_wide, made by bench/setup.sql):

- inside PostgreSQL: CREATE TABLE AS with weighted_score and tier, as a
  scheduled refresh would run it;
- the round trip an analyst would otherwise write: COPY the ten metrics out
  into pandas (COPY and read_csv, the fast way, not read_sql), score them
  with numpy, and COPY the scores back into a new table.

Checks first that both tables hold the same tiers and scores (within 1e-9),
then prints the median of REPS runs of each and the ratio.

    materialise.py --host H --port P [--reps N]
"""
import argparse
import io
import statistics
import time

import numpy as np
import pandas as pd
import psycopg2

# (column, lo, hi, higher is better), weights: the score of bench/queries.sql.
SCALES = [("m1", 0, 20, True), ("m2", 0, 100, True), ("m3", 0, 100, True), ("m4", 0, 10, True),
          ("m5", 0, 100, True), ("m6", 0, 100, True), ("m7", 0, 400, True), ("m8", 0, 10, False),
          ("m9", 0, 45, False), ("m10", 0, 72, False)]
WEIGHTS = [25, 20, 15, 10, 10, 5, 5, 4, 3, 3]

IN_DATABASE = """
CREATE TABLE bench_scored_sql AS
SELECT account_id, s AS score, health.tier(s) AS tier
FROM (SELECT account_id, health.weighted_score(ARRAY[{scales}], '{{{weights}}}') AS s FROM bench_wide) x
""".format(
    scales=", ".join(f"health.scale_linear({c}, {lo}, {hi}{'' if up else ', false'})" for c, lo, hi, up in SCALES),
    weights=",".join(map(str, WEIGHTS)))


def in_database(conn):
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_scored_sql")
        start = time.perf_counter()
        cur.execute(IN_DATABASE)
        conn.commit()
        return time.perf_counter() - start


def round_trip(conn):
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_scored_pandas")
        conn.commit()
        start = time.perf_counter()
        out = io.StringIO()
        cur.copy_expert("COPY bench_wide (account_id, " + ", ".join(c for c, *_ in SCALES)
                        + ") TO STDOUT (FORMAT csv, HEADER)", out)
        out.seek(0)
        df = pd.read_csv(out)
        total = np.zeros(len(df))
        for (column, lo, hi, up), weight in zip(SCALES, WEIGHTS):
            x = df[column].to_numpy(dtype=np.float64)
            sub = 100 * ((x - lo) if up else (hi - x)) / (hi - lo)
            total += weight * np.clip(sub, 0, 100)
        score = total / sum(WEIGHTS)
        tier = np.where(score <= 40 + 1e-9, "at_risk", np.where(score <= 70 + 1e-9, "neutral", "healthy"))
        back = io.StringIO()
        pd.DataFrame({"account_id": df["account_id"], "score": score, "tier": tier}).to_csv(back, index=False, header=False)
        back.seek(0)
        cur.execute("CREATE TABLE bench_scored_pandas (account_id bigint, score float8, tier text)")
        cur.copy_expert("COPY bench_scored_pandas FROM STDIN (FORMAT csv)", back)
        conn.commit()
        return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    conn = psycopg2.connect(host=a.host, port=a.port, user="postgres", dbname="postgres")
    with conn.cursor() as cur:
        cur.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")
    in_database(conn)
    round_trip(conn)
    with conn.cursor() as cur:
        cur.execute("""SELECT count(*), count(*) FILTER (WHERE s.tier <> p.tier), max(abs(s.score - p.score))
                       FROM bench_scored_sql s JOIN bench_scored_pandas p USING (account_id)""")
        rows, tiers_differ, max_diff = cur.fetchone()
    print(f"same rows: {rows}; tiers that differ: {tiers_differ}; largest score difference: {max_diff:.2e}")
    if tiers_differ or max_diff > 1e-9:
        raise SystemExit("the two ways disagree: not timing")
    sql = statistics.median(in_database(conn) for _ in range(a.reps))
    pandas = statistics.median(round_trip(conn) for _ in range(a.reps))
    print(f"\nMaterialise a score and a tier for {rows} accounts, median of {a.reps} runs, one core:")
    print(f"  in PostgreSQL, CREATE TABLE AS with weighted_score and tier: {sql:7.3f} s   1.00x")
    print(f"  pandas round trip (COPY out, numpy, COPY back):              {pandas:7.3f} s  {pandas / sql:5.2f}x slower")
    with conn.cursor() as cur:
        cur.execute("DROP TABLE bench_scored_sql, bench_scored_pandas")
    conn.commit()


if __name__ == "__main__":
    main()

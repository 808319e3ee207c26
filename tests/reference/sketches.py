"""The profile battery: how well health.profile ranks, against exact answers
and against the two sketches analysts would otherwise reach for.

For every distribution of the battery (generated here with a fixed seed and
loaded into PostgreSQL with COPY), it measures

- the largest |percentile_rank(v, p) - 100 * cume_dist| over 201 probe
  values (the data's 0th, 0.5th, ..., 100th percentiles), in percentile points;
- the largest error of quantile(p, q), q = 0.01 .. 0.99, relative to the
  true value (tests/sql/profile_accuracy.sql checks the bucket bound);
- the stored size (pg_column_size);
- that a forced-parallel plan and a rollup of seven parts give the same
  sketch as a serial pass;

and the same rank error and size for t-digest (pytdigest) at δ = 0.01
(compression 100), for t-digest at the smallest compression whose error is
no larger than ours, and for DDSketch at 1 % relative accuracy, on the
populations of 1 000 values or more. Sizes of the reference sketches are
counted as they are usually stored: 16 bytes per t-digest centroid (mean and
weight), 12 bytes per non-empty DDSketch bin (key and count). t-digest's cdf
counts half of a tied value (a mid-rank), cume_dist all of it, so it cannot
reach a small error on tied values; DDSketch's rank is read from its bins
counting v's own bin as all at or below v or as half, whichever is closer
over the probes.

Usage: sketches.py EXPORT_DIR, with CH_PSQL the psql command line that
reaches the reference database (as scripts/reference sets it).
"""

import os
import shlex
import subprocess
import sys

import numpy as np
from ddsketch import DDSketch
from pytdigest import TDigest

# Promises checked here (docs/reference.md §5).
MAX_RANK_ERROR = 0.1  # percentile points, every distribution
EXACT_LIMIT = 32768  # distinct values held exactly

PROBES = np.arange(201) / 200.0
QS = np.arange(1, 100) / 100.0


def battery(rng):
    """(name, values) for each distribution of the battery."""
    n = 1_000_000
    normal = rng.standard_normal
    clusters = np.array([10.0, 50.0, 200.0, 1000.0])
    shapes = [
        ("lognormal sigma 0.5", np.exp(0.5 * normal(n))),
        ("lognormal sigma 1", np.exp(normal(n))),
        ("lognormal sigma 2", np.exp(2 * normal(n))),
        ("lognormal sigma 3", np.exp(3 * normal(n))),
        ("uniform 0..100", rng.uniform(0, 100, n)),
        ("N(100, 0.3)", 100 + 0.3 * normal(n)),
        ("N(1e6, 1)", 1e6 + normal(n)),
        ("4 clusters 10..1000, noise 0.01", clusters[rng.integers(0, 4, n)] + 0.01 * normal(n)),
        ("integers: round lognormal(6, 2)", np.round(np.exp(6 + 2 * normal(n)))),
        ("integers: Poisson(3)", rng.poisson(3, n).astype(float)),
        ("integers: Zipf(1.2)", np.minimum(rng.zipf(1.2, n), 1e9).astype(float)),
        ("zero-inflated (40 % zeros)", np.where(rng.uniform(size=n) < 0.4, 0.0, np.exp(1 + normal(n)))),
        ("N(0, 1)", normal(n)),
        ("N(-50, 10): all negative", -50 + 10 * normal(n)),
        ("mixed sign, heavy tails", normal(n) * np.exp(3 * normal(n))),
        ("constant", np.full(n, 7.0)),
    ]
    # Populations of every size: a profile is exact up to 32 768 distinct values.
    for size in (1, 2, 177, 4096, 32_768, 32_769, 100_000):
        shapes.append((f"N(100, 0.3), {size} values", 100 + 0.3 * normal(size)))
        shapes.append((f"lognormal sigma 2, {size} values", np.exp(2 * normal(size))))
    return shapes


def psql(sql):
    command = shlex.split(os.environ["CH_PSQL"]) + ["-At", "-F", "|", "-c", sql]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def cume_dist(sorted_values, v):
    return 100.0 * np.searchsorted(sorted_values, v, side="right") / sorted_values.size


def probes_of(sorted_values):
    return np.quantile(sorted_values, PROBES, method="inverted_cdf")


def tdigest_error(values, sorted_values, probes, exact, compression):
    digest = TDigest.compute(values, compression=compression)
    ranks = 100.0 * digest.cdf(np.ascontiguousarray(probes, dtype=np.float64))
    return float(np.max(np.abs(ranks - exact))), 16 * len(digest.get_centroids())


def ddsketch_error(values, probes, exact):
    sketch = DDSketch(0.01)
    for v in values.tolist():
        sketch.add(v)
    key = sketch._mapping.key
    positive, negative = sketch._store, sketch._negative_store
    pos_bins, neg_bins = np.array(positive.bins), np.array(negative.bins)
    pos_cum, neg_cum = np.cumsum(pos_bins), np.cumsum(neg_bins)
    negatives = neg_cum[-1] if neg_bins.size else 0.0
    zeros = sketch._zero_count

    def rank(v, share):
        # Values of v's own bin count as at or below v: all of them, or `share`.
        if v > 0 and pos_bins.size:
            i = min(max(key(v) - positive.offset, -1), pos_bins.size - 1)
            below = pos_cum[i - 1] if i >= 1 else 0.0
            own = pos_bins[i] if i >= 0 else 0.0
            return negatives + zeros + below + own * share
        if v < 0 and neg_bins.size:
            i = min(max(key(-v) - negative.offset, -1), neg_bins.size - 1)
            above = neg_cum[i] if i >= 0 else 0.0  # magnitudes up to |v|
            own = neg_bins[i] if i >= 0 else 0.0
            return negatives - above + own * share
        if v == 0:
            return negatives + zeros * share
        return negatives + zeros + (pos_cum[-1] if v > 0 and pos_bins.size else 0)

    error = min(
        float(np.max(np.abs(np.array([100.0 * rank(v, share) / sketch.count for v in probes]) - exact)))
        for share in (0.5, 1.0)
    )
    bins = int(np.count_nonzero(pos_bins) + np.count_nonzero(neg_bins) + (1 if zeros else 0))
    return error, 12 * bins


def matched_tdigest(values, sorted_values, probes, exact, target):
    """Smallest t-digest (by compression, to 5 %) whose rank error is <= target."""
    low, high = 20.0, 20_000.0
    error, size = tdigest_error(values, sorted_values, probes, exact, high)
    if error > target:
        return None
    for _ in range(40):
        if high / low < 1.05:
            break
        middle = (low * high) ** 0.5
        e, s = tdigest_error(values, sorted_values, probes, exact, middle)
        if e <= target:
            high, error, size = middle, e, s
        else:
            low = middle
    return high, error, size


def main(folder):
    rng = np.random.default_rng(20261202)
    shapes = battery(rng)
    path = os.path.join(folder, "battery.csv")
    with open(path, "w") as out:
        for i, (_, values) in enumerate(shapes):
            np.savetxt(out, np.column_stack([np.full(values.size, i), np.arange(values.size), values]),
                       fmt=["%d", "%d", "%.17g"], delimiter=",")
    os.chmod(path, 0o644)
    psql(f"""
        DROP TABLE IF EXISTS battery, battery_profiles;
        CREATE TABLE battery (shape int, i int, v float8);
        COPY battery FROM '{path}' CSV;
        ANALYZE battery;
        SET max_parallel_workers_per_gather = 0;
        CREATE TABLE battery_profiles AS SELECT shape, health.profile(v) AS p FROM battery GROUP BY shape;
    """)
    moments = "'{mean,stddev,m2,log_mean,log_m2}'::text[]"
    # A forced-parallel plan and a rollup of seven parts: the same sketch.
    same = {int(s): (a == "t", b == "t") for s, a, b in psql(f"""
        SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
        SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
        SELECT b.shape, (b.p::text::jsonb - {moments}) = (w.p::text::jsonb - {moments}),
               (r.p::text::jsonb - {moments}) = (w.p::text::jsonb - {moments})
        FROM (SELECT shape, health.profile(v) AS p FROM battery GROUP BY shape) b
        JOIN battery_profiles w USING (shape)
        JOIN (SELECT shape, health.rollup(p) AS p
              FROM (SELECT shape, i % 7, health.profile(v) AS p FROM battery GROUP BY 1, 2) parts GROUP BY shape) r
          USING (shape)
    """)}

    failures = []
    larger = []
    print(f"{'distribution':36} {'n':>9} | {'ours: rank err':>14} {'bytes':>7} {'quantile err':>12} | "
          f"{'t-digest δ=0.01':>16} {'bytes':>6} | {'t-digest, our err':>17} {'bytes':>7} | {'DDSketch 1 %':>12} {'bytes':>6}")
    for i, (name, values) in enumerate(shapes):
        sorted_values = np.sort(values)
        probes = probes_of(sorted_values)
        exact = cume_dist(sorted_values, probes)
        probe_list = ",".join(repr(float(v)) for v in probes)
        q_list = ",".join(repr(float(q)) for q in QS)
        rows = psql(f"""
            SELECT pg_column_size(p), p::text::jsonb ->> 'block_shift',
                   (SELECT string_agg(health.percentile_rank(v, p)::text, ' ' ORDER BY k)
                    FROM unnest('{{{probe_list}}}'::float8[]) WITH ORDINALITY u(v, k)),
                   (SELECT string_agg(health.quantile(p, q)::text, ' ' ORDER BY k)
                    FROM unnest('{{{q_list}}}'::float8[]) WITH ORDINALITY u(q, k))
            FROM battery_profiles WHERE shape = {i}
        """)
        size, block_shift, ranks, quantiles = rows[0]
        ours = np.array([float(r) for r in ranks.split()])
        rank_error = float(np.max(np.abs(ours - exact)))
        estimates = np.array([float(q) for q in quantiles.split()])
        truth = np.quantile(sorted_values, QS, method="linear")
        value_error = float(np.max(np.abs(estimates - truth) / np.maximum(np.abs(truth), 1e-300)))
        distinct = np.unique(sorted_values).size
        exact_profile = block_shift == "0"

        line = f"{name:36} {values.size:9d} | {rank_error:14.4f} {int(size):7d} {value_error:12.2e}"
        if values.size >= 1000:
            td_error, td_size = tdigest_error(values, sorted_values, probes, exact, 100)
            matched = matched_tdigest(values, sorted_values, probes, exact, max(rank_error, 1e-9))
            dd_error, dd_size = ddsketch_error(values, probes, exact)
            matched_text = f"{matched[1]:17.4f} {matched[2]:7d}" if matched else f"{'not reached':>17} {'':>7}"
            line += f" | {td_error:16.4f} {td_size:6d} | {matched_text} | {dd_error:12.4f} {dd_size:6d}"
            if matched and matched[2] < int(size):
                larger.append(f"{name}: {int(size)} bytes, t-digest {matched[2]} bytes at error {matched[1]:.4f}")
        print(line)

        parallel_same, rollup_same = same[i]
        if rank_error > MAX_RANK_ERROR:
            failures.append(f"{name}: rank error {rank_error:.4f} > {MAX_RANK_ERROR}")
        if distinct <= EXACT_LIMIT and (not exact_profile or rank_error != 0 or value_error > 1e-12):
            failures.append(f"{name}: {distinct} distinct values but not exact (rank error {rank_error})")
        if distinct > EXACT_LIMIT and exact_profile:
            failures.append(f"{name}: {distinct} distinct values held exactly")
        if not parallel_same:
            failures.append(f"{name}: a forced-parallel plan built another sketch")
        if not rollup_same:
            failures.append(f"{name}: a rollup of seven parts is another sketch")
    psql("DROP TABLE battery, battery_profiles")
    if larger:
        print("larger than t-digest at the same rank error:\n  " + "\n  ".join(larger))
    if failures:
        print("\n".join(["FAILED:"] + failures))
        sys.exit(1)
    print(f"profile battery: {len(shapes)} distributions, every rank within {MAX_RANK_ERROR} point, "
          "exact up to 32 768 distinct values, parallel and rollup equal to serial")


if __name__ == "__main__":
    main(sys.argv[1])

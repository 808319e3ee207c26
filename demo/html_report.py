#!/usr/bin/env python3
"""Writes the demo's report as one HTML page (no scripts, no network): tier
distribution, score histogram, churn rate per tier, the accounts most at risk
with their reasons and score trend, from SQL queries on the scored demo
warehouse. Python's standard library only; psql runs the queries.

    demo/html_report.py OUT.html [psql connection options...]
    e.g. demo/html_report.py build/demo-report.html -h /tmp -p 55432 -U postgres -d customer_health_demo

Every number on the page carries a data-check attribute naming it, so a test
(tests/integration/html_report_check.py) can compare what a browser renders
with the SQL report.
"""
import csv
import html
import io
import subprocess
import sys

TIER_ORDER = ["at_risk", "neutral", "healthy"]
TIER_COLOR = {"at_risk": "#d64545", "neutral": "#e0a800", "healthy": "#2f9e44"}


def query(psql_args, sql):
    """Rows of a query as dicts (psql --csv)."""
    out = subprocess.run(["psql", "-X", "--csv", "-v", "ON_ERROR_STOP=1", *psql_args, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def e(value):
    return html.escape(str(value))


def bar_chart(items, label_key, value_key, colors, check_prefix, fmt=str, width=520, bar_h=26):
    """Horizontal bar chart as inline SVG; each bar's value is printed beside it."""
    top = max((float(i[value_key]) for i in items), default=1) or 1
    rows = []
    for n, item in enumerate(items):
        y = n * (bar_h + 8)
        w = 1 + (width - 200) * float(item[value_key]) / top
        label = item[label_key]
        rows.append(
            f'<text x="0" y="{y + bar_h * 0.7}" class="label">{e(label)}</text>'
            f'<rect x="110" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colors.get(label, "#4263eb")}"/>'
            f'<text x="{116 + w:.1f}" y="{y + bar_h * 0.7}" class="value" '
            f'data-check="{check_prefix}-{e(label)}">{e(fmt(item[value_key]))}</text>')
    height = len(items) * (bar_h + 8)
    return f'<svg width="{width}" height="{height}" role="img">{"".join(rows)}</svg>'


def histogram(bins, width=520, height=180):
    top = max((int(b["accounts"]) for b in bins), default=1) or 1
    bw = width / len(bins)
    parts = []
    for i, b in enumerate(bins):
        h = (height - 40) * int(b["accounts"]) / top
        x = i * bw
        low = int(float(b["low"]))
        color = TIER_COLOR["at_risk"] if low < 40 else TIER_COLOR["neutral"] if low < 70 else TIER_COLOR["healthy"]
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{height - 20 - h:.1f}" width="{bw - 4:.1f}" height="{h:.1f}" fill="{color}"/>'
            f'<text x="{x + bw / 2:.1f}" y="{height - 24 - h:.1f}" class="value" text-anchor="middle" '
            f'data-check="histogram-{low}">{e(b["accounts"])}</text>'
            f'<text x="{x + bw / 2:.1f}" y="{height - 5}" class="label" text-anchor="middle">{low}–{low + 10}</text>')
    return f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def sparkline(points, width=120, height=28):
    """Score history (0-100) as a polyline; the last point marked."""
    values = [float(p) for p in points]
    if len(values) == 1:
        values = values * 2
    step = width / (len(values) - 1)
    xy = [(i * step, height - 3 - (height - 6) * v / 100) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    lx, ly = xy[-1]
    return (f'<svg width="{width}" height="{height}" class="spark"><polyline points="{path}" fill="none" '
            f'stroke="#495057" stroke-width="1.5"/><circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.5" fill="#d64545"/></svg>')


def main(out_path, psql_args):
    overview = query(psql_args, """
        SELECT count(*) AS accounts, round(avg(score), 1) AS avg_score,
               (SELECT to_char(max(metrics_as_of), 'YYYY-MM-DD') FROM demo.scored_accounts) AS as_of,
               round(health.auc(s.score, r.churned)::numeric, 3) AS auc
        FROM demo.scored_accounts s JOIN demo.renewals r USING (account_id)""")[0]
    tiers = query(psql_args, """
        SELECT tier, count(*) AS accounts, round(sum(arr)) AS arr
        FROM demo.scored_accounts WHERE tier IS NOT NULL GROUP BY tier""")
    tiers.sort(key=lambda t: TIER_ORDER.index(t["tier"]))
    churn = query(psql_args, """
        SELECT s.tier, round(100 * avg(r.churned::int), 1) AS churn_pct
        FROM demo.scored_accounts s JOIN demo.renewals r USING (account_id)
        WHERE s.tier IS NOT NULL GROUP BY s.tier""")
    churn.sort(key=lambda t: TIER_ORDER.index(t["tier"]))
    bins = query(psql_args, """
        SELECT 10 * b AS low, count(s.score) AS accounts
        FROM generate_series(0, 9) AS b
        LEFT JOIN demo.scored_accounts s ON least(floor(s.score / 10), 9) = b
        GROUP BY b ORDER BY b""")
    at_risk = query(psql_args, """
        SELECT s.account_id, s.name, s.segment, s.arr, s.score, s.tier, s.weakest_metrics,
               round(health.delta(t.trend)::numeric, 1) AS delta, health.direction(t.trend) AS direction,
               (SELECT string_agg(round(h.score::numeric, 1)::text, ' ' ORDER BY h.scored_at)
                FROM demo.score_history h WHERE h.account_id = s.account_id) AS history
        FROM demo.scored_accounts s JOIN demo.account_trends t USING (account_id)
        WHERE s.score IS NOT NULL
        ORDER BY s.score, s.arr DESC, s.account_id
        LIMIT 10""")

    rows = "".join(
        f'<tr><td data-check="risk-{i}-account">{e(a["account_id"])}</td><td>{e(a["name"])}</td>'
        f'<td>{e(a["segment"])}</td><td class="num">{float(a["arr"]):,.0f}</td>'
        f'<td class="num" data-check="risk-{i}-score">{e(a["score"])}</td>'
        f'<td>{e(a["weakest_metrics"])}</td>'
        f'<td>{sparkline(a["history"].split())}</td>'
        f'<td class="num" data-check="risk-{i}-delta">{e(a["delta"])}</td><td>{e(a["direction"])}</td></tr>'
        for i, a in enumerate(at_risk, start=1))

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Customer health report</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2em; color: #212529; max-width: 1100px; }}
 h1 {{ margin-bottom: 0.2em; }} h2 {{ margin-top: 1.6em; font-size: 1.15em; }}
 .facts span {{ display: inline-block; margin-right: 2em; font-size: 1.1em; }}
 .facts b {{ font-size: 1.4em; }}
 .grid {{ display: flex; gap: 3em; flex-wrap: wrap; }}
 svg text.label {{ font-size: 13px; fill: #495057; }} svg text.value {{ font-size: 13px; font-weight: 600; }}
 table {{ border-collapse: collapse; font-size: 14px; }}
 th, td {{ padding: 4px 10px; border-bottom: 1px solid #dee2e6; text-align: left; }}
 td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>Customer health report</h1>
<p class="facts">
 <span>Metrics as of <b data-check="as-of">{e(overview["as_of"])}</b></span>
 <span>Accounts <b data-check="accounts">{e(overview["accounts"])}</b></span>
 <span>Average score <b data-check="avg-score">{e(overview["avg_score"])}</b></span>
 <span>AUC against churn <b data-check="auc">{e(overview["auc"])}</b></span>
</p>
<div class="grid">
 <section><h2>Accounts per tier</h2>{bar_chart(tiers, "tier", "accounts", TIER_COLOR, "tier-accounts")}</section>
 <section><h2>Churn rate per tier (%)</h2>{bar_chart(churn, "tier", "churn_pct", TIER_COLOR, "tier-churn")}</section>
</div>
<section><h2>Score distribution (accounts per 10 points)</h2>{histogram(bins)}</section>
<section><h2>The ten accounts most at risk</h2>
<table><thead><tr><th>account</th><th>name</th><th>segment</th><th>ARR</th><th>score</th>
<th>weakest metrics</th><th>trend</th><th>change</th><th>direction</th></tr></thead>
<tbody>{rows}</tbody></table></section>
</body></html>
"""
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

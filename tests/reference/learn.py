"""fit_model against scikit-learn and statsmodels.

Accounts are made in SQL with a known logistic relation between four metrics
and churn, in which two metrics add churn only once the others are
accounted for (`seats` tracks `usage`; `late_days` is a skewed count), one
protects (`usage`, `nps`), and `nps` is missing for one account in ten.
health.fit_model learns a model from them; then, independently here:

- the model's sub-scores are recomputed from its JSON (z-scores, linear or
  through the normal CDF, of x or ln(1 + x); a missing metric counts 50)
  and scikit-learn's unconstrained LogisticRegression is fitted on them:
  the model's in-sample AUC must be within 0.005 of the regression's;
- statsmodels' Logit on the same sub-scores gives coefficients whose shares
  of their total must be the model's weights (to the hundredths the model
  keeps), with the model's directions flipping exactly the metrics whose
  coefficient is positive;
- the AUC the model reports equals scikit-learn's roc_auc_score of its
  score, computed here from the model document;
- the directions chosen match the signs of the true coefficients.

Usage: learn.py, with CH_PSQL the psql command line that reaches the
reference database (as scripts/reference sets it).
"""

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import statsmodels.api as sm
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

# The true relation: churn log-odds = -1 + sum(coefficient * z-score).
TRUE = {"usage": -1.3, "seats": 0.7, "late_days": 0.5, "nps": -0.4}
ACCOUNTS = 20_000


def psql(sql):
    command = shlex.split(os.environ["CH_PSQL"]) + ["-At", "-F", "|", "-c", sql]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def subscores(model, rows):
    """The model's sub-scores, recomputed from its document (higher is better)."""
    columns = []
    for m in model["metrics"]:
        scale = m["scale"]
        method = scale["method"]
        x = np.array([r[m["name"]] if r[m["name"]] is not None else np.nan for r in rows], dtype=float)
        if method.startswith("log_"):
            x = np.log1p(x)
        z = (x - scale["mean"]) / scale["stddev"]
        if not m["higher_is_better"]:
            z = -z
        if method.endswith("_linear"):
            s = 50 + 50 * np.clip(z / scale["clip"], -1, 1)
        else:
            s = 100 * norm.cdf(z)
        columns.append(np.where(np.isnan(x), 50.0, s))
    return np.column_stack(columns)


def main():
    psql(f"""
        DROP TABLE IF EXISTS learn_accounts;
        SELECT setseed(0.2026);
        CREATE TABLE learn_accounts AS
        WITH z AS (
          SELECT a,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_usage,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_own_seats,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_late,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_nps,
                 random() AS u
          FROM generate_series(1, {ACCOUNTS}) a)
        SELECT a AS account_id,
               50 + 10 * z_usage AS usage,
               20 + 6 * (0.8 * z_usage + 0.6 * z_own_seats) AS seats,
               round(exp(1 + 0.9 * z_late)) AS late_days,
               CASE WHEN a % 10 <> 0 THEN 7 + 1.5 * z_nps END AS nps,
               u < 1 / (1 + exp(-(-1 {TRUE['usage']:+} * z_usage {TRUE['seats']:+} * (0.8 * z_usage + 0.6 * z_own_seats)
                                   {TRUE['late_days']:+} * z_late {TRUE['nps']:+} * z_nps))) AS churned
        FROM z;
    """)
    rows = [dict(usage=float(u), seats=float(s), late_days=float(l), nps=None if n == "" else float(n), churned=c == "t")
            for u, s, l, n, c in psql("SELECT usage, seats, late_days, nps, churned FROM learn_accounts ORDER BY account_id")]
    (model_text,) = psql("""SELECT health.fit_model(account_id::text,
                                   jsonb_build_object('usage', usage, 'seats', seats, 'late_days', late_days, 'nps', nps),
                                   churned, '{"folds": 5, "min_weight": 0}')
                            FROM learn_accounts""")[0]
    model = json.loads(model_text)
    fit = model["fit"]
    y = np.array([r["churned"] for r in rows])
    x = subscores(model, rows)
    names = [m["name"] for m in model["metrics"]]
    weights = np.array([m["weight"] for m in model["metrics"]])

    failures = []

    def check(name, ok, detail):
        print(f"{'ok' if ok else 'FAILED'}  {name}: {detail}")
        if not ok:
            failures.append(name)

    score = x @ weights / weights.sum()
    ours = roc_auc_score(~y, score)
    check("the reported AUC is the AUC of the model's score", abs(ours - fit["auc"]) < 1e-9,
          f"reported {fit['auc']:.6f}, recomputed {ours:.6f}")
    sk = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(x, y)
    sk_auc = roc_auc_score(y, sk.decision_function(x))
    check("in-sample AUC within 0.005 of scikit-learn's unconstrained LogisticRegression",
          abs(fit["auc"] - sk_auc) <= 0.005, f"model {fit['auc']:.4f}, LogisticRegression {sk_auc:.4f}")
    logit = sm.Logit(y.astype(float), sm.add_constant(x)).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    coefficients = np.asarray(logit.params)[1:]
    shares = 100 * -coefficients / -coefficients.sum()
    check("every statsmodels coefficient points against churn on the model's sub-scores (directions at their fixed point)",
          bool(np.all(coefficients <= 0)), ", ".join(f"{n} {c:.4f}" for n, c in zip(names, coefficients)))
    check("the weights are the coefficients' shares of 100 (to the hundredth)",
          bool(np.all(np.abs(shares - weights) <= 0.011)),
          ", ".join(f"{n} {w:.2f} vs {s:.3f}" for n, w, s in zip(names, weights, shares)))
    chosen = {m["name"]: m["higher_is_better"] for m in model["metrics"]}
    wanted = {name: coefficient < 0 for name, coefficient in TRUE.items()}
    check("the directions match the signs of the true coefficients", chosen == wanted,
          f"higher_is_better {chosen}, true coefficients {TRUE}")
    cv = fit["cross_validation"]
    check("cross-validated AUC close to in-sample (5 folds, 20 000 accounts)", abs(cv["auc"] - fit["auc"]) < 0.01,
          f"cross-validated {cv['auc']:.4f}, in-sample {fit['auc']:.4f}")
    print(f"fit_model: normalisers {', '.join(n + ' ' + m['scale']['method'] for n, m in zip(names, model['metrics']))}")
    psql("DROP TABLE learn_accounts")
    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)
    print(f"fit_model reference: {len(rows)} accounts, AUC {fit['auc']:.4f} vs LogisticRegression {sk_auc:.4f}, "
          "weights = statsmodels coefficient shares, directions = true signs")


if __name__ == "__main__":
    main()

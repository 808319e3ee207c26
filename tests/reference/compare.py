"""Compares the extension's validation answers (tests/reference/data.sql)
with independent reference implementations: scikit-learn's roc_auc_score,
brier_score_loss and LogisticRegression, statsmodels' Logit, and numpy
re-implementations of lift (ties pro rata) and calibration buckets.

    python compare.py DIR    DIR holds rows.csv, big.csv and answers.csv

Prints one "ok"/"FAILED" line per check and a closing
"reference: N passed, M failed" line; exits 1 on any failure.
"""
import csv
import json
import sys

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

AUC_TOL = 1e-9           # the bar: AUC equal to 1e-9
COEF_TOL = 1e-4          # the bar: coefficients within 1e-4


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    out = {}
    for k, v in cols.items():
        if k == "churned":
            out[k] = np.array([x == "t" for x in v])
        elif k == "segment":
            out[k] = np.array(v)
        else:
            out[k] = np.array([float(x) for x in v])
    return out


def lift(score, churned, fraction):
    """Churn rate of the lowest `fraction` over the overall rate; accounts
    tied at the cut count pro rata."""
    n = len(score)
    k = fraction * n
    order = np.sort(score)
    cut = order[max(int(np.ceil(k)), 1) - 1]
    below = score < cut
    at = score == cut
    share = (k - below.sum()) / at.sum()
    churned_low = churned[below].sum() + share * churned[at].sum()
    return (churned_low / k) / churned.mean()


def calibration(score, churned, buckets):
    idx = np.minimum(np.floor(score / 100 * buckets).astype(int), buckets - 1)
    out = []
    for i in range(buckets):
        m = idx == i
        out.append({
            "count": int(m.sum()),
            "churned": int(churned[m].sum()),
            "churn_rate": churned[m].mean() if m.any() else None,
            "mean_score": score[m].mean() if m.any() else None,
        })
    return out


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def close(self, name, ours, reference, tol, relative=False):
        ours, reference = float(ours), float(reference)
        diff = abs(ours - reference)
        if relative:
            diff /= max(abs(reference), 1e-300)
        good = diff <= tol
        self.passed += good
        self.failed += not good
        kind = "relative " if relative else ""
        print(f"{'ok' if good else 'FAILED'} {name}: ours {ours!r} reference {reference!r} "
              f"({kind}difference {diff:.3g}, allowed {tol:g})")

    def equal(self, name, ours, reference):
        good = ours == reference
        self.passed += good
        self.failed += not good
        print(f"{'ok' if good else 'FAILED'} {name}: ours {ours!r} reference {reference!r}")


def main(folder):
    rows = read_rows(f"{folder}/rows.csv")
    big = read_rows(f"{folder}/big.csv")
    with open(f"{folder}/answers.csv", newline="") as f:
        answers = {r["name"]: r["answer"] for r in csv.DictReader(f)}
    c = Checks()
    y = rows["churned"]

    # AUC of a score as a predictor of retention (higher score, less churn).
    c.close("auc of the score, 20 000 rows with ties", answers["auc"], roc_auc_score(~y, rows["score"]), AUC_TOL)
    c.close("auc, 200 000 integer scores", answers["auc_big"], roc_auc_score(~big["churned"], big["score"]), AUC_TOL)
    for seg in ("smb", "mid", "enterprise"):
        m = rows["segment"] == seg
        c.close(f"auc per segment ({seg})", answers[f"auc_{seg}"], roc_auc_score(~y[m], rows["score"][m]), AUC_TOL)
    for x in ("x1", "x2", "x3", "x4"):
        c.close(f"auc of {x}", answers[f"auc_{x}"], roc_auc_score(~y, rows[x]), AUC_TOL)

    c.close("lift, lowest 10 %", answers["lift_10"], lift(rows["score"], y, 0.10), 1e-12, relative=True)
    c.close("lift, lowest 25 %", answers["lift_25"], lift(rows["score"], y, 0.25), 1e-12, relative=True)
    c.close("lift, lowest 3 %, 200 000 rows", answers["lift_big_3"], lift(big["score"], big["churned"], 0.03), 1e-12, relative=True)

    for name, buckets in (("calibration", 10), ("calibration_7", 7)):
        ours = json.loads(answers[name])
        ref = calibration(rows["score"], y, buckets)
        c.equal(f"{name}: bucket counts and churned", [(b["count"], b["churned"]) for b in ours],
                [(b["count"], b["churned"]) for b in ref])
        for i, (o, r) in enumerate(zip(ours, ref)):
            if r["count"]:
                c.close(f"{name}[{i}] churn_rate", o["churn_rate"], r["churn_rate"], 1e-12, relative=True)
                c.close(f"{name}[{i}] mean_score", o["mean_score"], r["mean_score"], 1e-12, relative=True)

    c.close("brier", answers["brier"], brier_score_loss(y, rows["noise"]), 1e-12, relative=True)

    # Unregularised logistic regression: statsmodels' Logit by Newton.
    X = np.column_stack([rows[x] for x in ("x1", "x2", "x3", "x4")])
    fit = json.loads(answers["fit"])
    sm_fit = sm.Logit(y.astype(float), sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    c.equal("fit converged", fit["converged"], True)
    c.close("fit intercept", fit["intercept"], sm_fit.params[0], COEF_TOL)
    for i in range(4):
        c.close(f"fit coefficient x{i + 1}", fit["coefficients"][i], sm_fit.params[i + 1], COEF_TOL)
        c.close(f"fit standard error x{i + 1}", fit["standard_errors"][i], sm_fit.bse[i + 1], 1e-6, relative=True)
    c.close("fit intercept standard error", fit["intercept_standard_error"], sm_fit.bse[0], 1e-6, relative=True)
    c.close("fit log-likelihood", fit["log_likelihood"], sm_fit.llf, 1e-9, relative=True)
    eta = sm_fit.fittedvalues
    c.close("fit auc of the fitted predictor", fit["auc"], roc_auc_score(y, eta), AUC_TOL)
    protective = np.maximum(-sm_fit.params[1:], 0)
    weights = 100 * protective / protective.sum()
    for i in range(4):
        c.close(f"fit weight x{i + 1}", fit["weights"][i], weights[i], 1e-4)

    # L2: l2·Σβ²/2 on the coefficients, intercept free = scikit-learn's
    # C·Σloss + ||w||²/2 with C = 1/l2 (its lbfgs/newton solvers do not
    # penalise the intercept).
    fit_l2 = json.loads(answers["fit_l2"])
    sk = LogisticRegression(C=1 / fit_l2["l2"], solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    shrink = abs(fit_l2["coefficients"][0]) / abs(fit["coefficients"][0])
    c.equal("fit l2=1e6 shrinks the x1 coefficient by 1 % or more", bool(shrink < 0.99), True)
    c.close("fit l2=1e6 intercept", fit_l2["intercept"], sk.intercept_[0], COEF_TOL)
    for i in range(4):
        c.close(f"fit l2=1e6 coefficient x{i + 1}", fit_l2["coefficients"][i], sk.coef_[0][i], COEF_TOL)

    print(f"reference: {c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

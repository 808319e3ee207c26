-- Reference data for tests/reference/compare.py: accounts whose churn follows
-- a known logistic relation on four 0-100 sub-scores, made in SQL with a
-- fixed seed. The extension's answers are computed here; compare.py computes
-- the same numbers with scikit-learn / statsmodels from the exported rows.
SET client_min_messages = warning;
DROP TABLE IF EXISTS ref_rows, ref_answers;
SELECT setseed(0.42);
CREATE TABLE ref_rows AS
SELECT account_id,
       (ARRAY['smb', 'mid', 'enterprise'])[1 + account_id % 3] AS segment,
       x1, x2, x3, x4,
       -- the score analysts use: a weighted mean, rounded to 0.1 (many ties)
       round(((40 * x1 + 30 * x2 + 20 * x3 + 10 * x4) / 100)::numeric, 1)::float8 AS score,
       -- logit(churn) = 2 - 0.04 x1 - 0.02 x2 + 0 x3 + 0.01 x4
       random() < 1 / (1 + exp(-(2 - 0.04 * x1 - 0.02 * x2 + 0.01 * x4))) AS churned,
       random() AS noise
FROM (SELECT account_id,
             round((100 * random())::numeric, 2)::float8 AS x1,
             round((100 * random())::numeric, 2)::float8 AS x2,
             round((100 * random())::numeric)::float8 AS x3,
             round((100 * random())::numeric, 1)::float8 AS x4
      FROM generate_series(1, 20000) AS account_id) a;

-- A second, larger population for the AUC alone: 200 000 integer scores.
CREATE TABLE ref_big AS
SELECT s::float8 AS score, random() < (100 - s) / 150.0 AS churned
FROM (SELECT floor(101 * random())::int AS s FROM generate_series(1, 200000)) a;

CREATE TABLE ref_answers (name text PRIMARY KEY, answer text NOT NULL);
INSERT INTO ref_answers
SELECT 'auc', health.auc(score, churned)::text FROM ref_rows
UNION ALL SELECT 'auc_big', health.auc(score, churned)::text FROM ref_big
UNION ALL SELECT 'auc_' || segment, health.auc(score, churned)::text FROM ref_rows GROUP BY segment
UNION ALL SELECT 'auc_x1', health.auc(x1, churned)::text FROM ref_rows
UNION ALL SELECT 'auc_x2', health.auc(x2, churned)::text FROM ref_rows
UNION ALL SELECT 'auc_x3', health.auc(x3, churned)::text FROM ref_rows
UNION ALL SELECT 'auc_x4', health.auc(x4, churned)::text FROM ref_rows
UNION ALL SELECT 'lift_10', health.lift(score, churned)::text FROM ref_rows
UNION ALL SELECT 'lift_25', health.lift(score, churned, 0.25)::text FROM ref_rows
UNION ALL SELECT 'lift_big_3', health.lift(score, churned, 0.03)::text FROM ref_big
UNION ALL SELECT 'calibration', health.calibration(score, churned)::text FROM ref_rows
UNION ALL SELECT 'calibration_7', health.calibration(score, churned, 7)::text FROM ref_rows
UNION ALL SELECT 'brier', health.brier(noise, churned)::text FROM ref_rows
UNION ALL SELECT 'fit', health.fit_weights(ARRAY[x1, x2, x3, x4], churned)::text FROM ref_rows
UNION ALL SELECT 'fit_l2', health.fit_weights(ARRAY[x1, x2, x3, x4], churned, 1e6)::text FROM ref_rows;

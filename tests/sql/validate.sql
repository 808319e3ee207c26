-- Validating a score against outcomes (docs/reference.md §7): auc, lift, calibration,
-- brier, fit_weights. Expected values are worked out by hand, or computed
-- independently in SQL next to them.

-- AUC: P(a retained account scores higher than a churned one), ties half.
-- retained {80, 60}, churned {60, 20}: pairs 80>60, 80>20, 60=60 (half), 60>20 -> 3.5 / 4.
SELECT health.auc(s, c) FROM (VALUES (80, false), (60, false), (60, true), (20, true)) t(s, c);
SELECT 'all scores equal' AS case, health.auc(50, c) FROM (VALUES (false), (true), (false)) t(c)
UNION ALL SELECT 'perfect', health.auc(s, c) FROM (VALUES (90, false), (10, true)) t(s, c)
UNION ALL SELECT 'churned only (undefined)', health.auc(s, c) FROM (VALUES (90, true), (10, true)) t(s, c)
UNION ALL SELECT 'NULLs skipped', health.auc(s, c) FROM (VALUES (90, false), (NULL, true), (10, NULL), (10, true)) t(s, c);

-- Against the rank formula on 100 000 accounts with many ties:
-- AUC = (sum of the retained accounts' average ranks - n_r (n_r + 1) / 2) / (n_r n_c).
CREATE TABLE outcome_rows AS
SELECT a AS account_id, ((a * 37) % 101)::float8 AS score,
       ((a * 37) % 101) < 40 AND a % 3 <> 0 OR a % 11 = 0 AS churned
FROM generate_series(1, 100000) a;
SELECT abs(health.auc(score, churned) -
           (SELECT (sum(r) FILTER (WHERE NOT churned) - count(*) FILTER (WHERE NOT churned) * (count(*) FILTER (WHERE NOT churned) + 1) / 2.0)
                   / (count(*) FILTER (WHERE NOT churned) * count(*) FILTER (WHERE churned))
            FROM (SELECT churned, (rank() OVER w + count(*) OVER (w RANGE BETWEEN CURRENT ROW AND CURRENT ROW) - 1 + rank() OVER w) / 2.0 AS r
                  FROM outcome_rows WINDOW w AS (ORDER BY score)) ranked)) < 1e-9 AS equals_rank_formula
FROM outcome_rows;

-- lift: scores 1..10, churned at 1 and 7 (20 % overall). The lowest 10 % is
-- the account at 1 (churned): 100 % / 20 % = 5. All accounts: 1.
SELECT health.lift(s, s IN (1, 7), 0.1) AS lift_10pct, health.lift(s, s IN (1, 7)) AS lift_default,
       health.lift(s, s IN (1, 7), 1) AS lift_all
FROM generate_series(1, 10) s;
-- Ties at the cut count pro rata: ten accounts all at 50, 3 churned -> 1.
SELECT health.lift(50, i <= 3, 0.25) FROM generate_series(1, 10) i;

-- calibration: per equal-width score bucket, count, churned, churn rate and mean score.
SELECT jsonb_pretty(health.calibration(s, c, 2))
FROM (VALUES (10, true), (30, false), (40, true), (60, false), (90, false), (100, false)) t(s, c);

-- brier: mean of (probability - outcome)^2: ((0.9 - 1)^2 + (0.2 - 0)^2) / 2 = 0.025.
SELECT round(health.brier(p, c)::numeric, 12) FROM (VALUES (0.9, true), (0.2, false)) t(p, c);

-- fit_weights: a logistic regression whose answer is checked by its own
-- score equations: at the maximum-likelihood coefficients, sum(y - p) = 0
-- and sum(x (y - p)) = 0 for every feature, p = 1 / (1 + exp(-(b0 + b.x))).
CREATE TABLE fit_rows AS
SELECT a AS account_id,
       ARRAY[((a * 37) % 101)::float8, ((a * 53) % 97)::float8, ((a * 71) % 89)::float8] AS x,
       -- churn falls with x1 and x2, x3 is noise
       ((a * 2654435761) % 1000) / 1000.0 < 1 / (1 + exp(-(2 - 0.04 * ((a * 37) % 101) - 0.02 * ((a * 53) % 97)))) AS churned
FROM generate_series(1, 20000) a;
CREATE TABLE fit AS SELECT health.fit_weights(x, churned) AS f FROM fit_rows;
SELECT f -> 'converged' AS converged, f -> 'rows' AS rows, jsonb_array_length(f -> 'coefficients') AS coefficients,
       (f ->> 'iterations')::int < 20 AS few_iterations,
       (f -> 'coefficients' ->> 0)::float8 < 0 AND (f -> 'coefficients' ->> 1)::float8 < 0 AS protective_x1_x2,
       round((SELECT sum(value::float8) FROM jsonb_array_elements_text(f -> 'weights'))::numeric, 9) AS weights_sum
FROM fit;
SELECT max(abs(g)) < 1e-6 AS score_equations_hold
FROM (SELECT sum(y - p) AS g0, sum(x[1] * (y - p)) AS g1, sum(x[2] * (y - p)) AS g2, sum(x[3] * (y - p)) AS g3
      FROM (SELECT x, churned::int AS y,
                   1 / (1 + exp(-((f ->> 'intercept')::float8 + x[1] * (f -> 'coefficients' ->> 0)::float8
                                  + x[2] * (f -> 'coefficients' ->> 1)::float8 + x[3] * (f -> 'coefficients' ->> 2)::float8))) AS p
            FROM fit_rows, fit) r) s, LATERAL unnest(ARRAY[g0, g1, g2, g3]) g;
-- The AUC it reports is the AUC of its own linear predictor.
SELECT abs((f ->> 'auc')::float8 - (SELECT health.auc(-((f ->> 'intercept')::float8 + x[1] * (f -> 'coefficients' ->> 0)::float8
                                   + x[2] * (f -> 'coefficients' ->> 1)::float8 + x[3] * (f -> 'coefficients' ->> 2)::float8), churned)
                                    FROM fit_rows)) < 1e-9 AS auc_consistent
FROM fit;
-- With an L2 penalty the coefficients shrink.
SELECT abs((health.fit_weights(x, churned, 1000) -> 'coefficients' ->> 0)::float8) < abs((SELECT f -> 'coefficients' ->> 0 FROM fit)::float8) AS shrinks
FROM fit_rows;

-- Named features: the answer pairs each name with its weight
-- (weights_by_name, ready for with_weights) and is otherwise the same fit.
SELECT f -> 'names' AS names,
       (SELECT jsonb_agg(f -> 'weights_by_name' -> n ORDER BY i) FROM jsonb_array_elements_text(f -> 'names') WITH ORDINALITY t(n, i))
         = f -> 'weights' AS weights_by_name_in_order,
       f - '{names,weights_by_name}'::text[] = (SELECT health.fit_weights(x, churned, 0) FROM fit_rows) AS same_fit_otherwise
FROM (SELECT health.fit_weights(x, churned, 0, '{logins,adoption,noise}') AS f FROM fit_rows) n;

-- NULL features: an error by default (with a hint), or a policy. 'skip'
-- fits the rows without NULLs; 'zero' and 'neutral' count a NULL as 0 or
-- 50, the values the score's own missing policies give. Each equals the
-- fit of the rows prepared by hand.
CREATE TABLE fit_rows_with_nulls AS
SELECT account_id, churned,
       CASE WHEN account_id % 7 = 0 THEN ARRAY[NULL, x[2], x[3]] ELSE x END AS x
FROM fit_rows;
SELECT (SELECT health.fit_weights(x, churned, 0, NULL, 'skip') FROM fit_rows_with_nulls) - '{rows_skipped}'::text[]
         = (SELECT health.fit_weights(x, churned, 0) FROM fit_rows_with_nulls WHERE x[1] IS NOT NULL) - '{rows_skipped}'::text[] AS skip_fits_complete_rows,
       (SELECT health.fit_weights(x, churned, 0, NULL, 'skip') -> 'rows_skipped' FROM fit_rows_with_nulls) AS rows_skipped,
       (SELECT health.fit_weights(x, churned, 0, NULL, 'neutral') - '{values_imputed}'::text[] FROM fit_rows_with_nulls)
         = (SELECT health.fit_weights(ARRAY[coalesce(x[1], 50), x[2], x[3]], churned, 0) FROM fit_rows_with_nulls) - '{values_imputed}'::text[] AS neutral_is_50,
       (SELECT health.fit_weights(x, churned, 0, NULL, 'zero') - '{values_imputed}'::text[] FROM fit_rows_with_nulls)
         = (SELECT health.fit_weights(ARRAY[coalesce(x[1], 0), x[2], x[3]], churned, 0) FROM fit_rows_with_nulls) - '{values_imputed}'::text[] AS zero_is_0,
       (SELECT health.fit_weights(x, churned, 0, NULL, 'zero') -> 'values_imputed' FROM fit_rows_with_nulls) AS values_imputed;
\set VERBOSITY default
SELECT health.fit_weights(x, churned) FROM fit_rows_with_nulls;
\set VERBOSITY terse

-- Errors and refusals.
SELECT e FROM (VALUES
  (sql_error($$SELECT health.fit_weights(x, c) FROM (VALUES (ARRAY[1.0, 2.0]::float8[], true), (ARRAY[1.0]::float8[], false)) t(x, c)$$)),
  (sql_error($$SELECT health.fit_weights(x, c) FROM (VALUES (ARRAY[1.0, 2.0]::float8[], true), (ARRAY[2.0, 1.0]::float8[], false)) t(x, c)$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], false) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], s > 5) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s, 2 * s], s % 2 = 0) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY['NaN'::float8], true)$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[1, NULL]::float8[], true)$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], s > 5, -1) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s, s * s], s > 5, 0, '{logins}') FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, ARRAY[CASE WHEN s > 3 THEN 'a' ELSE 'b' END]) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, '{logins}', 'impute') FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.fit_weights(ARRAY[s], s > 5, 0, '{logins}', NULL) FROM generate_series(1, 10) s$$)),
  (sql_error($$SELECT health.auc('NaN', true)$$)),
  (sql_error($$SELECT health.lift(s, true, 0) FROM generate_series(1, 3) s$$)),
  (sql_error($$SELECT health.lift(s, true, f) FROM (VALUES (1, 0.1), (2, 0.2)) t(s, f)$$)),
  (sql_error($$SELECT health.calibration(120, true)$$)),
  (sql_error($$SELECT health.calibration(50, true, 0)$$)),
  (sql_error($$SELECT health.brier(1.5, true)$$))
) t(e);
-- Perfectly separated data: every retained account scores above every
-- churned one, so the AUC is exactly 1 (and 0 with the direction flipped);
-- fit_weights does not converge without a penalty (the error above); with one it does.
SELECT health.auc(-s, s > 5) AS auc_separated, health.auc(s, s > 5) AS auc_flipped FROM generate_series(1, 10) s;
SELECT health.fit_weights(ARRAY[s], s > 5, 1) -> 'converged' AS converged_with_l2 FROM generate_series(1, 10) s;

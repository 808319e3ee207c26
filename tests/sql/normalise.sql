-- Normalisers: a raw metric -> a 0..100 sub-score.
-- Expected values are worked out by hand in the comments.

-- scale_linear: 100*(value-lo)/(hi-lo)
SELECT health.scale_linear(5, 0, 10)          AS half,        -- 50
       health.scale_linear(0, 0, 10)          AS at_lo,       -- 0
       health.scale_linear(10, 0, 10)         AS at_hi,       -- 100
       health.scale_linear(-3, 0, 10)         AS below,       -- clamped to 0
       health.scale_linear(13, 0, 10)         AS above,       -- clamped to 100
       health.scale_linear(7, 2, 12)          AS seven;       -- 100*5/10 = 50

-- lower is better: 100*(hi-value)/(hi-lo); clamping flips alike
SELECT health.scale_linear(2.5, 0, 10, false)  AS quarter,    -- 75
       health.scale_linear(-3, 0, 10, false)   AS below,      -- 100
       health.scale_linear(13, 0, 10, false)   AS above;      -- 0

-- out_of_range => 'null': outside [lo, hi] the metric has no score; the bounds themselves are inside
SELECT health.scale_linear(13, 0, 10, out_of_range => 'null')   AS above,   -- NULL
       health.scale_linear(-1, 0, 10, out_of_range => 'null')   AS below,   -- NULL
       health.scale_linear(10, 0, 10, out_of_range => 'null')   AS at_hi,   -- 100
       health.scale_linear(0, 0, 10, false, 'null')             AS at_lo;   -- 100 (lower is better)

-- NULL means "not measured": the sub-score is NULL too
SELECT health.scale_linear(NULL, 0, 10) IS NULL AS null_in_null_out;

-- scale_log: linear on ln(1+x). ln(1+9) is exactly half of ln(1+99) = 2 ln 10.
SELECT round(health.scale_log(9, 0, 99)::numeric, 12)          AS half,      -- 50
       health.scale_log(0, 0, 99)                               AS at_lo,     -- 0
       health.scale_log(500, 0, 99)                             AS clamped,   -- 100
       health.scale_log(500, 0, 99, out_of_range => 'null')     AS outside,   -- NULL
       round(health.scale_log(9, 0, 99, false)::numeric, 12)    AS flipped;   -- 50

-- scale_target: share of a target reached (higher is better), or penalty past a ceiling (lower is better)
SELECT health.scale_target(15, 20)         AS reached_75pct,   -- 100*15/20 = 75
       health.scale_target(30, 20)         AS over_target,     -- capped at 100
       health.scale_target(0, 20)          AS nothing,         -- 0
       health.scale_target(10, 20, false)  AS under_ceiling,   -- 100
       health.scale_target(20, 20, false)  AS at_ceiling,      -- 100
       health.scale_target(40, 20, false)  AS double_ceiling;  -- 100*20/40 = 50

-- scale_bands: upper-inclusive bands. cutoffs {2,5}: <=2 -> 100, (2,5] -> 50, >5 -> 0
SELECT v, health.scale_bands(v, '{2,5}', '{100,50,0}') AS score
FROM unnest(ARRAY[0, 2, 2.000001, 5, 5.5, 100]::float8[]) AS v;

-- one band only: no cutoffs, one score
SELECT health.scale_bands(42, '{}', '{70}') AS constant;   -- 70

-- scale_piecewise: straight lines through (knot, score), flat beyond the ends
-- knots {0,10,30} scores {0,80,100}: 5 -> 40, 20 -> 90
SELECT v, health.scale_piecewise(v, '{0,10,30}', '{0,80,100}') AS score
FROM unnest(ARRAY[-5, 0, 5, 10, 20, 30, 99]::float8[]) AS v;

-- scale_zscore: 100 * Phi((value-mean)/stddev); Phi(0) = 0.5, Phi(1) = 0.841344746068543
SELECT health.scale_zscore(10, 10, 2)                          AS at_mean,      -- 50
       round(health.scale_zscore(12, 10, 2)::numeric, 9)       AS one_sd_up,    -- 84.134474607
       round(health.scale_zscore(12, 10, 2, false)::numeric, 9) AS lower_better, -- 15.865525393
       round(health.scale_zscore(6.08007203091989, 10, 2)::numeric, 9) AS z_minus_1_96; -- 2.5

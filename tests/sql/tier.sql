-- tier: upper-inclusive bands; defaults cutoffs {40,70}, labels {at_risk,neutral,healthy}
-- (the 0-40 / 41-70 / 71-100 convention)
SELECT s, health.tier(s) AS tier, health.color(s) AS color, health.grade(s) AS grade
FROM unnest(ARRAY[0, 39.9, 40, 40.000001, 55, 70, 70.000001, 79.99, 80, 89.999, 90, 100]::float8[]) AS s;

-- grade is lower-inclusive: exactly 60, 70, 80, 90 get the higher letter
SELECT health.grade(59.999999) AS below_60, health.grade(60) AS at_60, health.grade(69.99) AS below_70, health.grade(70) AS at_70;

-- custom schemes: four tiers, two tiers
SELECT health.tier(25, '{25,50,75}', '{critical,at_risk,stable,champion}') AS at_25,
       health.tier(25.5, '{25,50,75}', '{critical,at_risk,stable,champion}') AS above_25,
       health.tier(100, '{25,50,75}', '{critical,at_risk,stable,champion}') AS at_100,
       health.tier(60, '{60}', '{churn_risk,ok}') AS two_tiers;

-- colors with other cutoffs: red up to 50, yellow up to 80
SELECT health.color(50, '{50,80}') AS at_50, health.color(80, '{50,80}') AS at_80, health.color(80.1, '{50,80}') AS above_80;

-- NULL score, NULL tier
SELECT health.tier(NULL) IS NULL AS tier_null, health.color(NULL) IS NULL AS color_null, health.grade(NULL) IS NULL AS grade_null;

-- tier agrees with the hand-written CASE on 100 001 evenly spaced scores
SELECT count(*) AS disagreements
FROM generate_series(0, 100000) AS i, LATERAL (SELECT i / 1000.0::float8 AS s) x
WHERE health.tier(s) <> CASE WHEN s <= 40 THEN 'at_risk' WHEN s <= 70 THEN 'neutral' ELSE 'healthy' END
   OR health.grade(s) <> CASE WHEN s >= 90 THEN 'A' WHEN s >= 80 THEN 'B' WHEN s >= 70 THEN 'C' WHEN s >= 60 THEN 'D' ELSE 'F' END;

-- A tier scheme can change from row to row: each row is tiered with its own arrays
-- (the parsed scheme is cached per query and re-read whenever the arrays change).
SELECT s, c AS cutoffs, l AS labels, health.tier(s, c, l) AS tier
FROM (VALUES (50, '{40,70}'::float8[], '{a,b,c}'::text[]),
             (50, '{60}', '{low,high}'),
             (50, '{40,70}', '{x,y,z}'),
             (50, '{40,70}', '{x,y,z}'),
             (75, '{40,70}', '{a,b,c}')) AS t(s, c, l);

-- Parallel plans: each form with 2 workers against the same query on one
-- core, on the same data; the speed-up is serial time over parallel time.
-- The hand-written SQL's own speed-up is the yardstick for the long forms.
-- Answers are checked equal between the two plans before timing.
\set ON_ERROR_STOP on
SET work_mem = '2GB';
SET jit = off;

CREATE TEMP TABLE par_bench (id int, form text, name text, query text);
INSERT INTO par_bench VALUES
(1, 'wide', 'tier(weighted_score(ARRAY[scale_linear(...) x10], weights))', $q$
SELECT count(*) FILTER (WHERE t = 'at_risk') || '/' || count(*) FILTER (WHERE t = 'healthy')
FROM (SELECT health.tier(health.weighted_score(ARRAY[
        health.scale_linear(m1, 0, 20), health.scale_linear(m2, 0, 100), health.scale_linear(m3, 0, 100),
        health.scale_linear(m4, 0, 10), health.scale_linear(m5, 0, 100), health.scale_linear(m6, 0, 100),
        health.scale_linear(m7, 0, 400), health.scale_linear(m8, 0, 10, false), health.scale_linear(m9, 0, 45, false),
        health.scale_linear(m10, 0, 72, false)], '{25,20,15,10,10,5,5,4,3,3}')) AS t
      FROM bench_wide) x $q$),
(2, 'wide', 'hand-written CASE over least/greatest arithmetic', $q$
SELECT count(*) FILTER (WHERE s <= 40.000000001) || '/' || count(*) FILTER (WHERE s > 70.000000001)
FROM (SELECT (25 * least(greatest(100 * ((m1 - 0) / 20), 0), 100) + 20 * least(greatest(100 * ((m2 - 0) / 100), 0), 100)
            + 15 * least(greatest(100 * ((m3 - 0) / 100), 0), 100) + 10 * least(greatest(100 * ((m4 - 0) / 10), 0), 100)
            + 10 * least(greatest(100 * ((m5 - 0) / 100), 0), 100) +  5 * least(greatest(100 * ((m6 - 0) / 100), 0), 100)
            +  5 * least(greatest(100 * ((m7 - 0) / 400), 0), 100) +  4 * least(greatest(100 * ((10 - m8) / 10), 0), 100)
            +  3 * least(greatest(100 * ((45 - m9) / 45), 0), 100) +  3 * least(greatest(100 * ((72 - m10) / 72), 0), 100)) / 100 AS s
      FROM bench_wide) x $q$),
(3, 'wide', 'evaluate(m.model, ARRAY[m1..m10]) joined to a model table', $q$
SELECT round(sum(health.evaluate(m.model, ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide, bench_models m WHERE m.name = 'bench' $q$),
(8, 'wide', 'evaluate((SELECT model FROM bench_models ...), ARRAY[m1..m10])', $q$
SELECT round(sum(health.evaluate((SELECT model FROM bench_models WHERE name = 'bench'), ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide $q$),
(9, 'wide', 'evaluate(model_for(''bench''), ARRAY[m1..m10])', $q$
SELECT round(sum(health.evaluate(health.model_for('bench'), ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]))::numeric, 6)
FROM bench_wide $q$),
(4, 'wide', 'evaluate(...) per account, joined, the 1 000 lowest scores', $q$
SELECT count(*) FROM (SELECT account_id, health.evaluate(m.model, ARRAY[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10]) AS s
                      FROM bench_wide, bench_models m WHERE m.name = 'bench' ORDER BY s LIMIT 1000) x $q$),
(5, 'long', 'score(scorecard(metric, score, weight)) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score(health.scorecard(metric, score, weight)) AS s FROM bench_long GROUP BY account_id) x $q$),
(6, 'long', 'score_agg(score, weight) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT health.score_agg(score, weight) AS s FROM bench_long GROUP BY account_id) x $q$),
(7, 'long', 'hand-written sum(w*s)/sum(w) GROUP BY account', $q$
SELECT round(sum(s)::numeric, 3) FROM (
    SELECT sum(weight * score) / sum(weight) AS s FROM bench_long GROUP BY account_id) x $q$);

-- The plan each query gets with 2 workers, and the same answers both ways.
CREATE FUNCTION par_run(query text, workers int, OUT answer text, OUT gather boolean) LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
    gather := false;
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP gather := gather OR line LIKE '%Gather%'; END LOOP;
    EXECUTE query INTO answer;
END $$;
SELECT b.id, b.form, b.name, s.answer = p.answer AS same_answer, p.gather AS parallel_plan
FROM par_bench b, LATERAL par_run(b.query, 0) s, LATERAL par_run(b.query, 2) p ORDER BY b.form DESC, b.id;

CREATE FUNCTION par_time(query text, workers int, reps int) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
    RETURN bench_median(query, reps);
END $$;
CREATE TEMP TABLE par_times AS
SELECT id, form, name, par_time(query, 0, :reps) AS serial_s, par_time(query, 2, :reps) AS parallel_s FROM par_bench;

\echo
\echo 'Parallel: median wall time of' :reps 'runs, one core against 2 workers (plus the leader), on' :accounts 'accounts:'
SELECT form, name, round(serial_s::numeric, 3) AS serial_s, round(parallel_s::numeric, 3) AS parallel_s,
       round((serial_s / parallel_s)::numeric, 2) AS speed_up
FROM par_times ORDER BY form DESC, id;
DROP FUNCTION par_run(text, int), par_time(text, int, int);

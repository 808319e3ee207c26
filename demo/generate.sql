-- The demo warehouse: a B2B SaaS company's raw tables, as a warehouse holds
-- them, generated deterministically.
--   psql -v accounts=2000 -v seed=42 -f demo/generate.sql
-- accounts: 1 000 .. 1 000 000 (default 2 000); seed: any integer (default 42).
-- The same (accounts, seed) always gives the same rows, whatever the plan:
-- every random number is a hash of (seed, stream, key), not random().
-- Schema and sizes: docs/demo-warehouse.md. Idempotent: recreates schema demo.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\if :{?accounts}
\else
  \set accounts 2000
\endif
\if :{?seed}
\else
  \set seed 42
\endif
SELECT (:accounts BETWEEN 1000 AND 1000000) AS accounts_ok \gset
\if :accounts_ok
\else
  \echo 'generate.sql: accounts must be between 1000 and 1000000, got' :accounts
  SELECT 1 / 0 AS accounts_out_of_range;
\endif

CREATE EXTENSION IF NOT EXISTS customer_health;
DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;

-- A uniform number in [0, 1) for (stream, key): the same every run.
CREATE FUNCTION demo.rand(stream int, key bigint) RETURNS float8
IMMUTABLE PARALLEL SAFE LANGUAGE sql
AS $$ SELECT (hashint8extended(key, stream) & 9007199254740991)::float8 / 9007199254740992.0 $$;

-- What generated the warehouse: the size, the seed and the day it is "as of".
CREATE TABLE demo.generation (accounts int NOT NULL, seed int NOT NULL, as_of date NOT NULL);
INSERT INTO demo.generation VALUES (:accounts, :seed, date '2026-11-01');

-- Streams: seed * 100 + n, one n per random quantity.
\set s (:seed * 100)

-- Accounts. `health` (0..1, on the as-of day) is the hidden truth that
-- drives every signal (with noise) and the churn outcome; `drift` is how
-- much healthier the account was 30 days earlier (positive: declining, one
-- account in four; negative: improving, one in ten). Both are kept in
-- demo.account_truth, out of the analyst's tables, so validation has
-- something real to find and trends are real trends.
CREATE TABLE demo.account_truth AS
SELECT i AS account_id,
       demo.rand(:s + 1, i) AS health,
       CASE WHEN demo.rand(:s + 8, i) < 0.25 THEN 0.03 + 0.09 * demo.rand(:s + 9, i)
            WHEN demo.rand(:s + 8, i) < 0.35 THEN -0.02 - 0.06 * demo.rand(:s + 9, i)
            ELSE 0.02 * (demo.rand(:s + 9, i) - 0.5) END AS drift,
       demo.rand(:s + 2, i) AS u_segment,
       demo.rand(:s + 3, i) AS u_seats,
       demo.rand(:s + 4, i) AS u_age,
       demo.rand(:s + 5, i) AS u_plan,
       demo.rand(:s + 6, i) AS u_price
FROM generate_series(1, :accounts) AS i;
ALTER TABLE demo.account_truth ADD PRIMARY KEY (account_id);

-- An account's health on day d (d before the as-of day): health + drift per
-- 30 days back, within 0..1.
CREATE FUNCTION demo.health_at(t demo.account_truth, d date) RETURNS float8
IMMUTABLE PARALLEL SAFE LANGUAGE sql
AS $$ SELECT least(1, greatest(0, t.health + t.drift * (date '2026-11-01' - d) / 30.0)) $$;

CREATE TABLE demo.accounts AS
SELECT account_id,
       'Account ' || lpad(account_id::text, 7, '0') AS name,
       -- the account's id in the CRM (Salesforce-style: 001 + 15 characters)
       '001' || upper(substr(md5(:seed || '/' || account_id), 1, 15)) AS crm_id,
       NULL::int AS parent_account_id,
       segment,
       plan,
       seats,
       round((seats * price * (0.85 + 0.3 * u_price))::numeric, -1)::numeric(12, 2) AS arr,
       signup_date,
       -- the next anniversary of the signup after the as-of date
       (signup_date + (1 + extract(year FROM age(date '2026-11-01', signup_date))::int) * interval '1 year')::date AS renewal_date
FROM (SELECT t.*,
             CASE WHEN u_segment < 0.6 THEN 'SMB' WHEN u_segment < 0.9 THEN 'Mid-Market' ELSE 'Enterprise' END AS segment,
             CASE WHEN u_segment < 0.6 THEN CASE WHEN u_plan < 0.7 THEN 'Starter' ELSE 'Growth' END
                  WHEN u_segment < 0.9 THEN CASE WHEN u_plan < 0.5 THEN 'Growth' ELSE 'Business' END
                  ELSE 'Enterprise' END AS plan,
             CASE WHEN u_segment < 0.6 THEN 3 + floor(10 * u_seats)
                  WHEN u_segment < 0.9 THEN 12 + floor(30 * u_seats)
                  ELSE 40 + floor(80 * u_seats) END::int AS seats,
             CASE WHEN u_segment < 0.6 THEN CASE WHEN u_plan < 0.7 THEN 480 ELSE 720 END
                  WHEN u_segment < 0.9 THEN CASE WHEN u_plan < 0.5 THEN 720 ELSE 1080 END
                  ELSE 1500 END AS price,
             (date '2026-11-01' - (45 + floor(1400 * u_age))::int) AS signup_date
      FROM demo.account_truth t) a;
ALTER TABLE demo.accounts ADD PRIMARY KEY (account_id);

-- Subsidiaries: one Enterprise account in five belongs to the Enterprise
-- account just before it (a parent is never itself a child).
UPDATE demo.accounts c SET parent_account_id = p.parent
FROM (SELECT account_id, lag(account_id) OVER (ORDER BY account_id) AS parent
      FROM demo.accounts WHERE segment = 'Enterprise') p
WHERE c.account_id = p.account_id AND p.parent IS NOT NULL
  AND demo.rand(:s + 7, c.account_id) < 0.2
  AND demo.rand(:s + 7, p.parent) >= 0.2;
ALTER TABLE demo.accounts ADD FOREIGN KEY (parent_account_id) REFERENCES demo.accounts;

-- Users: 60-100 % of the seats are provisioned.
CREATE TABLE demo.users AS
SELECT (a.account_id::bigint * 1000 + u) AS user_id, a.account_id,
       'user' || u || '@account' || a.account_id || '.example' AS email,
       (a.signup_date + floor(30 * demo.rand(:s + 10, a.account_id * 1000 + u))::int) AS created_on
FROM demo.accounts a,
     generate_series(1, greatest(1, round(a.seats * (0.6 + 0.4 * demo.rand(:s + 11, a.account_id)))::int)) AS u;
ALTER TABLE demo.users ADD PRIMARY KEY (user_id);

-- Product events. A user is "engaged" with a probability that grows with
-- the account's health (the same users stay engaged while health holds);
-- an engaged user logs in on 15-60 % of the days, a disengaged one on
-- 0-6 %. On a login day a user may use one of the eight key features;
-- healthier accounts use more of them.
CREATE TABLE demo.key_features (feature text PRIMARY KEY, description text NOT NULL);
INSERT INTO demo.key_features VALUES
  ('dashboards', 'built or viewed a dashboard'), ('alerts', 'set up an alert'),
  ('integrations', 'used an integration'), ('workflows', 'ran a workflow'),
  ('reports', 'exported a report'), ('api', 'called the API'),
  ('sso', 'signed in with SSO'), ('mobile', 'used the mobile app');

-- The events of the 30 days before window_end, as they happened. Only the
-- last 30 days are kept in demo.product_events (raw events are not
-- retained longer); demo/warehouse.sql recomputes the two monthly snapshots
-- before them from this same simulation, so history and today agree.
CREATE FUNCTION demo.simulated_product_events(window_end date)
RETURNS TABLE (account_id int, user_id bigint, occurred_at timestamptz, event text, feature text)
STABLE PARALLEL SAFE LANGUAGE sql AS $$
WITH g AS (SELECT seed * 100 AS s FROM demo.generation),
user_rates AS (
  SELECT u.user_id, u.account_id, g.s, demo.health_at(t, window_end - 15) AS h,
         demo.rand(g.s + 20, u.user_id) AS u_engaged, demo.rand(g.s + 21, u.user_id) AS u_rate
  FROM demo.users u JOIN demo.account_truth t USING (account_id), g
  WHERE u.created_on < window_end
), login_days AS (
  SELECT r.account_id, r.user_id, r.s, r.h, window_end - n AS day,
         r.user_id * 4096 + (window_end - n - date '2020-01-01') AS k
  FROM user_rates r, generate_series(1, 30) AS n
  WHERE demo.rand(r.s + 22, r.user_id * 4096 + (window_end - n - date '2020-01-01'))
        < CASE WHEN r.u_engaged < 0.15 + 0.8 * r.h THEN 0.15 + 0.45 * r.u_rate ELSE 0.06 * r.u_rate END
)
SELECT account_id, user_id, (day + make_interval(secs => floor(86400 * demo.rand(s + 23, k)))) AT TIME ZONE 'UTC',
       'login', NULL
FROM login_days
UNION ALL
SELECT account_id, user_id, (day + interval '12 hours') AT TIME ZONE 'UTC', 'key_feature',
       (ARRAY['alerts', 'api', 'dashboards', 'integrations', 'mobile', 'reports', 'sso', 'workflows'])
         [1 + floor((2 + 6 * h) * demo.rand(s + 25, k))::int]
FROM login_days
WHERE demo.rand(s + 24, k) < 0.3 + 0.4 * h
$$;

CREATE TABLE demo.product_events AS
SELECT * FROM demo.simulated_product_events((SELECT as_of FROM demo.generation));

-- Support tickets of the last 150 days: more, and slower to resolve, for
-- unhealthy accounts. A ticket not resolved by the as-of day is open
-- (resolved_at NULL).
CREATE TABLE demo.support_tickets AS
SELECT ticket_id, account_id, opened_at,
       CASE WHEN opened_at + resolution < timestamptz '2026-11-01 00:00+00' THEN opened_at + resolution END AS resolved_at,
       priority
FROM (SELECT (a.account_id::bigint * 100 + n) AS ticket_id, a.account_id, o.opened_at,
             make_interval(hours => ceil(4 + 600 * (1.1 - h.h) * power(demo.rand(:s + 34, a.account_id * 100 + n), 2))::int) AS resolution,
             (ARRAY['low', 'normal', 'high', 'urgent'])[1 + floor(4 * power(demo.rand(:s + 35, a.account_id * 100 + n), 1.5 + 2 * h.h))::int] AS priority
      FROM demo.accounts a JOIN demo.account_truth t USING (account_id),
           generate_series(1, floor((1 + ln(a.seats)) * 6.5 * (1.2 - demo.health_at(t, date '2026-11-01' - 75)) * demo.rand(:s + 31, a.account_id))::int) AS n,
           LATERAL (SELECT timestamptz '2026-06-04 00:00+00' + (150 * 86400 * demo.rand(:s + 32, a.account_id * 100 + n)) * interval '1 second' AS opened_at) o,
           LATERAL (SELECT demo.health_at(t, (o.opened_at AT TIME ZONE 'UTC')::date) AS h) h
      WHERE o.opened_at >= a.signup_date) k;
ALTER TABLE demo.support_tickets ADD PRIMARY KEY (ticket_id);

-- Monthly invoices for the last twelve months (due 30 days after issue);
-- the less healthy the account was then, the later it paid; an invoice not
-- paid by the as-of day is unpaid (paid_on NULL).
CREATE TABLE demo.invoices AS
SELECT (a.account_id::bigint * 100 + m) AS invoice_id, a.account_id,
       issued_on, issued_on + 30 AS due_on,
       CASE WHEN issued_on + 30 + late < date '2026-11-01' THEN issued_on + 30 + late END AS paid_on,
       round(a.arr / 12, 2) AS amount
FROM demo.accounts a JOIN demo.account_truth t USING (account_id),
     generate_series(1, 12) AS m,
     LATERAL (SELECT (date '2026-11-01' - m * interval '1 month')::date AS issued_on) i,
     LATERAL (SELECT greatest(-5, round(60 * power(1 - demo.health_at(t, i.issued_on), 2)
                                        * demo.rand(:s + 40, a.account_id * 100 + m) - 8))::int AS late) l
WHERE issued_on >= a.signup_date;
ALTER TABLE demo.invoices ADD PRIMARY KEY (invoice_id);

-- Survey answers: NPS (0-10) from up to four users per account, each
-- asked three times over the last year (one account in seven never
-- answers); CSAT (1-5) after about half of the resolved tickets. Ratings
-- follow the account's health on the day.
CREATE TABLE demo.survey_responses AS
SELECT u.account_id, u.user_id, 'nps'::text AS survey, a.answered_on,
       least(10, greatest(0, round(3.5 + 7 * demo.health_at(t, a.answered_on)
                                   + 3 * (demo.rand(:s + 52, u.user_id * 4 + q) - 0.5))))::int AS rating
FROM demo.users u JOIN demo.account_truth t USING (account_id),
     generate_series(1, 3) AS q,
     LATERAL (SELECT date '2026-11-01' - (1 + floor(121 * demo.rand(:s + 51, u.user_id * 4 + q)) + 121 * (q - 1))::int AS answered_on) a
WHERE u.user_id % 1000 <= 4 AND u.account_id % 7 <> 0 AND demo.rand(:s + 50, u.user_id * 4 + q) < 0.7
  AND a.answered_on > u.created_on
UNION ALL
SELECT k.account_id, NULL, 'csat', (k.resolved_at AT TIME ZONE 'UTC')::date,
       least(5, greatest(1, round(1.5 + 3.5 * demo.health_at(t, (k.resolved_at AT TIME ZONE 'UTC')::date)
                                  + 2 * (demo.rand(:s + 54, k.ticket_id) - 0.5))))::int
FROM demo.support_tickets k JOIN demo.account_truth t USING (account_id)
WHERE k.resolved_at IS NOT NULL AND demo.rand(:s + 53, k.ticket_id) < 0.5;

-- Onboarding: five milestones due 2, 4, 6, 8 and 12 weeks after signup;
-- accounts healthy at the time finish on time, others late or not at all.
CREATE TABLE demo.onboarding_milestones AS
SELECT a.account_id, m.milestone, m.step, d.due_on,
       CASE WHEN d.done_on <= date '2026-11-01' AND demo.rand(:s + 61, a.account_id * 10 + m.step) < 0.35 + 0.65 * d.h
            THEN d.done_on END AS completed_on
FROM demo.accounts a JOIN demo.account_truth t USING (account_id),
     (VALUES (1, 'kickoff', 14), (2, 'admin_setup', 28), (3, 'first_integration', 42),
             (4, 'first_dashboard', 56), (5, 'team_training', 84)) AS m(step, milestone, days),
     LATERAL (SELECT a.signup_date + m.days AS due_on, demo.health_at(t, a.signup_date + m.days) AS h) hd,
     LATERAL (SELECT hd.due_on, hd.h,
                     hd.due_on + round(40 * (0.9 - hd.h) * demo.rand(:s + 62, a.account_id * 10 + m.step) - 7)::int AS done_on) d;

-- The outcome at the next renewal: churned or renewed. It depends on the
-- hidden health and its decline (and so, with noise, on every signal
-- above and on the score's trend), more for SMB.
CREATE TABLE demo.renewals AS
SELECT a.account_id, a.renewal_date,
       demo.rand(:s + 99, a.account_id) <
         1 / (1 + exp(-(0.8 - 7 * t.health + 8 * t.drift + CASE a.segment WHEN 'SMB' THEN 0.6 WHEN 'Mid-Market' THEN 0.2 ELSE -0.3 END))) AS churned
FROM demo.accounts a JOIN demo.account_truth t USING (account_id);
ALTER TABLE demo.renewals ADD PRIMARY KEY (account_id);

CREATE INDEX ON demo.users (account_id);
CREATE INDEX ON demo.product_events (account_id);
CREATE INDEX ON demo.support_tickets (account_id);
CREATE INDEX ON demo.invoices (account_id);
CREATE INDEX ON demo.survey_responses (account_id);
CREATE INDEX ON demo.onboarding_milestones (account_id);
ANALYZE demo.accounts, demo.users, demo.product_events, demo.support_tickets, demo.invoices,
        demo.survey_responses, demo.onboarding_milestones, demo.renewals;

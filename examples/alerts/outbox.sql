-- Alerts when an account changes tier or its score drops, for the demo
-- warehouse (demo/warehouse.sql must have run). The pattern, for any
-- history table of (account, time, score, tier, scorecard):
--
--   1. the refresh writes the new snapshots (demo.snapshot_scores());
--   2. in the same transaction it turns the events of the new snapshot time
--      (health.tier_changes) into rows of an outbox table, with why the score
--      moved (health.score_change) and what to do about the weakest metric
--      (a playbook table you edit);
--   3. a trigger sends each new row with NOTIFY customer_health_alert, which
--      PostgreSQL delivers when the transaction commits, and only then;
--   4. a listener (examples/alerts/listener.py) delivers each undelivered row
--      to a webhook and marks it delivered; what nobody was listening for
--      waits in the outbox.
--
-- Idempotent: running it again keeps the playbook you edited and the alerts
-- already queued. docs/acting-on-scores.md explains each part.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- What a CSM should do when a metric is an account's weakest. Edit freely.
CREATE TABLE IF NOT EXISTS demo.alert_playbook (
    metric text PRIMARY KEY REFERENCES demo.metric_config ON DELETE CASCADE,
    action text NOT NULL
);
INSERT INTO demo.alert_playbook VALUES
 ('nps_rating',        'Call the sponsor: ask what would make them recommend us, and log the answer'),
 ('active_days_30d',   'Offer a usage review: find who stopped logging in and why'),
 ('feature_adoption',  'Book a training on the key features they have not used yet'),
 ('seats_used_pct',    'Help them roll out the idle seats before renewal (seat true-down risk)'),
 ('onboarding_pct',    'Restart onboarding: agree on dates for the open milestones'),
 ('open_tickets',      'Escalate the open tickets with support and tell the customer who owns them'),
 ('invoice_days_late', 'Ask finance about the late invoice before the renewal conversation')
ON CONFLICT (metric) DO NOTHING;

-- One row per alert. The unique key makes queuing idempotent: refreshing
-- twice on the same day queues nothing new. The delivery columns belong to
-- the listener.
CREATE TABLE IF NOT EXISTS demo.alert_outbox (
    alert_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      int NOT NULL REFERENCES demo.accounts,
    event           text NOT NULL CHECK (event IN ('tier_change', 'drop', 'disappeared')),
    at              timestamptz NOT NULL,
    to_tier         text,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS alert_outbox_once
    ON demo.alert_outbox (account_id, at, event, coalesce(to_tier, ''));
CREATE INDEX IF NOT EXISTS alert_outbox_due
    ON demo.alert_outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- Every queued alert is announced; listeners wake up and read the outbox.
CREATE OR REPLACE FUNCTION demo.notify_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('customer_health_alert', (jsonb_build_object('alert_id', NEW.alert_id) || NEW.payload)::text);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER alert_outbox_notify AFTER INSERT ON demo.alert_outbox
    FOR EACH ROW EXECUTE FUNCTION demo.notify_alert();

-- The events of the latest snapshot time, queued with their reasons.
-- drop_points and drop_window: a fall of that many points within that
-- window inside one tier is an alert too. Accounts are alerted on when
-- they change tier (either way), drop, or had a score at the previous
-- snapshot time and have none now (too few metrics measured). Only the
-- history that can matter is read: the window and the previous snapshot.
-- Returns the number of alerts queued.
CREATE OR REPLACE FUNCTION demo.queue_alerts(drop_points float8 DEFAULT 10, drop_window interval DEFAULT '45 days')
RETURNS bigint LANGUAGE sql AS $$
WITH rounds AS (
    SELECT max(scored_at) AS as_of,
           (SELECT max(scored_at) FROM demo.score_history
            WHERE scored_at < (SELECT max(scored_at) FROM demo.score_history)) AS previous
    FROM demo.score_history),
recent AS (
    SELECT h.* FROM demo.score_history h, rounds r
    WHERE h.scored_at >= least(r.previous, r.as_of - drop_window)),
per_account AS (
    SELECT account_id, max(scored_at) AS last_at,
           health.tier_changes(scored_at, score, tier, (SELECT as_of FROM rounds), drop_points, drop_window) AS events
    FROM recent GROUP BY account_id),
events AS (
    SELECT p.account_id, e.*
    FROM per_account p, rounds r,
         jsonb_to_recordset(p.events) AS e(at timestamptz, event text, "from" text, "to" text,
                                           score float8, delta float8, direction text)
    WHERE e.at = r.as_of AND e.event <> 'first'
      AND (e.event <> 'disappeared' OR p.last_at = r.previous)),
explained AS (
    SELECT e.*, now_.card AS after_card, before.card AS before_card, before.score AS before_score
    FROM events e
    LEFT JOIN demo.score_history now_ ON now_.account_id = e.account_id AND now_.scored_at = e.at
    -- the snapshot the event is measured from: the previous one for a tier
    -- change or a disappearance, the highest of the window for a drop
    LEFT JOIN LATERAL (
        SELECT h.card, h.score FROM recent h
        WHERE h.account_id = e.account_id AND h.scored_at < e.at
          AND (e.event <> 'drop' OR h.scored_at >= e.at - drop_window)
        ORDER BY CASE WHEN e.event = 'drop' THEN -h.score END, h.scored_at DESC
        LIMIT 1) before ON true),
reasons AS (
    SELECT x.*, a.name, a.segment, a.arr,
           coalesce((SELECT jsonb_agg(jsonb_build_object('metric', p ->> 'metric',
                                                         'points', round((p ->> 'points')::numeric, 1),
                                                         'why', p ->> 'why')
                                      ORDER BY abs((p ->> 'points')::float8) DESC)
                     FROM jsonb_array_elements(health.score_change(x.before_card, x.after_card) -> 'parts') AS p
                     WHERE sign((p ->> 'points')::float8) = sign(x.delta)
                       AND abs((p ->> 'points')::float8) >= 0.05), '[]') AS moved_by,
           health.weakest(coalesce(x.after_card, x.before_card), 1) AS weakest
    FROM explained x JOIN demo.accounts a USING (account_id)),
queued AS (
    INSERT INTO demo.alert_outbox (account_id, event, at, to_tier, payload)
    SELECT r.account_id, r.event, r.at, r."to",
           jsonb_build_object(
               'event', r.event, 'account_id', r.account_id, 'account', r.name, 'segment', r.segment, 'arr', r.arr,
               'at', r.at, 'previous_tier', r."from", 'tier', r."to",
               'previous_score', round(r.before_score::numeric, 1), 'score', round(r.score::numeric, 1),
               'delta', round(r.delta::numeric, 1), 'direction', r.direction,
               -- the three metrics that moved the score most in the direction it moved
               'moved_by', (SELECT coalesce(jsonb_agg(m), '[]') FROM jsonb_array_elements(r.moved_by) WITH ORDINALITY AS t(m, i) WHERE i <= 3),
               'weakest_metric', r.weakest[1],
               'suggested_action', CASE WHEN r.event = 'disappeared'
                                        THEN 'No score: too few metrics were measured. Check the data feeds of this account'
                                        ELSE pb.action END)
    FROM reasons r LEFT JOIN demo.alert_playbook pb ON pb.metric = r.weakest[1]
    WHERE NOT EXISTS (SELECT FROM demo.alert_outbox o
                      WHERE (o.account_id, o.at, o.event, coalesce(o.to_tier, '')) = (r.account_id, r.at, r.event, coalesce(r."to", '')))
    ORDER BY r.account_id, r.event
    ON CONFLICT DO NOTHING  -- two refreshes at once
    RETURNING 1)
SELECT count(*) FROM queued
$$;

-- The nightly refresh (demo/warehouse.sql), now queuing the alerts of the
-- new snapshot in the same transaction: the snapshot and its alerts commit
-- together or not at all.
CREATE OR REPLACE PROCEDURE demo.refresh_scores() LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY demo.segment_profiles;
    REFRESH MATERIALIZED VIEW CONCURRENTLY demo.scored_accounts;
    PERFORM demo.snapshot_scores();
    PERFORM demo.queue_alerts();
END $$;

-- The listener's role: it reads the outbox and records deliveries, nothing else.
--   CREATE ROLE alert_listener LOGIN PASSWORD '...';
--   GRANT USAGE ON SCHEMA demo TO alert_listener;
--   GRANT SELECT, UPDATE (attempts, next_attempt_at, last_error, delivered_at) ON demo.alert_outbox TO alert_listener;

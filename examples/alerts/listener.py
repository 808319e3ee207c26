#!/usr/bin/env python3
"""Delivers customer_health alerts from the outbox to a webhook.

    python3 listener.py --dsn "host=... dbname=... user=alert_listener" \
                        --webhook https://hooks.example.com/customer-health

Reads demo.alert_outbox (examples/alerts/outbox.sql), POSTs each undelivered
alert as JSON to the webhook, oldest first, and marks it delivered when the
webhook answers 2xx. A failed attempt (connection refused, timeout, any other
status) is retried with exponential back-off: base, 2 x base, 4 x base, ...
up to --backoff-max. It waits for NOTIFY customer_health_alert between
rounds, so a new alert goes out as soon as its refresh commits, and polls
every --poll seconds in case a notification was missed (say the listener
was not connected then: the outbox still has the row).

Delivery: every alert is POSTed until a 2xx is recorded, and each one by
one listener at a time (the row stays locked, FOR UPDATE SKIP LOCKED, from
before the POST until its delivery is committed), so several listeners can
run side by side. If the listener dies after the webhook answered but before
the delivery was committed, the alert is POSTed again on restart with the
same Idempotency-Key header (customer-health-alert-<alert_id>): a receiver
that keeps the keys it has seen gets every alert exactly once.

The body is Slack-style: {"text": "<one line for people>", "alert": {...}}.
SIGTERM or SIGINT: finish the delivery in progress, then exit.
Needs psycopg 3 (pip install "psycopg[binary]"); the rest is the standard
library.
"""
import argparse
import json
import logging
import select
import signal
import socket
import sys
import time
import urllib.error
import urllib.request

import psycopg
from psycopg import sql

CHANNEL = "customer_health_alert"
log = logging.getLogger("customer_health.alerts")


def message(alert):
    """The line a person reads in the channel."""
    name = alert.get("account") or f"account {alert.get('account_id')}"
    if alert.get("event") == "disappeared":
        head = f"{name} has no health score any more (was {alert.get('previous_tier')})"
    elif alert.get("event") == "drop":
        head = f"{name} dropped {abs(alert.get('delta') or 0)} points to {alert.get('score')}, still {alert.get('tier')}"
    else:
        head = (f"{name} moved from {alert.get('previous_tier')} to {alert.get('tier')}: "
                f"score {alert.get('score')} ({alert.get('delta') or 0:+})")
    moved = ", ".join(f"{m['metric']} {m['points']:+}" for m in alert.get("moved_by") or [])
    parts = [head]
    if moved:
        parts.append(f"moved by {moved}")
    if alert.get("suggested_action"):
        parts.append(f"next step: {alert['suggested_action']}")
    return ". ".join(parts)


class Listener:
    def __init__(self, args):
        self.a = args
        self.stopping = False
        self.outbox = sql.Identifier(*args.outbox.split("."))

    def query(self, conn, text, params=()):
        return conn.execute(sql.SQL(text).format(outbox=self.outbox), params)

    def stop(self, *_):
        self.stopping = True

    def post(self, alert_id, alert):
        """POSTs one alert; returns None on a 2xx, else the reason it failed."""
        body = json.dumps({"text": message(alert), "alert": dict(alert, alert_id=alert_id)}).encode()
        request = urllib.request.Request(self.a.webhook, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "Idempotency-Key": f"customer-health-alert-{alert_id}",
            "User-Agent": "customer_health-alert-listener/1"})
        try:
            with urllib.request.urlopen(request, timeout=self.a.timeout) as response:
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            return f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            return f"{type(err).__name__}: {getattr(err, 'reason', err)}"

    def deliver_one(self, conn):
        """Delivers the oldest due alert; False when none is due."""
        with conn.transaction():
            row = self.query(conn, """SELECT alert_id, payload, attempts FROM {outbox}
                                   WHERE delivered_at IS NULL AND next_attempt_at <= now()
                                   ORDER BY alert_id LIMIT 1 FOR UPDATE SKIP LOCKED""").fetchone()
            if row is None:
                return False
            alert_id, payload, attempts = row
            error = self.post(alert_id, payload)
            if error is None:
                self.query(conn, """UPDATE {outbox} SET delivered_at = now(), attempts = attempts + 1,
                                    last_error = NULL WHERE alert_id = %s""", (alert_id,))
                log.info("alert %s delivered (attempt %s)", alert_id, attempts + 1)
            else:
                wait = min(self.a.backoff_max, self.a.backoff_base * 2 ** attempts)
                self.query(conn, """UPDATE {outbox} SET attempts = attempts + 1, last_error = %s,
                                    next_attempt_at = now() + make_interval(secs => %s) WHERE alert_id = %s""",
                           (error, wait, alert_id))
                log.warning("alert %s not delivered (%s): attempt %s, next in %.1f s", alert_id, error,
                            attempts + 1, wait)
        return True

    def seconds_to_next(self, conn):
        """Until the next retry is due (capped by the poll interval)."""
        with conn.transaction():
            due = self.query(conn, """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
                                      FROM {outbox} WHERE delivered_at IS NULL""").fetchone()[0]
        return self.a.poll if due is None else max(0.05, min(self.a.poll, due))

    def run_connected(self):
        with psycopg.connect(self.a.dsn, application_name="customer_health alert listener") as conn, \
             psycopg.connect(self.a.dsn, autocommit=True, application_name="customer_health alert wakeup") as wake:
            wake.execute(f"LISTEN {CHANNEL}")
            log.info("listening on %s, delivering to %s", CHANNEL, self.a.webhook)
            while not self.stopping:
                while not self.stopping and self.deliver_one(conn):
                    pass
                if self.stopping or self.a.once:
                    return
                # Sleep until a notification, the next retry, the poll or a signal.
                ready, _, _ = select.select([wake.fileno(), self.signalled], [], [], self.seconds_to_next(conn))
                if wake.fileno() in ready:
                    list(wake.notifies(timeout=0))  # drain: the outbox, not the payload, says what to send

    def run(self):
        # A signal also writes a byte to this socket, which ends the sleep at once.
        self.signalled, wakeup = socket.socketpair()
        self.signalled.setblocking(False)
        wakeup.setblocking(False)
        signal.set_wakeup_fd(wakeup.fileno())
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        reconnect = 1.0
        while not self.stopping:
            try:
                self.run_connected()
                return 0
            except psycopg.OperationalError as err:
                if self.a.once:
                    log.error("database: %s", err)
                    return 1
                log.warning("database unavailable (%s); reconnecting in %.0f s", err, reconnect)
                time.sleep(reconnect)
                reconnect = min(60.0, reconnect * 2)
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dsn", default="", help="libpq connection string (default: the PG* environment)")
    p.add_argument("--webhook", required=True, help="URL that receives each alert as an HTTP POST")
    p.add_argument("--outbox", default="demo.alert_outbox", help="the outbox table (default %(default)s)")
    p.add_argument("--backoff-base", type=float, default=2.0, help="first retry after this many seconds")
    p.add_argument("--backoff-max", type=float, default=600.0, help="longest wait between retries, seconds")
    p.add_argument("--poll", type=float, default=30.0, help="look at the outbox at least this often, seconds")
    p.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout, seconds")
    p.add_argument("--once", action="store_true", help="deliver what is due, then exit (for cron)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    return Listener(args).run()


if __name__ == "__main__":
    sys.exit(main())

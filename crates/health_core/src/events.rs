//! Tier-change events (`tier_changes`, docs/reference.md §4): one account's
//! score snapshots (as-of, score, tier) turned into what a CSM should hear
//! about: the first snapshot, every change of tier (up or down, with the
//! score's change), a drop of at least N points within a window that stays
//! inside one tier, and an account that has no snapshot at the latest as-of.
//!
//! The aggregate keeps the snapshots and sorts them at the end (by time,
//! then score, then tier), so a parallel plan finds the same events.

use crate::aggregate::{row_keeping_state, Accumulate};
use serde_json::{json, Value};

use crate::error::{finite, num, HealthError, Result};
use crate::format::ByteReader;
use crate::resources;
use crate::signals::{format_timestamp, one_point_per_moment};

const STATE: &str = "the tier_changes state";

/// What, besides tier changes, counts as an event.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EventRule {
    /// The latest as-of of the whole history (microseconds): an account
    /// whose last snapshot is earlier has disappeared.
    pub as_of: Option<i64>,
    /// A drop of at least this many points within `drop_window` ...
    pub drop_points: Option<f64>,
    /// ... microseconds, inside one tier.
    pub drop_window: Option<i64>,
}

impl EventRule {
    pub fn check(&self) -> Result<()> {
        if let Some(p) = self.drop_points {
            finite("drop_points", p)?;
            if p <= 0.0 {
                return Err(HealthError::invalid(format!(
                    "drop_points must be greater than 0, got {}",
                    num(p)
                )));
            }
            if self.drop_window.is_none_or(|w| w <= 0) {
                return Err(HealthError::invalid(
                    "drop_window must be a positive interval when drop_points is given",
                ));
            }
        } else if self.drop_window.is_some() {
            // A window alone would silently find no drops.
            return Err(HealthError::invalid("drop_points must be given with drop_window"));
        }
        Ok(())
    }
}

/// One snapshot of an account.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub at: i64,
    pub score: Option<f64>,
    pub tier: Option<String>,
}

/// The snapshots of one account, and the rule (the same on every row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TierHistory {
    snapshots: Vec<Snapshot>,
    rule: Option<EventRule>,
}

/// One row of `tier_changes`' arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRow {
    pub snapshot: Snapshot,
    pub rule: EventRule,
}

impl TierHistory {
    pub fn rows(&self) -> usize {
        self.snapshots.len()
    }

    fn set_rule(&mut self, rule: EventRule) -> Result<()> {
        match self.rule {
            Some(known) if known != rule => Err(HealthError::invalid(
                "as_of, drop_points and drop_window must be the same on every row",
            )),
            Some(_) => Ok(()),
            None => {
                rule.check()?;
                self.rule = Some(rule);
                Ok(())
            }
        }
    }

    pub fn add_row(&mut self, row: HistoryRow) -> Result<()> {
        if let Some(s) = row.snapshot.score {
            finite("score", s)?;
        }
        self.set_rule(row.rule)?;
        resources::push(&mut self.snapshots, row.snapshot, STATE)
    }

    pub fn merge(&mut self, other: &TierHistory) -> Result<()> {
        if let Some(rule) = other.rule {
            self.set_rule(rule)?;
        }
        resources::reserve(&mut self.snapshots, other.snapshots.len(), STATE)?;
        self.snapshots.extend(other.snapshots.iter().cloned());
        Ok(())
    }

    /// Bytes of the serial form with `rows` rows (tiers estimated).
    pub fn serial_size(&self, rows: usize) -> usize {
        rows.saturating_mul(36).saturating_add(40)
    }

    /// The rule (flag, as_of, drop_points, drop_window), then per snapshot
    /// (at, score or NaN, tier length + 1 or 0, tier).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = resources::buffer(self.serial_size(self.snapshots.len()), "the serialised state")?;
        let rule = self.rule.unwrap_or_default();
        out.push(
            u8::from(self.rule.is_some())
                | u8::from(rule.as_of.is_some()) << 1
                | u8::from(rule.drop_points.is_some()) << 2
                | u8::from(rule.drop_window.is_some()) << 3,
        );
        out.extend_from_slice(&rule.as_of.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&rule.drop_points.unwrap_or(0.0).to_le_bytes());
        out.extend_from_slice(&rule.drop_window.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&(self.snapshots.len() as u64).to_le_bytes());
        for s in &self.snapshots {
            out.extend_from_slice(&s.at.to_le_bytes());
            out.extend_from_slice(&s.score.unwrap_or(f64::NAN).to_le_bytes());
            match &s.tier {
                None => out.extend_from_slice(&0u32.to_le_bytes()),
                Some(t) => {
                    out.extend_from_slice(&(t.len() as u32 + 1).to_le_bytes());
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TierHistory> {
        let bad = || HealthError::text(format!("invalid tier_changes state of {} bytes", bytes.len()));
        let mut r = ByteReader::new(bytes, bad);
        let flags = r.u8()?;
        let (as_of, drop_points, drop_window) = (r.u64()? as i64, r.f64()?, r.u64()? as i64);
        let rule = (flags & 1 != 0).then_some(EventRule {
            as_of: (flags & 2 != 0).then_some(as_of),
            drop_points: (flags & 4 != 0).then_some(drop_points),
            drop_window: (flags & 8 != 0).then_some(drop_window),
        });
        let n = r.u64()? as usize;
        if n > bytes.len() {
            return Err(bad());
        }
        let mut snapshots = Vec::new();
        resources::reserve(&mut snapshots, n, STATE)?;
        for _ in 0..n {
            let at = r.u64()? as i64;
            let score = r.f64()?;
            let tier = match r.u32()? as usize {
                0 => None,
                len => Some(std::str::from_utf8(r.take(len - 1)?).map_err(|_| bad())?.to_owned()),
            };
            snapshots.push(Snapshot {
                at,
                score: (!score.is_nan()).then_some(score),
                tier,
            });
        }
        if !r.at_end() {
            return Err(bad());
        }
        Ok(TierHistory { snapshots, rule })
    }

    /// The events as a JSON array (`tier_changes`' answer).
    pub fn events_json(&mut self) -> Result<Value> {
        Ok(Value::Array(self.events()?.iter().map(TierEvent::to_json).collect()))
    }

    /// The events, in time order; an error when two snapshots share a
    /// moment (see [`one_point_per_moment`]).
    pub fn events(&mut self) -> Result<Vec<TierEvent>> {
        self.snapshots.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then(a.score.unwrap_or(f64::NAN).total_cmp(&b.score.unwrap_or(f64::NAN)))
                .then_with(|| a.tier.cmp(&b.tier))
        });
        one_point_per_moment("tier_changes", self.snapshots.iter().map(|s| s.at))?;
        let rule = self.rule.unwrap_or_default();
        let mut events = Vec::new();
        // Snapshots since the last event in the current tier: where a drop is measured from.
        let mut since = 0usize;
        for (i, s) in self.snapshots.iter().enumerate() {
            if i == 0 {
                events.push(TierEvent::new(s.at, EventKind::First, None, s, None));
                continue;
            }
            let previous = &self.snapshots[i - 1];
            let delta = s.score.zip(previous.score).map(|(a, b)| a - b);
            if s.tier != previous.tier {
                events.push(TierEvent::new(
                    s.at,
                    EventKind::TierChange,
                    previous.tier.clone(),
                    s,
                    delta,
                ));
                since = i;
                continue;
            }
            if let (Some(points), Some(window), Some(score)) = (rule.drop_points, rule.drop_window, s.score) {
                let peak = self.snapshots[since..i]
                    .iter()
                    .filter(|p| p.at >= s.at.saturating_sub(window))
                    .filter_map(|p| p.score)
                    .fold(f64::NEG_INFINITY, f64::max);
                if peak - score >= points {
                    events.push(TierEvent::new(
                        s.at,
                        EventKind::Drop,
                        previous.tier.clone(),
                        s,
                        Some(score - peak),
                    ));
                    since = i;
                }
            }
        }
        if let (Some(as_of), Some(last)) = (rule.as_of, self.snapshots.last()) {
            if last.at < as_of {
                events.push(TierEvent {
                    at: as_of,
                    kind: EventKind::Disappeared,
                    from: last.tier.clone(),
                    to: None,
                    score: None,
                    delta: None,
                });
            }
        }
        Ok(events)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    First,
    TierChange,
    Drop,
    Disappeared,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::First => "first",
            EventKind::TierChange => "tier_change",
            EventKind::Drop => "drop",
            EventKind::Disappeared => "disappeared",
        }
    }
}

/// One event of an account's history.
#[derive(Clone, Debug, PartialEq)]
pub struct TierEvent {
    pub at: i64,
    pub kind: EventKind,
    pub from: Option<String>,
    pub to: Option<String>,
    pub score: Option<f64>,
    /// The score's change: since the previous snapshot for a tier change,
    /// from the peak within the window for a drop.
    pub delta: Option<f64>,
}

impl TierEvent {
    fn new(at: i64, kind: EventKind, from: Option<String>, s: &Snapshot, delta: Option<f64>) -> TierEvent {
        TierEvent {
            at,
            kind,
            from,
            to: s.tier.clone(),
            score: s.score,
            delta,
        }
    }

    /// `down` when the score fell, `up` when it rose, else `null`.
    pub fn direction(&self) -> Option<&'static str> {
        match self.delta {
            Some(d) if d < 0.0 => Some("down"),
            Some(d) if d > 0.0 => Some("up"),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "at": format_timestamp(self.at),
            "event": self.kind.name(),
            "from": self.from,
            "to": self.to,
            "score": self.score,
            "delta": self.delta,
            "direction": self.direction(),
        })
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

row_keeping_state!(TierHistory);

/// `tier_changes`: one snapshot of an account.
impl Accumulate<HistoryRow> for TierHistory {
    fn add_row(&mut self, row: HistoryRow) -> Result<()> {
        TierHistory::add_row(self, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn history(rows: &[(i64, Option<f64>, Option<&str>)], rule: EventRule) -> TierHistory {
        let mut h = TierHistory::default();
        for &(day, score, tier) in rows.iter().rev() {
            h.add_row(HistoryRow {
                snapshot: Snapshot {
                    at: day * DAY,
                    score,
                    tier: tier.map(str::to_owned),
                },
                rule,
            })
            .unwrap();
        }
        h
    }

    #[test]
    fn events_print_their_time_as_postgresql_does() {
        let mut h = history(&[(9_801, Some(50.0), Some("a"))], EventRule::default());
        assert_eq!(h.events_json().unwrap()[0]["at"], json!("2026-11-01 00:00:00+00"));
    }

    #[test]
    fn first_snapshot_tier_changes_drops_and_disappearance() {
        let rule = EventRule {
            as_of: Some(40 * DAY),
            drop_points: Some(10.0),
            drop_window: Some(15 * DAY),
        };
        let mut h = history(
            &[
                (0, Some(75.0), Some("healthy")),
                (10, Some(72.0), Some("healthy")),
                (20, Some(61.0), Some("neutral")),
                (25, Some(69.0), Some("neutral")),
                (30, Some(58.0), Some("neutral")), // 11 below the 69 five days earlier
                (35, Some(55.0), Some("neutral")), // 3 more: no second event
            ],
            rule,
        );
        let events = h.events().unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, vec!["first", "tier_change", "drop", "disappeared"]);
        assert_eq!(
            (events[1].from.as_deref(), events[1].to.as_deref(), events[1].delta),
            (Some("healthy"), Some("neutral"), Some(-11.0))
        );
        assert_eq!(events[1].direction(), Some("down"));
        assert_eq!((events[2].at, events[2].delta), (30 * DAY, Some(-11.0)));
        assert_eq!(
            (events[3].at, events[3].from.as_deref(), events[3].to.as_deref()),
            (40 * DAY, Some("neutral"), None)
        );
        // Without the rule: only the first snapshot and the tier change.
        let mut h = history(
            &[
                (0, Some(75.0), Some("healthy")),
                (10, Some(61.0), Some("neutral")),
                (20, Some(40.0), Some("neutral")),
            ],
            EventRule::default(),
        );
        assert_eq!(h.events().unwrap().len(), 2);
        // Outside the window the peak no longer counts.
        let rule = EventRule {
            as_of: None,
            drop_points: Some(10.0),
            drop_window: Some(5 * DAY),
        };
        let mut h = history(
            &[
                (0, Some(75.0), Some("a")),
                (10, Some(70.0), Some("a")),
                (20, Some(64.0), Some("a")),
            ],
            rule,
        );
        assert_eq!(h.events().unwrap().len(), 1);
    }

    #[test]
    fn two_snapshots_at_one_moment_are_an_error_with_a_hint() {
        // all accounts' rows in one group: three moments, two accounts
        let mut h = history(
            &[
                (0, Some(70.0), Some("a")),
                (0, Some(40.0), Some("b")),
                (1, Some(71.0), Some("a")),
            ],
            EventRule::default(),
        );
        let e = h.events().unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Cardinality);
        assert_eq!(
            e.message,
            "a series has one row per moment, but 2 rows of this group have the time 2000-01-01 00:00:00+00"
        );
        assert!(e.hint.unwrap().contains("GROUP BY account_id"));
    }

    #[test]
    fn bytes_round_trip_and_order_does_not_matter() {
        let rule = EventRule {
            as_of: Some(9 * DAY),
            drop_points: Some(5.0),
            drop_window: Some(3 * DAY),
        };
        let h = history(
            &[(0, Some(50.0), Some("a")), (2, None, None), (4, Some(40.0), Some("a"))],
            rule,
        );
        let mut back = TierHistory::from_bytes(&h.to_bytes().unwrap()).unwrap();
        assert_eq!(back, h);
        let mut forward = TierHistory::default();
        for s in h.snapshots.iter() {
            forward
                .add_row(HistoryRow {
                    snapshot: s.clone(),
                    rule,
                })
                .unwrap();
        }
        assert_eq!(back.events().unwrap(), forward.events().unwrap());
        assert!(TierHistory::from_bytes(&[1, 2, 3]).is_err());
        let e = EventRule {
            as_of: None,
            drop_points: Some(5.0),
            drop_window: None,
        }
        .check()
        .unwrap_err();
        assert_eq!(
            e.message,
            "drop_window must be a positive interval when drop_points is given"
        );
        let e = EventRule {
            as_of: None,
            drop_points: None,
            drop_window: Some(DAY),
        }
        .check()
        .unwrap_err();
        assert_eq!(e.message, "drop_points must be given with drop_window");
    }
}

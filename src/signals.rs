//! SQL wrappers for docs/reference.md §4: `nps`, `nps_breakdown`, `nps_category`,
//! `csat`, the `health.responses` type (survey answers as a value, with its
//! aggregates `responses` and `rollup`), `points`, `deadline_penalty`, the `health.trend` type with its
//! aggregate and accessors, `sparkline` (scalar and aggregate), and the
//! `tier_changes` aggregate (events of a score history).

use health_core::events::{EventRule, HistoryRow, Snapshot, TierHistory};
use health_core::score::CompensatedSum;
use health_core::signals::{self, Csat, NpsCategory, NpsCounts, Responses as CoreResponses, Trend as CoreTrend};
use health_core::HealthError;
use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::agg::aggregate;
use crate::args::FloatArray;
use crate::errors::{raise, OrRaise};
use crate::stored::stored_type;

/// Microseconds of a finite timestamptz; ±infinity is 22023.
fn micros(t: TimestampWithTimeZone, function: &str, name: &str) -> i64 {
    let v: i64 = t.into_inner();
    if v == i64::MIN || v == i64::MAX {
        raise(
            function,
            HealthError::invalid(format!("{name} must be a finite timestamp")),
        );
    }
    v
}

/// An interval in microseconds, months counted as 30 days (as `extract(epoch ...)`).
fn interval_micros(i: Interval) -> f64 {
    i.as_micros() as f64
}

// ---- NPS ----

/// `promoter` (9–10), `passive` (7–8) or `detractor` (0–6).
#[pg_extern(immutable, strict, parallel_safe)]
fn nps_category(rating: i32) -> &'static str {
    NpsCategory::of(i64::from(rating)).or_raise("nps_category").name()
}

aggregate! {
    aggregate "nps", state NpsCounts;
    defines support (nps_combine, nps_serial, nps_deserial);
    transition nps_trans(rating: Option<i32>) {
        Some(i64::from(rating?))
    }
    finalize nps_final(counts) -> f64 { counts.nps() }
    sql "nps" {
        nps(rating "integer") via nps_trans, sspace 24
            is "Net Promoter Score, -100..100: % promoters (9-10) - % detractors (0-6).";
    }
}

aggregate! {
    aggregate "nps_breakdown", state NpsCounts;
    shares support (nps_combine, nps_serial, nps_deserial);
    shares transition (nps_trans);
    finalize nps_breakdown_final(counts) -> JsonB { Some(JsonB(counts.breakdown_json())) }
    sql "nps_breakdown" {
        nps_breakdown(rating "integer") via nps_trans, sspace 24
            is "Counts and shares of promoters, passives and detractors, responses and NPS, as jsonb.";
    }
}

// ---- CSAT ----

aggregate! {
    aggregate "csat", state Csat;
    defines support (csat_combine, csat_serial, csat_deserial);
    transition csat_trans(rating: Option<i32>, scale: Option<i32>) {
        let rating = rating?;
        let scale = scale.unwrap_or_else(|| raise("csat", HealthError::null("scale must not be NULL")));
        Some((i64::from(rating), i64::from(scale)))
    }
    // The one-argument form: the 1-5 scale.
    transition csat_trans_5(rating: Option<i32>) {
        Some((i64::from(rating?), 5))
    }
    finalize csat_final(csat) -> f64 { csat.value() }
    sql "csat" {
        csat(rating "integer", scale "integer") via csat_trans, sspace 24
            is "CSAT: % of responses in the top two boxes of a 1..scale survey.";
        // The one-argument form: the 1-5 scale.
        csat(rating "integer") via csat_trans_5, sspace 24
            is "CSAT on the 1-5 scale: % of 4 and 5 answers.";
    }
}

// ---- health.responses: survey answers as a value ----

stored_type! {
    /// Survey answers as counts per rating (see `health_core::signals::Responses`):
    /// built where the answers are, merged with `rollup`, read with `nps`,
    /// `nps_breakdown` and `csat` as the aggregates over all the answers.
    pub struct Responses is "responses";
    text: |text| CoreResponses::from_text(text).map(|responses| responses.to_stored()),
        |bytes| CoreResponses::from_stored(bytes).map(|responses| responses.to_text());
    binary { responses_send(value), responses_recv, check: CoreResponses::from_stored }
    schema "responses_type_options" {
        r#"
COMMENT ON TYPE responses IS
    'Survey answers as how many of each rating (0-100), from the responses aggregate: merge with rollup(), read with nps(), nps_breakdown(), csat().';
"#
    } requires [];
}

impl Responses {
    fn open(&self, function: &str) -> CoreResponses {
        CoreResponses::from_stored(&self.0).or_raise(function)
    }
}

aggregate! {
    aggregate "responses", state CoreResponses;
    defines support (responses_combine, responses_serial, responses_deserial);
    requires (Responses);
    transition responses_trans(rating: Option<i32>) {
        Some(i64::from(rating?))
    }
    finalize responses_final(r) -> Responses {
        if r.is_empty() {
            return None;
        }
        Some(Responses(r.to_stored()))
    }
    sql "responses_aggregate" {
        responses(rating "integer") via responses_trans
            is "Survey answers (ratings 0-100, NULLs skipped) as a health.responses value: build it where the answers are, merge with rollup(), read with nps(), nps_breakdown(), csat().";
    }
}

aggregate! {
    aggregate "rollup", state CoreResponses;
    shares support (responses_combine, responses_serial, responses_deserial);
    requires (Responses);
    transition responses_rollup_trans(r: Option<Responses>) {
        Some(r?.open("rollup"))
    }
    shares final (responses_final);
    sql "responses_rollup" {
        rollup(r "responses") via responses_rollup_trans
            is "Merges survey answers (shards, segments, months): nps, nps_breakdown and csat of the result equal the aggregates over all the answers.";
    }
}

/// `nps` of stored answers: as the aggregate over the same answers.
#[pg_extern(immutable, strict, parallel_safe, name = "nps")]
fn nps_of_responses(r: Responses) -> Option<f64> {
    r.open("nps").nps_counts().or_raise("nps").nps()
}

/// `nps_breakdown` of stored answers: as the aggregate over the same answers.
#[pg_extern(immutable, strict, parallel_safe, name = "nps_breakdown")]
fn nps_breakdown_of_responses(r: Responses) -> JsonB {
    JsonB(
        r.open("nps_breakdown")
            .nps_counts()
            .or_raise("nps_breakdown")
            .breakdown_json(),
    )
}

/// `csat` of stored answers on a 1..scale survey: as the aggregate over the same answers.
#[pg_extern(immutable, strict, parallel_safe, name = "csat")]
fn csat_of_responses(r: Responses, scale: default!(i32, 5)) -> Option<f64> {
    r.open("csat").csat(i64::from(scale)).or_raise("csat").value()
}

// ---- action points ----

aggregate! {
    aggregate "points", state CompensatedSum;
    defines support (points_combine, points_serial, points_deserial);
    transition points_trans(
        points: Option<f64>,
        at: Option<TimestampWithTimeZone>,
        as_of: Option<TimestampWithTimeZone>,
        half_life: Option<Interval>
    ) {
        const F: &str = "points";
        let (points, at) = (points?, at?);
        let as_of = as_of.unwrap_or_else(|| raise(F, HealthError::null("as_of must not be NULL")));
        let half_life = half_life.unwrap_or_else(|| raise(F, HealthError::null("half_life must not be NULL")));
        health_core::error::finite("points", points).or_raise(F);
        let age = (micros(as_of, F, "as_of") - micros(at, F, "at")) as f64;
        Some(points * signals::decay(age, interval_micros(half_life)).or_raise(F))
    }
    finalize points_final(sum) -> f64 { Some(sum.value()) }
    sql "points" {
        points(points "double precision", at "timestamptz", as_of "timestamptz", half_life "interval") via points_trans, sspace 16
            is "Sum of action points, each decayed by 0.5^((as_of - at) / half_life); events after as_of count 0.";
    }
}

/// 0 when the action was completed by its deadline or the deadline has not
/// passed by `as_of`; else `-penalty`. `completed_at` NULL = not completed.
#[pg_extern(immutable, parallel_safe)]
fn deadline_penalty(
    completed_at: Option<TimestampWithTimeZone>,
    due_at: Option<TimestampWithTimeZone>,
    as_of: Option<TimestampWithTimeZone>,
    penalty: Option<f64>,
) -> Option<f64> {
    const F: &str = "deadline_penalty";
    let (due_at, as_of, penalty) = (due_at?, as_of?, penalty?);
    let completed = completed_at.map(|c| micros(c, F, "completed_at"));
    Some(
        signals::deadline_penalty(
            completed,
            micros(due_at, F, "due_at"),
            micros(as_of, F, "as_of"),
            penalty,
        )
        .or_raise(F),
    )
}

// ---- trend ----

const TREND: &str = "trend";

stored_type! {
    /// A score series, sorted by time: read it with `slope`, `delta`,
    /// `direction`, `decline_streak`, `first_score`, `last_score`, `n`.
    pub struct Trend is "trend";
    text: |text| CoreTrend::from_text(text).map(|trend| trend.to_bytes()),
        |bytes| CoreTrend::from_bytes(bytes).map(|trend| trend.to_text());
    // A value of an older stored format is received as the current one.
    binary { trend_send(t), trend_recv, rewrite: |bytes| CoreTrend::from_bytes(bytes).map(|trend| trend.to_bytes()) }
    schema "trend_binary_io" { "" } requires [];
}

impl Trend {
    fn decode(&self) -> CoreTrend {
        CoreTrend::from_bytes(&self.0).or_raise(TREND)
    }
}

aggregate! {
    aggregate "trend", state CoreTrend;
    defines support (trend_combine, trend_serial, trend_deserial);
    requires (Trend);
    transition trend_trans(at: Option<TimestampWithTimeZone>, score: Option<f64>) {
        let (at, score) = (at?, score?);
        Some((micros(at, TREND, "at"), score))
    }
    finalize trend_final(series) -> Trend {
        series.finish();
        series.check_one_point_per_moment(TREND).or_raise(TREND);
        Some(Trend(series.to_bytes()))
    }
    sql "trend" {
        trend(at "timestamptz", score "double precision") via trend_trans, sspace 256
            is "A score series; read it with slope, delta, direction, decline_streak, first_score, last_score, n.";
    }
}

// ---- tier_changes: events of an account's score history ----

const EVENTS: &str = "tier_changes";

fn history_row(
    at: TimestampWithTimeZone,
    score: Option<f64>,
    tier: Option<&str>,
    as_of: Option<TimestampWithTimeZone>,
    drop_points: Option<f64>,
    drop_window: Option<Interval>,
) -> HistoryRow {
    HistoryRow {
        snapshot: Snapshot {
            at: micros(at, EVENTS, "at"),
            score,
            tier: tier.map(str::to_owned),
        },
        rule: EventRule {
            as_of: as_of.map(|t| micros(t, EVENTS, "as_of")),
            drop_points,
            drop_window: drop_window.map(|w| w.as_micros().clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64),
        },
    }
}

aggregate! {
    aggregate "tier_changes", state TierHistory;
    defines support (tier_changes_combine, tier_changes_serial, tier_changes_deserial);
    transition tier_changes_trans(at: Option<TimestampWithTimeZone>, score: Option<f64>, tier: Option<&str>) {
        Some(history_row(at?, score, tier, None, None, None))
    }
    transition tier_changes_trans_rule(
        at: Option<TimestampWithTimeZone>, score: Option<f64>, tier: Option<&str>,
        as_of: Option<TimestampWithTimeZone>, drop_points: Option<f64>, drop_window: Option<Interval>
    ) {
        Some(history_row(at?, score, tier, as_of, drop_points, drop_window))
    }
    finalize tier_changes_final(history) -> JsonB {
        if history.rows() == 0 {
            return None;
        }
        Some(JsonB(history.events_json().or_raise(EVENTS)))
    }
    sql "tier_changes" {
        tier_changes(at "timestamptz", score "double precision", tier "text") via tier_changes_trans
            is "One account''s score snapshots (at, score, tier) as events, in time order: the first snapshot and every tier change (from, to, delta, direction), as jsonb.";
        tier_changes(at "timestamptz", score "double precision", tier "text", as_of "timestamptz", drop_points "double precision", drop_window "interval") via tier_changes_trans_rule
            is "As tier_changes(at, score, tier), and a drop of at least drop_points within drop_window inside one tier, and the account''s disappearance when its last snapshot is before as_of (NULL: no such events).";
    }
}

aggregate! {
    aggregate "sparkline", state CoreTrend;
    shares support (trend_combine, trend_serial, trend_deserial);
    shares transition (trend_trans);
    finalize sparkline_agg_final(series) -> String {
        series.finish();
        series.check_one_point_per_moment("sparkline").or_raise("sparkline");
        let scores: Vec<Option<f64>> = series.points().iter().map(|p| Some(p.1)).collect();
        Some(signals::sparkline(&scores).or_raise("sparkline"))
    }
    sql "sparkline" {
        sparkline(at "timestamptz", score "double precision") via trend_trans, sspace 256
            is "A text sparkline of the scores, ordered by time.";
    }
}

// ---- trend accessors ----

/// Least-squares slope in score points per `per` (default 30 days); NULL
/// with fewer than two distinct times.
#[pg_extern(immutable, strict, parallel_safe)]
fn slope(t: Trend, per: default!(Interval, "'30 days'")) -> Option<f64> {
    t.decode().slope(interval_micros(per)).or_raise("slope")
}

/// Last score minus first score.
#[pg_extern(immutable, strict, parallel_safe)]
fn delta(t: Trend) -> Option<f64> {
    t.decode().delta()
}

/// `improving` / `declining` / `stable`: delta at least `threshold` points up / down.
#[pg_extern(immutable, strict, parallel_safe)]
fn direction(t: Trend, threshold: default!(f64, 5)) -> Option<&'static str> {
    let d = t.decode().delta()?;
    Some(signals::direction(d, threshold).or_raise("direction"))
}

/// Consecutive drops at the end of the series (a tie ends the streak).
#[pg_extern(immutable, strict, parallel_safe)]
fn decline_streak(t: Trend) -> i64 {
    t.decode().decline_streak() as i64
}

#[pg_extern(immutable, strict, parallel_safe)]
fn first_score(t: Trend) -> Option<f64> {
    t.decode().first_score()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn last_score(t: Trend) -> Option<f64> {
    t.decode().last_score()
}

/// Number of points in the series.
#[pg_extern(immutable, strict, parallel_safe)]
fn n(t: Trend) -> i64 {
    t.decode().len() as i64
}

/// Eight-level block sparkline; NULL elements as spaces, a constant series flat.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparkline(values: FloatArray) -> String {
    let values: Vec<Option<f64>> = values.iter().collect();
    signals::sparkline(&values).or_raise("sparkline")
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn responses_merged_answer_as_the_aggregates() {
        let rows = "FROM (SELECT s % 11 AS r, s % 5 + 1 AS star, s % 4 AS part FROM generate_series(1, 200) s) t";
        let direct = Spi::get_one::<String>(&format!(
            "SELECT concat_ws(' ', health.nps(r), health.nps_breakdown(r), health.csat(star), health.csat(star, 5)) {rows}"
        ))
        .unwrap();
        let merged = Spi::get_one::<String>(&format!(
            "SELECT concat_ws(' ', health.nps(n), health.nps_breakdown(n), health.csat(c), health.csat(c, 5))
             FROM (SELECT health.rollup(n) AS n, health.rollup(c) AS c
                   FROM (SELECT health.responses(r) AS n, health.responses(star) AS c {rows} GROUP BY part) p) m"
        ))
        .unwrap();
        assert_eq!(direct, merged);
    }

    #[pg_test]
    fn tier_changes_finds_the_change() {
        let events = Spi::get_one::<String>(
            "SELECT string_agg(e ->> 'event' || ':' || coalesce(e ->> 'to', '-'), ',')
             FROM jsonb_array_elements((SELECT health.tier_changes(t, s, health.tier(s))
                                        FROM (VALUES (timestamptz '2026-01-01', 80.0::float8), ('2026-02-01', 50)) v(t, s))) e",
        )
        .unwrap();
        assert_eq!(events.as_deref(), Some("first:healthy,tier_change:neutral"));
    }

    #[pg_test]
    fn nps_and_csat() {
        let nps = Spi::get_one::<f64>("SELECT health.nps(r) FROM unnest(ARRAY[10, 9, 8, 3]) r").unwrap();
        assert_eq!(nps, Some(25.0));
        let csat = Spi::get_one::<f64>("SELECT health.csat(r) FROM unnest(ARRAY[5, 4, 3, 1]) r").unwrap();
        assert_eq!(csat, Some(50.0));
        let cat = Spi::get_one::<String>("SELECT health.nps_category(7)").unwrap();
        assert_eq!(cat.as_deref(), Some("passive"));
    }

    #[pg_test]
    fn trend_of_a_line() {
        let slope = Spi::get_one::<f64>(
            "SELECT health.slope(health.trend(at, s)) FROM (VALUES ('2026-01-01'::timestamptz, 80.0), ('2026-01-31', 74.0)) t(at, s)",
        )
        .unwrap();
        assert_eq!(slope.map(|v| (v * 1e9).round() / 1e9), Some(-6.0));
    }
}

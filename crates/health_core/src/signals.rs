//! Customer signals (docs/reference.md §4): NPS, CSAT, decayed action points, deadline
//! penalties, score trends and sparklines. The math only; the SQL layer
//! wraps these as aggregates and scalar functions.

use crate::aggregate::{fixed_size_state, merging_state, Accumulate, AggregateState};
use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{finite, num, ErrorKind, HealthError, Result};
use crate::format::{fixed_fields, ByteReader, RESPONSES, TREND};

// ---- NPS ----

/// How a 0–10 "how likely are you to recommend us" answer counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpsCategory {
    /// 9–10
    Promoter,
    /// 7–8: only in the denominator
    Passive,
    /// 0–6
    Detractor,
}

impl NpsCategory {
    pub fn of(rating: i64) -> Result<Self> {
        match rating {
            9..=10 => Ok(NpsCategory::Promoter),
            7..=8 => Ok(NpsCategory::Passive),
            0..=6 => Ok(NpsCategory::Detractor),
            other => Err(HealthError::out_of_range(format!(
                "rating must be between 0 and 10, got {other}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NpsCategory::Promoter => "promoter",
            NpsCategory::Passive => "passive",
            NpsCategory::Detractor => "detractor",
        }
    }
}

/// Counts of NPS answers by category; merges by addition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NpsCounts {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl NpsCounts {
    /// `nps_breakdown`'s answer: counts, shares (null without answers) and NPS.
    pub fn breakdown_json(&self) -> Value {
        let n = self.responses() as f64;
        let share = |k: u64| if n > 0.0 { json!(k as f64 / n) } else { json!(null) };
        json!({
            "responses": self.responses(),
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "promoter_share": share(self.promoters),
            "passive_share": share(self.passives),
            "detractor_share": share(self.detractors),
            "nps": self.nps(),
        })
    }

    pub fn add(&mut self, rating: i64) -> Result<()> {
        match NpsCategory::of(rating)? {
            NpsCategory::Promoter => self.promoters += 1,
            NpsCategory::Passive => self.passives += 1,
            NpsCategory::Detractor => self.detractors += 1,
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &NpsCounts) {
        self.promoters += other.promoters;
        self.passives += other.passives;
        self.detractors += other.detractors;
    }

    pub fn responses(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// −100..100: % promoters − % detractors; `None` without responses.
    pub fn nps(&self) -> Option<f64> {
        let n = self.responses();
        (n > 0).then(|| 100.0 * (self.promoters as f64 - self.detractors as f64) / n as f64)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        [self.promoters, self.passives, self.detractors]
            .map(u64::to_le_bytes)
            .concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = fixed_fields("NPS", bytes, 3)?;
        let (promoters, passives, detractors) = (r.u64()?, r.u64()?, r.u64()?);
        Ok(NpsCounts {
            promoters,
            passives,
            detractors,
        })
    }
}

// ---- CSAT ----

/// Checks a CSAT scale: at least 3 boxes (1..scale).
pub fn check_csat_scale(scale: i64) -> Result<()> {
    if scale < 3 {
        return Err(HealthError::invalid(format!("scale must be at least 3, got {scale}")));
    }
    Ok(())
}

/// Whether a 1..scale answer is in the top two boxes (`scale` and `scale-1`:
/// 4–5 on 1–5, 6–7 on 1–7, 9–10 on 1–10).
/// The CSAT aggregate's state: top-two-box answers, all answers, and the
/// scale they were given on (one scale per group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Csat {
    pub top: u64,
    pub total: u64,
    pub scale: i64,
}

impl Csat {
    /// One answer on a 1..scale survey.
    pub fn add(&mut self, rating: i64, scale: i64) -> Result<()> {
        let top = csat_top_two(rating, scale)?;
        self.merge(&Csat {
            top: u64::from(top),
            total: 1,
            scale,
        })
    }

    pub fn merge(&mut self, other: &Csat) -> Result<()> {
        if other.total > 0 && self.total > 0 && other.scale != self.scale {
            return Err(HealthError::invalid(format!(
                "one group mixes scales {} and {}",
                self.scale, other.scale
            )));
        }
        if self.total == 0 {
            self.scale = other.scale;
        }
        self.top += other.top;
        self.total += other.total;
        Ok(())
    }

    /// % of answers in the top two boxes; `None` without answers.
    pub fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| 100.0 * self.top as f64 / self.total as f64)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        [self.top, self.total, self.scale as u64].map(u64::to_le_bytes).concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Csat> {
        let mut r = fixed_fields("CSAT", bytes, 3)?;
        let (top, total, scale) = (r.u64()?, r.u64()?, r.u64()?);
        Ok(Csat {
            top,
            total,
            scale: scale as i64,
        })
    }
}

pub fn csat_top_two(rating: i64, scale: i64) -> Result<bool> {
    check_csat_scale(scale)?;
    if !(1..=scale).contains(&rating) {
        return Err(HealthError::out_of_range(format!(
            "rating must be between 1 and {scale}, got {rating}"
        )));
    }
    Ok(rating >= scale - 1)
}

// ---- survey answers as a value (health.responses) ----

/// The ratings a `health.responses` value may hold: every scale in use (NPS
/// 0-10, CSAT 1-5 or 1-7, stars, 0-100 grades).
const RATINGS: std::ops::RangeInclusive<i64> = 0..=100;

/// Survey answers as how many of each rating (`health.responses`): the
/// stored form of `nps`, `nps_breakdown` and `csat`, built where the
/// answers are and merged by addition, so the merged value answers exactly
/// as one aggregate over all the answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Responses {
    counts: BTreeMap<i64, u64>,
}

impl Responses {
    pub fn add(&mut self, rating: i64) -> Result<()> {
        if !RATINGS.contains(&rating) {
            return Err(HealthError::out_of_range(format!(
                "rating must be between 0 and 100, got {rating}"
            )));
        }
        *self.counts.entry(rating).or_insert(0) += 1;
        Ok(())
    }

    pub fn merge(&mut self, other: &Responses) {
        for (&rating, &count) in &other.counts {
            *self.counts.entry(rating).or_insert(0) += count;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The NPS counts of these answers; every rating must be 0..10.
    pub fn nps_counts(&self) -> Result<NpsCounts> {
        let mut out = NpsCounts::default();
        for (&rating, &count) in &self.counts {
            match NpsCategory::of(rating)? {
                NpsCategory::Promoter => out.promoters += count,
                NpsCategory::Passive => out.passives += count,
                NpsCategory::Detractor => out.detractors += count,
            }
        }
        Ok(out)
    }

    /// CSAT of these answers on a 1..scale survey; every rating must be on it.
    pub fn csat(&self, scale: i64) -> Result<Csat> {
        let mut out = Csat {
            scale,
            ..Csat::default()
        };
        check_csat_scale(scale)?;
        for (&rating, &count) in &self.counts {
            out.top += u64::from(csat_top_two(rating, scale)?) * count;
            out.total += count;
        }
        Ok(out)
    }

    /// Stored bytes: the header, how many ratings, then (rating, count) pairs
    /// in ascending order of rating.
    pub fn to_stored(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 + 16 * self.counts.len());
        RESPONSES.write_header(&mut out);
        out.extend_from_slice(&(self.counts.len() as u64).to_le_bytes());
        for (&rating, &count) in &self.counts {
            out.extend_from_slice(&rating.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
        }
        out
    }

    pub fn from_stored(bytes: &[u8]) -> Result<Responses> {
        let (_, payload) = RESPONSES.payload(bytes)?;
        let corrupt = || HealthError::text("invalid responses: the stored bytes are truncated or malformed");
        let mut r = ByteReader::new(payload, corrupt);
        let n = r.u64()? as usize;
        if n > RATINGS.clone().count() {
            return Err(corrupt());
        }
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            pairs.push((r.u64()? as i64, r.u64()?));
        }
        if !r.at_end() {
            return Err(corrupt());
        }
        Responses::from_pairs(&pairs)
    }

    /// The text form: `[[rating, count], ...]`, ratings ascending.
    pub fn to_text(&self) -> String {
        json!(self.counts.iter().collect::<Vec<_>>()).to_string()
    }

    pub fn from_text(text: &str) -> Result<Responses> {
        let pairs: Vec<(i64, u64)> =
            serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid responses: {e}")))?;
        Responses::from_pairs(&pairs)
    }

    /// Checked: ratings 0..100 in ascending order, each once, counts at least 1.
    fn from_pairs(pairs: &[(i64, u64)]) -> Result<Responses> {
        let mut counts = BTreeMap::new();
        let mut last = None;
        for &(rating, count) in pairs {
            if !RATINGS.contains(&rating) {
                return Err(HealthError::text(format!(
                    "invalid responses: a rating must be between 0 and 100, got {rating}"
                )));
            }
            if count == 0 {
                return Err(HealthError::text("invalid responses: every count must be at least 1"));
            }
            if last.is_some_and(|l| l >= rating) {
                return Err(HealthError::text(format!(
                    "invalid responses: ratings must be listed once each in ascending order, got {rating} after {}",
                    last.unwrap_or(rating)
                )));
            }
            last = Some(rating);
            counts.insert(rating, count);
        }
        Ok(Responses { counts })
    }
}

// ---- action points ----

/// The weight of an event `age` after it happened: `0.5^(age/half_life)`;
/// events in the future (negative age) count 0. Ages in any one unit.
pub fn decay(age: f64, half_life: f64) -> Result<f64> {
    finite("half_life", half_life)?;
    if half_life <= 0.0 {
        return Err(HealthError::invalid(format!(
            "half_life must be greater than 0, got {}",
            num(half_life)
        )));
    }
    if age < 0.0 {
        return Ok(0.0);
    }
    Ok(libm::exp2(-age / half_life))
}

/// "Deduct points when an action was not done in time": `-penalty` when the
/// deadline has passed by `as_of` and the action was not completed by the
/// deadline; else 0. `completed_at` None = not completed (yet).
pub fn deadline_penalty(completed_at: Option<i64>, due_at: i64, as_of: i64, penalty: f64) -> Result<f64> {
    finite("penalty", penalty)?;
    if penalty < 0.0 {
        return Err(HealthError::invalid(format!(
            "penalty must not be negative (it is deducted), got {}",
            num(penalty)
        )));
    }
    let done_in_time = matches!(completed_at, Some(c) if c <= due_at);
    Ok(if done_in_time || due_at >= as_of { 0.0 } else { -penalty })
}

// ---- trend ----

/// A score series: (time in microseconds, score) points in any order;
/// sorted (by time, then score) when read, so the answer never depends on
/// arrival order or parallel splitting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trend {
    points: Vec<(i64, f64)>,
    sorted: bool,
}

impl Trend {
    pub fn new() -> Self {
        Trend {
            points: Vec::new(),
            sorted: true,
        }
    }

    pub fn add(&mut self, at: i64, score: f64) -> Result<()> {
        finite("score", score)?;
        crate::resources::push(&mut self.points, (at, score), "the trend state")?;
        self.sorted = false;
        Ok(())
    }

    pub fn merge(&mut self, other: &Trend) -> Result<()> {
        crate::resources::extend(&mut self.points, &other.points, "the trend state")?;
        self.sorted = false;
        Ok(())
    }

    pub fn finish(&mut self) {
        if !self.sorted {
            self.points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            self.sorted = true;
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// An error when two points share a moment (after [`Trend::finish`]):
    /// see [`one_point_per_moment`].
    pub fn check_one_point_per_moment(&self, function: &str) -> Result<()> {
        one_point_per_moment(function, self.points.iter().map(|p| p.0))
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The points, sorted. Call [`Trend::finish`] first.
    pub fn points(&self) -> &[(i64, f64)] {
        &self.points
    }

    pub fn first_score(&self) -> Option<f64> {
        self.points.first().map(|p| p.1)
    }

    pub fn last_score(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }

    /// Last score minus first score.
    pub fn delta(&self) -> Option<f64> {
        Some(self.last_score()? - self.first_score()?)
    }

    /// Least-squares slope in score points per `per_micros` of time; `None`
    /// with fewer than two distinct times.
    pub fn slope(&self, per_micros: f64) -> Result<Option<f64>> {
        finite("per", per_micros)?;
        if per_micros <= 0.0 {
            return Err(HealthError::invalid("per must be a positive interval"));
        }
        let n = self.points.len() as f64;
        if self.points.len() < 2 {
            return Ok(None);
        }
        // Centre time on the first point for precision (microsecond epochs are ~1e15).
        let t0 = self.points[0].0;
        let ts = |p: &(i64, f64)| (p.0 - t0) as f64;
        let mean_t = self.points.iter().map(ts).sum::<f64>() / n;
        let mean_s = self.points.iter().map(|p| p.1).sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for p in &self.points {
            let dt = ts(p) - mean_t;
            sxy += dt * (p.1 - mean_s);
            sxx += dt * dt;
        }
        if sxx == 0.0 {
            return Ok(None);
        }
        Ok(Some(sxy / sxx * per_micros))
    }

    /// Consecutive drops at the end of the series: 0 when the last score did
    /// not fall; a tie ends the streak.
    pub fn decline_streak(&self) -> u64 {
        self.points.windows(2).rev().take_while(|w| w[1].1 < w[0].1).count() as u64
    }

    /// The format header (see `format`), then (i64 microseconds, f64 score)
    /// per point, little-endian; format 1 (0.1.0) is the points alone.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.points.len() * 16);
        TREND.write_header(&mut out);
        for (t, s) in &self.points {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Trend> {
        let (_, bytes) = TREND.payload(bytes)?;
        if bytes.len() % 16 != 0 {
            return Err(HealthError::text(format!("invalid trend of {} bytes", bytes.len())));
        }
        let mut t = Trend::new();
        for chunk in bytes.chunks_exact(16) {
            let at = i64::from_le_bytes(chunk[..8].try_into().unwrap_or([0; 8]));
            let score = f64::from_le_bytes(chunk[8..].try_into().unwrap_or([0; 8]));
            t.add(at, score)
                .map_err(|e| HealthError::text(format!("invalid trend: {}", e.message)))?;
        }
        t.finish();
        Ok(t)
    }
}

/// A series aggregate (`trend`, `sparkline`, `tier_changes`) reads one
/// account's history, one score per moment. Two rows at one moment are
/// ambiguous, and nearly always a forgotten `GROUP BY`: all accounts' rows
/// in one group. `times` sorted; 21000 naming the first such moment.
pub fn one_point_per_moment(function: &str, times: impl IntoIterator<Item = i64>) -> Result<()> {
    let mut times = times.into_iter().peekable();
    while let Some(at) = times.next() {
        let mut rows = 1;
        while times.next_if_eq(&at).is_some() {
            rows += 1;
        }
        if rows > 1 {
            return Err(HealthError::new(
                ErrorKind::Cardinality,
                format!(
                    "a series has one row per moment, but {rows} rows of this group have the time {}",
                    format_timestamp(at)
                ),
            )
            .with_hint(format!(
                "One {function} per account: add GROUP BY with the account's key \
                 (SELECT account_id, health.{function}(...) ... GROUP BY account_id), \
                 or keep one snapshot per moment."
            )));
        }
    }
    Ok(())
}

/// Microseconds since 2000-01-01 00:00 UTC (PostgreSQL's epoch) as
/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, the way PostgreSQL prints a
/// timestamptz in UTC.
pub fn format_timestamp(micros: i64) -> String {
    let (days, rem) = (micros.div_euclid(86_400_000_000), micros.rem_euclid(86_400_000_000));
    // civil_from_days (H. Hinnant), shifted from 1970 to 2000 (10 957 days).
    let z = days + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (secs, frac) = (rem / 1_000_000, rem % 1_000_000);
    let base = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac == 0 {
        format!("{base}+00")
    } else {
        format!("{base}.{frac:06}+00")
    }
}

/// Parses what [`format_timestamp`] writes.
pub fn parse_timestamp(text: &str) -> Result<i64> {
    let bad = || {
        HealthError::text(format!(
            "timestamp must look like 2026-09-01 00:00:00+00, got \"{text}\""
        ))
    };
    let body = text.strip_suffix("+00").ok_or_else(bad)?;
    let (date, time) = body.split_once(' ').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<&str> = hms.split(':').collect();
    if d.len() != 3 || t.len() != 3 || frac.len() > 6 {
        return Err(bad());
    }
    let (y, m, day) = (num(d[0])?, num(d[1])?, num(d[2])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    // days_from_civil, then back to the 2000 epoch.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 - 10_957;
    let micros_frac = num(frac)? * 10i64.pow(6 - frac.len() as u32);
    let secs = num(t[0])? * 3600 + num(t[1])? * 60 + num(t[2])?;
    let micros = days * 86_400_000_000 + secs * 1_000_000 + micros_frac;
    if format_timestamp(micros) != text && format_timestamp(micros) != format!("{body}.000000+00") {
        return Err(bad());
    }
    Ok(micros)
}

impl Trend {
    /// `[["2026-09-01 00:00:00+00", 71.5], ...]`, sorted.
    pub fn to_text(&self) -> String {
        let items: Vec<String> = self
            .points
            .iter()
            .map(|(t, s)| format!("[\"{}\", {}]", format_timestamp(*t), serde_json::Value::from(*s)))
            .collect();
        format!("[{}]", items.join(", "))
    }

    pub fn from_text(text: &str) -> Result<Trend> {
        let value: Vec<(String, f64)> =
            serde_json::from_str(text).map_err(|e| HealthError::text(format!("invalid trend: {e}")))?;
        let mut t = Trend::new();
        for (at, score) in value {
            t.add(parse_timestamp(&at)?, score)?;
        }
        t.finish();
        Ok(t)
    }
}

/// `improving` / `declining` / `stable` by `delta` against `threshold`
/// (a change of exactly `threshold` points counts).
pub fn direction(delta: f64, threshold: f64) -> Result<&'static str> {
    finite("threshold", threshold)?;
    if threshold < 0.0 {
        return Err(HealthError::invalid(format!(
            "threshold must not be negative, got {}",
            num(threshold)
        )));
    }
    Ok(if delta >= threshold && delta > 0.0 {
        "improving"
    } else if delta <= -threshold && delta < 0.0 {
        "declining"
    } else {
        "stable"
    })
}

// ---- sparkline ----

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One block character per value, scaled between the series' min and max;
/// `None` as a space; a constant series as a flat line of `▄`.
pub fn sparkline(values: &[Option<f64>]) -> Result<String> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            finite(&format!("values[{}]", i + 1), *v)?;
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    Ok(values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi == lo => LEVELS[3],
            Some(v) => LEVELS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect())
}

// ---- as an aggregate's state (see aggregate.rs) ----

fixed_size_state!(NpsCounts);

/// `nps`, `nps_breakdown`: a 0–10 rating.
impl Accumulate<i64> for NpsCounts {
    fn add_row(&mut self, rating: i64) -> Result<()> {
        self.add(rating)
    }
}

merging_state!(Csat, start: Ok(Csat::default()));

/// `csat`: (rating, scale).
impl Accumulate<(i64, i64)> for Csat {
    fn add_row(&mut self, (rating, scale): (i64, i64)) -> Result<()> {
        self.add(rating, scale)
    }
}

/// `responses(rating)` and `rollup(responses)`: counts per rating, merged by addition.
impl AggregateState for Responses {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Responses::default())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Responses::merge(self, other);
        Ok(())
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.to_stored())
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Responses::from_stored(bytes)
    }
}

impl Accumulate<i64> for Responses {
    fn add_row(&mut self, rating: i64) -> Result<()> {
        self.add(rating)
    }
}

impl Accumulate<Responses> for Responses {
    fn add_row(&mut self, row: Responses) -> Result<()> {
        self.merge(&row);
        Ok(())
    }
}

merging_state!(Trend, start: Ok(Trend::new()));

/// `trend`, `sparkline`: (microseconds since 2000-01-01, score).
impl Accumulate<(i64, f64)> for Trend {
    fn add_row(&mut self, (at, score): (i64, f64)) -> Result<()> {
        self.add(at, score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_has_one_point_per_moment() {
        let mut t = Trend::new();
        for (at, score) in [(3, 50.0), (1, 60.0), (3, 40.0), (3, 45.0), (2, 55.0)] {
            t.add(at, score).unwrap();
        }
        t.finish();
        let e = t.check_one_point_per_moment("trend").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cardinality);
        assert!(
            e.message
                .ends_with("but 3 rows of this group have the time 2000-01-01 00:00:00.000003+00"),
            "{}",
            e.message
        );
        assert!(one_point_per_moment("sparkline", [1, 2, 3]).is_ok());
        assert!(one_point_per_moment("sparkline", []).is_ok());
    }

    #[test]
    fn responses_answer_as_the_aggregates_and_round_trip() {
        let ratings = [10, 9, 9, 7, 3, 0, 6, 8, 10, 5];
        let (mut all, mut first, mut second) = (Responses::default(), Responses::default(), Responses::default());
        let mut counts = NpsCounts::default();
        for (i, &r) in ratings.iter().enumerate() {
            all.add(r).unwrap();
            counts.add(r).unwrap();
            if i % 3 == 0 { first.add(r) } else { second.add(r) }.unwrap();
        }
        first.merge(&Responses::from_stored(&second.to_stored()).unwrap());
        assert_eq!(first, all);
        assert_eq!(all.nps_counts().unwrap(), counts);
        assert_eq!(all.to_text(), "[[0,1],[3,1],[5,1],[6,1],[7,1],[8,1],[9,2],[10,2]]");
        assert_eq!(Responses::from_text(&all.to_text()).unwrap(), all);
        // CSAT on 1..5: the same as the aggregate
        let mut stars = Responses::default();
        let mut csat = Csat::default();
        for r in [5, 4, 4, 2, 1, 3] {
            stars.add(r).unwrap();
            csat.add(r, 5).unwrap();
        }
        assert_eq!(stars.csat(5).unwrap().value(), csat.value());
        // errors
        assert_eq!(
            all.csat(5).unwrap_err().message,
            "rating must be between 1 and 5, got 0"
        );
        let mut wide = Responses::default();
        wide.add(42).unwrap();
        assert_eq!(wide.nps_counts().unwrap_err().kind, crate::ErrorKind::OutOfRange);
        assert_eq!(
            Responses::default().add(101).unwrap_err().message,
            "rating must be between 0 and 100, got 101"
        );
        let bad = |t: &str| Responses::from_text(t).unwrap_err().message;
        assert_eq!(
            bad("[[9,1],[7,1]]"),
            "invalid responses: ratings must be listed once each in ascending order, got 7 after 9"
        );
        assert_eq!(bad("[[9,0]]"), "invalid responses: every count must be at least 1");
        assert_eq!(
            bad("[[-1,2]]"),
            "invalid responses: a rating must be between 0 and 100, got -1"
        );
        assert!(bad("{}").starts_with("invalid responses:"));
        assert!(Responses::from_stored(&all.to_stored()[..10]).is_err());
    }

    #[test]
    fn csat_counts_top_two_boxes_and_refuses_mixed_scales() {
        let mut c = Csat::default();
        for r in [5, 4, 3, 1] {
            c.add(r, 5).unwrap();
        }
        assert_eq!(c.value(), Some(50.0));
        assert_eq!(Csat::from_bytes(&c.to_bytes()).unwrap(), c);
        assert!(c.add(7, 7).unwrap_err().message.contains("mixes scales 5 and 7"));
        assert_eq!(Csat::default().value(), None);
        let b = NpsCounts {
            promoters: 2,
            passives: 1,
            detractors: 1,
        }
        .breakdown_json();
        assert_eq!(
            (b["nps"].as_f64(), b["promoter_share"].as_f64()),
            (Some(25.0), Some(0.5))
        );
    }
    use proptest::prelude::*;

    #[test]
    fn nps_of_known_distributions() {
        let nps = |ratings: &[i64]| {
            let mut c = NpsCounts::default();
            for &r in ratings {
                c.add(r).unwrap();
            }
            c.nps()
        };
        assert_eq!(nps(&[9, 10, 10]), Some(100.0));
        assert_eq!(nps(&[0, 3, 6]), Some(-100.0));
        // passives only in the denominator: 1 promoter, 1 detractor, 2 passives
        assert_eq!(nps(&[10, 7, 8, 2]), Some(0.0));
        assert_eq!(nps(&[10, 7, 8, 8]), Some(25.0));
        assert_eq!(nps(&[]), None);
        assert_eq!(
            NpsCounts::default().add(11).unwrap_err().message,
            "rating must be between 0 and 10, got 11"
        );
        assert_eq!(NpsCategory::of(7).unwrap().name(), "passive");
    }

    #[test]
    fn csat_boxes() {
        assert!(csat_top_two(4, 5).unwrap() && csat_top_two(5, 5).unwrap() && !csat_top_two(3, 5).unwrap());
        assert!(csat_top_two(6, 7).unwrap() && !csat_top_two(5, 7).unwrap());
        assert!(csat_top_two(0, 5).is_err() && csat_top_two(6, 5).is_err());
        assert_eq!(
            csat_top_two(2, 2).unwrap_err().message,
            "scale must be at least 3, got 2"
        );
    }

    #[test]
    fn decay_halves_at_each_half_life() {
        assert_eq!(decay(0.0, 30.0).unwrap(), 1.0);
        assert_eq!(decay(30.0, 30.0).unwrap(), 0.5);
        assert_eq!(decay(60.0, 30.0).unwrap(), 0.25);
        assert_eq!(decay(-1.0, 30.0).unwrap(), 0.0);
        assert!(decay(1.0, 0.0).is_err());
    }

    #[test]
    fn deadline_rules() {
        // completed in time, completed late, not completed but not yet due, overdue
        assert_eq!(deadline_penalty(Some(5), 10, 20, 3.0).unwrap(), 0.0);
        assert_eq!(deadline_penalty(Some(15), 10, 20, 3.0).unwrap(), -3.0);
        assert_eq!(deadline_penalty(None, 30, 20, 3.0).unwrap(), 0.0);
        assert_eq!(deadline_penalty(None, 10, 20, 3.0).unwrap(), -3.0);
        assert!(deadline_penalty(None, 10, 20, -1.0).is_err());
    }

    #[test]
    fn trend_accessors() {
        let day = 86_400_000_000i64;
        let mut t = Trend::new();
        // a known line: 80, 77, 74, 71 on days 0, 10, 20, 30 -> -0.3 points a day
        for (d, s) in [(30, 71.0), (0, 80.0), (20, 74.0), (10, 77.0)] {
            t.add(d * day, s).unwrap();
        }
        t.finish();
        let slope = t.slope(30.0 * day as f64).unwrap().unwrap();
        assert!((slope + 9.0).abs() < 1e-9, "{slope}");
        assert_eq!(t.delta(), Some(-9.0));
        assert_eq!(t.decline_streak(), 3);
        assert_eq!(direction(-9.0, 5.0).unwrap(), "declining");
        assert_eq!(direction(5.0, 5.0).unwrap(), "improving");
        assert_eq!(direction(4.9, 5.0).unwrap(), "stable");
        // ties end a streak
        let mut tie = Trend::new();
        for (d, s) in [(0, 80.0), (1, 70.0), (2, 70.0), (3, 60.0)] {
            tie.add(d, s).unwrap();
        }
        tie.finish();
        assert_eq!(tie.decline_streak(), 1);
        assert_eq!(Trend::from_bytes(&t.to_bytes()).unwrap(), t);
        assert_eq!(Trend::from_text(&t.to_text()).unwrap(), t);
    }

    #[test]
    fn timestamps_print_like_postgres_in_utc() {
        assert_eq!(format_timestamp(0), "2000-01-01 00:00:00+00");
        // 2026-09-01 = 9740 days after 2000-01-01
        assert_eq!(
            format_timestamp(9_740 * 86_400_000_000 + 1_500_000),
            "2026-09-01 00:00:01.500000+00"
        );
        assert_eq!(format_timestamp(-86_400_000_000), "1999-12-31 00:00:00+00");
        for t in [0i64, 1, -1, 9_740 * 86_400_000_000 + 123_456, 912_345_678_901_234] {
            assert_eq!(parse_timestamp(&format_timestamp(t)).unwrap(), t);
        }
        assert!(parse_timestamp("2026-13-01 00:00:00+00").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[Some(0.0), Some(7.0), None, Some(3.5)]).unwrap(), "▁█ ▅");
        assert_eq!(sparkline(&[Some(5.0), Some(5.0)]).unwrap(), "▄▄");
        assert_eq!(sparkline(&[]).unwrap(), "");
        assert!(sparkline(&[Some(f64::NAN)]).is_err());
    }

    proptest! {
        #[test]
        fn trend_ignores_arrival_order_and_splits(points in prop::collection::vec((0i64..1000, 0.0f64..100.0), 0..40), split in 0usize..40) {
            let split = split.min(points.len());
            let mut whole = Trend::new();
            for &(t, s) in &points { whole.add(t, s).unwrap(); }
            whole.finish();
            let (mut a, mut b) = (Trend::new(), Trend::new());
            for &(t, s) in points[..split].iter().rev() { a.add(t, s).unwrap(); }
            for &(t, s) in &points[split..] { b.add(t, s).unwrap(); }
            b.merge(&a).unwrap();
            b.finish();
            prop_assert_eq!(&whole, &b);
            prop_assert_eq!(whole.decline_streak(), b.decline_streak());
        }

        #[test]
        fn nps_is_bounded(ratings in prop::collection::vec(0i64..=10, 1..100)) {
            let mut c = NpsCounts::default();
            for r in ratings { c.add(r).unwrap(); }
            let v = c.nps().unwrap();
            prop_assert!((-100.0..=100.0).contains(&v));
            prop_assert_eq!(NpsCounts::from_bytes(&c.to_bytes()).unwrap(), c);
        }
    }
}

#[cfg(test)]
mod aggregate_state_tests {
    use super::*;
    use crate::aggregate::testing::{serially, split_and_merge};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nps_counts_split_anywhere(ratings in prop::collection::vec(0i64..=10, 0..200), at in 0usize..200) {
            let split: NpsCounts = split_and_merge("nps", &ratings, at);
            prop_assert_eq!(split, serially::<NpsCounts, _>("nps", &ratings));
        }

        #[test]
        fn csat_split_anywhere(ratings in prop::collection::vec(1i64..=7, 0..200), at in 0usize..200) {
            let rows: Vec<(i64, i64)> = ratings.iter().map(|&r| (r, 7)).collect();
            let split: Csat = split_and_merge("csat", &rows, at);
            prop_assert_eq!(split.value(), serially::<Csat, _>("csat", &rows).value());
        }

        #[test]
        fn trend_split_anywhere(rows in prop::collection::vec((0i64..1_000_000, 0.0f64..=100.0), 0..100), at in 0usize..100) {
            let mut split: Trend = split_and_merge("trend", &rows, at);
            let mut serial: Trend = serially("trend", &rows);
            split.finish();
            serial.finish();
            prop_assert_eq!(split.to_bytes(), serial.to_bytes());
        }
    }

    #[test]
    fn fixed_size_states_refuse_other_lengths() {
        assert!(<NpsCounts as AggregateState>::deserialize(&[0; 23]).is_err());
        assert_eq!(NpsCounts::default().held_rows(), None);
    }
}

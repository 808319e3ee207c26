//! What every SQL aggregate does, in plain Rust: a state that starts empty,
//! takes rows, merges with another state of the same aggregate (a parallel
//! worker's), and travels as bytes between processes. The extension's
//! `aggregate!` macro turns one of these states into PostgreSQL's transition,
//! combine, serial and deserial functions and the `CREATE AGGREGATE` around
//! them; the final functions stay with each aggregate there, because several
//! aggregates read one state differently (`nps` and `nps_breakdown`, `auc`,
//! `lift` and `calibration`, `trend` and `sparkline`).
//!
//! A state without a destructor (a `Copy` struct of counters) is kept by the
//! extension as one allocation in the aggregate's memory; a state that owns
//! vectors grows inside that memory too.

use crate::events::{HistoryRow, TierHistory};
use crate::model::{LearnRow, Learner};
use crate::profile::Profile;
use crate::score::{CompensatedSum, WeightedMean};
use crate::scorecard::{Rollup, Scorecard};
use crate::signals::{Csat, NpsCounts, Responses, Trend};
use crate::validate::{Brier, Design, FitRow, Outcomes};
use crate::{HealthError, Result};

/// The state of an aggregate, between its rows.
pub trait AggregateState: Clone + Sized {
    /// The state before the first row of a group of the SQL aggregate
    /// `aggregate` (the name its messages use).
    fn start(aggregate: &'static str) -> Result<Self>;

    /// Folds in the state another process built from other rows of the same
    /// group; the answer must not depend on how the rows were split.
    fn merge(&mut self, other: &Self) -> Result<()>;

    /// The bytes a parallel worker hands over.
    fn serialize(&self) -> Result<Vec<u8>>;

    /// The state back from [`serialize`](Self::serialize)'s bytes (checked:
    /// they cross a process boundary).
    fn deserialize(bytes: &[u8]) -> Result<Self>;

    /// For a state that keeps its rows: how many it holds and how many bytes
    /// its serial form would take with `rows` rows, so that a state too
    /// large for one value of PostgreSQL is refused before it is written.
    fn held_rows(&self) -> Option<usize> {
        None
    }

    fn serial_size(&self, _rows: usize) -> usize {
        0
    }

    /// The SQL aggregate that built this state, when the state knows it
    /// better than its support functions do (they are shared by several).
    fn aggregate(&self) -> Option<&'static str> {
        None
    }
}

/// The transition step: one row of the aggregate's arguments, converted
/// from SQL, added to the state.
pub trait Accumulate<Row>: AggregateState {
    fn add_row(&mut self, row: Row) -> Result<()>;
}

/// A state of fixed size and no heap: its bytes are its fields,
/// little-endian, and nothing else.
macro_rules! fixed_size_state {
    ($state:ty) => {
        impl AggregateState for $state {
            fn start(_: &'static str) -> Result<Self> {
                Ok(Self::default())
            }

            fn merge(&mut self, other: &Self) -> Result<()> {
                <$state>::merge(self, other);
                Ok(())
            }

            fn serialize(&self) -> Result<Vec<u8>> {
                Ok(self.to_bytes())
            }

            fn deserialize(bytes: &[u8]) -> Result<Self> {
                <$state>::from_bytes(bytes)
            }
        }
    };
}

fixed_size_state!(NpsCounts);
fixed_size_state!(CompensatedSum);
fixed_size_state!(WeightedMean);
fixed_size_state!(Brier);

/// `nps`, `nps_breakdown`: a 0–10 rating.
impl Accumulate<i64> for NpsCounts {
    fn add_row(&mut self, rating: i64) -> Result<()> {
        self.add(rating)
    }
}

/// `points`: one action's points, already decayed to `as_of`.
impl Accumulate<f64> for CompensatedSum {
    fn add_row(&mut self, points: f64) -> Result<()> {
        self.add(points);
        Ok(())
    }
}

/// `score_agg`: (score, weight).
impl Accumulate<(f64, f64)> for WeightedMean {
    #[inline]
    fn add_row(&mut self, (score, weight): (f64, f64)) -> Result<()> {
        self.add(score, weight)
    }
}

/// `brier`: (probability, churned).
impl Accumulate<(f64, bool)> for Brier {
    fn add_row(&mut self, (probability, churned): (f64, bool)) -> Result<()> {
        self.add(probability, churned)
    }
}

impl AggregateState for Csat {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Csat::default())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Csat::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.to_bytes())
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Csat::from_bytes(bytes)
    }
}

/// `csat`: (rating, scale).
impl Accumulate<(i64, i64)> for Csat {
    fn add_row(&mut self, (rating, scale): (i64, i64)) -> Result<()> {
        self.add(rating, scale)
    }
}

impl AggregateState for Outcomes {
    fn start(aggregate: &'static str) -> Result<Self> {
        Ok(Outcomes::of(aggregate))
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Outcomes::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        self.to_bytes()
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Outcomes::from_bytes(bytes)
    }

    fn held_rows(&self) -> Option<usize> {
        Some(self.len())
    }

    fn serial_size(&self, rows: usize) -> usize {
        Outcomes::serial_size(rows)
    }

    fn aggregate(&self) -> Option<&'static str> {
        (!self.aggregate.is_empty()).then_some(self.aggregate)
    }
}

/// One row of `auc`, `lift` or `calibration`: the (score, churned) pair when
/// both are known, and the aggregate's constant argument (`lift`'s
/// fraction, `calibration`'s buckets) with its name, which must not change
/// within a group.
#[derive(Clone, Copy, Debug)]
pub struct OutcomeRow {
    pub scored: Option<(f64, bool)>,
    pub parameter: Option<(f64, &'static str)>,
}

impl Accumulate<OutcomeRow> for Outcomes {
    fn add_row(&mut self, row: OutcomeRow) -> Result<()> {
        if let Some((value, name)) = row.parameter {
            self.set_parameter(value, name)?;
        }
        match row.scored {
            Some((score, churned)) => self.add(score, churned),
            None => Ok(()),
        }
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

/// `rollup(outcomes)`: a stored value's outcomes join the group's.
impl Accumulate<Outcomes> for Outcomes {
    fn add_row(&mut self, row: Outcomes) -> Result<()> {
        self.merge(&row)
    }
}

/// A state that keeps its rows (`fit_weights`, `fit_model`): starts empty,
/// appends the other's rows, travels as its own bytes, and tells how many
/// rows it holds so that a state too large for one value is refused early.
macro_rules! row_keeping_state {
    ($state:ty) => {
        impl AggregateState for $state {
            fn start(_: &'static str) -> Result<Self> {
                Ok(<$state>::default())
            }

            fn merge(&mut self, other: &Self) -> Result<()> {
                <$state>::merge(self, other)
            }

            fn serialize(&self) -> Result<Vec<u8>> {
                self.to_bytes()
            }

            fn deserialize(bytes: &[u8]) -> Result<Self> {
                <$state>::from_bytes(bytes)
            }

            fn held_rows(&self) -> Option<usize> {
                Some(self.rows())
            }

            fn serial_size(&self, rows: usize) -> usize {
                <$state>::serial_size(self, rows)
            }
        }
    };
}

row_keeping_state!(Design);
row_keeping_state!(Learner);
row_keeping_state!(TierHistory);

/// `tier_changes`: one snapshot of an account.
impl Accumulate<HistoryRow> for TierHistory {
    fn add_row(&mut self, row: HistoryRow) -> Result<()> {
        TierHistory::add_row(self, row)
    }
}

/// `fit_weights`: one row of its arguments.
/// `rollup(fit_rows)`: a stored value's rows join the group's.
impl Accumulate<Design> for Design {
    fn add_row(&mut self, row: Design) -> Result<()> {
        self.merge(&row)
    }
}

impl Accumulate<FitRow> for Design {
    fn add_row(&mut self, row: FitRow) -> Result<()> {
        Design::add_row(self, row)
    }
}

/// `fit_model`: one account's row.
impl Accumulate<LearnRow> for Learner {
    fn add_row(&mut self, row: LearnRow) -> Result<()> {
        Learner::add_row(self, row)
    }
}

impl AggregateState for Trend {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Trend::new())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Trend::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.to_bytes())
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Trend::from_bytes(bytes)
    }
}

/// `trend`, `sparkline`: (microseconds since 2000-01-01, score).
impl Accumulate<(i64, f64)> for Trend {
    fn add_row(&mut self, (at, score): (i64, f64)) -> Result<()> {
        self.add(at, score)
    }
}

impl AggregateState for Scorecard {
    fn start(_: &'static str) -> Result<Self> {
        Scorecard::with_room()
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Scorecard::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.to_bytes())
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Scorecard::from_bytes(bytes)
    }
}

/// `scorecard`: (metric, score or missing, weight).
impl<'a> Accumulate<(&'a str, Option<f64>, f64)> for Scorecard {
    #[inline]
    fn add_row(&mut self, (metric, score, weight): (&'a str, Option<f64>, f64)) -> Result<()> {
        self.push(metric, score, weight)
    }
}

impl AggregateState for Rollup {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Rollup::new())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Rollup::merge(self, other)
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.to_bytes())
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        Rollup::from_bytes(bytes)
    }
}

/// `rollup(scorecard)`: one finished scorecard.
impl Accumulate<Scorecard> for Rollup {
    fn add_row(&mut self, card: Scorecard) -> Result<()> {
        self.add(&card)
    }
}

/// An empty profile travels as no bytes (a worker that saw only NULLs).
impl AggregateState for Profile {
    fn start(_: &'static str) -> Result<Self> {
        Ok(Profile::new())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Profile::merge(self, other);
        Ok(())
    }

    fn serialize(&self) -> Result<Vec<u8>> {
        if self.count() == 0 {
            return Ok(Vec::new());
        }
        self.to_bytes()
    }

    fn deserialize(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Ok(Profile::new());
        }
        Profile::from_bytes(bytes)
    }
}

/// `profile(value)`: one value.
impl Accumulate<f64> for Profile {
    #[inline]
    fn add_row(&mut self, value: f64) -> Result<()> {
        self.add(value)
    }
}

/// `rollup(profile)`: one finished profile.
impl Accumulate<Profile> for Profile {
    fn add_row(&mut self, part: Profile) -> Result<()> {
        Profile::merge(self, &part);
        Ok(())
    }
}

/// The `N` eight-byte little-endian fields of a fixed-size state's serial
/// form, which must be exactly that long (its bytes cross a process).
pub(crate) fn fields<const N: usize>(what: &str, bytes: &[u8]) -> Result<[[u8; 8]; N]> {
    if bytes.len() != 8 * N {
        return Err(HealthError::text(format!(
            "invalid {what} state of {} bytes, expected {}",
            bytes.len(),
            8 * N
        )));
    }
    let mut out = [[0u8; 8]; N];
    for (field, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        field.copy_from_slice(chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What PostgreSQL does with a parallel plan: each worker folds its share
    /// of the rows, serialises; the leader deserialises and merges.
    fn split_and_merge<S, R: Clone>(aggregate: &'static str, rows: &[R], at: usize) -> S
    where
        S: Accumulate<R>,
    {
        let (left, right) = rows.split_at(at.min(rows.len()));
        let mut a = S::start(aggregate).unwrap();
        let mut b = S::start(aggregate).unwrap();
        for r in left {
            a.add_row(r.clone()).unwrap();
        }
        for r in right {
            b.add_row(r.clone()).unwrap();
        }
        let a = S::deserialize(&a.serialize().unwrap()).unwrap();
        let b = S::deserialize(&b.serialize().unwrap()).unwrap();
        let mut whole = S::start(aggregate).unwrap();
        whole.merge(&a).unwrap();
        whole.merge(&b).unwrap();
        whole
    }

    fn serially<S: Accumulate<R>, R: Clone>(aggregate: &'static str, rows: &[R]) -> S {
        let mut s = S::start(aggregate).unwrap();
        for r in rows {
            s.add_row(r.clone()).unwrap();
        }
        s
    }

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
        fn weighted_mean_split_anywhere(rows in prop::collection::vec((0.0f64..=100.0, 0.0f64..10.0), 1..200), at in 0usize..200) {
            let split: WeightedMean = split_and_merge("score_agg", &rows, at);
            let serial: WeightedMean = serially("score_agg", &rows);
            let (a, b) = (split.mean().unwrap(), serial.mean().unwrap());
            match (a, b) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
                _ => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn brier_split_anywhere(rows in prop::collection::vec((0.0f64..=1.0, any::<bool>()), 0..200), at in 0usize..200) {
            let split: Brier = split_and_merge("brier", &rows, at);
            let serial: Brier = serially("brier", &rows);
            prop_assert_eq!(split.count, serial.count);
            if let (Some(a), Some(b)) = (split.value(), serial.value()) {
                prop_assert!((a - b).abs() < 1e-12);
            }
        }

        #[test]
        fn outcomes_split_anywhere(rows in prop::collection::vec((0.0f64..=100.0, any::<bool>()), 0..200), at in 0usize..200) {
            let rows: Vec<(f64, bool)> = rows;
            let to_row = |&(s, c): &(f64, bool)| OutcomeRow { scored: Some((s, c)), parameter: Some((0.2, "fraction")) };
            let as_rows: Vec<OutcomeRow> = rows.iter().map(to_row).collect();
            let mut split: Outcomes = split_and_merge("lift", &as_rows, at);
            let mut serial: Outcomes = serially("lift", &as_rows);
            prop_assert_eq!(split.auc(), serial.auc());
            prop_assert_eq!(split.parameter(), (!rows.is_empty()).then_some(0.2));
            prop_assert_eq!(split.len(), rows.len());
        }

        #[test]
        fn trend_split_anywhere(rows in prop::collection::vec((0i64..1_000_000, 0.0f64..=100.0), 0..100), at in 0usize..100) {
            let mut split: Trend = split_and_merge("trend", &rows, at);
            let mut serial: Trend = serially("trend", &rows);
            split.finish();
            serial.finish();
            prop_assert_eq!(split.to_bytes(), serial.to_bytes());
        }

        #[test]
        fn profile_split_anywhere(values in prop::collection::vec(-1e6f64..1e6, 0..300), at in 0usize..300) {
            let split: Profile = split_and_merge("profile", &values, at);
            let serial: Profile = serially("profile", &values);
            prop_assert_eq!(split.count(), serial.count());
            if serial.count() > 0 {
                let median = |p: &Profile| {
                    let bytes = p.to_bytes().unwrap();
                    crate::profile::ProfileView::new(&bytes).unwrap().quantile(0.5).unwrap()
                };
                prop_assert_eq!(median(&split), median(&serial));
            }
        }
    }

    #[test]
    fn scorecards_split_between_metrics() {
        let rows = [
            ("logins", Some(80.0), 30.0),
            ("nps", None, 20.0),
            ("seats", Some(40.0), 50.0),
        ];
        for at in 0..=rows.len() {
            let split: Scorecard = split_and_merge("scorecard", &rows, at);
            let serial: Scorecard = serially("scorecard", &rows);
            assert_eq!(
                split.finish_to_bytes().unwrap(),
                serial.clone().finish_to_bytes().unwrap()
            );
        }
    }

    #[test]
    fn an_empty_profile_travels_as_no_bytes() {
        let empty = Profile::new();
        assert!(AggregateState::serialize(&empty).unwrap().is_empty());
        assert_eq!(<Profile as AggregateState>::deserialize(&[]).unwrap().count(), 0);
    }

    #[test]
    fn fixed_size_states_refuse_other_lengths() {
        assert!(<NpsCounts as AggregateState>::deserialize(&[0; 23]).is_err());
        assert!(<Brier as AggregateState>::deserialize(&[0; 25]).is_err());
        assert!(<WeightedMean as AggregateState>::deserialize(&[0; 31]).is_err());
        assert!(<CompensatedSum as AggregateState>::deserialize(&[0; 8]).is_err());
    }

    #[test]
    fn growing_states_report_their_rows() {
        let mut o = Outcomes::start("auc").unwrap();
        o.add_row(OutcomeRow {
            scored: Some((10.0, true)),
            parameter: None,
        })
        .unwrap();
        assert_eq!(o.held_rows(), Some(1));
        assert_eq!(o.serial_size(1), o.serialize().unwrap().len());
        assert_eq!(o.aggregate(), Some("auc"));
        let mut d = Design::start("fit_weights").unwrap();
        d.add_row(FitRow {
            features: vec![Some(1.0), None],
            names: Some(vec!["logins".into(), "nps".into()]),
            missing: crate::validate::FitMissing::Neutral,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.serial_size(1), d.serialize().unwrap().len());
        assert_eq!(NpsCounts::default().held_rows(), None);
    }
}

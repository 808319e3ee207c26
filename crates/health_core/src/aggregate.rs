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
//!
//! Only the contract lives here; each state implements it beside its own
//! code (`impl AggregateState for Outcomes` is in `validate`), with the two
//! common shapes below as macros.

use crate::Result;

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
        impl $crate::aggregate::AggregateState for $state {
            fn start(_: &'static str) -> $crate::Result<Self> {
                Ok(Self::default())
            }

            fn merge(&mut self, other: &Self) -> $crate::Result<()> {
                <$state>::merge(self, other);
                Ok(())
            }

            fn serialize(&self) -> $crate::Result<Vec<u8>> {
                Ok(self.to_bytes())
            }

            fn deserialize(bytes: &[u8]) -> $crate::Result<Self> {
                <$state>::from_bytes(bytes)
            }
        }
    };
}
pub(crate) use fixed_size_state;

/// A state that starts as `start` (a `Result<Self>`), merges fallibly (a
/// metric twice, a mismatch) and travels as its `to_bytes` form, read back
/// by `from_bytes`.
macro_rules! merging_state {
    ($state:ty, start: $start:expr) => {
        impl $crate::aggregate::AggregateState for $state {
            fn start(_: &'static str) -> $crate::Result<Self> {
                $start
            }

            fn merge(&mut self, other: &Self) -> $crate::Result<()> {
                <$state>::merge(self, other)
            }

            fn serialize(&self) -> $crate::Result<Vec<u8>> {
                Ok(self.to_bytes())
            }

            fn deserialize(bytes: &[u8]) -> $crate::Result<Self> {
                <$state>::from_bytes(bytes)
            }
        }
    };
}
pub(crate) use merging_state;

/// A state that keeps its rows (`fit_weights`, `fit_model`): starts empty,
/// appends the other's rows, travels as its own bytes, and tells how many
/// rows it holds so that a state too large for one value is refused early.
macro_rules! row_keeping_state {
    ($state:ty) => {
        impl $crate::aggregate::AggregateState for $state {
            fn start(_: &'static str) -> $crate::Result<Self> {
                Ok(<$state>::default())
            }

            fn merge(&mut self, other: &Self) -> $crate::Result<()> {
                <$state>::merge(self, other)
            }

            fn serialize(&self) -> $crate::Result<Vec<u8>> {
                self.to_bytes()
            }

            fn deserialize(bytes: &[u8]) -> $crate::Result<Self> {
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
pub(crate) use row_keeping_state;

#[cfg(test)]
pub(crate) mod testing {
    //! The parallel-plan law every state's tests check: rows split anywhere,
    //! serialised, merged, give the serial state.
    use super::*;

    /// What PostgreSQL does with a parallel plan: each worker folds its share
    /// of the rows, serialises; the leader deserialises and merges.
    pub(crate) fn split_and_merge<S, R: Clone>(aggregate: &'static str, rows: &[R], at: usize) -> S
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

    pub(crate) fn serially<S: Accumulate<R>, R: Clone>(aggregate: &'static str, rows: &[R]) -> S {
        let mut s = S::start(aggregate).unwrap();
        for r in rows {
            s.add_row(r.clone()).unwrap();
        }
        s
    }
}

//! SQL wrappers for docs/reference.md §2, long form: the `health.scorecard` type, the
//! `scorecard(metric, score, weight)` and `rollup(scorecard)` aggregates, and
//! the accessors `score`, `coverage`, `contributions`, `weakest`.

use health_core::change::ScoreChange;
use health_core::score::Missing;
use health_core::scorecard::{contributions_json, coverage_of, score_of};
use health_core::scorecard::{Rollup, Scorecard as CoreScorecard};
use health_core::HealthError;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::agg::aggregate;
use crate::args::{borrowed_argument, Word};
use crate::errors::{raise, OrRaise};
use crate::stored::stored_type;

stored_type! {
    /// A finished scorecard: metrics sorted by name, each with its score (NULL =
    /// missing) and weight. Text form: a JSON array of
    /// `{"metric", "score", "weight"}` objects; stored form: the compact binary
    /// layout of `health_core::scorecard`, held here as bytes and decoded only by
    /// the accessors that need names.
    pub struct Scorecard is "scorecard";
    text: |text| CoreScorecard::from_text(text).map(|card| card.to_bytes()),
        |bytes| CoreScorecard::from_stored_bytes(bytes).map(|card| card.to_text());
    // A value of an older stored format is received as the current one.
    binary {
        scorecard_send(card), scorecard_recv,
        rewrite: |bytes| CoreScorecard::from_stored_bytes(bytes).map(|card| card.to_bytes())
    }
    schema "scorecard_binary_io" { "" } requires [];
}

impl Scorecard {
    fn encode(card: &CoreScorecard) -> Self {
        Scorecard(card.to_bytes())
    }

    fn decode(&self) -> CoreScorecard {
        CoreScorecard::from_stored_bytes(&self.0).or_raise(TYPE)
    }
}

const TYPE: &str = "scorecard";

/// A `health.scorecard` argument read in place, for the accessors that need
/// only its totals (`score`, `coverage`): no decoding, no allocation.
pub struct ScorecardBytes<'a>(&'a [u8]);

impl<'a> ScorecardBytes<'a> {
    fn totals(&self, function: &str) -> health_core::score::Totals {
        CoreScorecard::totals_of_bytes(self.0).or_raise(function)
    }

    /// SAFETY: `datum` is a non-NULL scorecard datum valid for `'a`.
    unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        unsafe {
            let varlena = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
            ScorecardBytes(pgrx::varlena::varlena_to_byte_slice(varlena))
        }
    }
}

borrowed_argument!(ScorecardBytes, Scorecard);

// ---- scorecard(metric, score, weight) ----

aggregate! {
    aggregate "scorecard", state CoreScorecard;
    defines support (scorecard_combine, scorecard_serial, scorecard_deserial);
    requires (Scorecard);
    transition scorecard_trans(metric: Option<&str>, score: Option<f64>, weight: Option<f64>) {
        // A row without a metric (an account LEFT JOINed to no metrics) adds nothing.
        let metric = metric?;
        let Some(weight) = weight else {
            raise(
                "scorecard",
                HealthError::null(format!("weight of metric \"{metric}\" must not be NULL")),
            );
        };
        Some((metric, score, weight))
    }
    finalize scorecard_final(card) -> Scorecard {
        Some(Scorecard(card.finish_to_bytes().or_raise("scorecard")))
    }
    sql "scorecard" {
        // sspace: a 10-metric account's state, for the planner's hash-aggregate sizing.
        scorecard(metric "text", score "double precision", weight "double precision") via scorecard_trans, sspace 512
            is "Collects one account''s (metric, score, weight) rows into a scorecard; read it with score(), coverage(), contributions(), weakest().";
    }
}

// ---- rollup(scorecard) ----

aggregate! {
    aggregate "rollup", state Rollup;
    defines support (scorecard_rollup_combine, scorecard_rollup_serial, scorecard_rollup_deserial);
    requires (Scorecard);
    transition scorecard_rollup_trans(card: Option<Scorecard>) {
        Some(card?.decode())
    }
    finalize scorecard_rollup_final(rollup) -> Scorecard {
        Some(Scorecard::encode(&rollup.finish().or_raise("rollup")))
    }
    sql "scorecard_rollup" {
        rollup(sc "scorecard") via scorecard_rollup_trans, sspace 1024
            is "Merges scorecards of the same metrics (child accounts into a parent, days into a month) by averaging each metric''s score.";
    }
}

// ---- accessors ----

/// The weighted score of a scorecard, as `weighted_score` computes it.
#[pg_extern(immutable, strict, parallel_safe)]
fn score(sc: ScorecardBytes, missing: default!(Word, "'renormalize'"), min_coverage: default!(f64, 0)) -> Option<f64> {
    const F: &str = "score";
    let policy = Missing::parse(missing.as_str(F, "missing")).or_raise(F);
    if policy == Missing::Error {
        // Decoded, to name the missing metric.
        let card = CoreScorecard::from_stored_bytes(sc.0).or_raise(F);
        return card.score(policy, min_coverage).or_raise(F);
    }
    score_of(&sc.totals(F), policy, min_coverage).or_raise(F)
}

/// Weight share of the measured metrics, 0..1.
#[pg_extern(immutable, strict, parallel_safe)]
fn coverage(sc: ScorecardBytes) -> Option<f64> {
    coverage_of(&sc.totals("coverage"))
}

/// One object per metric, most points lost first.
#[pg_extern(immutable, strict, parallel_safe)]
fn contributions(sc: Scorecard, missing: default!(Word, "'renormalize'")) -> Option<JsonB> {
    const F: &str = "contributions";
    let policy = Missing::parse(missing.as_str(F, "missing")).or_raise(F);
    let card = sc.decode();
    let parts = card.contributions(policy).or_raise(F)?;
    Some(JsonB(contributions_json(&parts)))
}

/// Why did the score move from `before` to `after` (two scorecards of one
/// account)? The change split into per-metric parts that sum to it.
#[pg_extern(immutable, strict, parallel_safe)]
fn score_change(before: Scorecard, after: Scorecard, missing: default!(Word, "'renormalize'")) -> Option<JsonB> {
    const F: &str = "score_change";
    let policy = Missing::parse(missing.as_str(F, "missing")).or_raise(F);
    let change = ScoreChange::of(&before.decode(), &after.decode(), policy).or_raise(F)?;
    Some(JsonB(change.to_json()))
}

/// The `n` metrics losing the most points.
#[pg_extern(immutable, strict, parallel_safe)]
fn weakest(sc: Scorecard, n: default!(i32, 1)) -> Vec<String> {
    sc.decode()
        .weakest(n as i64)
        .or_raise("weakest")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    const ROWS: &str = "(VALUES ('usage', 80.0, 25.0), ('nps', 40.0, 30.0), ('tickets', NULL, 10.0)) t(m, s, w)";

    #[pg_test]
    fn score_change_parts_sum_to_the_change() {
        let sums = Spi::get_one::<bool>(
            r#"SELECT abs((c ->> 'change')::float8 - (SELECT sum((p ->> 'points')::float8) FROM jsonb_array_elements(c -> 'parts') p)) < 1e-9
                      AND (c ->> 'change')::float8 = -15
               FROM (SELECT health.score_change('[{"metric": "a", "score": 80, "weight": 1}, {"metric": "b", "score": 40, "weight": 1}]',
                                                '[{"metric": "a", "score": 50, "weight": 1}, {"metric": "b", "score": 40, "weight": 1}]') AS c) x"#,
        )
        .unwrap();
        assert_eq!(sums, Some(true));
    }

    #[pg_test]
    fn scorecard_accessors() {
        let score =
            Spi::get_one::<f64>(&format!("SELECT health.score(health.scorecard(m, s, w)) FROM {ROWS}")).unwrap();
        assert_eq!(score, Some(3200.0 / 55.0));
        let cov = Spi::get_one::<f64>(&format!(
            "SELECT health.coverage(health.scorecard(m, s, w)) FROM {ROWS}"
        ))
        .unwrap();
        assert_eq!(cov, Some(55.0 / 65.0));
        let weakest = Spi::get_one::<Vec<String>>(&format!(
            "SELECT health.weakest(health.scorecard(m, s, w), 2) FROM {ROWS}"
        ))
        .unwrap();
        assert_eq!(weakest, Some(vec!["nps".to_string(), "usage".to_string()]));
        let first = Spi::get_one::<String>(&format!(
            "SELECT health.contributions(health.scorecard(m, s, w)) -> 0 ->> 'metric' FROM {ROWS}"
        ))
        .unwrap();
        assert_eq!(first.as_deref(), Some("nps"));
    }

    #[pg_test]
    fn scorecard_text_round_trip() {
        let text = Spi::get_one::<String>(&format!("SELECT health.scorecard(m, s, w)::text FROM {ROWS}"))
            .unwrap()
            .unwrap();
        assert_eq!(
            text,
            r#"[{"metric": "nps", "score": 40, "weight": 30}, {"metric": "tickets", "score": null, "weight": 10}, {"metric": "usage", "score": 80, "weight": 25}]"#
        );
        let again = Spi::get_one::<f64>(&format!("SELECT health.score('{text}'::health.scorecard)")).unwrap();
        assert_eq!(again, Some(3200.0 / 55.0));
    }

    #[pg_test(error = "scorecard: metric \"nps\" appears 2 times in one scorecard group of 2 rows (scores 1, 1)")]
    fn scorecard_rejects_duplicate_metric() {
        Spi::get_one::<f64>("SELECT health.score(health.scorecard(m, 1, 1)) FROM (VALUES ('nps'), ('nps')) t(m)")
            .unwrap();
    }

    #[pg_test]
    fn rollup_averages() {
        let v = Spi::get_one::<f64>(
            "SELECT health.score(health.rollup(sc)) FROM (
                SELECT health.scorecard(m, s, 1) AS sc FROM (VALUES (1, 'a', 40.0), (1, 'b', 80.0), (2, 'a', 60.0), (2, 'b', NULL)) t(id, m, s) GROUP BY id
             ) x",
        )
        .unwrap();
        // a = mean(40, 60) = 50, b = 80 -> 65
        assert_eq!(v, Some(65.0));
    }
}

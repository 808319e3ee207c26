//! Health score -> tier label, traffic-light colour, letter grade.

use crate::error::{check_ascending, check_score, HealthError, Result};
use crate::normalise::band_index;

/// Validates a tier scheme: cutoffs strictly ascending and finite, one more
/// label than cutoffs.
pub fn check_scheme(cutoffs: &[f64], labels: usize) -> Result<()> {
    check_ascending("cutoffs", cutoffs)?;
    if labels != cutoffs.len() + 1 {
        return Err(HealthError::array(format!(
            "labels must have one more element than cutoffs, got {} labels for {} cutoffs",
            labels,
            cutoffs.len()
        )));
    }
    Ok(())
}

/// Index (0-based) of the upper-inclusive band of `score`:
/// `score <= cutoffs[1]` -> 0, `cutoffs[1] < score <= cutoffs[2]` -> 1, ...
pub fn tier_index(score: f64, cutoffs: &[f64], labels: usize) -> Result<usize> {
    check_score("score", score)?;
    check_scheme(cutoffs, labels)?;
    Ok(band_index(on_cutoff(score, cutoffs), cutoffs))
}

/// How close to a cutoff a score counts as on it: far below any difference
/// a score can mean (scores are 0..100), far above the noise of floating
/// point (weights of 0.1, 0.2, 0.3 make a mean of three 70s come out as
/// 69.99999999999999, which must not cost an account its tier or grade).
pub const CUTOFF_TOLERANCE: f64 = 1e-9;

/// `score`, or the cutoff it lies within [`CUTOFF_TOLERANCE`] of.
pub fn on_cutoff(score: f64, cutoffs: &[f64]) -> f64 {
    cutoffs
        .iter()
        .copied()
        .find(|c| (score - c).abs() <= CUTOFF_TOLERANCE)
        .unwrap_or(score)
}

/// `red` / `yellow` / `green` with the same upper-inclusive bands as `tier`.
pub fn color(score: f64, cutoffs: &[f64]) -> Result<&'static str> {
    if cutoffs.len() != 2 {
        return Err(HealthError::array(format!(
            "cutoffs must have exactly 2 elements for color, got {}",
            cutoffs.len()
        )));
    }
    const COLORS: [&str; 3] = ["red", "yellow", "green"];
    Ok(COLORS[tier_index(score, cutoffs, 3)?])
}

/// The lowest score of each letter grade; below the last, F.
const GRADE_FLOORS: [f64; 4] = [60.0, 70.0, 80.0, 90.0];

/// Letter grade, lower-inclusive: A >= 90, B >= 80, C >= 70, D >= 60, else F.
pub fn grade(score: f64) -> Result<&'static str> {
    let s = on_cutoff(check_score("score", score)?, &GRADE_FLOORS);
    let passed = GRADE_FLOORS.iter().take_while(|&&floor| s >= floor).count();
    Ok(["F", "D", "C", "B", "A"][passed])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    const DEFAULT: [f64; 2] = [40.0, 70.0];

    #[test]
    fn default_tiers_are_upper_inclusive() {
        assert_eq!(tier_index(0.0, &DEFAULT, 3).unwrap(), 0);
        assert_eq!(tier_index(40.0, &DEFAULT, 3).unwrap(), 0);
        assert_eq!(tier_index(40.000001, &DEFAULT, 3).unwrap(), 1);
        assert_eq!(tier_index(70.0, &DEFAULT, 3).unwrap(), 1);
        assert_eq!(tier_index(70.5, &DEFAULT, 3).unwrap(), 2);
        assert_eq!(tier_index(100.0, &DEFAULT, 3).unwrap(), 2);
    }

    #[test]
    fn colors_and_grades() {
        assert_eq!(color(40.0, &DEFAULT).unwrap(), "red");
        assert_eq!(color(41.0, &DEFAULT).unwrap(), "yellow");
        assert_eq!(color(71.0, &DEFAULT).unwrap(), "green");
        assert_eq!(color(50.0, &[30.0]).unwrap_err().kind, ErrorKind::ArraySubscript);
        assert_eq!(grade(90.0).unwrap(), "A");
        assert_eq!(grade(89.999).unwrap(), "B");
        assert_eq!(grade(80.0).unwrap(), "B");
        assert_eq!(grade(70.0).unwrap(), "C");
        assert_eq!(grade(60.0).unwrap(), "D");
        assert_eq!(grade(59.9).unwrap(), "F");
        assert_eq!(grade(0.0).unwrap(), "F");
        assert_eq!(grade(100.1).unwrap_err().kind, ErrorKind::OutOfRange);
    }

    #[test]
    fn noise_in_the_last_bits_does_not_move_a_tier_or_grade() {
        assert_eq!(grade(69.99999999999999).unwrap(), "C");
        assert_eq!(grade(69.9999999).unwrap(), "D");
        assert_eq!(tier_index(40.00000000000001, &DEFAULT, 3).unwrap(), 0);
        assert_eq!(tier_index(40.000001, &DEFAULT, 3).unwrap(), 1);
        assert_eq!(tier_index(70.00000000000001, &DEFAULT, 3).unwrap(), 1);
        assert_eq!(color(40.00000000000001, &DEFAULT).unwrap(), "red");
    }

    #[test]
    fn bad_schemes() {
        assert_eq!(
            tier_index(50.0, &DEFAULT, 2).unwrap_err().kind,
            ErrorKind::ArraySubscript
        );
        assert_eq!(
            tier_index(50.0, &[70.0, 40.0], 3).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            tier_index(f64::NAN, &DEFAULT, 3).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(tier_index(-1.0, &DEFAULT, 3).unwrap_err().kind, ErrorKind::OutOfRange);
        assert_eq!(tier_index(50.0, &[], 1).unwrap(), 0);
    }

    proptest! {
        #[test]
        fn tiers_are_monotone(a in 0.0f64..=100.0, b in 0.0f64..=100.0) {
            let (ta, tb) = (tier_index(a, &DEFAULT, 3).unwrap(), tier_index(b, &DEFAULT, 3).unwrap());
            if a <= b { prop_assert!(ta <= tb); }
            // the band agrees with the hand-written CASE
            let case = if a <= 40.0 { 0 } else if a <= 70.0 { 1 } else { 2 };
            prop_assert_eq!(ta, case);
        }
    }
}

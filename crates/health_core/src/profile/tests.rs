use super::*;
use proptest::prelude::*;

fn profile_of(values: &[f64]) -> Vec<u8> {
    let mut p = Profile::new();
    for &v in values {
        p.add(v).unwrap();
    }
    p.to_bytes().unwrap()
}

fn exact_rank(sorted: &[f64], v: f64) -> f64 {
    100.0 * sorted.iter().filter(|&&x| x <= v).count() as f64 / sorted.len() as f64
}

fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    if frac == 0.0 {
        sorted[lo]
    } else {
        sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac
    }
}

/// A small deterministic generator (xorshift), so tests need no crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-300), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

proptest! {
    #[test]
    fn fast_index_equals_libm_index(x in prop_oneof![1e-300f64..1e300, 0.001f64..1000.0]) {
        prop_assert_eq!(index_of(x, INV_LN_GAMMA), ceil_to_i32(libm::log(x) * INV_LN_GAMMA));
    }
}

#[test]
fn index_at_bucket_boundaries_follows_libm() {
    for i in -2000..2000 {
        let x = libm::pow(GAMMA, i as f64);
        for y in [x, x * (1.0 + f64::EPSILON), x * (1.0 - f64::EPSILON)] {
            assert_eq!(index_of(y, INV_LN_GAMMA), ceil_to_i32(libm::log(y) * INV_LN_GAMMA));
        }
    }
}

#[test]
fn fast_ceil_is_ceil() {
    for x in [
        0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.000001, -2.000001, 74813.2, -74813.2, 1e-300, -1e-300,
    ] {
        assert_eq!(ceil_to_i32(x), x.ceil() as i32, "{x}");
    }
}

#[test]
fn bucket_constant_is_one_over_ln_gamma() {
    assert!((INV_LN_GAMMA - 1.0 / libm::log(GAMMA)).abs() < 1e-12);
}

#[test]
fn moments_match_direct_formulas() {
    let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    let bytes = profile_of(&values);
    let v = ProfileView::new(&bytes).unwrap();
    assert_eq!(v.count(), 8);
    assert_eq!(v.mean(), 5.0);
    // sum of squared deviations = 32, sample variance 32/7.
    assert!((v.stddev() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    assert_eq!((v.min(), v.max()), (2.0, 9.0));
}

#[test]
fn ties_and_small_populations_are_exact() {
    let bytes = profile_of(&[3.0, 3.0, 3.0, 10.0]);
    let v = ProfileView::new(&bytes).unwrap();
    assert_eq!(v.percentile_rank(3.0).unwrap(), 75.0);
    assert_eq!(v.percentile_rank(2.9).unwrap(), 0.0);
    assert_eq!(v.percentile_rank(10.0).unwrap(), 100.0);
    assert_eq!(v.quantile(0.0).unwrap(), 3.0);
    assert_eq!(v.quantile(1.0).unwrap(), 10.0);
    // two values in one bucket: both extremes are exact
    let bytes = profile_of(&[100.0, 100.5]);
    let v = ProfileView::new(&bytes).unwrap();
    assert_eq!(v.quantile(0.5).unwrap(), 100.25);
    assert_eq!(v.percentile_rank(100.0).unwrap(), 50.0);
    assert_eq!(v.percentile_rank(100.5).unwrap(), 100.0);
}

#[test]
fn signs_and_zero_order_correctly() {
    let values = [-1000.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 1000.0];
    let bytes = profile_of(&values);
    let v = ProfileView::new(&bytes).unwrap();
    v.validate().unwrap();
    for (i, &x) in values.iter().enumerate() {
        let expected = exact_rank(&values, x);
        assert_eq!(v.percentile_rank(x).unwrap(), expected, "at {x} (#{i})");
    }
    assert_eq!(v.negatives(), 3);
    assert_eq!(v.quantile(0.5).unwrap(), 0.0);
}

#[test]
fn degenerate_populations_have_defined_scores() {
    let bytes = profile_of(&[5.0; 10]);
    let v = ProfileView::new(&bytes).unwrap();
    assert_eq!(v.stddev(), 0.0);
    for m in [Method::MinMax, Method::ZScore, Method::LogZScore] {
        assert_eq!(v.scale(5.0, m, true).unwrap(), 50.0);
        assert_eq!(v.scale(6.0, m, true).unwrap(), 100.0);
        assert_eq!(v.scale(4.0, m, false).unwrap(), 100.0);
    }
    assert_eq!(v.scale(5.0, Method::Percentile, true).unwrap(), 100.0);
    assert_eq!(v.scale(5.0, Method::Percentile, false).unwrap(), 100.0);
    let neg = profile_of(&[-1.0, 2.0]);
    let e = ProfileView::new(&neg)
        .unwrap()
        .scale(1.0, Method::LogZScore, true)
        .unwrap_err();
    assert_eq!(
        e.message,
        "log_zscore needs a profile of values >= 0, this one holds 1 negative values"
    );
    let e = ProfileView::new(&bytes)
        .unwrap()
        .scale(-1.0, Method::LogZScore, true)
        .unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::OutOfRange);
    assert!(Profile::new().to_bytes().is_err());
}

#[test]
fn accuracy_on_a_fat_tail() {
    let mut rng = Rng(42);
    let mut values: Vec<f64> = (0..200_000).map(|_| (3.0 + 1.5 * rng.normal()).exp()).collect();
    let bytes = profile_of(&values);
    values.sort_by(f64::total_cmp);
    let v = ProfileView::new(&bytes).unwrap();
    let mut worst_rank = 0.0f64;
    let mut worst_value = 0.0f64;
    for i in (0..values.len()).step_by(97) {
        let x = values[i];
        let exact = 100.0 * values.partition_point(|&y| y <= x) as f64 / values.len() as f64;
        worst_rank = worst_rank.max((v.percentile_rank(x).unwrap() - exact).abs());
    }
    for k in 0..=100 {
        let q = k as f64 / 100.0;
        let exact = exact_quantile(&values, q);
        worst_value = worst_value.max(((v.quantile(q).unwrap() - exact) / exact).abs());
    }
    assert!(worst_rank < 0.1, "rank error {worst_rank}");
    assert!(worst_value < 0.01, "relative value error {worst_value}");
}

#[test]
fn text_round_trip_and_validation() {
    let bytes = profile_of(&[0.0, 1.5, 2.0, 2.01, 300.0, -4.0]);
    let view = ProfileView::new(&bytes).unwrap();
    let text = view.to_text();
    assert_eq!(bytes_from_text(&text).unwrap(), bytes);
    let e = bytes_from_text(r#"{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "buckets": [[2, 1, 1]]}"#).unwrap_err();
    assert_eq!(e.message, "invalid profile: the buckets hold 2 values but count is 1");
    let e = bytes_from_text(r#"{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "buckets": [[2, 1, 2]]}"#).unwrap_err();
    assert_eq!(
        e.message,
        "invalid profile: bucket 1 spans more than 1 %: min 1 and max 2"
    );
    assert!(bytes_from_text("[]").is_err());
    assert!(ProfileView::new(&bytes[..10]).is_err());
}

fn arb_values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            (-1e6f64..1e6),
            (0u32..20).prop_map(|i| i as f64),
            (0.001f64..10.0),
            Just(0.0)
        ],
        1..300,
    )
}

proptest! {
    #[test]
    fn merge_is_exact_and_order_free(values in arb_values(), split in 0usize..300) {
        let split = split.min(values.len());
        let whole = profile_of(&values);
        let mut a = Profile::new();
        let mut b = Profile::new();
        for &v in &values[..split] { a.add(v).unwrap(); }
        for &v in values[split..].iter().rev() { b.add(v).unwrap(); }
        b.merge(&a);
        let merged = b.to_bytes().unwrap();
        let (w, m) = (ProfileView::new(&whole).unwrap(), ProfileView::new(&merged).unwrap());
        // The sketch part (buckets) is identical; moments agree to rounding.
        prop_assert_eq!(&whole[HEADER..], &merged[HEADER..]);
        prop_assert_eq!(w.count(), m.count());
        prop_assert!((w.mean() - m.mean()).abs() <= 1e-9 * w.mean().abs().max(1.0));
        // Round trip through the stored form changes nothing.
        prop_assert_eq!(Profile::from_bytes(&merged).unwrap().to_bytes().unwrap(), merged.clone());
        m.validate().unwrap();
    }

    #[test]
    fn ranks_and_quantiles_stay_within_bounds(values in arb_values(), probe in -1e6f64..1e6) {
        let bytes = profile_of(&values);
        let v = ProfileView::new(&bytes).unwrap();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // The rank error is at most the share of values sharing x's bucket.
        let inv = inv_ln_gamma();
        for x in sorted.iter().copied().chain([probe]) {
            let r = v.percentile_rank(x).unwrap();
            let crowd = sorted.iter().filter(|&&y| key_of(y, inv) == key_of(x, inv)).count();
            let bound = 100.0 * crowd as f64 / sorted.len() as f64;
            prop_assert!((r - exact_rank(&sorted, x)).abs() <= bound + 1e-9, "rank {} of {}", r, x);
        }
        // Each rank's estimate shares the true value's bucket: within 1 %.
        for k in 0..=10 {
            let q = k as f64 / 10.0;
            let h = q * (sorted.len() - 1) as f64;
            let scale = sorted[h.floor() as usize].abs().max(sorted[h.ceil() as usize].abs());
            let (est, exact) = (v.quantile(q).unwrap(), exact_quantile(&sorted, q));
            prop_assert!((est - exact).abs() <= 0.0101 * scale + 1e-12, "q {} est {} exact {}", q, est, exact);
        }
        prop_assert_eq!(v.quantile(0.0).unwrap(), sorted[0]);
        prop_assert_eq!(v.quantile(1.0).unwrap(), sorted[sorted.len() - 1]);
    }

    #[test]
    fn indexed_lookups_equal_binary_search(values in arb_values(), probes in prop::collection::vec(-2e6f64..2e6, 1..50)) {
        let bytes = profile_of(&values);
        let plain = ProfileView::new(&bytes).unwrap();
        if let Some(index) = RankIndex::build(&plain) {
            let fast = plain.with_index(&index);
            for x in values.iter().copied().chain(probes) {
                prop_assert_eq!(plain.percentile_rank(x).unwrap(), fast.percentile_rank(x).unwrap());
                prop_assert_eq!(plain.scale(x, Method::Percentile, false).unwrap(), fast.scale(x, Method::Percentile, false).unwrap());
            }
        }
    }

    #[test]
    fn scores_are_sub_scores(values in arb_values(), probe in -1e7f64..1e7, higher in any::<bool>()) {
        let bytes = profile_of(&values);
        let v = ProfileView::new(&bytes).unwrap();
        for m in [Method::Percentile, Method::MinMax, Method::ZScore] {
            let s = v.scale(probe, m, higher).unwrap();
            prop_assert!((0.0..=100.0).contains(&s));
        }
    }
}

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

#[test]
fn ordered_keys_order_like_values() {
    let values = [
        -1e308,
        -2.5,
        -1.0,
        -1e-300,
        0.0,
        1e-320,
        1e-300,
        0.5,
        1.0,
        1.0000000000000002,
        2.0,
        1e308,
    ];
    for w in values.windows(2) {
        assert!(ordered(w[0]) < ordered(w[1]), "{} {}", w[0], w[1]);
    }
    for v in values {
        assert_eq!(from_ordered(ordered(v)), v);
    }
    // The two signs part at bit 63: no bucket below shift 64 holds both.
    assert_eq!(cell(ordered(-1e-300), 63), 0);
    assert_eq!(cell(ordered(0.0), 63), 1);
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
    // neighbours closer than any sketch bucket are still told apart
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

/// Max |percentile_rank - 100 * cume_dist| over every 97th value, and the
/// largest value error of 101 quantiles relative to the bucket they fall in.
fn worst_errors(values: &mut [f64]) -> (f64, usize, usize) {
    let bytes = profile_of(values);
    values.sort_by(f64::total_cmp);
    let v = ProfileView::new(&bytes).unwrap();
    let mut worst_rank = 0.0f64;
    for i in (0..values.len()).step_by(97).chain([values.len() - 1]) {
        let x = values[i];
        let exact = 100.0 * values.partition_point(|&y| y <= x) as f64 / values.len() as f64;
        worst_rank = worst_rank.max((v.percentile_rank(x).unwrap() - exact).abs());
    }
    (worst_rank, v.n_buckets(), bytes.len())
}

#[test]
fn accuracy_on_a_fat_tail_and_a_narrow_cluster() {
    let mut rng = Rng(42);
    let mut fat: Vec<f64> = (0..200_000).map(|_| (3.0 + 1.5 * rng.normal()).exp()).collect();
    let (rank, buckets, _) = worst_errors(&mut fat);
    assert!(rank < 0.1, "lognormal: rank error {rank} with {buckets} buckets");
    // Values far from zero with a tiny spread (the shape 1 % log buckets failed on).
    let mut narrow: Vec<f64> = (0..200_000).map(|_| 100.0 + 0.3 * rng.normal()).collect();
    let (rank, buckets, _) = worst_errors(&mut narrow);
    assert!(rank < 0.1, "N(100, 0.3): rank error {rank} with {buckets} buckets");
    // Quantiles fall between the extremes of the true value's bucket.
    let bytes = profile_of(&narrow);
    let v = ProfileView::new(&bytes).unwrap();
    for k in 0..=100 {
        let q = k as f64 / 100.0;
        let r = (q * (narrow.len() - 1) as f64).floor() as u64;
        let j = (0..v.n_buckets()).find(|&j| v.cumulative(j) > r).unwrap();
        let (lo, hi) = (v.bucket_min(j), v.bucket_max(j));
        let est = v.quantile(q).unwrap();
        assert!(lo <= est && est <= hi.max(v.value_at_rank(r + 1)), "q {q}");
        assert!(
            (est - exact_quantile(&narrow, q)).abs() <= (hi - lo).max(v.value_at_rank((r + 1).min(v.count() - 1)) - lo),
            "q {q}"
        );
    }
}

#[test]
fn exact_up_to_the_exact_limit_of_distinct_values() {
    let mut rng = Rng(7);
    // EXACT_LIMIT distinct values, each repeated: every rank and quantile is exact.
    let distinct: Vec<f64> = (0..EXACT_LIMIT).map(|_| 100.0 + 0.3 * rng.normal()).collect();
    let values: Vec<f64> = (0..100_000).map(|i| distinct[(i * 7919) % EXACT_LIMIT]).collect();
    let bytes = profile_of(&values);
    let v = ProfileView::new(&bytes).unwrap();
    assert!(v.is_exact());
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    for &x in distinct.iter().step_by(13) {
        assert_eq!(v.percentile_rank(x).unwrap(), exact_rank(&sorted, x));
        assert_eq!(v.percentile_rank(x - 1e-9).unwrap(), exact_rank(&sorted, x - 1e-9));
    }
    for k in 0..=200 {
        let q = k as f64 / 200.0;
        assert_eq!(v.quantile(q).unwrap(), exact_quantile(&sorted, q), "q {q}");
    }
    // One more distinct value and it is a sketch of at most SKETCH_LIMIT buckets.
    let mut more = values.clone();
    more.push(1e6);
    let bytes = profile_of(&more);
    let v = ProfileView::new(&bytes).unwrap();
    assert!(!v.is_exact() && v.n_buckets() <= SKETCH_LIMIT);
    v.validate().unwrap();
}

/// What 0.1.0 and 0.2.0 stored (format 1) still answers as they answered.
#[test]
fn version_one_profiles_answer_as_before() {
    let fixture = include_str!("../../../../tests/upgrade/written-by-0.1.0.txt");
    let line = fixture.lines().find(|l| l.starts_with("profile|")).unwrap();
    let fields: Vec<&str> = line.split('|').collect();
    let bytes: Vec<u8> = (0..fields[1].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&fields[1][i..i + 2], 16).unwrap())
        .collect();
    let v = ProfileView::new(&bytes).unwrap();
    v.validate().unwrap();
    assert_eq!(v.version(), 1);
    assert_eq!(v.to_text(), fields[2]);
    assert_eq!(bytes_from_text(fields[2]).unwrap(), bytes);
    let answers = format!(
        "{} {} {} {}",
        v.percentile_rank(30.0).unwrap(),
        v.quantile(0.9).unwrap(),
        v.count(),
        v.mean()
    );
    assert_eq!(answers, fields[3]);
    // Merged, it becomes a version-2 profile that answers within its buckets.
    let merged = Profile::from_bytes(&bytes).unwrap().to_bytes().unwrap();
    let m = ProfileView::new(&merged).unwrap();
    m.validate().unwrap();
    assert_eq!(m.version(), 2);
    assert_eq!(m.count(), 5000);
    assert!((m.percentile_rank(30.0).unwrap() - 19.56).abs() < 0.1);
}

#[test]
fn text_round_trip_and_validation() {
    let bytes = profile_of(&[0.0, 1.5, 2.0, 2.01, 300.0, -4.0]);
    let view = ProfileView::new(&bytes).unwrap();
    let text = view.to_text();
    assert_eq!(bytes_from_text(&text).unwrap(), bytes);
    let e = bytes_from_text(r#"{"count": 1, "mean": 1, "min": 1, "max": 1, "negatives": 0, "m2": 0, "log_mean": 0.6931471805599453, "log_m2": 0, "buckets": [[2, 1, 1]]}"#).unwrap_err();
    assert_eq!(e.message, "invalid profile: the buckets hold 2 values but count is 1");
    let e = bytes_from_text(r#"{"count": 2, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "global_shift": 40, "block_shift": 52, "buckets": [[2, 1, 2, 1, 1, 40]]}"#).unwrap_err();
    assert_eq!(
        e.message,
        "invalid profile: bucket 1 (min 1, max 2) is not one bucket at its shift 40"
    );
    let e = bytes_from_text(r#"{"count": 3, "mean": 1.5, "min": 1, "max": 2, "negatives": 0, "m2": 0.5, "log_mean": 0.9, "log_m2": 0, "global_shift": 63, "block_shift": 63, "buckets": [[3, 1, 2, 2, 2, 63]]}"#).unwrap_err();
    assert_eq!(
        e.message,
        "invalid profile: bucket 1 holds 3 values, 2 at its min and 2 at its max"
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
    fn small_populations_are_exact(values in arb_values(), probe in -1e6f64..1e6) {
        let bytes = profile_of(&values);
        let v = ProfileView::new(&bytes).unwrap();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        prop_assert!(v.is_exact());
        for x in sorted.iter().copied().chain([probe]) {
            prop_assert_eq!(v.percentile_rank(x).unwrap(), exact_rank(&sorted, x), "rank of {}", x);
        }
        for k in 0..=10 {
            let q = k as f64 / 10.0;
            prop_assert_eq!(v.quantile(q).unwrap(), exact_quantile(&sorted, q));
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

/// Values of one of several shapes, enough of them to make a sketch.
fn shaped(shape: u8, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|_| match shape % 5 {
            0 => (2.0 * rng.normal()).exp(),
            1 => 100.0 + 0.3 * rng.normal(),
            2 => (rng.next() * 50.0).floor(),
            3 => -50.0 + 10.0 * rng.normal(),
            _ => rng.normal() * 1e-3 + if rng.next() < 0.5 { 0.0 } else { 1e6 },
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn sketch_merges_are_exact_and_order_free(shape in 0u8..5, n in 33_000usize..60_000, seed in any::<u64>(), parts in 2usize..5) {
        let values = shaped(shape, n, seed);
        let whole = profile_of(&values);
        let mut merged = Profile::new();
        for (i, chunk) in values.chunks(n / parts + 1).enumerate() {
            let mut part = Profile::new();
            for &v in chunk { part.add(v).unwrap(); }
            // Through the stored form on every other part, as rollup does.
            if i % 2 == 1 {
                part = Profile::from_bytes(&part.to_bytes().unwrap()).unwrap();
            }
            let mut next = part;
            next.merge(&merged);
            merged = next;
        }
        let merged = merged.to_bytes().unwrap();
        prop_assert_eq!(&whole[72..], &merged[72..]);
        ProfileView::new(&merged).unwrap().validate().unwrap();
    }

    #[test]
    fn sketch_rank_error_is_at_most_the_crowd_of_the_bucket(shape in 0u8..5, seed in any::<u64>()) {
        let mut sorted = shaped(shape, 40_000, seed);
        let bytes = profile_of(&sorted);
        sorted.sort_by(f64::total_cmp);
        let v = ProfileView::new(&bytes).unwrap();
        for &x in sorted.iter().step_by(101) {
            // The bucket of x: the one whose extremes enclose it, if any.
            let j = v.find(x);
            let crowd = if j < v.n_buckets() && v.bucket_min(j) <= x { v.bucket_count(j) as usize } else { 0 };
            let bound = 100.0 * crowd as f64 / sorted.len() as f64;
            prop_assert!((v.percentile_rank(x).unwrap() - exact_rank(&sorted, x)).abs() <= bound + 1e-9);
        }
    }
}

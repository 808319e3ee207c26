//! What long computations owe the database they run in: they stop when asked
//! to (a cancel, a statement timeout) and they grow only by asking first, so
//! that running out of memory is an error for one statement, not the end of
//! the process.
//!
//! The core knows nothing of PostgreSQL: the extension installs the check
//! (`set_interrupt_check`), and loops over whole states call
//! [`Ticker::tick`], which runs it every 65 536 steps. The check may unwind
//! (that is how a cancel leaves the loop), so nothing here keeps a state
//! half-changed across a tick that matters after an error: the state is
//! discarded with the statement.

use std::sync::OnceLock;

use crate::error::{HealthError, Result};

static INTERRUPT_CHECK: OnceLock<fn()> = OnceLock::new();

/// Installs the function long loops call to honour cancels and timeouts.
pub fn set_interrupt_check(check: fn()) {
    let _ = INTERRUPT_CHECK.set(check);
}

/// Runs the installed check now (nothing when none is installed).
#[inline]
pub fn check_interrupts() {
    if let Some(check) = INTERRUPT_CHECK.get() {
        check();
    }
}

/// Counts the steps of a loop and checks for interrupts every 65 536.
#[derive(Default)]
pub struct Ticker(u32);

impl Ticker {
    #[inline]
    pub fn tick(&mut self) {
        self.0 = self.0.wrapping_add(1);
        if self.0 & 0xFFFF == 0 {
            check_interrupts();
        }
    }

    /// Counts `n` steps at once (a block of work done without ticking).
    #[inline]
    pub fn advance(&mut self, n: usize) {
        let before = self.0;
        self.0 = self.0.wrapping_add(n as u32);
        if n >= 0x10000 || (before & !0xFFFF) != (self.0 & !0xFFFF) {
            check_interrupts();
        }
    }
}

/// Makes room for `additional` more elements, doubling as `Vec` does, but
/// asking the allocator first: a refusal is 53200 (out of memory) naming
/// what could not grow, instead of an abort.
pub fn reserve<T>(v: &mut Vec<T>, additional: usize, what: &str) -> Result<()> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    let wanted = v
        .len()
        .saturating_add(additional)
        .max(v.capacity().saturating_mul(2))
        .max(8);
    if v.try_reserve_exact(wanted - v.len()).is_ok() {
        return Ok(());
    }
    // Near the limit, grow by a quarter rather than double; never by less
    // (growing by one element at a time would copy the state on every row).
    let step = additional.max(v.len() / 4);
    v.try_reserve_exact(step).map_err(|_| {
        HealthError::out_of_memory(format!(
            "out of memory: {what} holds {} values and could not grow by {additional}",
            v.len()
        ))
    })
}

/// `v.push(x)` that asks first (see [`reserve`]).
#[inline]
pub fn push<T>(v: &mut Vec<T>, x: T, what: &str) -> Result<()> {
    if v.len() == v.capacity() {
        reserve(v, 1, what)?;
    }
    v.push(x);
    Ok(())
}

/// `v.extend_from_slice(more)` that asks first (see [`reserve`]).
pub fn extend<T: Copy>(v: &mut Vec<T>, more: &[T], what: &str) -> Result<()> {
    reserve(v, more.len(), what)?;
    v.extend_from_slice(more);
    Ok(())
}

/// A buffer of exactly `len` bytes' capacity, or 53200.
pub fn buffer(len: usize, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| HealthError::out_of_memory(format!("out of memory: no room for {what} of {len} bytes")))?;
    Ok(out)
}

/// Sorts scores in place in the order of `f64::total_cmp`, checking for
/// interrupts as it goes: a most-significant-digit radix sort (American
/// flag sort) on the order-preserving bit pattern of each value, needing no
/// second buffer, so a state of 8 bytes a row stays 8 bytes a row.
pub fn sort_scores(v: &mut [f64], ticker: &mut Ticker) {
    radix_pass(v, 56, ticker);
}

#[inline]
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn radix_pass(v: &mut [f64], shift: u32, ticker: &mut Ticker) {
    if v.len() <= 256 {
        ticker.advance(v.len());
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    let digit = |x: f64| ((order_key(x) >> shift) & 0xFF) as usize;
    let mut counts = [0usize; 256];
    for &x in v.iter() {
        counts[digit(x)] += 1;
    }
    ticker.advance(v.len());
    let mut starts = [0usize; 256];
    let mut ends = [0usize; 256];
    let mut at = 0;
    for d in 0..256 {
        starts[d] = at;
        at += counts[d];
        ends[d] = at;
    }
    // Cycle every value into its bucket: each swap puts one value home.
    let mut next = starts;
    for d in 0..256 {
        while next[d] < ends[d] {
            let home = digit(v[next[d]]);
            if home == d {
                next[d] += 1;
            } else {
                v.swap(next[d], next[home]);
                next[home] += 1;
            }
            ticker.tick();
        }
    }
    if shift > 0 {
        for d in 0..256 {
            if ends[d] - starts[d] > 1 {
                radix_pass(&mut v[starts[d]..ends[d]], shift - 8, ticker);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refused_growth_is_out_of_memory_not_an_abort() {
        let mut v: Vec<u64> = Vec::new();
        let err = reserve(&mut v, usize::MAX / 4, "a test state").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::OutOfMemory);
        assert!(err.message.contains("a test state"), "{}", err.message);
        assert!(buffer(usize::MAX / 2, "a huge value").is_err());
    }

    #[test]
    fn ticker_checks_every_65536_steps() {
        // (no check installed in unit tests: ticking is only counting)
        let mut t = Ticker::default();
        for _ in 0..200_000 {
            t.tick();
        }
        t.advance(1 << 20);
    }

    proptest! {
        #[test]
        fn sort_scores_orders_as_total_cmp(mut v in prop::collection::vec(
            prop_oneof![any::<f64>().prop_filter("finite", |x| x.is_finite()),
                        (0u8..5).prop_map(f64::from), Just(-0.0), Just(0.0)], 0..3000)) {
            let mut expected = v.clone();
            expected.sort_unstable_by(f64::total_cmp);
            sort_scores(&mut v, &mut Ticker::default());
            prop_assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
}

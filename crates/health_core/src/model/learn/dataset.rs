//! The rows in canonical order: one matrix, so nothing downstream depends
//! on the order in which a plan delivered them.

use super::*;

/// The rows as one matrix: metrics in name order, rows ordered by account
/// hash, outcome and values, so nothing downstream depends on the order in
/// which a plan delivered them.
pub(super) struct Dataset {
    pub(super) names: Vec<String>,
    pub(super) p: usize,
    /// Row-major raw values; NaN: missing.
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<bool>,
    pub(super) keys: Vec<u64>,
}

pub(super) fn filled(len: usize, value: f64) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    resources::reserve(&mut v, len, STATE)?;
    v.resize(len, value);
    Ok(v)
}

impl Learner {
    pub(super) fn dataset(&self) -> Result<Dataset> {
        let (n, p) = (self.rows(), self.names.len());
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        let mut column = vec![0usize; p];
        for (c, &i) in order.iter().enumerate() {
            column[i] = c;
        }
        let cells = n
            .checked_mul(p)
            .ok_or_else(|| HealthError::program_limit("too many rows and metrics"))?;
        let mut arrived = filled(cells, f64::NAN)?;
        let mut start = 0usize;
        let mut ticker = Ticker::default();
        for r in 0..n {
            ticker.tick();
            let end = self.ends[r] as usize;
            for e in start..end {
                arrived[r * p + column[self.metric[e] as usize]] = self.value[e];
            }
            start = end;
        }
        let row = |r: usize| &arrived[r * p..(r + 1) * p];
        let mut rows: Vec<usize> = (0..n).collect();
        rows.sort_unstable_by(|&a, &b| {
            self.keys[a]
                .cmp(&self.keys[b])
                .then(self.churned[a].cmp(&self.churned[b]))
                .then_with(|| {
                    row(a)
                        .iter()
                        .zip(row(b))
                        .map(|(u, v)| u.total_cmp(v))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        });
        let mut x = Vec::new();
        resources::reserve(&mut x, cells, STATE)?;
        for &r in &rows {
            ticker.advance(p);
            x.extend_from_slice(row(r));
        }
        Ok(Dataset {
            names: order.iter().map(|&i| self.names[i].clone()).collect(),
            p,
            x,
            y: rows.iter().map(|&r| self.churned[r]).collect(),
            keys: rows.iter().map(|&r| self.keys[r]).collect(),
        })
    }
}

impl Dataset {
    pub(super) fn value(&self, row: usize, column: usize) -> Option<f64> {
        let v = self.x[row * self.p + column];
        (!v.is_nan()).then_some(v)
    }

    /// The metrics to learn from: those `options.metrics` names, or all.
    pub(super) fn columns(&self, options: &Options) -> Result<Vec<usize>> {
        let Some(wanted) = &options.metrics else {
            return Ok((0..self.p).collect());
        };
        let mut columns = Vec::new();
        for name in wanted {
            match self.names.iter().position(|n| n == name) {
                Some(c) if !columns.contains(&c) => columns.push(c),
                Some(_) => {}
                None => {
                    let meant = closest(name, self.names.iter().map(String::as_str))
                        .map(|m| format!(" (did you mean \"{m}\"?)"))
                        .unwrap_or_default();
                    return Err(HealthError::invalid(format!(
                        "options.metrics names \"{name}\"{meant}, which no row has; the metrics are {}",
                        self.names.join(", ")
                    )));
                }
            }
        }
        Ok(columns)
    }

    /// The model's raw values of one row, in the order of `columns`.
    pub(super) fn values(&self, row: usize, columns: &[usize]) -> Vec<Option<f64>> {
        columns.iter().map(|&c| self.value(row, c)).collect()
    }
}

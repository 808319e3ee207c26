//! The aggregate's state: every row of `fit_model`'s arguments, and its
//! serial form.

use super::*;

/// Every row of `fit_model`'s arguments: the account's hash, the outcome and
/// the metrics it has (names interned), in arrival order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learner {
    pub(super) names: Vec<String>,
    pub(super) index: HashMap<String, u32>,
    pub(super) keys: Vec<u64>,
    pub(super) churned: Vec<bool>,
    /// Per row, the end of its entries in `metric` and `value`.
    pub(super) ends: Vec<u64>,
    pub(super) metric: Vec<u32>,
    /// NaN: the metric is present but NULL (so an all-NULL metric is known).
    pub(super) value: Vec<f64>,
    /// The options' JSON text, the same on every row.
    pub(super) options: Option<String>,
}

/// One row of `fit_model`'s arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LearnRow {
    pub account: String,
    /// The metrics object's keys and values (None: JSON null).
    pub metrics: Vec<(String, Option<f64>)>,
    pub churned: bool,
    pub options: Option<String>,
}

impl LearnRow {
    /// A row from SQL: the metrics object's values must be numbers or nulls.
    pub fn from_json(account: &str, metrics: Value, churned: bool, options: Option<Value>) -> Result<LearnRow> {
        let Value::Object(map) = metrics else {
            return Err(HealthError::invalid(format!(
                "metrics must be a JSON object of metric name to value, got {}",
                super::parse::kind(&metrics)
            )));
        };
        let metrics = map
            .into_iter()
            .map(|(name, value)| match value {
                Value::Null => Ok((name, None)),
                Value::Number(n) => Ok((name, Some(n.as_f64().unwrap_or(f64::INFINITY)))),
                other => Err(super::parse::not_a_number(&name, &other)),
            })
            .collect::<Result<_>>()?;
        Ok(LearnRow {
            account: account.to_owned(),
            metrics,
            churned,
            options: options.map(|o| o.to_string()),
        })
    }
}

impl Learner {
    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    pub(super) fn intern(&mut self, name: &str) -> Result<u32> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        let i = self.names.len() as u32;
        resources::push(&mut self.names, name.to_owned(), STATE)?;
        self.index.insert(name.to_owned(), i);
        Ok(i)
    }

    pub(super) fn set_options(&mut self, options: Option<&str>) -> Result<()> {
        match (&self.options, options) {
            (Some(known), Some(given)) if known != given => Err(HealthError::invalid(format!(
                "options must be the same on every row, got {given} after {known}"
            ))),
            (None, Some(given)) if !self.keys.is_empty() => Err(HealthError::invalid(format!(
                "options must be the same on every row, got {given} after none"
            ))),
            (Some(known), None) => Err(HealthError::invalid(format!(
                "options must be the same on every row, got none after {known}"
            ))),
            (None, Some(given)) => {
                Options::parse(Some(given))?; // fail on the first row, not after the scan
                self.options = Some(given.to_owned());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn add_row(&mut self, row: LearnRow) -> Result<()> {
        self.set_options(row.options.as_deref())?;
        for (name, value) in &row.metrics {
            if let Some(v) = value {
                if !v.is_finite() {
                    return Err(HealthError::invalid(format!(
                        "metrics.{name} must be a finite number, got {}",
                        num(*v)
                    )));
                }
            }
            let i = self.intern(name)?;
            resources::push(&mut self.metric, i, STATE)?;
            resources::push(&mut self.value, value.unwrap_or(f64::NAN), STATE)?;
        }
        resources::push(&mut self.keys, account_hash(&row.account), STATE)?;
        resources::push(&mut self.churned, row.churned, STATE)?;
        resources::push(&mut self.ends, self.metric.len() as u64, STATE)
    }

    pub fn merge(&mut self, other: &Learner) -> Result<()> {
        if other.keys.is_empty() {
            return Ok(());
        }
        if self.keys.is_empty() {
            self.options = other.options.clone();
        } else if self.options != other.options {
            return Err(HealthError::invalid("options must be the same on every row"));
        }
        let map: Vec<u32> = other.names.iter().map(|n| self.intern(n)).collect::<Result<_>>()?;
        let base = self.metric.len() as u64;
        resources::reserve(&mut self.metric, other.metric.len(), STATE)?;
        self.metric.extend(other.metric.iter().map(|&i| map[i as usize]));
        resources::extend(&mut self.value, &other.value, STATE)?;
        resources::extend(&mut self.keys, &other.keys, STATE)?;
        resources::extend(&mut self.churned, &other.churned, STATE)?;
        resources::reserve(&mut self.ends, other.ends.len(), STATE)?;
        self.ends.extend(other.ends.iter().map(|&e| e + base));
        Ok(())
    }

    /// Bytes of the serial form with `rows` rows (entries estimated from the
    /// rows held so far).
    pub fn serial_size(&self, rows: usize) -> usize {
        let per_row = if self.keys.is_empty() {
            1
        } else {
            self.metric.len().div_ceil(self.keys.len()).max(1)
        };
        let names: usize = self.names.iter().map(|n| n.len() + 8).sum();
        rows.saturating_mul(17 + 12 * per_row)
            .saturating_add(names + self.options.as_ref().map_or(0, String::len) + 48)
    }

    /// names (count, then each as length + UTF-8), options (length + 1 and
    /// UTF-8, or 0), rows, keys, outcomes, row ends, entries, metric
    /// indexes, values.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let size = self.serial_size(0) + self.keys.len() * 17 + self.metric.len() * 12;
        let mut out = resources::buffer(size, "the serialised state")?;
        let put = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
        put(&mut out, self.names.len() as u64);
        for n in &self.names {
            put(&mut out, n.len() as u64);
            out.extend_from_slice(n.as_bytes());
        }
        match &self.options {
            None => put(&mut out, 0),
            Some(o) => {
                put(&mut out, o.len() as u64 + 1);
                out.extend_from_slice(o.as_bytes());
            }
        }
        put(&mut out, self.keys.len() as u64);
        let mut ticker = Ticker::default();
        for i in 0..self.keys.len() {
            ticker.tick();
            put(&mut out, self.keys[i]);
            put(&mut out, self.ends[i]);
        }
        out.extend(self.churned.iter().map(|&c| u8::from(c)));
        put(&mut out, self.metric.len() as u64);
        for i in 0..self.metric.len() {
            ticker.tick();
            out.extend_from_slice(&self.metric[i].to_le_bytes());
            out.extend_from_slice(&self.value[i].to_le_bytes());
        }
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Learner> {
        let bad = || HealthError::text(format!("invalid fit_model state of {} bytes", bytes.len()));
        let mut r = ByteReader::new(bytes, bad);
        let mut learner = Learner::default();
        let names = r.u64()? as usize;
        for _ in 0..names {
            let len = r.u64()? as usize;
            let name = std::str::from_utf8(r.take(len)?).map_err(|_| bad())?.to_owned();
            learner.intern(&name)?;
        }
        if learner.names.len() != names {
            return Err(bad()); // a name twice
        }
        learner.options = match r.u64()? as usize {
            0 => None,
            n => Some(std::str::from_utf8(r.take(n - 1)?).map_err(|_| bad())?.to_owned()),
        };
        let rows = r.u64()? as usize;
        if rows > bytes.len() {
            return Err(bad());
        }
        resources::reserve(&mut learner.keys, rows, STATE)?;
        resources::reserve(&mut learner.ends, rows, STATE)?;
        let mut ticker = Ticker::default();
        for _ in 0..rows {
            ticker.tick();
            learner.keys.push(r.u64()?);
            learner.ends.push(r.u64()?);
        }
        learner.churned.extend(r.take(rows)?.iter().map(|&b| b != 0));
        let entries = r.u64()? as usize;
        if entries > bytes.len() {
            return Err(bad());
        }
        resources::reserve(&mut learner.metric, entries, STATE)?;
        resources::reserve(&mut learner.value, entries, STATE)?;
        for _ in 0..entries {
            ticker.tick();
            let metric = r.u32()?;
            if metric as usize >= names {
                return Err(bad());
            }
            learner.metric.push(metric);
            learner.value.push(r.f64()?);
        }
        if !r.at_end()
            || learner.ends.windows(2).any(|w| w[0] > w[1])
            || learner.ends.last().is_some_and(|&e| e as usize != entries)
        {
            return Err(bad());
        }
        Ok(learner)
    }
}

// ---- as an aggregate's state (see aggregate.rs) ----

row_keeping_state!(Learner);

/// `fit_model`: one account's row.
impl Accumulate<LearnRow> for Learner {
    fn add_row(&mut self, row: LearnRow) -> Result<()> {
        Learner::add_row(self, row)
    }
}

//! Format versions of the stored types, so that a value written by one
//! release is read correctly by a later one, or refused with a clear error,
//! never misread.
//!
//! `profile` has carried a version in its header from the start (a `u32`,
//! 1 in 0.1.0). `scorecard`, `trend` and `model` had none in 0.1.0: their
//! 0.1.0 layout is format 1, recognised by its shape. From 0.2.0 on they
//! start with a 4-byte header, `[version, tag, tag, 0xFF]`, chosen so that
//! no format-1 value can look like it:
//! - a format-1 scorecard starts with its metric count as a little-endian
//!   `u32`, whose last byte could only be 0xFF for more than 4 billion
//!   metrics (a value is at most 1 GB);
//! - a format-1 trend is a whole number of 16-byte points; a headed one is not;
//! - a format-1 model is JSON text starting with `{`; 0xFF is never UTF-8.

use crate::error::{HealthError, Result};

/// Reads little-endian fields from the front of a stored or serialised
/// form. A read past the end is the error `truncated` makes, so each form
/// keeps its own message.
pub struct ByteReader<'a, E> {
    bytes: &'a [u8],
    pos: usize,
    truncated: E,
}

impl<'a, E: Fn() -> HealthError> ByteReader<'a, E> {
    pub fn new(bytes: &'a [u8], truncated: E) -> Self {
        ByteReader {
            bytes,
            pos: 0,
            truncated,
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(&self.truncated)?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        b.copy_from_slice(self.take(N)?);
        Ok(b)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// Every byte has been read.
    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// A reader of a fixed-size state's serial form: `fields` eight-byte
/// little-endian fields and nothing else. Any other length is refused
/// before a field is read (the bytes cross a process), so no read fails.
pub fn fixed_fields<'a>(
    what: &str,
    bytes: &'a [u8],
    fields: usize,
) -> Result<ByteReader<'a, impl Fn() -> HealthError>> {
    if bytes.len() != 8 * fields {
        return Err(HealthError::text(format!(
            "invalid {what} state of {} bytes, expected {}",
            bytes.len(),
            8 * fields
        )));
    }
    Ok(ByteReader::new(bytes, || HealthError::text("invalid state: truncated")))
}

/// Whole numbers as JSON integers (1, not 1.0); others as the shortest
/// decimal that reads back to the same f64 (stored types' text forms).
pub fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// The header's last byte.
const MARK: u8 = 0xFF;

/// A stored type: its name (for errors), its tag, the format this build
/// writes, and how a format-1 (0.1.0) value is recognised.
pub struct StoredType {
    pub name: &'static str,
    tag: [u8; 2],
    pub current: u8,
    is_format_1: fn(&[u8]) -> bool,
}

pub const SCORECARD: StoredType = StoredType {
    name: "scorecard",
    tag: *b"SC",
    current: 2,
    // 4 bytes of count, and the count's high byte is never 0xFF
    is_format_1: |b| b.len() < 4 || b[3] != MARK,
};

pub const TREND: StoredType = StoredType {
    name: "trend",
    tag: *b"TR",
    current: 2,
    is_format_1: |b| b.len() % 16 == 0,
};

pub const MODEL: StoredType = StoredType {
    name: "model",
    tag: *b"MD",
    current: 2,
    is_format_1: |b| b.first() == Some(&b'{'),
};

/// `health.responses` (new in 0.3.0: no format 1).
pub const RESPONSES: StoredType = StoredType {
    name: "responses",
    tag: *b"RS",
    current: 2,
    is_format_1: |_| false,
};

/// `health.fit_rows` (new in 0.3.0: no format 1).
pub const FIT_ROWS: StoredType = StoredType {
    name: "fit_rows",
    tag: *b"FR",
    current: 2,
    is_format_1: |_| false,
};

/// `health.outcomes` (new in 0.3.0: no format 1).
pub const OUTCOMES: StoredType = StoredType {
    name: "outcomes",
    tag: *b"OC",
    current: 2,
    is_format_1: |_| false,
};

impl StoredType {
    /// The header this build writes before the payload.
    pub fn header(&self) -> [u8; 4] {
        [self.current, self.tag[0], self.tag[1], MARK]
    }

    /// Appends the header to `out` (the payload follows).
    pub fn write_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header());
    }

    /// The format version of stored bytes and their payload (the bytes after
    /// the header; all of them for format 1). A version newer than this
    /// build reads, or a header of another type, is an error naming both.
    pub fn payload<'a>(&self, bytes: &'a [u8]) -> Result<(u8, &'a [u8])> {
        if (self.is_format_1)(bytes) {
            return Ok((1, bytes));
        }
        if bytes.len() < 4 || bytes[3] != MARK || bytes[1..3] != self.tag {
            return Err(HealthError::text(format!(
                "invalid {}: the stored bytes are not a {} of any known format",
                self.name, self.name
            )));
        }
        let version = bytes[0];
        if version < 2 || version > self.current {
            return Err(HealthError::text(format!(
                "invalid {}: stored format {version} is not one this build of customer_health reads \
                 (formats 1 to {}); it was written by a newer release: install that release's library",
                self.name, self.current
            )));
        }
        Ok((version, &bytes[4..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headed_values_round_trip_and_format_1_is_recognised() {
        for t in [SCORECARD, TREND, MODEL] {
            let mut v = Vec::new();
            t.write_header(&mut v);
            v.extend_from_slice(b"payload");
            assert_eq!(t.payload(&v).unwrap(), (t.current, &b"payload"[..]));
        }
        // 0.1.0's layouts
        assert_eq!(SCORECARD.payload(&[2, 0, 0, 0]).unwrap().0, 1);
        assert_eq!(TREND.payload(&[0u8; 32]).unwrap().0, 1);
        assert_eq!(MODEL.payload(b"{\"metrics\": []}").unwrap().0, 1);
    }

    #[test]
    fn newer_formats_and_foreign_headers_are_refused_by_name() {
        let newer = [9, b'S', b'C', 0xFF];
        let err = SCORECARD.payload(&newer).unwrap_err();
        assert!(err.message.contains("stored format 9"), "{}", err.message);
        let trend_header = [2, b'T', b'R', 0xFF, 0, 0, 0];
        let err = MODEL.payload(&trend_header).unwrap_err();
        assert!(err.message.contains("not a model"), "{}", err.message);
    }

    /// The bytes 0.1.0's own build wrote for each type, recorded when it was
    /// released: read by this build, they give 0.1.0's text forms.
    #[test]
    fn values_written_by_0_1_0_read_back_unchanged() {
        let fixtures = include_str!("../../../tests/upgrade/written-by-0.1.0.txt");
        let mut seen = 0;
        for line in fixtures.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split('|').collect();
            let bytes: Vec<u8> = (0..fields[1].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&fields[1][i..i + 2], 16).unwrap())
                .collect();
            let text = match fields[0] {
                "scorecard" => crate::scorecard::Scorecard::from_stored_bytes(&bytes)
                    .unwrap()
                    .to_text(),
                "trend" => crate::signals::Trend::from_bytes(&bytes).unwrap().to_text(),
                "model" => crate::model::Model::from_stored(&bytes).unwrap().to_text(),
                "profile" => crate::profile::ProfileView::new(&bytes).unwrap().to_text(),
                other => panic!("unknown fixture type {other}"),
            };
            assert_eq!(text, fields[2], "{} written by 0.1.0", fields[0]);
            seen += 1;
        }
        assert_eq!(seen, 4);
    }
}

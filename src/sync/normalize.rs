//! Normalisation for comparison and matching: trimming, empty-as-absent, case-insensitive
//! e-mails, verbatim phones, and dates as calendar dates (no time-zone drift).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::contact::{FieldKey, ValueKind};

/// Trims a value; an empty result is absent.
pub fn clean(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The comparison form of an e-mail address: trimmed and lower-cased.
pub fn email_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Whether two values of a field are the same for sync purposes.
pub fn same(kind: ValueKind, a: Option<&str>, b: Option<&str>) -> bool {
    let a = a.map(str::trim).filter(|s| !s.is_empty());
    let b = b.map(str::trim).filter(|s| !s.is_empty());
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => match kind {
            ValueKind::Email => x.eq_ignore_ascii_case(y) || x.to_lowercase() == y.to_lowercase(),
            ValueKind::Text | ValueKind::Phone => x == y,
        },
        _ => false,
    }
}

/// [`same`] for a mapped field.
pub fn same_key(key: &FieldKey, a: Option<&str>, b: Option<&str>) -> bool {
    same(key.kind(), a, b)
}

/// Reads a date as the calendar date it names. Accepts `YYYY-MM-DD`, a date-time without
/// zone, and an RFC 3339 date-time; the date is taken as written, never shifted into
/// another zone, so a birthday does not move by a day on every round trip.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let v = value.trim();
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt.date_naive());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(v, fmt) {
            return Some(dt.date());
        }
    }
    None
}

/// The canonical text of a date value, `YYYY-MM-DD`, or `None` when it is not a date.
pub fn date_text(value: &str) -> Option<String> {
    parse_date(value).map(|d| d.format("%Y-%m-%d").to_string())
}

//! The list parameters every Pipeliner `*.List` takes: `first` (max 100, default 30),
//! `after` cursors, `order-by`, `filter[field]` + `filter-op[field]`, `include-deleted`,
//! `load-only` and `expand`; and the generic filter, sort and cursor paging over records.

use std::cmp::Ordering;

use base64::Engine;
use serde_json::{json, Map, Value};

use super::envelope::ApiError;

/// Page size when `first` is absent.
pub const DEFAULT_FIRST: usize = 30;
/// Largest accepted `first`.
pub const MAX_FIRST: usize = 100;

/// Fields whose filter values are timestamps written `YYYY-MM-DD HH:MM:SS` (UTC).
const TIME_FIELDS: [&str; 3] = ["created", "modified", "modified_by_user"];

/// One `filter[field]=value` with its `filter-op[field]` (default `eq`).
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// Parsed list parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub first: usize,
    pub after: Option<String>,
    /// Field and whether it sorts descending.
    pub order_by: Vec<(String, bool)>,
    pub filters: Vec<Filter>,
    pub include_deleted: bool,
    pub load_only: Option<Vec<String>>,
    pub expand: Vec<String>,
}

impl ListQuery {
    /// Parses the raw query string pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut q = ListQuery {
            first: DEFAULT_FIRST,
            ..ListQuery::default()
        };
        let mut ops: Vec<(String, String)> = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "first" => {
                    let n: usize = value.parse().map_err(|_| {
                        ApiError::invalid(format!("Invalid value of 'first': {value}"))
                    })?;
                    if n > MAX_FIRST {
                        return Err(ApiError::invalid(format!(
                            "Parameter 'first' must be at most {MAX_FIRST}."
                        )));
                    }
                    q.first = n;
                }
                "after" => q.after = Some(value.clone()),
                "include-deleted" => q.include_deleted = value == "true" || value == "1",
                "order-by" => {
                    q.order_by = split_list(value)
                        .map(|f| match f.strip_prefix('-') {
                            Some(name) => (name.to_owned(), true),
                            None => (f.to_owned(), false),
                        })
                        .collect()
                }
                "load-only" => q.load_only = Some(split_list(value).map(str::to_owned).collect()),
                "expand" => q.expand = split_list(value).map(str::to_owned).collect(),
                "before" | "last" | "limit" | "offset" => {
                    return Err(ApiError::invalid(format!(
                    "Parameter '{key}' is not supported by the simulator; use 'first' and 'after'."
                )))
                }
                _ => {
                    if let Some(field) = bracketed(key, "filter") {
                        q.filters.push(Filter {
                            field,
                            op: "eq".into(),
                            value: value.clone(),
                        });
                    } else if let Some(field) = bracketed(key, "filter-op") {
                        ops.push((field, value.clone()));
                    }
                }
            }
        }
        for (field, op) in ops {
            let filter = q
                .filters
                .iter_mut()
                .find(|f| f.field == field)
                .ok_or_else(|| {
                    ApiError::invalid(format!("filter-op[{field}] without filter[{field}]."))
                })?;
            filter.op = op;
        }
        Ok(q)
    }
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `filter[name]` → `name`.
fn bracketed(key: &str, prefix: &str) -> Option<String> {
    key.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
        .map(str::to_owned)
}

/// Whether `value` (a record's rendered field) passes `filter`.
pub(crate) fn matches(value: &Value, filter: &Filter) -> Result<bool, ApiError> {
    let wanted = if TIME_FIELDS.contains(&filter.field.as_str()) {
        normalise_time(&filter.value)?
    } else {
        filter.value.clone()
    };
    let text = match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let have = text.clone().unwrap_or_default();
    let lower = |s: &str| s.to_lowercase();
    Ok(match filter.op.as_str() {
        "eq" => text.as_deref() == Some(wanted.as_str()),
        "ieq" => lower(&have) == lower(&wanted) && text.is_some(),
        "not-eq" => text.as_deref() != Some(wanted.as_str()),
        "not-ieq" => lower(&have) != lower(&wanted),
        "contains" => have.contains(&wanted),
        "icontains" => lower(&have).contains(&lower(&wanted)),
        "starts" => have.starts_with(&wanted),
        "istarts" => lower(&have).starts_with(&lower(&wanted)),
        "ends" => have.ends_with(&wanted),
        "iends" => lower(&have).ends_with(&lower(&wanted)),
        "null" => text.is_none(),
        "not-null" => text.is_some(),
        "empty" => have.is_empty(),
        "not-empty" => !have.is_empty(),
        "gt" | "gte" | "lt" | "lte" => {
            let ord = compare_text(&have, &wanted, value.is_number());
            match filter.op.as_str() {
                "gt" => ord == Ordering::Greater,
                "gte" => ord != Ordering::Less,
                "lt" => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
        other => {
            return Err(ApiError::invalid(format!(
                "Unsupported filter operator '{other}'."
            )))
        }
    })
}

fn compare_text(have: &str, wanted: &str, numeric: bool) -> Ordering {
    if numeric {
        if let (Ok(a), Ok(b)) = (have.parse::<f64>(), wanted.parse::<f64>()) {
            return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
        }
    }
    have.cmp(wanted)
}

/// `2026-01-01 10:00:00` (or with `T`) → `2026-01-01T10:00:00`, the rendered form.
fn normalise_time(value: &str) -> Result<String, ApiError> {
    let v = value.trim().replacen(' ', "T", 1);
    chrono::NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S")
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .map_err(|_| {
            ApiError::invalid(format!(
                "Invalid date-time '{value}'; expected 'YYYY-MM-DD HH:MM:SS' (UTC)."
            ))
        })
}

/// Total order on rendered values: null < bool < number < string.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            _ => 3,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A record's position in an ordering: the order-by values, then its sequence number.
#[derive(Debug, Clone, PartialEq)]
struct SortKey(Vec<Value>, u64);

fn compare_keys(a: &SortKey, b: &SortKey, order: &[(String, bool)]) -> Ordering {
    for (i, (_, desc)) in order.iter().enumerate() {
        let ord = compare_values(&a.0[i], &b.0[i]);
        let ord = if *desc { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.1.cmp(&b.1)
}

fn encode_cursor(key: &SortKey) -> String {
    let mut parts = key.0.clone();
    parts.push(json!(key.1));
    base64::engine::general_purpose::STANDARD.encode(Value::Array(parts).to_string())
}

fn decode_cursor(cursor: &str, len: usize) -> Result<SortKey, ApiError> {
    let bad = || ApiError::invalid(format!("Invalid cursor '{cursor}'."));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .map_err(|_| bad())?;
    let mut parts: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let seq = parts.pop().and_then(|v| v.as_u64()).ok_or_else(bad)?;
    if parts.len() != len {
        return Err(bad());
    }
    Ok(SortKey(parts, seq))
}

/// One page of a list answer.
pub(crate) struct Page<'a, T> {
    pub items: Vec<&'a T>,
    pub total: usize,
    pub page_info: Value,
}

/// Filters, sorts and pages `records`. `value_of(record, field)` renders one field, or
/// `None` when the entity has no such field (answered as 400).
pub(crate) fn paginate<'a, T>(
    records: impl Iterator<Item = (&'a T, u64)>,
    q: &ListQuery,
    value_of: impl Fn(&T, &str) -> Option<Value>,
) -> Result<Page<'a, T>, ApiError> {
    let field = |r: &T, name: &str| {
        value_of(r, name).ok_or_else(|| ApiError::invalid(format!("Unknown field '{name}'.")))
    };
    let mut keyed: Vec<(SortKey, &T)> = Vec::new();
    for (record, seq) in records {
        let mut keep = true;
        for f in &q.filters {
            if !matches(&field(record, &f.field)?, f)? {
                keep = false;
                break;
            }
        }
        if keep {
            let values = q
                .order_by
                .iter()
                .map(|(name, _)| field(record, name))
                .collect::<Result<Vec<_>, _>>()?;
            keyed.push((SortKey(values, seq), record));
        }
    }
    keyed.sort_by(|a, b| compare_keys(&a.0, &b.0, &q.order_by));
    let total = keyed.len();
    let start = match &q.after {
        Some(cursor) => {
            let after = decode_cursor(cursor, q.order_by.len())?;
            keyed
                .iter()
                .position(|(k, _)| compare_keys(k, &after, &q.order_by) == Ordering::Greater)
                .unwrap_or(total)
        }
        None => 0,
    };
    let end = (start + q.first).min(total);
    let slice = &keyed[start..end];
    let mut info = Map::new();
    if let (Some(first), Some(last)) = (slice.first(), slice.last()) {
        info.insert("start_cursor".into(), json!(encode_cursor(&first.0)));
        info.insert("end_cursor".into(), json!(encode_cursor(&last.0)));
    } else if let Some(cursor) = &q.after {
        info.insert("start_cursor".into(), json!(cursor));
        info.insert("end_cursor".into(), json!(cursor));
    }
    info.insert("has_previous_page".into(), json!(start > 0));
    info.insert("has_next_page".into(), json!(end < total));
    Ok(Page {
        items: slice.iter().map(|(_, r)| *r).collect(),
        total,
        page_info: Value::Object(info),
    })
}

/// Keeps only the `load-only` fields (top-level names; `owner.id` keeps `owner`).
pub(crate) fn load_only(entity: Value, fields: Option<&Vec<String>>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &entity) else {
        return entity;
    };
    let keep: Vec<&str> = fields
        .iter()
        .map(|f| f.split('.').next().unwrap_or(f))
        .collect();
    Value::Object(
        map.iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

//! Contacts: delta by `modified` (cursor pages of 100, soft deletes included, repeated
//! entries dropped by id and revision), single reads, and batch writes with per-item
//! results.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::{ListedContact, PipelinerClient, PipelinerError, MAX_PAGE};

/// The timestamp format of Pipeliner's `filter[modified]` (UTC).
pub const FILTER_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Reads Pipeliner's zone-less UTC timestamps (`2026-01-01T10:00:00`, optionally with
/// fractions or a zone).
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    // Pipeliner's own form first: `NaiveDateTime`'s parser reads it without interpreting
    // a format string.
    value
        .parse::<NaiveDateTime>()
        .map(|t| t.and_utc())
        .or_else(|_| DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc)))
        .or_else(|_| NaiveDateTime::parse_from_str(value, FILTER_TIME_FORMAT).map(|t| t.and_utc()))
        .ok()
}

/// The contacts changed since a watermark.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    /// Each changed contact once (latest revision), deleted ones with `is_deleted: true`;
    /// shared, so that the space's window answers its users without copying bodies.
    pub contacts: Vec<Arc<ListedContact>>,
    /// The newest `modified` seen.
    pub newest_modified: Option<DateTime<Utc>>,
    /// Pipeliner's clock when the first page was answered: every change after it has a
    /// `modified` stamp at or after it (less commit lag), whatever changed before.
    pub server_time: Option<DateTime<Utc>>,
}

/// The result of one item of a batch write: the contact id, or why it failed.
pub type ItemResult = Result<String, PipelinerError>;

impl PipelinerClient {
    /// Every contact modified at or after `since` (all contacts when `None`), deleted
    /// ones included, with their sharing expanded, each with only the members exsync
    /// reads ([`ListedContact`]); Pipeliner is asked for the configured
    /// [`listed_fields`](super::PipelinerConfig::listed_fields) only.
    pub async fn contacts_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<ContactChanges, PipelinerError> {
        // Each contact once, in the order first listed; the map holds positions only, so
        // growing it moves no contacts.
        let mut listed: Vec<ListedContact> = Vec::new();
        let mut position: foldhash::HashMap<String, usize> = Default::default();
        let mut newest = None;
        let mut server_time = None;
        let mut after: Option<String> = None;
        // Every page repeats the filter and order, and only its cursor differs.
        let mut every_page = vec![
            ("first", MAX_PAGE.to_string()),
            ("order-by", "modified".to_owned()),
            ("include-deleted", "true".to_owned()),
            ("expand", "sharing_clients".to_owned()),
        ];
        if let Some(since) = since {
            every_page.push((
                "filter[modified]",
                since.format(FILTER_TIME_FORMAT).to_string(),
            ));
            every_page.push(("filter-op[modified]", "gte".to_owned()));
        }
        if let Some(fields) = &self.config().listed_fields {
            every_page.push(("load-only", fields.join(",")));
        }
        loop {
            let mut query = every_page.clone();
            if let Some(cursor) = &after {
                query.push(("after", cursor.clone()));
            }
            let page = self
                .send_as::<Option<Vec<ListedContact>>, Value>(
                    Method::GET,
                    "/entities/Contacts",
                    &query,
                    None,
                    true,
                )
                .await?;
            server_time = server_time.or(page.server_time);
            let Some(items) = page.data else {
                return Err(PipelinerError::Malformed(
                    "a contact page without a list".into(),
                ));
            };
            let on_page = items.len();
            listed.reserve(on_page);
            for contact in items {
                let Some(id) = &contact.id else {
                    return Err(PipelinerError::Malformed("a contact without an id".into()));
                };
                newest = newest.max(contact.modified);
                match position.get(id) {
                    Some(&i) if listed[i].revision() >= contact.revision() => {}
                    Some(&i) => listed[i] = contact,
                    None => {
                        position.insert(id.clone(), listed.len());
                        listed.push(contact);
                    }
                }
            }
            let has_next = page.page_info["has_next_page"].as_bool().unwrap_or(false);
            let cursor = page.page_info["end_cursor"].as_str().map(str::to_owned);
            match (has_next, cursor) {
                (true, Some(cursor)) if on_page > 0 => after = Some(cursor),
                _ => break,
            }
        }
        Ok(ContactChanges {
            contacts: listed.into_iter().map(Arc::new).collect(),
            newest_modified: newest,
            server_time,
        })
    }

    /// One contact, deleted ones included (one without an id when the answer carries
    /// none).
    pub async fn contact(&self, id: &str) -> Result<ListedContact, PipelinerError> {
        let query = [
            ("include-deleted", "true".to_owned()),
            ("expand", "sharing_clients".to_owned()),
        ];
        Ok(self
            .send_as::<Option<ListedContact>, Value>(
                Method::GET,
                &format!("/entities/Contacts/{id}"),
                &query,
                None,
                true,
            )
            .await?
            .data
            .unwrap_or_default())
    }

    /// Creates (items without `id`) and updates (items with `id`) in batches of 100;
    /// failing items do not stop the others (`rollback-method=1`). `validation_level`
    /// is Pipeliner's bitmask (2: validate only the fields sent).
    pub async fn batch_modify<B: Serialize + Sync>(
        &self,
        items: &[B],
        validation_level: Option<u8>,
    ) -> Result<Vec<ItemResult>, PipelinerError> {
        let mut results = Vec::with_capacity(items.len());
        let mut query = vec![("rollback-method", "1".to_owned())];
        if let Some(level) = validation_level {
            query.push(("validation-level", level.to_string()));
        }
        for chunk in items.chunks(MAX_PAGE as usize) {
            let answer = self
                .send_as::<Value, _>(
                    Method::POST,
                    "/entities/Contacts/batch-modify",
                    &query,
                    Some(chunk),
                    false,
                )
                .await?;
            results.extend(item_results(&answer.data, chunk.len())?);
        }
        Ok(results)
    }

    /// Deletes contacts by id in batches of 100; failing items do not stop the others.
    pub async fn batch_delete(&self, ids: &[String]) -> Result<Vec<ItemResult>, PipelinerError> {
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_PAGE as usize) {
            let body = Value::Array(chunk.iter().cloned().map(Value::String).collect());
            let answer = self
                .send(
                    Method::POST,
                    "/entities/Contacts/batch-delete",
                    &[("rollback-method", "1".to_owned())],
                    Some(&body),
                    true,
                )
                .await?;
            results.extend(item_results(&answer.data, chunk.len())?);
        }
        Ok(results)
    }
}

/// Reads a batch answer: one id or error object per item, in order.
fn item_results(data: &Value, expected: usize) -> Result<Vec<ItemResult>, PipelinerError> {
    let items = data
        .as_array()
        .filter(|items| items.len() == expected)
        .ok_or_else(|| {
            PipelinerError::Malformed(format!("a batch answer without {expected} items"))
        })?;
    Ok(items
        .iter()
        .map(|item| match item {
            Value::String(id) => Ok(id.clone()),
            Value::Object(_) if item["id"].is_string() && item.get("success").is_none() => {
                Ok(item["id"].as_str().unwrap_or_default().to_owned())
            }
            other => Err(PipelinerError::from_body(400, other, None)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pipeliner_times_parse_as_utc() {
        let t = parse_time("2026-01-02T03:04:05").unwrap();
        assert_eq!(
            t.format(FILTER_TIME_FORMAT).to_string(),
            "2026-01-02 03:04:05"
        );
        assert!(parse_time("2026-01-02T03:04:05.123").is_some());
        assert!(parse_time("2026-01-02T03:04:05Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn batch_answers_mix_ids_and_errors() {
        let data = json!(["c1", {"success": false, "http_status": 400, "code": 117, "name": "ERROR_PARAMETER_INVALID", "message": "last_name is required"}]);
        let results = item_results(&data, 2).unwrap();
        assert_eq!(results[0], Ok("c1".to_owned()));
        assert!(matches!(results[1], Err(PipelinerError::Invalid { .. })));
        assert!(item_results(&data, 3).is_err());
    }
}

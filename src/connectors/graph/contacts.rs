//! Contacts: create in a folder, read, update, delete, and find by a single-value extended
//! property, so a create that was cut off (its body carries exsync's intent property) can
//! be adopted instead of repeated. After a crash the lookups go through `$batch`, twenty to
//! a request, rather than one request each.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::batch::MAX_BATCH;
use super::folders::{odata_literal, urlencode};
use super::models::{BatchRequest, GraphContact};
use super::{GraphClient, GraphError, Replay};

fn contact_from(body: Value) -> Result<GraphContact, GraphError> {
    GraphContact::from_json(body)
        .ok_or_else(|| GraphError::Malformed("a contact without an id".into()))
}

/// The answer to a lookup by extended property: a list whose first contact is the one
/// found. An answer without the list is an error, never "not found".
#[derive(Deserialize)]
struct Found {
    value: Vec<Value>,
}

impl Found {
    fn first(self) -> Result<Option<GraphContact>, GraphError> {
        self.value.into_iter().next().map(contact_from).transpose()
    }
}

fn not_a_list(e: serde_json::Error) -> GraphError {
    GraphError::Malformed(format!("a contact lookup answer: {e}"))
}

/// Reads a batched lookup's answer.
fn found_in(body: Option<&RawValue>) -> Result<Option<GraphContact>, GraphError> {
    serde_json::from_str::<Found>(body.map_or("null", RawValue::get))
        .map_err(not_a_list)?
        .first()
}

impl GraphClient {
    fn contact_path(&self, mailbox: &str, id: &str) -> String {
        format!("{}/contacts/{}", self.user_path(mailbox), urlencode(id))
    }

    /// Creates a contact in `folder`. Not repeated on failure (except 429): on a timeout
    /// or 5xx the caller looks it up with [`GraphClient::find_by_property`] (many at once
    /// with [`GraphClient::find_by_property_many`]).
    pub async fn create_contact(
        &self,
        mailbox: &str,
        folder: &str,
        body: &Value,
    ) -> Result<GraphContact, GraphError> {
        let url = format!(
            "{}/contactFolders/{}/contacts",
            self.user_path(mailbox),
            urlencode(folder)
        );
        let answer = self
            .send(
                mailbox,
                Method::POST,
                &url,
                Some(body),
                Replay::OnlyIfThrottled,
            )
            .await?;
        contact_from(answer.body)
    }

    /// Reads a contact.
    pub async fn get_contact(&self, mailbox: &str, id: &str) -> Result<GraphContact, GraphError> {
        let answer = self
            .send(
                mailbox,
                Method::GET,
                &self.contact_path(mailbox, id),
                None,
                Replay::Safe,
            )
            .await?;
        contact_from(answer.body)
    }

    /// Changes only the properties in `patch`.
    pub async fn update_contact(
        &self,
        mailbox: &str,
        id: &str,
        patch: &Value,
    ) -> Result<GraphContact, GraphError> {
        let answer = self
            .send(
                mailbox,
                Method::PATCH,
                &self.contact_path(mailbox, id),
                Some(patch),
                Replay::Safe,
            )
            .await?;
        contact_from(answer.body)
    }

    /// Deletes a contact; one that is already gone counts as deleted.
    pub async fn delete_contact(&self, mailbox: &str, id: &str) -> Result<(), GraphError> {
        match self
            .send(
                mailbox,
                Method::DELETE,
                &self.contact_path(mailbox, id),
                None,
                Replay::Safe,
            )
            .await
        {
            Ok(_) | Err(GraphError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The path and query, below the version root, that lists the contacts in `folder`
    /// whose single-value extended property `property` holds `value`: the URL of a lookup
    /// sent alone and of a lookup inside a `$batch` alike.
    fn property_lookup(&self, mailbox: &str, folder: &str, property: &str, value: &str) -> String {
        let filter = format!(
            "singleValueExtendedProperties/any(ep: ep/id eq {} and ep/value eq {})",
            odata_literal(property),
            odata_literal(value)
        );
        format!(
            "{}/contactFolders/{}/contacts?$filter={}",
            self.user_path(mailbox),
            urlencode(folder),
            urlencode(&filter)
        )
    }

    /// The contact in `folder` whose single-value extended property `property` holds
    /// `value`, if one exists. One request; for many values use
    /// [`GraphClient::find_by_property_many`].
    pub async fn find_by_property(
        &self,
        mailbox: &str,
        folder: &str,
        property: &str,
        value: &str,
    ) -> Result<Option<GraphContact>, GraphError> {
        let url = self.property_lookup(mailbox, folder, property, value);
        let answer = self
            .send(mailbox, Method::GET, &url, None, Replay::Safe)
            .await?;
        serde_json::from_value::<Found>(answer.body)
            .map_err(not_a_list)?
            .first()
    }

    /// The contacts in `folder` whose single-value extended property `property` holds one
    /// of `values`, keyed by that value; values no contact holds are absent. For crash
    /// recovery, where hundreds of cut-off creates may need looking up: the lookups go
    /// [`MAX_BATCH`] to a `$batch`: ceil(n / 20) requests for n distinct values, plus one
    /// per round of lookups Graph throttled (429) or failed (5xx), which are sent again
    /// after the longest `Retry-After`, as a lookup sent alone would be. Each lookup costs
    /// one unit of the mailbox's budget. A lookup that still fails after
    /// [`MAX_RESENDS`](super::batch::MAX_RESENDS) resends, or gets another error, fails
    /// the whole call and no later lookups are sent: a failed lookup must not pass for
    /// "not found".
    pub async fn find_by_property_many(
        &self,
        mailbox: &str,
        folder: &str,
        property: &str,
        values: &[String],
    ) -> Result<HashMap<String, GraphContact>, GraphError> {
        let mut seen = HashSet::with_capacity(values.len());
        let wanted: Vec<&String> = values.iter().filter(|v| seen.insert(*v)).collect();
        // Ids need only be unique within a batch: the value's position will do.
        let requests: Vec<BatchRequest> = wanted
            .iter()
            .enumerate()
            .map(|(i, value)| BatchRequest {
                id: i.to_string(),
                method: Method::GET,
                url: self.property_lookup(mailbox, folder, property, value),
                body: None,
            })
            .collect();
        let mut found = HashMap::new();
        for (chunk, values) in requests.chunks(MAX_BATCH).zip(wanted.chunks(MAX_BATCH)) {
            let mut results = HashMap::with_capacity(chunk.len());
            self.batch_chunk(mailbox, chunk, Replay::Safe, found_in, &mut results)
                .await?;
            for (request, value) in chunk.iter().zip(values) {
                if let Some(contact) = results.remove(&request.id).transpose()?.flatten() {
                    found.insert((*value).clone(), contact);
                }
            }
        }
        Ok(found)
    }
}

//! Contacts: create in a folder (stamped with exsync's link id), read, update, delete,
//! and find by link id so a create that was cut off can be adopted instead of repeated.

use reqwest::Method;
use serde_json::{json, Value};

use super::folders::{odata_literal, urlencode};
use super::models::GraphContact;
use super::{GraphClient, GraphError, Replay};

/// The single-value extended property that carries exsync's link id on every contact it
/// creates.
pub const LINK_PROPERTY_ID: &str =
    "String {3c7f5a1e-52d4-4b8e-9f61-0e2a7d9c4b13} Name exsyncLinkId";

/// Adds the link-id stamp to a contact body.
pub fn stamp(body: &Value, link_id: &str) -> Value {
    let mut stamped = body.clone();
    if let Some(object) = stamped.as_object_mut() {
        object.insert(
            "singleValueExtendedProperties".into(),
            json!([{ "id": LINK_PROPERTY_ID, "value": link_id }]),
        );
    }
    stamped
}

fn contact_from(body: Value) -> Result<GraphContact, GraphError> {
    GraphContact::from_json(body)
        .ok_or_else(|| GraphError::Malformed("a contact without an id".into()))
}

impl GraphClient {
    fn contact_path(&self, mailbox: &str, id: &str) -> String {
        format!("{}/contacts/{}", self.user_path(mailbox), urlencode(id))
    }

    /// Creates a contact in `folder`, stamped with `link_id`. Not repeated on failure
    /// (except 429): on a timeout or 5xx the caller looks it up with
    /// [`GraphClient::find_by_link_id`].
    pub async fn create_contact(
        &self,
        mailbox: &str,
        folder: &str,
        body: &Value,
        link_id: &str,
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
                Some(&stamp(body, link_id)),
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

    /// The contact in `folder` stamped with `link_id`, if one exists.
    pub async fn find_by_link_id(
        &self,
        mailbox: &str,
        folder: &str,
        link_id: &str,
    ) -> Result<Option<GraphContact>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/any(ep: ep/id eq {} and ep/value eq {})",
            odata_literal(LINK_PROPERTY_ID),
            odata_literal(link_id)
        );
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!(
                "{}/contactFolders/{}/contacts",
                self.user_path(mailbox),
                urlencode(folder)
            )),
            &[("$filter", filter.as_str())],
        )
        .map_err(|e| GraphError::Malformed(e.to_string()))?;
        let answer = self
            .send(mailbox, Method::GET, url.as_str(), None, Replay::Safe)
            .await?;
        match answer.body["value"].as_array().and_then(|v| v.first()) {
            Some(found) => contact_from(found.clone()).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamping_adds_the_link_property_and_keeps_the_rest() {
        let stamped = stamp(&json!({ "givenName": "Ada" }), "link-1");
        assert_eq!(stamped["givenName"], "Ada");
        assert_eq!(
            stamped["singleValueExtendedProperties"][0]["id"],
            LINK_PROPERTY_ID
        );
        assert_eq!(
            stamped["singleValueExtendedProperties"][0]["value"],
            "link-1"
        );
    }
}

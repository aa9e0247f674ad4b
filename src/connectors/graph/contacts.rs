//! Contacts: create in a folder, read, update, delete, and find by a single-value extended
//! property, so a create that was cut off (its body carries exsync's intent property) can
//! be adopted instead of repeated.

use reqwest::Method;
use serde_json::Value;

use super::folders::{odata_literal, urlencode};
use super::models::GraphContact;
use super::{GraphClient, GraphError, Replay};

fn contact_from(body: Value) -> Result<GraphContact, GraphError> {
    GraphContact::from_json(body)
        .ok_or_else(|| GraphError::Malformed("a contact without an id".into()))
}

impl GraphClient {
    fn contact_path(&self, mailbox: &str, id: &str) -> String {
        format!("{}/contacts/{}", self.user_path(mailbox), urlencode(id))
    }

    /// Creates a contact in `folder`. Not repeated on failure (except 429): on a timeout
    /// or 5xx the caller looks it up with [`GraphClient::find_by_property`].
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

    /// The contact in `folder` whose single-value extended property `property` holds
    /// `value`, if one exists.
    pub async fn find_by_property(
        &self,
        mailbox: &str,
        folder: &str,
        property: &str,
        value: &str,
    ) -> Result<Option<GraphContact>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/any(ep: ep/id eq {} and ep/value eq {})",
            odata_literal(property),
            odata_literal(value)
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

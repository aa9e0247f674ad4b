//! The space's users (Clients, found by e-mail or id) and its Contact field metadata
//! (which fields the space requires).

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{PipelinerClient, PipelinerError};

/// A Pipeliner user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PipelinerUser {
    /// The Client id (used as `owner_id`).
    pub id: String,
    /// The e-mail address.
    #[serde(default)]
    pub email: String,
    /// The user's default sales unit.
    #[serde(default)]
    pub default_unit_id: Option<String>,
}

/// A Contact field of the space.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactField {
    /// The API name, e.g. `last_name` or `cf_region`.
    pub api_name: String,
    /// Whether the space requires it on every contact.
    #[serde(default)]
    pub system_required: bool,
}

fn parse<T: for<'de> Deserialize<'de>>(data: Value, what: &str) -> Result<T, PipelinerError> {
    serde_json::from_value(data).map_err(|e| PipelinerError::Malformed(format!("{what}: {e}")))
}

impl PipelinerClient {
    /// The user with this e-mail (compared case-insensitively), if any.
    pub async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<PipelinerUser>, PipelinerError> {
        let query = [
            ("filter[email]", email.to_owned()),
            ("filter-op[email]", "ieq".to_owned()),
        ];
        let page = self
            .send(Method::GET, "/entities/Clients", &query, None, true)
            .await?;
        let users: Vec<PipelinerUser> = parse(page.data, "client list")?;
        Ok(users.into_iter().next())
    }

    /// The user with this Client id.
    pub async fn user(&self, id: &str) -> Result<PipelinerUser, PipelinerError> {
        let answer = self
            .send(
                Method::GET,
                &format!("/entities/Clients/{id}"),
                &[],
                None,
                true,
            )
            .await?;
        parse(answer.data, "client")
    }

    /// Every Contact field of the space.
    pub async fn contact_fields(&self) -> Result<Vec<ContactField>, PipelinerError> {
        let mut fields = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("filter[entity_name]", "Contact".to_owned()),
                ("first", super::MAX_PAGE.to_string()),
            ];
            if let Some(cursor) = &after {
                query.push(("after", cursor.clone()));
            }
            let page = self
                .send(Method::GET, "/entities/Fields", &query, None, true)
                .await?;
            let batch: Vec<ContactField> = parse(page.data, "field list")?;
            let empty = batch.is_empty();
            fields.extend(batch);
            match (
                page.page_info["has_next_page"].as_bool().unwrap_or(false),
                page.page_info["end_cursor"].as_str(),
            ) {
                (true, Some(cursor)) if !empty => after = Some(cursor.to_owned()),
                _ => break,
            }
        }
        Ok(fields)
    }

    /// The API names of the fields the space requires on a Contact.
    pub async fn required_contact_fields(&self) -> Result<Vec<String>, PipelinerError> {
        Ok(self
            .contact_fields()
            .await?
            .into_iter()
            .filter(|f| f.system_required)
            .map(|f| f.api_name)
            .collect())
    }
}

//! Contact folders: list, find by name, create (a 409 means it already exists: look it
//! up), and read one.

use reqwest::Method;
use serde_json::{json, Value};

use super::models::ContactFolder;
use super::{GraphClient, GraphError, Replay};

/// Escapes a string literal for an OData `$filter`.
pub fn odata_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn parse_folders(body: &Value) -> Result<Vec<ContactFolder>, GraphError> {
    serde_json::from_value(body["value"].clone())
        .map_err(|e| GraphError::Malformed(format!("folder list: {e}")))
}

fn user_path(mailbox: &str) -> String {
    format!("/users/{}", urlencode(mailbox))
}

/// Percent-encodes one path segment.
pub fn urlencode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl GraphClient {
    /// The path of a mailbox, e.g. `/users/jane%40acme.com`.
    pub fn user_path(&self, mailbox: &str) -> String {
        user_path(mailbox)
    }

    /// Every contact folder of the mailbox (below the default Contacts folder).
    pub async fn list_folders(&self, mailbox: &str) -> Result<Vec<ContactFolder>, GraphError> {
        let mut folders = Vec::new();
        let mut next = Some(format!("{}/contactFolders", user_path(mailbox)));
        while let Some(url) = next {
            let page = self
                .send(mailbox, Method::GET, &url, None, Replay::Safe)
                .await?;
            folders.extend(parse_folders(&page.body)?);
            next = page.body["@odata.nextLink"].as_str().map(str::to_owned);
        }
        Ok(folders)
    }

    /// The folder with this display name, if any.
    pub async fn find_folder(
        &self,
        mailbox: &str,
        name: &str,
    ) -> Result<Option<ContactFolder>, GraphError> {
        let filter = format!("displayName eq {}", odata_literal(name));
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!("{}/contactFolders", user_path(mailbox))),
            &[("$filter", filter.as_str())],
        )
        .map_err(|e| GraphError::Malformed(e.to_string()))?;
        let page = self
            .send(mailbox, Method::GET, url.as_str(), None, Replay::Safe)
            .await?;
        Ok(parse_folders(&page.body)?
            .into_iter()
            .find(|f| f.display_name == name))
    }

    /// The folder with this id.
    pub async fn get_folder(&self, mailbox: &str, id: &str) -> Result<ContactFolder, GraphError> {
        let url = format!("{}/contactFolders/{}", user_path(mailbox), urlencode(id));
        let answer = self
            .send(mailbox, Method::GET, &url, None, Replay::Safe)
            .await?;
        serde_json::from_value(answer.body).map_err(|e| GraphError::Malformed(e.to_string()))
    }

    /// Creates a folder, or returns the existing one of that name (Graph answers 409
    /// `ErrorFolderExists`, also after a create that reported a failure but went through).
    pub async fn ensure_folder(
        &self,
        mailbox: &str,
        name: &str,
    ) -> Result<ContactFolder, GraphError> {
        if let Some(existing) = self.find_folder(mailbox, name).await? {
            return Ok(existing);
        }
        let url = format!("{}/contactFolders", user_path(mailbox));
        let body = json!({ "displayName": name });
        match self
            .send(
                mailbox,
                Method::POST,
                &url,
                Some(&body),
                Replay::OnlyIfThrottled,
            )
            .await
        {
            Ok(answer) => serde_json::from_value(answer.body)
                .map_err(|e| GraphError::Malformed(e.to_string())),
            Err(e) if matches!(e, GraphError::Conflict { .. }) || e.maybe_committed() => {
                self.find_folder(mailbox, name).await?.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_segments_are_escaped() {
        assert_eq!(odata_literal("O'Brien"), "'O''Brien'");
        assert_eq!(urlencode("jane@acme.com"), "jane@acme.com");
        assert_eq!(urlencode("a/b c"), "a%2Fb%20c");
        assert_eq!(urlencode("AAMk=="), "AAMk%3D%3D");
    }
}

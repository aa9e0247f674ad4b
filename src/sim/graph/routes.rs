//! The Graph v1.0 resources the simulator serves, as one function from (method, path,
//! query, body) to an answer, so `$batch` runs sub-requests exactly like direct calls.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use super::core::{Core, Note};
use super::errors::GraphFault;
use super::filter::ContactFilter;
use super::state::{folder_json, State};

/// A successful answer plus the changes subscribers must hear about.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
    pub notes: Vec<Note>,
}

impl Answer {
    fn ok(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            notes: Vec::new(),
        }
    }
}

/// Splits a path below `/v1.0` into percent-decoded segments.
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The route name used by fault rules and statistics.
pub(crate) fn route_name(method: &Method, segs: &[String]) -> &'static str {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (method.as_str(), s.as_slice()) {
        ("POST", ["$batch"]) => "batch",
        ("POST", ["subscriptions"]) => "subscriptions.create",
        ("PATCH", ["subscriptions", _]) => "subscriptions.update",
        ("DELETE", ["subscriptions", _]) => "subscriptions.delete",
        ("GET", ["users", _, "contactFolders"]) => "folders.list",
        ("POST", ["users", _, "contactFolders"]) => "folders.create",
        ("GET", ["users", _, "contactFolders", _]) => "folders.get",
        ("GET", ["users", _, "contactFolders", _, "contacts", "delta"]) => "delta",
        ("GET", ["users", _, "contactFolders", _, "contacts"]) => "contacts.list",
        ("POST", ["users", _, "contactFolders", _, "contacts"]) => "contacts.create",
        ("GET", ["users", _, "contacts", _])
        | ("GET", ["users", _, "contactFolders", _, "contacts", _]) => "contacts.get",
        ("PATCH", ["users", _, "contacts", _])
        | ("PATCH", ["users", _, "contactFolders", _, "contacts", _]) => "contacts.update",
        ("DELETE", ["users", _, "contacts", _])
        | ("DELETE", ["users", _, "contactFolders", _, "contacts", _]) => "contacts.delete",
        _ => "unknown",
    }
}

/// The quoted literals of an OData `$filter`, in order (`''` unescaped).
pub(crate) fn literals(filter: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                } else {
                    break;
                }
            } else {
                literal.push(c);
            }
        }
        out.push(literal);
    }
    out
}

fn enc(s: &str) -> String {
    crate::connectors::graph::folders::urlencode(s)
}

fn check_tenant(state: &mut State, tenant: &str, mailbox: &str) -> Result<(), GraphFault> {
    if state.mailbox(mailbox)?.tenant != tenant {
        return Err(GraphFault::new(
            404,
            "ErrorItemNotFound",
            format!("The mailbox {mailbox} was not found."),
        ));
    }
    Ok(())
}

/// Runs one request (not `$batch`, not `POST /subscriptions`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    core: &Core,
    state: &mut State,
    tenant: &str,
    method: &Method,
    segs: &[String],
    query: &HashMap<String, String>,
    page_size: usize,
    body: &Value,
) -> Result<Answer, GraphFault> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let now = core.now();
    if let ["users", mailbox, ..] = s.as_slice() {
        check_tenant(state, tenant, mailbox)?;
    }
    let note = |mailbox: &str, folder: String, contact: &str, change_type| Note {
        mailbox: mailbox.to_ascii_lowercase(),
        folder,
        contact: contact.to_owned(),
        change_type,
    };
    match (method.as_str(), s.as_slice()) {
        ("GET", ["users", m, "contactFolders"]) => {
            let wanted = query.get("$filter").map(|f| literals(f));
            let folders: Vec<Value> = state
                .mailbox(m)?
                .folders
                .iter()
                .filter(|(_, name)| wanted.as_ref().is_none_or(|w| w.first() == Some(*name)))
                .map(|(id, name)| folder_json(id, name))
                .collect();
            Ok(Answer::ok(200, json!({ "value": folders })))
        }
        ("POST", ["users", m, "contactFolders"]) => {
            let name = body["displayName"]
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| GraphFault::bad_request("displayName is required."))?;
            Ok(Answer::ok(201, state.create_folder(m, name)?))
        }
        ("GET", ["users", m, "contactFolders", f]) => {
            let name = state.mailbox(m)?.folders.get(*f).cloned().ok_or_else(|| {
                GraphFault::new(
                    404,
                    "ErrorItemNotFound",
                    "The specified folder could not be found.",
                )
            })?;
            Ok(Answer::ok(200, folder_json(f, &name)))
        }
        ("GET", ["users", m, "contactFolders", f, "contacts", "delta"]) => {
            let link = format!(
                "{}/users/{}/contactFolders/{}/contacts/delta",
                core.graph_url(),
                enc(m),
                enc(f)
            );
            Ok(Answer::ok(
                200,
                state.delta_page(m, f, query, page_size, &link)?,
            ))
        }
        ("GET", ["users", m, "contactFolders", f, "contacts"]) => {
            let wanted = query
                .get("$filter")
                .map(|f| ContactFilter::parse(f))
                .transpose()?;
            let mailbox = state.mailbox(m)?.clone();
            if !mailbox.folders.contains_key(*f) {
                return Err(GraphFault::new(
                    404,
                    "ErrorItemNotFound",
                    "The specified folder could not be found.",
                ));
            }
            let mut value = Vec::new();
            for (id, contact) in mailbox.contacts.iter().filter(|(_, c)| c.folder == *f) {
                if wanted.as_ref().is_none_or(|w| w.matches(contact)) {
                    value.push(state.contact_json(m, id)?);
                }
            }
            Ok(Answer::ok(200, json!({ "value": value })))
        }
        ("POST", ["users", m, "contactFolders", f, "contacts"]) => {
            let (folder, created) = state.create_contact(m, f, body, now)?;
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            Ok(Answer {
                status: 201,
                notes: vec![note(m, folder, &id, "created")],
                body: created,
            })
        }
        ("GET", ["users", m, "contacts", id])
        | ("GET", ["users", m, "contactFolders", _, "contacts", id]) => {
            Ok(Answer::ok(200, state.contact_json(m, id)?))
        }
        ("PATCH", ["users", m, "contacts", id])
        | ("PATCH", ["users", m, "contactFolders", _, "contacts", id]) => {
            let (folder, updated) = state.update_contact(m, id, body, now)?;
            Ok(Answer {
                status: 200,
                notes: vec![note(m, folder, id, "updated")],
                body: updated,
            })
        }
        ("DELETE", ["users", m, "contacts", id])
        | ("DELETE", ["users", m, "contactFolders", _, "contacts", id]) => {
            let folder = state.delete_contact(m, id)?;
            Ok(Answer {
                status: 204,
                notes: vec![note(m, folder, id, "deleted")],
                body: Value::Null,
            })
        }
        ("PATCH", ["subscriptions", id]) => {
            let expires = body["expirationDateTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .ok_or_else(|| GraphFault::bad_request("expirationDateTime is required."))?;
            if expires > now + chrono::Duration::minutes(10_080) || expires <= now {
                return Err(GraphFault::bad_request(
                    "expirationDateTime is out of range.",
                ));
            }
            let sub = state
                .subscriptions
                .get_mut(*id)
                .filter(|s| s.tenant == tenant)
                .ok_or_else(|| {
                    GraphFault::new(404, "ResourceNotFound", "The subscription was not found.")
                })?;
            sub.expiration_date_time = expires;
            Ok(Answer::ok(200, super::subscriptions::render(sub)))
        }
        ("DELETE", ["subscriptions", id]) => match state.subscriptions.get(*id) {
            Some(sub) if sub.tenant == tenant => {
                state.subscriptions.remove(*id);
                Ok(Answer::ok(204, Value::Null))
            }
            _ => Err(GraphFault::new(
                404,
                "ResourceNotFound",
                "The subscription was not found.",
            )),
        },
        _ => Err(GraphFault::new(
            400,
            "BadRequest",
            format!("Unsupported request: {method} /{}", segs.join("/")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_paths_are_read_like_graph() {
        assert_eq!(
            literals("displayName eq 'O''Brien'"),
            vec!["O'Brien".to_owned()]
        );
        assert_eq!(
            literals("singleValueExtendedProperties/any(ep: ep/id eq 'String {x} Name y' and ep/value eq 'v')"),
            vec!["String {x} Name y".to_owned(), "v".to_owned()]
        );
        assert_eq!(
            segments("/users/jane%40acme.com/contacts/AA%3D"),
            vec!["users", "jane@acme.com", "contacts", "AA="]
        );
        assert_eq!(
            route_name(
                &Method::GET,
                &segments("/users/x/contactFolders/f/contacts/delta")
            ),
            "delta"
        );
    }
}

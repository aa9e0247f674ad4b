//! The inputs and answers of the control handle: seeds for spaces, users and fields,
//! the created space's details, and the control error.

use serde::{Deserialize, Serialize};

use super::envelope::ApiError;

/// Why a control call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// No space with this id.
    #[error("no space '{0}'")]
    UnknownSpace(String),
    /// A space with this id already exists.
    #[error("space '{0}' already exists")]
    SpaceExists(String),
    /// The simulated Pipeliner refused the change, as it would over its API.
    #[error("{0}")]
    Rejected(ApiError),
}

/// A space to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpaceSeed {
    /// Space id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name (the account name).
    pub name: String,
    /// HTTP Basic user name.
    pub api_key: String,
    /// HTTP Basic password.
    pub api_secret: String,
}

/// A created space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceInfo {
    /// Space id (the `{space_id}` of the REST paths).
    pub id: String,
    /// Display name.
    pub name: String,
    /// HTTP Basic user name.
    pub api_key: String,
    /// HTTP Basic password.
    pub api_secret: String,
    /// The space's sales unit (every contact's `unit_id` by default).
    pub unit_id: String,
}

/// A user (Client) to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientSeed {
    /// E-mail, as found with `filter[email]`.
    pub email: String,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Surname.
    #[serde(default)]
    pub last_name: String,
}

/// A Contact field to add, or a standard field to make required.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FieldSeed {
    /// API name; a new custom one must start with `cf_`.
    pub api_name: String,
    /// Label; defaults to the API name.
    #[serde(default)]
    pub name: Option<String>,
    /// Pipeliner type id (`input`, `dropdown`, …); defaults to `input`.
    #[serde(default)]
    pub type_id: Option<String>,
    /// Whether creates must fill it (`system_required`).
    #[serde(default)]
    pub required: bool,
}

//! Request and answer bodies of the spaces routes. Secrets are write-only: requests carry
//! them, answers only say whether each is set.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::spaces::SpaceRecord;

/// The Graph root used when a space does not name one.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// The login root used when a space does not name one.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";

/// How to reach the Pipeliner space.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelinerInput {
    /// The space's service URL.
    #[schema(example = "https://eu-central.api.pipelinersales.com")]
    pub service_url: String,
    /// Pipeliner's id of the space.
    #[schema(example = "nl_Acme", min_length = 1, max_length = 512)]
    pub space_id: String,
    /// The API key (HTTP Basic user name).
    #[schema(min_length = 1, max_length = 512)]
    pub api_key: String,
    /// The API secret (HTTP Basic password); write-only.
    #[schema(value_type = String, format = Password, min_length = 1)]
    pub api_secret: SecretString,
}

/// How to reach Microsoft Graph for the tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftInput {
    /// The Entra tenant id.
    #[schema(min_length = 1, max_length = 512)]
    pub tenant_id: String,
    /// The app registration's client id.
    #[schema(min_length = 1, max_length = 512)]
    pub client_id: String,
    /// The app registration's client secret; write-only.
    #[schema(value_type = String, format = Password, min_length = 1)]
    pub client_secret: SecretString,
    /// The Graph root; defaults to `https://graph.microsoft.com/v1.0`.
    pub graph_url: Option<String>,
    /// The login root; defaults to `https://login.microsoftonline.com`.
    pub login_url: Option<String>,
}

/// A space to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpace {
    /// The id to register it under: 1–128 characters of `[A-Za-z0-9._@-]`, the first not
    /// a dot.
    #[schema(
        example = "acme",
        pattern = "^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$",
        min_length = 1,
        max_length = 128
    )]
    pub id: String,
    /// The Pipeliner account's name, used in default folder names.
    #[schema(example = "Acme Inc", min_length = 1, max_length = 200)]
    pub name: String,
    /// The Pipeliner side.
    pub pipeliner: PipelinerInput,
    /// The Microsoft side.
    pub microsoft: MicrosoftInput,
}

/// Changes to the Pipeliner side; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PipelinerPatch {
    /// New service URL.
    pub service_url: Option<String>,
    /// New Pipeliner space id.
    pub space_id: Option<String>,
    /// New API key.
    pub api_key: Option<String>,
    /// New API secret; write-only.
    #[schema(value_type = Option<String>, format = Password, min_length = 1)]
    pub api_secret: Option<SecretString>,
}

/// Changes to the Microsoft side; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftPatch {
    /// New tenant id.
    pub tenant_id: Option<String>,
    /// New client id.
    pub client_id: Option<String>,
    /// New client secret; write-only.
    #[schema(value_type = Option<String>, format = Password, min_length = 1)]
    pub client_secret: Option<SecretString>,
    /// New Graph root.
    pub graph_url: Option<String>,
    /// New login root.
    pub login_url: Option<String>,
}

/// Changes to a space; absent fields stay as they are. The id cannot change.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpace {
    /// New display name.
    pub name: Option<String>,
    /// Changes to the Pipeliner side.
    pub pipeliner: Option<PipelinerPatch>,
    /// Changes to the Microsoft side.
    pub microsoft: Option<MicrosoftPatch>,
}

/// The integration switch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSwitch {
    /// `true` switches the integration on ("MS Exchange Contacts is running").
    pub enabled: bool,
}

/// The Pipeliner side as answered: the secret only as "set".
#[derive(Serialize, ToSchema)]
pub struct PipelinerView {
    /// The service URL.
    pub service_url: String,
    /// Pipeliner's id of the space.
    #[schema(min_length = 1, max_length = 512)]
    pub space_id: String,
    /// The API key.
    #[schema(min_length = 1, max_length = 512)]
    pub api_key: String,
    /// Whether an API secret is stored.
    pub api_secret_set: bool,
}

/// The Microsoft side as answered: the secret only as "set".
#[derive(Serialize, ToSchema)]
pub struct MicrosoftView {
    /// The tenant id.
    #[schema(min_length = 1, max_length = 512)]
    pub tenant_id: String,
    /// The client id.
    #[schema(min_length = 1, max_length = 512)]
    pub client_id: String,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// The Graph root.
    pub graph_url: String,
    /// The login root.
    pub login_url: String,
}

/// A registered space.
#[derive(Serialize, ToSchema)]
pub struct SpaceView {
    /// The id.
    #[schema(
        pattern = "^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$",
        min_length = 1,
        max_length = 128
    )]
    pub id: String,
    /// The display name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Whether the integration is switched on.
    pub integration_enabled: bool,
    /// The Pipeliner side.
    pub pipeliner: PipelinerView,
    /// The Microsoft side.
    pub microsoft: MicrosoftView,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&SpaceRecord> for SpaceView {
    fn from(space: &SpaceRecord) -> Self {
        Self {
            id: space.id.to_string(),
            name: space.name.clone(),
            integration_enabled: space.integration_enabled,
            pipeliner: PipelinerView {
                service_url: space.pipeliner.service_url.clone(),
                space_id: space.pipeliner.space_id.clone(),
                api_key: space.pipeliner.api_key.clone(),
                api_secret_set: true,
            },
            microsoft: MicrosoftView {
                tenant_id: space.microsoft.tenant_id.clone(),
                client_id: space.microsoft.client_id.clone(),
                client_secret_set: true,
                graph_url: space.microsoft.graph_url.clone(),
                login_url: space.microsoft.login_url.clone(),
            },
            created_at: space.created_at,
            updated_at: space.updated_at,
        }
    }
}

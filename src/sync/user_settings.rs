//! A user's stored sync settings as the admin API sets them (DESIGN.md section 1.3): the
//! sync type, preference, delete protection, folder and conflict policy, and the rules
//! between them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::settings::{ConflictPolicy, SyncPreference, SyncType};

/// A folder to create in the mailbox.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct NewFolder {
    /// The folder's display name; `Pipeliner (<space name>)` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Which Exchange contacts folder syncs.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", try_from = "FolderChoiceInput")]
pub enum FolderChoice {
    /// An existing contacts folder, by id.
    Existing(String),
    /// A folder exsync creates (or finds by name) on first sync.
    Create(NewFolder),
}

/// [`FolderChoice`] as read: an object with one of its two members, so that another
/// member is refused as an unknown field, by name, rather than as broken JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderChoiceInput {
    existing: Option<String>,
    create: Option<NewFolder>,
}

impl TryFrom<FolderChoiceInput> for FolderChoice {
    type Error = &'static str;

    fn try_from(input: FolderChoiceInput) -> Result<Self, Self::Error> {
        match (input.existing, input.create) {
            (Some(id), None) => Ok(Self::Existing(id)),
            (None, Some(folder)) => Ok(Self::Create(folder)),
            _ => Err("folder needs exactly one of `existing` (a folder id) or `create`"),
        }
    }
}

/// The longest folder name Exchange accepts.
pub const MAX_FOLDER_NAME_LEN: usize = 255;

/// A user's sync settings.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// Which way contacts flow.
    pub sync_type: SyncType,
    /// Which Pipeliner contacts go to Exchange; only with `crm_to_exchange`, where it
    /// defaults to `owned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_preference: Option<SyncPreference>,
    /// When on, a contact deleted in Exchange is unlinked and remembered, never deleted in
    /// Pipeliner nor recreated in Exchange.
    pub delete_protection: bool,
    /// The contacts folder that syncs.
    pub folder: FolderChoice,
    /// How same-field conflicts are resolved.
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
}

/// A settings value that breaks a rule, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SettingsError {
    /// The offending field, as a JSON path below `settings`.
    pub field: &'static str,
    /// Why it is refused, as a sentence.
    pub reason: String,
}

impl UserSettings {
    /// Checks the rules between fields and fills defaults (`owned` for `crm_to_exchange`).
    pub fn validated(mut self) -> Result<Self, SettingsError> {
        match (self.sync_type, self.sync_preference) {
            (SyncType::CrmToExchange, None) => self.sync_preference = Some(SyncPreference::Owned),
            (SyncType::CrmToExchange, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(SettingsError {
                    field: "settings.sync_preference",
                    reason: "sync_preference applies only when sync_type is crm_to_exchange; \
                             remove it or change sync_type"
                        .into(),
                })
            }
        }
        match &self.folder {
            FolderChoice::Existing(id) if id.trim().is_empty() => Err(SettingsError {
                field: "settings.folder.existing",
                reason: "the folder id must not be empty".into(),
            }),
            FolderChoice::Create(NewFolder { name: Some(name) })
                if name.trim().is_empty() || name.chars().count() > MAX_FOLDER_NAME_LEN =>
            {
                Err(SettingsError {
                    field: "settings.folder.create.name",
                    reason: format!(
                        "the folder name must have 1 to {MAX_FOLDER_NAME_LEN} characters"
                    ),
                })
            }
            _ => Ok(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> UserSettings {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn preference_is_only_for_crm_to_exchange() {
        let err = settings(
            r#"{"sync_type":"bidirectional","sync_preference":"owned","delete_protection":true,"folder":{"create":{}}}"#,
        )
        .validated()
        .unwrap_err();
        assert_eq!(err.field, "settings.sync_preference");
        let ok = settings(
            r#"{"sync_type":"crm_to_exchange","delete_protection":false,"folder":{"existing":"AAMk"}}"#,
        )
        .validated()
        .unwrap();
        assert_eq!(ok.sync_preference, Some(SyncPreference::Owned));
        assert_eq!(ok.conflict_policy, ConflictPolicy::Newest);
    }

    #[test]
    fn folder_choice_has_the_documented_shape() {
        let s = settings(
            r#"{"sync_type":"exchange_to_crm","delete_protection":true,"folder":{"create":{"name":"CRM"}}}"#,
        );
        assert_eq!(
            s.folder,
            FolderChoice::Create(NewFolder {
                name: Some("CRM".into())
            })
        );
        let blank = settings(
            r#"{"sync_type":"exchange_to_crm","delete_protection":true,"folder":{"create":{"name":" "}}}"#,
        );
        assert_eq!(
            blank.validated().unwrap_err().field,
            "settings.folder.create.name"
        );
        assert!(serde_json::from_str::<UserSettings>(
            r#"{"sync_type":"exchange_to_crm","delete_protection":true,"folder":{"create":{"nam":"x"}}}"#
        )
        .is_err());
        let other = serde_json::from_str::<FolderChoice>(r#"{"existing":"x","other":1}"#)
            .unwrap_err()
            .to_string();
        assert!(other.starts_with("unknown field `other`"), "{other}");
        for both_or_none in [r#"{"existing":"x","create":{}}"#, "{}"] {
            let err = serde_json::from_str::<FolderChoice>(both_or_none).unwrap_err();
            assert!(err.is_data(), "{err}");
        }
        assert_eq!(
            serde_json::from_value::<FolderChoice>(serde_json::to_value(&s.folder).unwrap())
                .unwrap(),
            s.folder,
            "what is stored reads back"
        );
    }
}

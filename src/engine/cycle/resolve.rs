//! Finding what a user's sync works on: their Pipeliner user (given by id, or found by
//! e-mail) and their Exchange folder (an existing one, or one exsync creates, named
//! `Pipeliner (<space name>)` by default). A folder change starts over with a first sync.
//!
//! # A folder change
//!
//! Changing `folder` (an existing folder to another, or to a new one, or a new folder's
//! name) moves the sync to the folder it names. The contacts exsync put in the old folder
//! are left where they are, unlinked: exsync never writes that folder again, nor passes on
//! anything that happens there. The new folder then has a first sync: its contacts are
//! paired with Pipeliner's by e-mail, the rest are created, and nothing is deleted, so
//! switching back to a folder that still holds exsync's old copies pairs them again
//! instead of duplicating them.

use super::errors::{graph_failed, pipeliner_failed};
use crate::connectors::graph::GraphClient;
use crate::connectors::pipeliner::{PipelinerClient, PipelinerError};
use crate::engine::runner::CycleError;
use crate::store::spaces::SpaceRecord;
use crate::store::sync_state::UserSyncState;
use crate::store::users::UserRecord;
use crate::store::Store;
use crate::sync::user_settings::FolderChoice;

/// The default name of a folder exsync creates.
pub fn default_folder_name(space: &SpaceRecord) -> String {
    format!("Pipeliner ({})", space.name)
}

/// Finds the Pipeliner user: by Client id when given, otherwise by e-mail.
pub async fn find_owner(
    pipeliner: &PipelinerClient,
    pipeliner_user_id: Option<&str>,
    email: &str,
) -> Result<String, CycleError> {
    match pipeliner_user_id {
        Some(id) => match pipeliner.user(id).await {
            Ok(found) => Ok(found.id),
            Err(PipelinerError::NotFound { .. }) => Err(CycleError::new(
                "pipeliner_user_not_found",
                format!("no Pipeliner user has the id {id:?}; fix the user's pipeliner_user_id"),
            )),
            Err(e) => Err(pipeliner_failed(e)),
        },
        None => match pipeliner
            .user_by_email(email)
            .await
            .map_err(pipeliner_failed)?
        {
            Some(found) => Ok(found.id),
            None => Err(CycleError::new(
                "pipeliner_user_not_found",
                format!(
                    "no Pipeliner user has the e-mail {email}; give the user's pipeliner_user_id \
                     or use the e-mail of their Pipeliner account"
                ),
            )),
        },
    }
}

/// The user's Pipeliner Client id, resolved once and remembered.
pub async fn owner(
    pipeliner: &PipelinerClient,
    user: &UserRecord,
    state: &mut UserSyncState,
) -> Result<String, CycleError> {
    if let Some(owner) = &state.owner_id {
        if user
            .pipeliner_user_id
            .as_ref()
            .is_none_or(|given| given == owner)
        {
            return Ok(owner.clone());
        }
    }
    let owner = find_owner(pipeliner, user.pipeliner_user_id.as_deref(), &user.email).await?;
    state.owner_id = Some(owner.clone());
    Ok(owner)
}

/// The id of the folder that syncs; on a change of folder the old links go and the next
/// cycle is a first sync (match by e-mail, never delete). `choice_changed` says that the
/// folder setting differs from the one the contacts were last planned under: a folder to
/// create is then looked up (or created) by its name again.
pub async fn folder(
    graph: &GraphClient,
    space: &SpaceRecord,
    user: &UserRecord,
    state: &mut UserSyncState,
    store: &Store,
    choice_changed: bool,
) -> Result<String, CycleError> {
    let resolved = match &user.settings.folder {
        FolderChoice::Existing(id) => {
            if state.folder_id.as_deref() != Some(id.as_str()) {
                graph
                    .get_folder(&user.email, id)
                    .await
                    .map_err(graph_failed)?;
            }
            id.clone()
        }
        FolderChoice::Create(new) => match &state.folder_id {
            Some(id)
                if !choice_changed && (state.first_sync_done || state.delta_link.is_some()) =>
            {
                id.clone()
            }
            _ => {
                let name = new
                    .name
                    .clone()
                    .unwrap_or_else(|| default_folder_name(space));
                graph
                    .ensure_folder(&user.email, &name)
                    .await
                    .map_err(graph_failed)?
                    .id
            }
        },
    };
    if state
        .folder_id
        .as_deref()
        .is_some_and(|old| old != resolved)
    {
        let (s, u) = (user.space.clone(), user.id.clone());
        let store = store.clone();
        actix_web::rt::task::spawn_blocking(move || store.remove_links_of_user(&s, &u))
            .await
            .map_err(|_| CycleError::new("store_failed", "a storage worker stopped"))?
            .map_err(super::errors::store_failed)?;
        *state = UserSyncState {
            owner_id: state.owner_id.take(),
            subscription_id: state.subscription_id.take(),
            next_create_seq: state.next_create_seq,
            ..UserSyncState::default()
        };
    }
    state.folder_id = Some(resolved.clone());
    Ok(resolved)
}

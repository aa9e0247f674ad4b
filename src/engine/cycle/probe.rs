//! The connection test run at activation: sign in to Graph, reach the mailbox (and the
//! chosen folder), then sign in to Pipeliner and find the user. Each failure names what to
//! fix. No retries, short timeouts: the admin is waiting for the answer.

use std::time::Duration;

use super::errors::graph_failed;
use super::resolve::find_owner;
use super::{ClientCache, ClientOptions, SyncCycle};
use crate::connectors::retry::RetryPolicy;
use crate::engine::runner::CycleError;
use crate::store::spaces::SpaceRecord;
use crate::sync::user_settings::FolderChoice;

/// What an activation asks to be tested.
#[derive(Debug, Clone)]
pub struct ProbeTarget<'a> {
    /// The mailbox.
    pub email: &'a str,
    /// The Pipeliner Client id, when given.
    pub pipeliner_user_id: Option<&'a str>,
    /// The chosen folder.
    pub folder: &'a FolderChoice,
}

impl SyncCycle {
    /// Tests that the user can sync with the space's credentials.
    pub async fn probe(
        &self,
        space: &SpaceRecord,
        target: ProbeTarget<'_>,
    ) -> Result<(), CycleError> {
        let options = ClientOptions {
            retry: RetryPolicy::none(),
            timeout: Duration::from_secs(15),
            ..self.options.clone()
        };
        let clients = ClientCache::default().get(&self.store, space, &self.clock, &options)?;
        clients
            .graph
            .list_folders(target.email)
            .await
            .map_err(graph_failed)?;
        if let FolderChoice::Existing(id) = target.folder {
            clients
                .graph
                .get_folder(target.email, id)
                .await
                .map_err(graph_failed)?;
        }
        find_owner(&clients.pipeliner, target.pipeliner_user_id, target.email).await?;
        Ok(())
    }
}

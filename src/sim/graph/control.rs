//! The control handle: seed apps, mailboxes, folders and contacts; act on contacts as a
//! person would (delta and notifications follow); read state; invalidate delta tokens;
//! send lifecycle events; set behaviours and faults. The same operations are served as
//! JSON under `/_sim/graph` (see `control_routes`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::core::{lock, Core, Note, NotificationRecord};
use super::errors::GraphFault;
use super::state::{folder_json, Mailbox, SimSettings};
use crate::sim::faults::{DeliveryFaultRule, FaultPlan, FaultRule};

/// A failed control call.
pub type ControlResult<T> = Result<T, GraphFault>;

/// The control handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct GraphControl {
    pub(crate) core: Arc<Core>,
}

impl GraphControl {
    /// Registers an app of `tenant` with its client id and secret.
    pub fn add_app(&self, tenant: &str, client_id: &str, secret: &str) {
        self.core
            .state()
            .apps
            .insert((tenant.to_owned(), client_id.to_owned()), secret.to_owned());
    }

    /// Creates a mailbox (idempotent).
    pub fn add_mailbox(&self, tenant: &str, address: &str) {
        self.core
            .state()
            .mailboxes
            .entry(address.to_ascii_lowercase())
            .or_insert_with(|| Mailbox {
                tenant: tenant.to_owned(),
                address: address.to_owned(),
                folders: BTreeMap::new(),
                contacts: BTreeMap::new(),
                changes: Vec::new(),
                generation: 0,
                inflight: 0,
            });
    }

    /// The addresses of every mailbox, as they were created.
    pub fn mailboxes(&self) -> Vec<String> {
        let state = self.core.state();
        let mut list: Vec<String> = state
            .mailboxes
            .values()
            .map(|m| m.address.clone())
            .collect();
        list.sort();
        list
    }

    /// Creates a contacts folder; its rendering (with `id`).
    pub fn create_folder(&self, mailbox: &str, name: &str) -> ControlResult<Value> {
        self.core.state().create_folder(mailbox, name)
    }

    /// Creates a contacts folder with this id, for ids of a shape the simulator does not
    /// make itself (e.g. with `+`, `/` and `=`); its rendering.
    pub fn create_folder_with_id(
        &self,
        mailbox: &str,
        id: &str,
        name: &str,
    ) -> ControlResult<Value> {
        self.core.state().create_folder_with_id(mailbox, id, name)
    }

    /// The mailbox's folders.
    pub fn folders(&self, mailbox: &str) -> ControlResult<Vec<Value>> {
        let mut state = self.core.state();
        Ok(state
            .mailbox(mailbox)?
            .folders
            .iter()
            .map(|(id, name)| folder_json(id, name))
            .collect())
    }

    /// The id of the folder with this name.
    pub fn folder_id(&self, mailbox: &str, name: &str) -> Option<String> {
        let mut state = self.core.state();
        state
            .mailbox(mailbox)
            .ok()?
            .folders
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone())
    }

    fn notify(&self, mailbox: &str, folder: String, contact: &str, change_type: &'static str) {
        let state = self.core.state();
        self.core.notify(
            &state,
            &[Note {
                mailbox: mailbox.to_ascii_lowercase(),
                folder,
                contact: contact.to_owned(),
                change_type,
            }],
        );
    }

    /// Creates a contact as a person would.
    pub fn create_contact(&self, mailbox: &str, folder: &str, body: Value) -> ControlResult<Value> {
        let now = self.core.now();
        let (folder, created) = self
            .core
            .state()
            .create_contact(mailbox, folder, &body, now)?;
        self.notify(
            mailbox,
            folder,
            created["id"].as_str().unwrap_or_default(),
            "created",
        );
        Ok(created)
    }

    /// Edits some properties of a contact as a person would.
    pub fn update_contact(&self, mailbox: &str, id: &str, patch: Value) -> ControlResult<Value> {
        let now = self.core.now();
        let (folder, updated) = self.core.state().update_contact(mailbox, id, &patch, now)?;
        self.notify(mailbox, folder, id, "updated");
        Ok(updated)
    }

    /// Deletes a contact as a person would.
    pub fn delete_contact(&self, mailbox: &str, id: &str) -> ControlResult<()> {
        let folder = self.core.state().delete_contact(mailbox, id)?;
        self.notify(mailbox, folder, id, "deleted");
        Ok(())
    }

    /// The contacts of a folder, as Graph renders them.
    pub fn contacts(&self, mailbox: &str, folder: &str) -> ControlResult<Vec<Value>> {
        let mut state = self.core.state();
        let ids: Vec<String> = state
            .mailbox(mailbox)?
            .contacts
            .iter()
            .filter(|(_, c)| c.folder == folder)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .map(|id| state.contact_json(mailbox, id))
            .collect()
    }

    /// The single-value extended properties stored on a contact.
    pub fn extended_properties(
        &self,
        mailbox: &str,
        id: &str,
    ) -> ControlResult<Vec<(String, String)>> {
        let mut state = self.core.state();
        Ok(state
            .mailbox(mailbox)?
            .contacts
            .get(id)
            .map(|c| c.extended.clone())
            .unwrap_or_default())
    }

    /// Makes every delta token of the mailbox expire (410 `syncStateNotFound`).
    pub fn invalidate_delta(&self, mailbox: &str) -> ControlResult<()> {
        self.core.state().mailbox(mailbox)?.generation += 1;
        Ok(())
    }

    /// The live subscriptions.
    pub fn subscriptions(&self) -> Vec<Value> {
        self.core
            .state()
            .subscriptions
            .values()
            .map(super::subscriptions::render)
            .collect()
    }

    /// Sends a lifecycle event (`reauthorizationRequired`, `subscriptionRemoved`,
    /// `missed`); `subscriptionRemoved` also removes the subscription.
    pub fn lifecycle(&self, subscription: &str, event: &str) -> ControlResult<()> {
        if !self.core.lifecycle(subscription, event) {
            return Err(GraphFault::new(
                404,
                "ResourceNotFound",
                "No such subscription with a lifecycle URL.",
            ));
        }
        if event == "subscriptionRemoved" {
            self.core.state().subscriptions.remove(subscription);
        }
        Ok(())
    }

    /// What was delivered to subscribers so far.
    pub fn notifications(&self) -> Vec<NotificationRecord> {
        lock(&self.core.log).clone()
    }

    /// Requests served per route (batched sub-requests counted by their own route).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.core.state().requests.clone()
    }

    /// 429 answers given so far, whole requests and batched sub-requests alike.
    pub fn throttled_count(&self) -> u64 {
        self.core.state().throttled
    }

    /// The behaviours in force.
    pub fn settings(&self) -> SimSettings {
        self.core.state().settings.clone()
    }

    /// Changes the behaviours.
    pub fn set_settings(&self, settings: SimSettings) {
        self.core.state().settings = settings;
    }

    /// The fault plan.
    pub fn faults(&self) -> FaultPlan {
        self.core.state().faults.plan.clone()
    }

    /// Replaces the fault plan (and restarts its counters, so a plan replays the same).
    pub fn set_faults(&self, plan: FaultPlan) {
        self.core.state().faults.set(plan);
    }

    /// Adds a request fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.core.state().faults.plan.rules.push(rule);
    }

    /// Adds a notification fault rule (lose, duplicate, delay).
    pub fn add_notification_fault(&self, rule: DeliveryFaultRule) {
        self.core.state().faults.plan.deliveries.push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.core.state().faults.set(FaultPlan::default());
    }
}

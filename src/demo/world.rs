//! A small world of upstreams for the demo and the tests: a Pipeliner space and a
//! Microsoft tenant, both simulated on loopback, with helpers to add people and to act on
//! contacts as a person would.

use std::net::TcpListener;

use serde_json::{json, Map, Value};

use crate::clock::SharedClock;
use crate::sim::graph::{GraphControl, GraphSim, GraphSimConfig, RunningGraphSim};
use crate::sim::pipeliner::{
    ClientSeed, PipelinerControl, PipelinerSim, PipelinerSimConfig, RunningPipelinerSim, SpaceSeed,
};

/// The Microsoft tenant of the world.
pub const TENANT: &str = "7d3f0c1e-0000-4000-8000-00000000e0a1";
/// The app registration's client id.
pub const CLIENT_ID: &str = "0b6c5f1d-0000-4000-8000-00000000c11e";
/// The Pipeliner space id.
pub const PIPELINER_SPACE: &str = "nl_Acme";

/// Both simulators, seeded with one space and one tenant.
#[derive(Debug)]
pub struct World {
    /// The Graph simulator.
    pub graph: RunningGraphSim,
    /// The Pipeliner simulator.
    pub pipeliner: RunningPipelinerSim,
    /// The space's display name.
    pub name: String,
    api_key: String,
    api_secret: String,
    client_secret: String,
}

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn random_secret(prefix: &str) -> String {
    format!(
        "{prefix}-{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

impl World {
    /// Starts both simulators on free loopback ports with a space called `name`.
    pub async fn start(seed: u64, clock: SharedClock, name: &str) -> std::io::Result<Self> {
        let (api_key, api_secret, client_secret) = (
            "acme-api-key".to_owned(),
            random_secret("pipeliner"),
            random_secret("graph"),
        );
        let pipeliner = PipelinerSim::new(PipelinerSimConfig {
            seed,
            clock: clock.clone(),
        });
        pipeliner
            .control()
            .create_space(SpaceSeed {
                id: Some(PIPELINER_SPACE.into()),
                name: name.into(),
                api_key: api_key.clone(),
                api_secret: api_secret.clone(),
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let graph = GraphSim::new(GraphSimConfig { seed, clock });
        graph.control().add_app(TENANT, CLIENT_ID, &client_secret);
        Ok(Self {
            pipeliner: pipeliner.start(TcpListener::bind("127.0.0.1:0")?).await?,
            graph: graph.start(TcpListener::bind("127.0.0.1:0")?).await?,
            name: name.into(),
            api_key,
            api_secret,
            client_secret,
        })
    }

    /// The body of `POST /api/v1/spaces` that registers this world as space `id`.
    pub fn space_body(&self, id: &str) -> Value {
        self.space_body_for(id, PIPELINER_SPACE)
    }

    /// Adds another Pipeliner space (same API key and secret) to the world, for runs
    /// with many spaces.
    pub fn add_crm_space(&self, pipeliner_space: &str, name: &str) -> std::io::Result<()> {
        self.crm()
            .create_space(SpaceSeed {
                id: Some(pipeliner_space.into()),
                name: name.into(),
                api_key: self.api_key.clone(),
                api_secret: self.api_secret.clone(),
            })
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// The body of `POST /api/v1/spaces` that registers the world's tenant with the
    /// Pipeliner space `pipeliner_space` as space `id`.
    pub fn space_body_for(&self, id: &str, pipeliner_space: &str) -> Value {
        json!({
            "id": id,
            "name": self.name,
            "pipeliner": {
                "service_url": self.pipeliner.service_url(),
                "space_id": pipeliner_space,
                "api_key": self.api_key,
                "api_secret": self.api_secret,
            },
            "microsoft": {
                "tenant_id": TENANT,
                "client_id": CLIENT_ID,
                "client_secret": self.client_secret,
                "graph_url": self.graph.graph_url(),
                "login_url": self.graph.login_url(),
            }
        })
    }

    /// The space's secrets (Pipeliner API secret, Graph client secret), for tests that
    /// prove they never leak.
    pub fn secrets(&self) -> [&str; 2] {
        [&self.api_secret, &self.client_secret]
    }

    /// The Graph control handle.
    pub fn graph(&self) -> GraphControl {
        self.graph.control()
    }

    /// The Pipeliner control handle.
    pub fn crm(&self) -> PipelinerControl {
        self.pipeliner.control()
    }

    /// Adds a person with a mailbox and a Pipeliner user; returns the Pipeliner Client id.
    pub fn add_person(&self, email: &str) -> String {
        self.add_person_in(PIPELINER_SPACE, email)
    }

    /// Adds a person with a mailbox and a user of the Pipeliner space `pipeliner_space`;
    /// returns the Pipeliner Client id.
    pub fn add_person_in(&self, pipeliner_space: &str, email: &str) -> String {
        self.graph().add_mailbox(TENANT, email);
        self.crm()
            .add_client(
                pipeliner_space,
                ClientSeed {
                    email: email.into(),
                    ..Default::default()
                },
            )
            .ok()
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Creates a Pipeliner contact as a person would; its id.
    pub fn crm_create(&self, contact: Value) -> String {
        self.crm_create_in(PIPELINER_SPACE, contact)
    }

    /// Creates a contact in the Pipeliner space `pipeliner_space`; its id.
    pub fn crm_create_in(&self, pipeliner_space: &str, contact: Value) -> String {
        self.crm()
            .create_contact(pipeliner_space, fields(contact))
            .ok()
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Edits a Pipeliner contact as a person would.
    pub fn crm_update(&self, id: &str, patch: Value) {
        let _ = self
            .crm()
            .update_contact(PIPELINER_SPACE, id, fields(patch));
    }

    /// Deletes a Pipeliner contact as a person would.
    pub fn crm_delete(&self, id: &str) {
        let _ = self.crm().delete_contact(PIPELINER_SPACE, id);
    }

    /// The live Pipeliner contacts.
    pub fn crm_contacts(&self) -> Vec<Value> {
        self.crm()
            .contacts(PIPELINER_SPACE, false)
            .unwrap_or_default()
    }

    /// The contacts of a mailbox folder found by name (none when the folder is missing).
    pub fn exchange_contacts(&self, mailbox: &str, folder_name: &str) -> Vec<Value> {
        match self.graph().folder_id(mailbox, folder_name) {
            Some(folder) => self.graph().contacts(mailbox, &folder).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Stops both simulators.
    pub async fn stop(self) {
        self.graph.stop().await;
        self.pipeliner.stop().await;
    }
}

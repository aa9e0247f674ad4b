//! The end-to-end rig: both simulators and a real exsync whose webhooks they can reach,
//! plus helpers to act as a person on either side and to wait for the result.

use std::sync::Arc;
use std::time::Duration;

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{random_token, ServerOptions, TestServer};

/// The space id exsync knows the world's space by.
pub const SPACE: &str = "acme";

/// Simulators plus exsync.
pub struct Rig {
    /// The simulators (shared with the server, which keeps them across restarts).
    pub world: Arc<World>,
    /// exsync.
    pub server: TestServer,
}

/// How long an end-to-end change may take to arrive.
pub const PATIENCE: Duration = Duration::from_secs(20);

impl Rig {
    /// [`Rig::start`] with the periodic tick an hour away: only notifications and admin
    /// requests run cycles within a test.
    pub async fn without_ticks(seed: u64) -> Self {
        Self::start(
            seed,
            ServerOptions {
                tick_interval: 3600,
                ..ServerOptions::default()
            },
        )
        .await
    }

    /// Starts the simulators and exsync, registers the space and switches it on.
    pub async fn start(seed: u64, options: ServerOptions) -> Self {
        let world = Arc::new(
            World::start(seed, Arc::new(SystemClock), "Acme")
                .await
                .expect("simulators start"),
        );
        let server = TestServer::start_in_world(
            Arc::new(tempfile::tempdir().expect("temp dir")),
            random_token(),
            ServerOptions {
                public_url: true,
                ..options
            },
            world.clone(),
        )
        .await;
        let rig = Self { world, server };
        let (status, body) = rig
            .server
            .call(
                reqwest::Method::POST,
                "/api/v1/spaces",
                Some(rig.world.space_body(SPACE)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = rig
            .server
            .put(
                &format!("/api/v1/spaces/{SPACE}/integration"),
                json!({ "enabled": true }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        rig
    }

    /// Activates `user` (its mailbox e-mail is `email`) with `settings`.
    pub async fn activate(&self, user: &str, email: &str, settings: Value) -> (StatusCode, Value) {
        self.server
            .put(
                &format!("/api/v1/spaces/{SPACE}/users/{user}"),
                json!({ "email": email, "settings": settings }),
            )
            .await
    }

    /// The user's status.
    pub async fn user(&self, user: &str) -> Value {
        self.server
            .get(&format!("/api/v1/spaces/{SPACE}/users/{user}"))
            .await
            .1
    }

    /// Stops everything.
    pub async fn stop(self) {
        self.server.stop().await;
        if let Ok(world) = Arc::try_unwrap(self.world) {
            world.stop().await;
        }
    }
}

/// Waits until `check` holds, re-checking the simulators' state every few milliseconds;
/// panics with `what` after `limit`.
pub async fn eventually<F: FnMut() -> bool>(what: &str, limit: Duration, mut check: F) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many requests an upstream simulator has served on `route`.
pub fn served(counts: std::collections::BTreeMap<String, u64>, route: &str) -> u64 {
    counts.get(route).copied().unwrap_or(0)
}

/// Settings JSON.
pub fn settings(sync_type: &str, delete_protection: bool, folder: Value) -> Value {
    json!({ "sync_type": sync_type, "delete_protection": delete_protection, "folder": folder })
}

impl Rig {
    /// Waits until `check` holds; on time-out panics with `user`'s status and journal.
    pub async fn until<F: FnMut() -> bool>(&self, user: &str, what: &str, check: F) {
        self.until_within(user, what, PATIENCE, check).await
    }

    /// [`Rig::until`] with a patience of its own, for runs whose injected faults fail
    /// whole cycles: each consecutive failure doubles the wait before the next cycle
    /// (1, 2, 4, 8, 16 s), so on a loaded machine convergence can take several failures.
    pub async fn until_within<F: FnMut() -> bool>(
        &self,
        user: &str,
        what: &str,
        patience: Duration,
        mut check: F,
    ) {
        let deadline = tokio::time::Instant::now() + patience;
        while !check() {
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "timed out waiting until {what}\n{}",
                    self.explain(user).await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The user's status and newest journal lines, for failure messages.
    pub async fn explain(&self, user: &str) -> String {
        let status = self.user(user).await;
        let events = self
            .server
            .get(&format!(
                "/api/v1/spaces/{SPACE}/users/{user}/events?limit=500"
            ))
            .await
            .1;
        let lines: Vec<String> = events["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .rev()
                    .take(15)
                    .map(|e| format!("{} {}", e["kind"], e["message"]))
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "status: {}\nrecent events:\n{}",
            status["status"],
            lines.join("\n")
        )
    }
}

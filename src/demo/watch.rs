//! One log line per synced change, so that "watch it arrive" can be done in the terminal:
//! who (the user), which contact (by name), which direction, what changed. The lines come
//! from the users' journals, read through exsync's REST API like any other client would
//! (`GET …/users/{user}/events`, a few times a second); the contact's name is looked up
//! in the simulators. A cycle that changed many contacts at once (a first sync) gets one
//! summary line instead of hundreds.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::running::RunningDemo;
use super::world::PIPELINER_SPACE;
use super::{SPACE, USERS};
use crate::sim::graph::GraphControl;
use crate::sim::pipeliner::PipelinerControl;
use crate::store::journal::JournalEvent;
use crate::sync::Side;

/// How often the journals are read.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// A cycle with more changes than this is summarised in one line.
pub const SUMMARY_AFTER: usize = 12;

/// The log target of the change lines.
pub const TARGET: &str = "exsync::demo";

/// One line for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLine {
    /// The user whose sync made the change (`ann`).
    pub user: String,
    /// Whether it reports a failure (logged as a warning).
    pub failure: bool,
    /// The line, starting with the user.
    pub text: String,
}

impl ChangeLine {
    /// Writes the line to the log, at INFO (a failure at WARN).
    pub fn log(&self) {
        if self.failure {
            tracing::warn!(target: TARGET, "{}", self.text);
        } else {
            tracing::info!(target: TARGET, "{}", self.text);
        }
    }
}

/// The ids a journal event carries.
#[derive(Debug, Default, Deserialize)]
struct Details {
    side: Option<Side>,
    exchange_id: Option<String>,
    crm_id: Option<String>,
    id: Option<String>,
}

/// Reads the demo users' journals and turns new events into lines.
#[derive(Debug, Clone)]
pub struct Watcher {
    client: reqwest::Client,
    base: String,
    token: String,
    graph: GraphControl,
    crm: PipelinerControl,
}

impl Watcher {
    /// A watcher of the demo's users.
    pub fn new(demo: &RunningDemo) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: demo.base.clone(),
            token: demo.token.clone(),
            graph: demo.world.graph(),
            crm: demo.world.crm(),
        }
    }

    /// Hands every line to `sink`, forever (a failed read is tried again next time).
    pub async fn follow(&self, mut sink: impl FnMut(ChangeLine)) {
        let mut after: BTreeMap<&str, u64> = BTreeMap::new();
        let mut every = tokio::time::interval(POLL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            for (user, mailbox) in USERS {
                let seen = after.entry(user).or_default();
                let Ok(events) = self.events_after(user, *seen).await else {
                    continue;
                };
                if let Some(last) = events.last() {
                    *seen = last.seq;
                }
                for line in lines(user, &events, |d| self.name(mailbox, d)) {
                    sink(line);
                }
            }
        }
    }

    /// The user's journal events after sequence number `after`, every page.
    async fn events_after(&self, user: &str, after: u64) -> Result<Vec<JournalEvent>, ()> {
        #[derive(Deserialize)]
        struct Page {
            items: Vec<JournalEvent>,
            next: Option<String>,
        }
        let mut events = Vec::new();
        let mut cursor = after.to_string();
        loop {
            let page: Page = self
                .client
                .get(format!(
                    "{}/api/v1/spaces/{SPACE}/users/{user}/events?limit=500&after={cursor}",
                    self.base
                ))
                .bearer_auth(&self.token)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|_| ())?
                .json()
                .await
                .map_err(|_| ())?;
            events.extend(page.items);
            match page.next {
                Some(next) => cursor = next,
                None => return Ok(events),
            }
        }
    }

    /// The contact's name: from Pipeliner when the event names the Pipeliner contact (a
    /// deleted one too), else from the user's mailbox, else its id.
    fn name(&self, mailbox: &str, details: &Details) -> String {
        let crm = details.crm_id.as_deref().and_then(|id| {
            let contact = self.crm.contact(PIPELINER_SPACE, id).ok()??;
            joined(&contact["first_name"], &contact["last_name"])
        });
        let exchange = || {
            let id = details.exchange_id.as_deref()?;
            self.graph
                .folders(mailbox)
                .ok()?
                .iter()
                .filter_map(|f| f["id"].as_str())
                .filter_map(|folder| self.graph.contacts(mailbox, folder).ok())
                .flatten()
                .find(|c| c["id"] == id)
                .and_then(|c| joined(&c["givenName"], &c["surname"]))
        };
        crm.or_else(exchange)
            .or_else(|| details.crm_id.clone())
            .or_else(|| details.exchange_id.clone())
            .or_else(|| details.id.clone())
            .unwrap_or_else(|| "a contact".into())
    }
}

fn joined(first: &Value, last: &Value) -> Option<String> {
    let name = [first, last]
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn direction(target: Side) -> String {
    format!("{} → {}", target.other().label(), target.label())
}

/// What a change event did (`created`, `updated`, `deleted`); `None` for events that
/// are not a write of a contact (links, tombstones, notices, errors).
fn verb(event: &JournalEvent) -> Option<&'static str> {
    match event.kind.as_str() {
        "create" => Some("created"),
        "update" => Some("updated"),
        "delete" => Some("deleted"),
        _ => None,
    }
}

/// The lines for one user's new events (oldest first). Events of one cycle share their
/// time; a cycle of more than [`SUMMARY_AFTER`] changes is summarised.
fn lines(
    user: &str,
    events: &[JournalEvent],
    name: impl Fn(&Details) -> String,
) -> Vec<ChangeLine> {
    let mut out = Vec::new();
    let mut cycles: Vec<&[JournalEvent]> = Vec::new();
    let mut rest = events;
    while let Some(first) = rest.first() {
        let len = rest.iter().take_while(|e| e.at == first.at).count();
        cycles.push(&rest[..len]);
        rest = &rest[len..];
    }
    for cycle in cycles {
        let changes = cycle.iter().filter(|e| verb(e).is_some()).count();
        if changes > SUMMARY_AFTER {
            out.push(summary(user, cycle, changes));
            continue;
        }
        for event in cycle {
            let details: Details =
                serde_json::from_value(event.details.clone()).unwrap_or_default();
            let line = |failure, text: String| ChangeLine {
                user: user.to_owned(),
                failure,
                text: format!("{user}: {text}"),
            };
            match (verb(event), details.side, event.kind.as_str()) {
                (Some(verb), Some(target), _) => {
                    let what = event
                        .message
                        .split_once(": ")
                        .filter(|_| event.kind == "update")
                        .map(|(_, fields)| format!(" ({})", fields.trim_end_matches('.')))
                        .unwrap_or_default();
                    let text = format!("{}: {verb} {}{what}", direction(target), name(&details));
                    out.push(line(false, text));
                }
                (_, _, "conflict") => {
                    out.push(line(
                        false,
                        format!("{} — {}", name(&details), event.message),
                    ));
                }
                (_, _, "record_error") => {
                    out.push(line(
                        true,
                        format!("could not sync {}: {}", name(&details), event.message),
                    ));
                }
                _ => {}
            }
        }
    }
    out
}

fn summary(user: &str, cycle: &[JournalEvent], changes: usize) -> ChangeLine {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for event in cycle {
        let side = serde_json::from_value::<Details>(event.details.clone())
            .ok()
            .and_then(|d| d.side);
        if let (Some(verb), Some(side)) = (verb(event), side) {
            *counts
                .entry(format!("{verb} in {}", side.label()))
                .or_default() += 1;
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    ChangeLine {
        user: user.to_owned(),
        failure: false,
        text: format!(
            "{user}: {changes} changes synced in one cycle ({}); GET /api/v1/spaces/{SPACE}/users/{user}/events lists them",
            parts.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn event(seq: u64, at: i64, kind: &str, message: &str, details: Value) -> JournalEvent {
        JournalEvent {
            seq,
            at: DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default(),
            kind: kind.into(),
            message: message.into(),
            details,
        }
    }

    #[test]
    fn each_change_is_one_line_with_user_contact_and_direction() {
        let events = [
            event(
                1,
                10,
                "update",
                "Update in Pipeliner: job title.",
                json!({"side": "crm", "exchange_id": "e1", "crm_id": "c1"}),
            ),
            event(
                2,
                10,
                "link",
                "Linked by e-mail.",
                json!({"exchange_id": "e1", "crm_id": "c1"}),
            ),
            event(
                3,
                11,
                "create",
                "Create in Exchange from Pipeliner contact c2: new.",
                json!({"side": "exchange", "crm_id": "c2"}),
            ),
            event(
                4,
                11,
                "record_error",
                "Pipeliner refused it.",
                json!({"side": "crm", "id": "e3"}),
            ),
        ];
        let name = |d: &Details| {
            format!(
                "<{}>",
                d.crm_id.clone().or(d.id.clone()).unwrap_or_default()
            )
        };
        let texts: Vec<(bool, String)> = lines("ann", &events, name)
            .into_iter()
            .map(|l| (l.failure, l.text))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    false,
                    "ann: Exchange → Pipeliner: updated <c1> (job title)".to_owned()
                ),
                (false, "ann: Pipeliner → Exchange: created <c2>".to_owned()),
                (
                    true,
                    "ann: could not sync <e3>: Pipeliner refused it.".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_cycle_of_many_changes_is_one_summary() {
        let mut events: Vec<JournalEvent> = (0..20)
            .map(|i| {
                event(
                    i,
                    5,
                    "create",
                    "Create in Exchange from Pipeliner contact x: new.",
                    json!({"side": "exchange"}),
                )
            })
            .collect();
        events.push(event(
            20,
            5,
            "create",
            "Create in Pipeliner from Exchange contact y: new.",
            json!({"side": "crm"}),
        ));
        events.push(event(
            21,
            6,
            "delete",
            "Delete in Exchange: deleted in Pipeliner.",
            json!({"side": "exchange", "crm_id": "c9"}),
        ));
        let texts: Vec<String> = lines("bo", &events, |_| "Ada".into())
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(texts.len(), 2, "{texts:#?}");
        assert!(texts[0].starts_with("bo: 21 changes synced in one cycle (20 created in Exchange, 1 created in Pipeliner)"), "{}", texts[0]);
        assert_eq!(texts[1], "bo: Pipeliner → Exchange: deleted Ada");
    }
}

//! Many users at once: seeds the simulators with spaces of people who each have a small
//! mailbox and a few owned Pipeliner contacts, registers the spaces with exsync,
//! activates everyone, and waits for their first syncs.

use std::time::{Duration, Instant};

use exsync::demo::world::World;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use super::Exsync;

/// The shape of a fleet.
#[derive(Debug, Clone, Copy)]
pub struct FleetSpec {
    /// exsync spaces, each with its own Pipeliner space (all in the world's tenant).
    pub spaces: usize,
    /// Users per space.
    pub users_per_space: usize,
    /// Contacts in each user's Exchange folder.
    pub exchange_contacts: usize,
    /// Pipeliner contacts each user owns.
    pub crm_contacts: usize,
}

impl FleetSpec {
    /// Users in all.
    pub fn users(&self) -> usize {
        self.spaces * self.users_per_space
    }
}

/// One seeded user.
#[derive(Debug, Clone)]
pub struct FleetUser {
    /// exsync space id.
    pub space: String,
    /// exsync user id.
    pub user: String,
    /// Mailbox address.
    pub email: String,
    /// The Exchange folder that syncs.
    pub folder: String,
}

/// What [`seed`] made.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The shape.
    pub spec: FleetSpec,
    /// exsync space id with its Pipeliner space id.
    pub spaces: Vec<(String, String)>,
    /// Every user.
    pub users: Vec<FleetUser>,
}

/// Seeds the simulators.
pub fn seed(world: &World, spec: FleetSpec) -> Result<Fleet, String> {
    let graph = world.graph();
    let mut fleet = Fleet {
        spec,
        spaces: Vec::new(),
        users: Vec::new(),
    };
    for s in 0..spec.spaces {
        let (space, crm_space) = (format!("fleet{s}"), format!("nl_Fleet{s}"));
        world
            .add_crm_space(&crm_space, &format!("Fleet {s}"))
            .map_err(|e| e.to_string())?;
        for u in 0..spec.users_per_space {
            let email = format!("u{u}@s{s}.fleet.example");
            let owner = world.add_person_in(&crm_space, &email);
            let folder = graph
                .create_folder(&email, "Customers")
                .map_err(|e| e.message)?["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for c in 0..spec.exchange_contacts {
                graph
                    .create_contact(
                        &email,
                        &folder,
                        json!({ "givenName": "Ex", "surname": format!("S{s}U{u}E{c}"),
                        "emailAddresses": [{ "address": format!("e{c}.u{u}@s{s}.contacts.example") }] }),
                    )
                    .map_err(|e| e.message)?;
            }
            for c in 0..spec.crm_contacts {
                world.crm_create_in(
                    &crm_space,
                    json!({ "owner_id": owner, "last_name": format!("S{s}U{u}C{c}"),
                        "email1": format!("c{c}.u{u}@s{s}.contacts.example") }),
                );
            }
            fleet.users.push(FleetUser {
                space: space.clone(),
                user: format!("u{u}"),
                email,
                folder,
            });
        }
        fleet.spaces.push((space, crm_space));
    }
    Ok(fleet)
}

/// Registers the fleet's spaces with exsync and switches them on.
pub async fn register(exsync: &Exsync, world: &World, fleet: &Fleet) -> Result<(), String> {
    for (space, crm_space) in &fleet.spaces {
        exsync
            .ok(
                Method::POST,
                "/api/v1/spaces",
                Some(world.space_body_for(space, crm_space)),
            )
            .await?;
        exsync
            .ok(
                Method::PUT,
                &format!("/api/v1/spaces/{space}/integration"),
                Some(json!({ "enabled": true })),
            )
            .await?;
    }
    Ok(())
}

/// Activates every user, `concurrency` requests at a time; how long that took.
pub async fn activate(
    exsync: &Exsync,
    fleet: &Fleet,
    concurrency: usize,
) -> Result<Duration, String> {
    let started = Instant::now();
    stream::iter(fleet.users.iter().map(Ok::<_, String>))
        .try_for_each_concurrent(concurrency, |u| async move {
            let path = format!("/api/v1/spaces/{}/users/{}", u.space, u.user);
            let body = json!({ "email": u.email, "settings": { "sync_type": "bidirectional",
                "delete_protection": true, "folder": { "existing": u.folder } } });
            // An upstream that did not answer the activation's probe (502) is asked
            // again, as an admin would.
            for _ in 0..3 {
                let (status, answer) = exsync.call(Method::PUT, &path, Some(body.clone())).await?;
                match status {
                    200 | 201 => return Ok(()),
                    502 => continue,
                    _ => return Err(format!("PUT {path} answered {status}: {answer}")),
                }
            }
            Err(format!("PUT {path} kept answering 502"))
        })
        .await?;
    Ok(started.elapsed())
}

/// Asks for a sync of every user, `concurrency` requests at a time.
pub async fn sync_all(exsync: &Exsync, fleet: &Fleet, concurrency: usize) -> Result<(), String> {
    stream::iter(fleet.users.iter().map(Ok::<_, String>))
        .try_for_each_concurrent(concurrency, |u| async move {
            exsync
                .ok(
                    Method::POST,
                    &format!("/api/v1/spaces/{}/users/{}/sync", u.space, u.user),
                    None,
                )
                .await
                .map(|_| ())
        })
        .await
}

/// How many of the fleet's users have finished a sync since `after` (RFC 3339), from
/// the space listings.
pub async fn synced_since(
    exsync: &Exsync,
    fleet: &Fleet,
    after: Option<&str>,
) -> Result<usize, String> {
    let listings: Vec<serde_json::Value> = stream::iter(fleet.spaces.iter())
        .map(|(space, _)| async move {
            exsync
                .ok(Method::GET, &format!("/api/v1/spaces/{space}/users"), None)
                .await
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    Ok(listings
        .iter()
        .filter_map(|l| l.as_array())
        .flatten()
        .filter(|u| {
            let finished = u["status"]["last_sync_finished_at"].as_str();
            u["status"]["last_error"].is_null()
                && match (finished, after) {
                    (Some(f), Some(after)) => parse(f) > parse(after),
                    (Some(_), None) => true,
                    (None, _) => false,
                }
        })
        .count())
}

/// The fleet's users with a last error, counted by error code.
pub async fn error_codes(
    exsync: &Exsync,
    fleet: &Fleet,
) -> Result<std::collections::BTreeMap<String, usize>, String> {
    let mut codes = std::collections::BTreeMap::new();
    for (space, _) in &fleet.spaces {
        let listing = exsync
            .ok(Method::GET, &format!("/api/v1/spaces/{space}/users"), None)
            .await?;
        for user in listing.as_array().into_iter().flatten() {
            if let Some(code) = user["status"]["last_error"]["code"].as_str() {
                *codes.entry(code.to_owned()).or_insert(0) += 1;
            }
        }
    }
    Ok(codes)
}

fn parse(t: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// Waits until every user has finished a sync since `after`; how long that took.
pub async fn wait_synced(
    exsync: &Exsync,
    fleet: &Fleet,
    after: Option<&str>,
    limit: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let done = synced_since(exsync, fleet, after).await?;
        if done == fleet.users.len() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "only {done} of {} users synced within {limit:?}",
                fleet.users.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

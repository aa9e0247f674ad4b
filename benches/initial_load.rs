//! Initial load: one bidirectional user whose Exchange folder holds 10,000 contacts and
//! whose Pipeliner space holds 10,000 (2,000 of them sharing an e-mail with an Exchange
//! contact), from activation until both sides hold the same 18,000 contacts.
//!
//! The Graph simulator enforces the real per-mailbox budget of 10,000 requests per
//! window with 4 concurrent requests, the window scaled down from 600 s to 20 s so the
//! run takes seconds, and exsync is told the same budget. exsync runs as a child process
//! so its CPU time is its own. Prints wall time, upstream requests by kind against the
//! fewest possible, 429s, the write rate against the budget, and CPU per contact: at
//! convergence (the first sync finished, both sides agree), and once the cycle after it,
//! which reads exsync's own writes back from both sides, has finished too.
//!
//! `cargo bench --bench initial_load`; `-- --quick` runs 1,000 + 1,000 contacts
//! (200 shared) against a budget of 1,000 requests per 2 s.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use reqwest::Method;
use serde_json::{json, Value};
use support::{Exsync, ExsyncOptions};

const MAILBOX: &str = "ann@load.example";

/// The sizes of one run.
struct Load {
    /// Contacts on each side.
    per_side: usize,
    /// Contacts on both sides (same e-mail).
    shared: usize,
    /// Graph's budget per mailbox and its (scaled) window.
    budget: u32,
    window: u64,
}

fn email(contact: &Value) -> Option<String> {
    contact["email1"]
        .as_str()
        .or_else(|| contact["emailAddresses"][0]["address"].as_str())
        .map(str::to_ascii_lowercase)
}

fn seed(world: &World, load: &Load) -> Result<(String, String), String> {
    let owner = world.add_person(MAILBOX);
    let graph = world.graph();
    let folder = graph
        .create_folder(MAILBOX, "Customers")
        .map_err(|e| e.message)?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for i in 0..load.per_side {
        let (address, title) = if i < load.shared {
            (format!("s{i}@load.example"), "Buyer")
        } else {
            (format!("e{i}@load.example"), "")
        };
        graph
            .create_contact(
                MAILBOX,
                &folder,
                json!({ "givenName": "Ex", "surname": format!("E{i}"), "jobTitle": title,
                        "emailAddresses": [{ "address": address, "name": format!("Ex E{i}") }] }),
            )
            .map_err(|e| e.message)?;
    }
    for i in 0..load.per_side {
        let address = if i < load.shared {
            format!("s{i}@load.example")
        } else {
            format!("c{i}@load.example")
        };
        world.crm_create(
            json!({ "owner_id": owner, "first_name": "Crm", "last_name": format!("C{i}"),
            "email1": address, "phone1": format!("+1 555 {i:05}") }),
        );
    }
    Ok((owner, folder))
}

fn converged(world: &World, folder: &str, expected: usize) -> bool {
    let exchange = world.graph().contacts(MAILBOX, folder).unwrap_or_default();
    if exchange.len() != expected {
        return false;
    }
    let crm = world.crm_contacts();
    if crm.len() != expected {
        return false;
    }
    let left: HashSet<_> = exchange.iter().filter_map(email).collect();
    let right: HashSet<_> = crm.iter().filter_map(email).collect();
    left.len() == expected && left == right
}

fn sum(counts: &BTreeMap<String, u64>, prefix: &str) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

/// A status time, if set.
fn status_time(status: &serde_json::Value, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    status[field]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// When the user's last cycle finished, if none is running.
fn finished_cycle(user: &serde_json::Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let status = &user["status"];
    let finished = status_time(status, "last_sync_finished_at");
    (status_time(status, "last_sync_started_at") <= finished)
        .then_some(finished)
        .flatten()
}

/// Waits until a cycle of the user has finished after the one that finished at `first`
/// and none is running, asking the admin API every 500 ms; how long that took.
async fn settle(exsync: &Exsync, first: chrono::DateTime<chrono::Utc>) -> Result<Duration, String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let (_, user) = exsync
            .call(Method::GET, "/api/v1/spaces/load/users/ann", None)
            .await?;
        if finished_cycle(&user).is_some_and(|f| f > first) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err("no cycle finished within 5 minutes of converging".into())
}

async fn bench(load: Load) -> Result<(), String> {
    let world = World::start(11, Arc::new(SystemClock), "Load")
        .await
        .map_err(|e| e.to_string())?;
    let mut settings = world.graph().settings();
    settings.budget_requests = Some(u64::from(load.budget));
    settings.budget_window_secs = load.window as i64;
    world.graph().set_settings(settings);
    let seeding = Instant::now();
    let (_, folder) = seed(&world, &load)?;
    println!(
        "seeded {} + {} contacts ({} shared) in {:.1} s",
        load.per_side,
        load.per_side,
        load.shared,
        seeding.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exsync = Exsync::start(
        dir.path(),
        ExsyncOptions {
            budget_requests: load.budget,
            budget_window: load.window,
            ..ExsyncOptions::default()
        },
    )
    .await?;
    exsync
        .ok(
            Method::POST,
            "/api/v1/spaces",
            Some(world.space_body("load")),
        )
        .await?;
    exsync
        .ok(
            Method::PUT,
            "/api/v1/spaces/load/integration",
            Some(json!({ "enabled": true })),
        )
        .await?;
    let graph_before = world.graph().request_counts();
    let crm_before = world.crm().request_counts();
    let cpu_before = exsync.cpu_seconds();
    let started = Instant::now();
    exsync
        .ok(
            Method::PUT,
            "/api/v1/spaces/load/users/ann",
            Some(
                json!({ "email": MAILBOX, "settings": { "sync_type": "bidirectional",
                "delete_protection": true, "folder": { "existing": folder } } }),
            ),
        )
        .await?;
    let expected = 2 * load.per_side - load.shared;
    let mut done = None;
    let graph_writes_now = || {
        let counts = world.graph().request_counts();
        sum(&counts, "contacts.create") + sum(&counts, "contacts.update")
            - sum(&graph_before, "contacts.create")
            - sum(&graph_before, "contacts.update")
    };
    // (when the first Graph write was seen, when the last one was)
    let (mut first_write, mut last_write, mut writes_seen) = (None, None, 0);
    let mut polls = 0u64;
    while started.elapsed() < Duration::from_secs(1800) {
        let writes = graph_writes_now();
        if writes > writes_seen {
            first_write.get_or_insert(started.elapsed());
            last_write = Some(started.elapsed());
            writes_seen = writes;
        }
        polls += 1;
        // The admin API is asked every 500 ms only, so its own CPU stays out of the figure.
        if !polls.is_multiple_of(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let (_, user) = exsync
            .call(Method::GET, "/api/v1/spaces/load/users/ann", None)
            .await?;
        if let Some(error) = user["status"]["last_error"].as_object() {
            eprintln!("last error: {error:?}");
        }
        // The first sync has finished, its status is written, and both sides agree.
        let first_finished = finished_cycle(&user);
        if user["sync"]["initial_sync_done"] == true
            && first_finished.is_some()
            && converged(&world, &folder, expected)
        {
            done = first_finished.map(|at| (started.elapsed(), at));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (wall, first_finished) =
        done.ok_or("the initial load did not converge within 30 minutes")?;
    let cpu = exsync.cpu_seconds() - cpu_before;
    let graph = support::counts_since(world.graph().request_counts(), &graph_before);
    let crm = support::counts_since(world.crm().request_counts(), &crm_before);
    // The cycle after the first sync reads exsync's own writes back from both sides; the
    // load has cost all it will once that cycle has finished.
    let settled = settle(&exsync, first_finished).await?;
    let cpu_settled = exsync.cpu_seconds() - cpu_before;
    let throttled = world.graph().throttled_count() + crm.get("throttled").copied().unwrap_or(0);

    let per_side = load.per_side as u64;
    let only = (load.per_side - load.shared) as u64;
    let graph_writes = sum(&graph, "contacts.create") + sum(&graph, "contacts.update");
    let crm_pages = crm.get("contacts.list").copied().unwrap_or(0);
    println!();
    println!(
        "initial load, bidirectional: {} Exchange + {} Pipeliner contacts, {} shared e-mails -> {} on each side",
        load.per_side, load.per_side, load.shared, expected
    );
    println!("machine: {}", support::machine());
    println!(
        "Graph budget: {} requests per {} s per mailbox (Graph: per 600 s), 4 concurrent",
        load.budget, load.window
    );
    println!(
        "wall time, activation to converged: {:.1} s",
        wall.as_secs_f64()
    );
    println!("Graph requests by route: {graph:?}");
    println!("Pipeliner requests by route: {crm:?}");
    println!(
        "  Graph delta pages: {} (fewest: {} pages of 100)",
        graph.get("delta").copied().unwrap_or(0),
        per_side.div_ceil(100)
    );
    println!(
        "  Graph $batch: {} carrying {} writes (fewest: {} batches of 20 for {} creates + up to {} updates)",
        graph.get("batch").copied().unwrap_or(0),
        graph_writes,
        (only + load.shared as u64).div_ceil(20),
        only,
        load.shared
    );
    println!(
        "  Pipeliner contact pages: {crm_pages} (fewest: {} pages of 100)",
        per_side.div_ceil(100)
    );
    println!(
        "  Pipeliner batch-modify: {} (fewest: {} for {} creates + {} for up to {} updates)",
        crm.get("contacts.batch_modify").copied().unwrap_or(0),
        only.div_ceil(100),
        only,
        (load.shared as u64).div_ceil(100),
        load.shared
    );
    println!("429 answers received: {throttled}");
    let budget_rate = f64::from(load.budget) / load.window as f64;
    if let (Some(first), Some(last)) = (first_write, last_write) {
        let span = (last - first).as_secs_f64().max(0.05);
        let rate = graph_writes as f64 / span;
        println!(
            "Graph writes: {graph_writes} between {:.2} s and {:.2} s = {rate:.0}/s, {:.1} % of the budget rate {budget_rate:.0}/s (sampled every 50 ms)",
            first.as_secs_f64(),
            last.as_secs_f64(),
            100.0 * rate / budget_rate
        );
    }
    println!(
        "exsync CPU: {cpu:.2} s = {:.1} µs per contact read ({} contacts)",
        cpu * 1e6 / (2 * load.per_side) as f64,
        2 * load.per_side
    );
    println!(
        "exsync CPU with the read-back cycle, settled {:.1} s after converged: {cpu_settled:.2} s = {:.1} µs per contact",
        settled.as_secs_f64(),
        cpu_settled * 1e6 / (2 * load.per_side) as f64,
    );
    println!("targets: writes at >= 95 % of the budget with zero 429s; CPU < 50 µs per contact");
    exsync.stop().await;
    world.stop().await;
    Ok(())
}

fn main() {
    let load = if support::quick() {
        Load {
            per_side: 1_000,
            shared: 200,
            budget: 1_000,
            window: 2,
        }
    } else {
        Load {
            per_side: 10_000,
            shared: 2_000,
            budget: 10_000,
            window: 20,
        }
    };
    if let Err(e) = actix_web::rt::System::new().block_on(bench(load)) {
        eprintln!("initial load bench failed: {e}");
        std::process::exit(1);
    }
}

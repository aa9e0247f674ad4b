//! Reconciliation after a settings change: one `crm_to_exchange` user whose Exchange
//! folder holds 10,000 contacts and whose Pipeliner space holds 10,000, whose
//! `sync_preference` goes from `owned` to `accessible`.
//!
//! Pipeliner: 8,000 contacts the user owns and 2,000 a colleague owns and shares with
//! them. Exchange: copies of the 8,000 (paired by e-mail on the first sync, which writes
//! nothing), 1,000 personal contacts, and the user's own copies of 1,000 of the shared
//! ones. Widening brings the 2,000 shared contacts in: 1,000 pair by e-mail with the
//! copies already there, 1,000 are created. Then the user is activated again with the
//! same settings: a reconciliation that finds nothing to change.
//!
//! exsync runs as a child process so its CPU time is its own; the Graph simulator
//! enforces the per-mailbox budget scaled as in the initial-load bench (10,000 requests
//! per 20 s). The steps are measured once the seeded contacts are older than Pipeliner's
//! 10 s read overlap. Prints, for each reconciliation, wall time, exsync CPU per contact read,
//! and upstream requests by kind against the fewest possible.
//!
//! `cargo bench --bench reconcile`; `-- --quick` runs 1,000 + 1,000 contacts.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::{World, PIPELINER_SPACE};
use reqwest::Method;
use serde_json::{json, Value};
use support::{Exsync, ExsyncOptions};

const MAILBOX: &str = "ann@load.example";
const USER: &str = "/api/v1/spaces/load/users/ann";

/// The sizes of one run: `owned` + `shared` Pipeliner contacts, `owned` + `personal` +
/// `typed` Exchange contacts (`typed` of the shared ones already in the folder).
struct Load {
    owned: usize,
    shared: usize,
    personal: usize,
    typed: usize,
}

fn seed(world: &World, load: &Load) -> Result<String, String> {
    let ann = world.add_person(MAILBOX);
    let carl = world.add_person("carl@load.example");
    let graph = world.graph();
    let folder = graph
        .create_folder(MAILBOX, "Customers")
        .map_err(|e| e.message)?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let exchange = |surname: String, address: String| {
        graph
            .create_contact(
                MAILBOX,
                &folder,
                json!({ "givenName": "Crm", "surname": surname,
                        "emailAddresses": [{ "address": address }] }),
            )
            .map(|_| ())
            .map_err(|e| e.message)
    };
    for i in 0..load.owned {
        world.crm_create(
            json!({ "owner_id": ann, "first_name": "Crm", "last_name": format!("O{i}"),
            "email1": format!("o{i}@load.example") }),
        );
        exchange(format!("O{i}"), format!("o{i}@load.example"))?;
    }
    for i in 0..load.shared {
        let id = world.crm_create(json!({ "owner_id": carl, "first_name": "Crm",
            "last_name": format!("S{i}"), "email1": format!("s{i}@load.example") }));
        world
            .crm()
            .share_contact(PIPELINER_SPACE, &id, &ann, 1)
            .map_err(|e| e.to_string())?;
        if i < load.typed {
            exchange(format!("S{i}"), format!("s{i}@load.example"))?;
        }
    }
    for i in 0..load.personal {
        exchange(format!("P{i}"), format!("p{i}@load.example"))?;
    }
    Ok(folder)
}

fn time(status: &Value, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    status[field]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// When the user's last cycle finished, if none is running.
fn finished(user: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let status = &user["status"];
    let end = time(status, "last_sync_finished_at");
    (time(status, "last_sync_started_at") <= end)
        .then_some(end)
        .flatten()
}

/// Waits until a cycle finished after `after`, none runs and no reconciliation is due,
/// asking the admin API every 500 ms (its own CPU stays out of the figures); the time
/// it finished.
async fn settled(
    exsync: &Exsync,
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        let (_, user) = exsync.call(Method::GET, USER, None).await?;
        if let Some(error) = user["status"]["last_error"].as_object() {
            eprintln!("last error: {error:?}");
        }
        let done =
            user["sync"]["initial_sync_done"] == true && user["sync"]["reconciliation"].is_null();
        if let Some(at) = finished(&user).filter(|at| done && Some(*at) > after) {
            return Ok(at);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err("the user did not settle within 10 minutes".into())
}

/// One measured step: what it cost from `run` until the user settled.
struct Step {
    wall: Duration,
    cpu: f64,
    graph: BTreeMap<String, u64>,
    crm: BTreeMap<String, u64>,
    finished: chrono::DateTime<chrono::Utc>,
}

async fn measure(
    exsync: &Exsync,
    world: &World,
    after: chrono::DateTime<chrono::Utc>,
    run: (Method, &str, Value),
) -> Result<Step, String> {
    let graph_before = world.graph().request_counts();
    let crm_before = world.crm().request_counts();
    let cpu_before = exsync.cpu_seconds();
    let started = Instant::now();
    exsync.ok(run.0, run.1, Some(run.2)).await?;
    let finished = settled(exsync, Some(after)).await?;
    Ok(Step {
        wall: started.elapsed(),
        cpu: exsync.cpu_seconds() - cpu_before,
        graph: support::counts_since(world.graph().request_counts(), &graph_before),
        crm: support::counts_since(world.crm().request_counts(), &crm_before),
        finished,
    })
}

fn get(counts: &BTreeMap<String, u64>, route: &str) -> u64 {
    counts.get(route).copied().unwrap_or(0)
}

fn report(name: &str, step: &Step, read: usize, exchange: usize, crm: usize, creates: usize) {
    // The simulator counts the writes a `$batch` carries under their own routes too.
    let carried: u64 = ["contacts.create", "contacts.update", "contacts.delete"]
        .iter()
        .map(|r| get(&step.graph, r))
        .sum();
    let graph_total: u64 = step.graph.values().sum::<u64>() - carried;
    println!();
    println!("{name}");
    println!(
        "  wall time, request to settled: {:.1} s (status polled every 500 ms)",
        step.wall.as_secs_f64()
    );
    println!("  Graph requests by route: {:?}", step.graph);
    println!("  Pipeliner requests by route: {:?}", step.crm);
    println!(
        "  Graph delta pages: {} (fewest: {} pages of 100, the whole folder)",
        get(&step.graph, "delta"),
        exchange.div_ceil(100)
    );
    println!(
        "  Graph $batch: {} carrying {carried} writes (fewest: {} batches of 20 for {creates} creates)",
        get(&step.graph, "batch"),
        creates.div_ceil(20)
    );
    println!(
        "  Graph HTTP requests in all: {graph_total} (fewest: {})",
        exchange.div_ceil(100) + creates.div_ceil(20)
    );
    println!(
        "  Pipeliner contact pages: {} (fewest: {} pages of 100, the whole space)",
        get(&step.crm, "contacts.list"),
        crm.div_ceil(100)
    );
    let crm_writes: u64 = [
        "contacts.create",
        "contacts.update",
        "contacts.batch_modify",
    ]
    .iter()
    .map(|r| get(&step.crm, r))
    .sum();
    println!("  Pipeliner writes: {crm_writes} (fewest: 0)");
    println!(
        "  exsync CPU: {:.2} s = {:.1} µs per contact read ({read} contacts)",
        step.cpu,
        step.cpu * 1e6 / read as f64
    );
}

async fn bench(load: Load) -> Result<(), String> {
    let world = World::start(12, Arc::new(SystemClock), "Load")
        .await
        .map_err(|e| e.to_string())?;
    let (budget, window) = (10_000u32, 20u64);
    let mut sim = world.graph().settings();
    sim.budget_requests = Some(u64::from(budget));
    sim.budget_window_secs = window as i64;
    world.graph().set_settings(sim);
    let seeding = Instant::now();
    let folder = seed(&world, &load)?;
    let exchange = load.owned + load.typed + load.personal;
    let crm = load.owned + load.shared;
    println!(
        "seeded {exchange} Exchange + {crm} Pipeliner contacts in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    // Pipeliner is read from the watermark less a 10 s overlap: until the seeded contacts
    // are older than that, every cycle would read the whole seeding burst again, which a
    // real space's contacts (not all seconds old) never make it do.
    let aged = seeding + Duration::from_secs(11);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exsync = Exsync::start(
        dir.path(),
        ExsyncOptions {
            budget_requests: budget,
            budget_window: window,
            ..ExsyncOptions::default()
        },
    )
    .await?;
    let space = world.space_body("load");
    exsync
        .ok(Method::POST, "/api/v1/spaces", Some(space))
        .await?;
    exsync
        .ok(
            Method::PUT,
            "/api/v1/spaces/load/integration",
            Some(json!({ "enabled": true })),
        )
        .await?;
    let activation = |preference: &str| {
        json!({ "email": MAILBOX, "settings": { "sync_type": "crm_to_exchange",
            "sync_preference": preference, "delete_protection": true,
            "folder": { "existing": folder } } })
    };
    exsync
        .ok(Method::PUT, USER, Some(activation("owned")))
        .await?;
    // The first sync pairs every owned contact by e-mail and writes nothing; with nothing
    // written it subscribes to the folder at once.
    let ready = settled(&exsync, None).await?;
    tokio::time::sleep(aged.saturating_duration_since(Instant::now())).await;
    let in_folder = world
        .graph()
        .contacts(MAILBOX, &folder)
        .unwrap_or_default()
        .len();
    println!("first sync done: {in_folder} contacts in the folder");

    let widened = measure(
        &exsync,
        &world,
        ready,
        (
            Method::PATCH,
            &format!("{USER}/settings"),
            json!({ "sync_preference": "accessible" }),
        ),
    )
    .await?;
    let creates = load.shared - load.typed;
    let now_in_folder = world
        .graph()
        .contacts(MAILBOX, &folder)
        .unwrap_or_default()
        .len();
    if now_in_folder != exchange + creates {
        return Err(format!(
            "the folder holds {now_in_folder} contacts, not {}",
            exchange + creates
        ));
    }
    let again = measure(
        &exsync,
        &world,
        widened.finished,
        (Method::PUT, USER, activation("accessible")),
    )
    .await?;

    println!();
    println!(
        "reconciliation, crm_to_exchange: {exchange} Exchange + {crm} Pipeliner contacts; {} owned, {} shared ({} already typed into the folder), {} personal",
        load.owned, load.shared, load.typed, load.personal
    );
    println!("machine: {}", support::machine());
    println!("Graph budget: {budget} requests per {window} s per mailbox (Graph: per 600 s)");
    report(
        &format!(
            "1. owned -> accessible: {} shared contacts pair by e-mail, {creates} are created",
            load.typed
        ),
        &widened,
        exchange + crm,
        exchange,
        crm,
        creates,
    );
    report(
        "2. activated again, same settings: nothing to change",
        &again,
        exchange + creates + crm,
        exchange + creates,
        crm,
        0,
    );
    exsync.stop().await;
    world.stop().await;
    Ok(())
}

fn main() {
    let load = if support::quick() {
        Load {
            owned: 800,
            shared: 200,
            personal: 100,
            typed: 100,
        }
    } else {
        Load {
            owned: 8_000,
            shared: 2_000,
            personal: 1_000,
            typed: 1_000,
        }
    };
    if let Err(e) = actix_web::rt::System::new().block_on(bench(load)) {
        eprintln!("reconcile bench failed: {e}");
        std::process::exit(1);
    }
}

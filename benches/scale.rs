//! Scale: 10,000 activated users with small mailboxes in one exsync process (100 spaces
//! of 100 users; each user has 2 Exchange contacts and owns 1 Pipeliner contact).
//!
//! The users are activated and synced once, then exsync is restarted with a 60 s tick so
//! that the measured round starts from a cold process: resident memory after start-up and
//! after one full round of ticks, the CPU the round costs while nothing changes, and the
//! spread of the ticks over the round (ticks per second, from the Graph simulator's delta
//! requests sampled every second). exsync runs as a child process; the simulators run in
//! the bench process.
//!
//! `cargo bench --bench scale`; `-- --quick` runs 1,000 users (10 spaces) with a 10 s tick.

mod support;

use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use support::fleet::{self, FleetSpec};
use support::{Exsync, ExsyncOptions};

struct Run {
    spec: FleetSpec,
    tick: u64,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn delta_requests(world: &World) -> u64 {
    world
        .graph()
        .request_counts()
        .get("delta")
        .copied()
        .unwrap_or(0)
}

async fn bench(run: Run) -> Result<(), String> {
    let users = run.spec.users();
    let world = World::start(13, std::sync::Arc::new(SystemClock), "Scale")
        .await
        .map_err(|e| e.to_string())?;
    let seeding = Instant::now();
    let fleet = fleet::seed(&world, run.spec)?;
    println!(
        "seeded {users} users in {} spaces in {:.1} s",
        run.spec.spaces,
        seeding.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exsync = Exsync::start(dir.path(), ExsyncOptions::default()).await?;
    fleet::register(&exsync, &world, &fleet).await?;
    let activation = fleet::activate(&exsync, &fleet, 16).await?;
    let first_syncs = fleet::wait_synced(&exsync, &fleet, None, Duration::from_secs(1800)).await?;
    println!(
        "activated {users} users in {:.1} s; every first sync done {:.1} s later; exsync CPU so far {:.1} s",
        activation.as_secs_f64(),
        first_syncs.as_secs_f64(),
        exsync.cpu_seconds()
    );
    // Users that synced early saw the later users' first writes only as changes: one more
    // sync each, so that nothing has changed for anyone when the measured round starts.
    let settled = chrono::Utc::now().to_rfc3339();
    fleet::sync_all(&exsync, &fleet, 16).await?;
    fleet::wait_synced(&exsync, &fleet, Some(&settled), Duration::from_secs(1800)).await?;
    exsync.stop().await;

    // The measured part: a cold start on the same data, then one full round of ticks.
    let exsync = Exsync::start(
        dir.path(),
        ExsyncOptions {
            tick_interval: run.tick,
            ..ExsyncOptions::default()
        },
    )
    .await?;
    let started = Instant::now();
    let settle = Duration::from_secs(5);
    tokio::time::sleep(settle).await;
    let rss_started = exsync.rss_bytes();
    let cpu_started = exsync.cpu_seconds();
    let graph_before = world.graph().request_counts();
    let crm_before = world.crm().request_counts();
    let round_began = chrono::Utc::now().to_rfc3339();
    // First ticks fall anywhere in the first interval after start-up; sample until it
    // is over, one second at a time.
    let mut per_second = Vec::new();
    let mut last = delta_requests(&world);
    let round_end = Duration::from_secs(run.tick) + Duration::from_secs(1);
    while started.elapsed() < round_end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = delta_requests(&world);
        per_second.push(now - last);
        last = now;
    }
    let cpu_round = exsync.cpu_seconds() - cpu_started;
    let rss_round = exsync.rss_bytes();
    let threads = exsync.threads();
    let graph_round = support::counts_since(world.graph().request_counts(), &graph_before);
    let crm_round = support::counts_since(world.crm().request_counts(), &crm_before);
    let ticked = fleet::synced_since(&exsync, &fleet, Some(&round_began)).await?;
    // The seconds before sampling began held ticks too: count the round from the
    // user listing, the spread from the samples.
    let sampled: u64 = per_second.iter().sum();
    let mean = sampled as f64 / per_second.len().max(1) as f64;
    let mut sorted = per_second.clone();
    sorted.sort_unstable();
    let max = sorted.last().copied().unwrap_or(0);
    let p99 = sorted[((sorted.len() as f64 - 1.0) * 0.99).round() as usize];
    let variance = per_second
        .iter()
        .map(|&n| (n as f64 - mean).powi(2))
        .sum::<f64>()
        / per_second.len().max(1) as f64;

    println!();
    println!(
        "scale: {users} users in {} spaces ({} Exchange + {} Pipeliner contacts each), tick {} s",
        run.spec.spaces, run.spec.exchange_contacts, run.spec.crm_contacts, run.tick
    );
    println!("machine: {}", support::machine());
    println!(
        "resident memory {} s after start-up: {:.1} MiB",
        settle.as_secs(),
        mib(rss_started)
    );
    println!(
        "resident memory after one round of ticks: {:.1} MiB",
        mib(rss_round)
    );
    let per_tick = cpu_round / ticked.max(1) as f64;
    println!(
        "quiet round: {ticked} of {users} users ticked while sampled, exsync CPU {cpu_round:.2} s = {:.0} µs per tick -> {:.2} CPU-seconds per round of {users} ticks",
        per_tick * 1e6,
        per_tick * users as f64
    );
    println!("requests during the round: Graph {graph_round:?}, Pipeliner {crm_round:?}");
    println!("exsync threads after the round: {threads}");
    println!(
        "tick spread over {} one-second samples: mean {mean:.1}/s, p99 {p99}/s, max {max}/s, standard deviation {:.1}",
        per_second.len(),
        variance.sqrt()
    );
    println!("targets: < 200 MiB resident, < 1 CPU-second per quiet round, no herd");
    exsync.stop().await;
    world.stop().await;
    Ok(())
}

fn main() {
    let run = if support::quick() {
        Run {
            spec: FleetSpec {
                spaces: 10,
                users_per_space: 100,
                exchange_contacts: 2,
                crm_contacts: 1,
            },
            tick: 10,
        }
    } else {
        Run {
            spec: FleetSpec {
                spaces: 100,
                users_per_space: 100,
                exchange_contacts: 2,
                crm_contacts: 1,
            },
            tick: 60,
        }
    };
    if let Err(e) = actix_web::rt::System::new().block_on(bench(run)) {
        eprintln!("scale bench failed: {e}");
        std::process::exit(1);
    }
}

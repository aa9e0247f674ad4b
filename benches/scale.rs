//! Scale: 10,000 activated users with small mailboxes in one exsync process (100 spaces
//! of 100 users; each user has 2 Exchange contacts and owns 1 Pipeliner contact).
//!
//! The users are activated and synced once, then exsync is restarted with a 60 s tick and
//! a 360 s notified tick (the defaults' ratio, 300 s and 1,800 s) so that the measured
//! part starts from a cold process. Three stretches are measured while nothing changes:
//! the catch-up round, where every user's first tick after start-up reads both sides (the
//! Exchange delta, and Pipeliner through the space's shared window of changes); the idle
//! stretch that follows, where no tick is due; and the quiet round, where each user,
//! notified by both upstreams, ticks again after the notified interval and reads only
//! Pipeliner's shared window, its live Graph subscription standing in for the delta. For
//! each: exsync's CPU and the upstream requests; for the catch-up round the spread of
//! polls (per second, from the Graph simulator's delta requests sampled every second);
//! for the quiet round the users that ticked and the CPU above the idle rate. Resident
//! memory after start-up and after the rounds. Throughout the measured part `/metrics`
//! is scraped every second, as Prometheus would (more often than it usually does), and
//! the cost of one scrape is measured apart at the end. exsync runs as a child process;
//! the simulators run in the bench process.
//!
//! `cargo bench --bench scale`; `-- --quick` runs 1,000 users (10 spaces) with a 10 s
//! tick and a 60 s notified tick.

mod support;

use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use support::fleet::{self, FleetSpec};
use support::{Exsync, ExsyncOptions};

struct Run {
    spec: FleetSpec,
    /// Seconds between polls of a user whose notifications are not set up.
    tick: u64,
    /// Seconds between the safety-net polls of a user both upstreams notify.
    notified_tick: u64,
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

    // The measured part: a cold start on the same data, then the catch-up round (every
    // user's first tick after start-up polls both sides once), then the steady state:
    // with both upstreams notifying, each user polls again only as a safety net, after
    // the notified interval.
    let exsync = Exsync::start(
        dir.path(),
        ExsyncOptions {
            tick_interval: run.tick,
            notified_tick_interval: Some(run.notified_tick),
            ..ExsyncOptions::default()
        },
    )
    .await?;
    let scraper = support::Scraper::start(&exsync, Duration::from_secs(1));
    let started = Instant::now();
    let settle = Duration::from_secs(5);
    tokio::time::sleep(settle).await;
    let rss_started = exsync.rss_bytes();
    let round_began = chrono::Utc::now().to_rfc3339();
    // First ticks fall anywhere in the first interval after start-up.
    let catch_up = sample(
        &world,
        &exsync,
        Duration::from_secs(run.tick + 1).saturating_sub(started.elapsed()),
    )
    .await;
    let rss_round = exsync.rss_bytes();
    let threads = exsync.threads();
    let ticked = fleet::synced_since(&exsync, &fleet, Some(&round_began)).await?;
    // Each user's second tick falls 0.9 to 1.1 notified intervals after its first, so
    // until 0.85 intervals after start-up no tick is due: the idle stretch shows what the
    // process costs with nothing to do, the round after it what the quiet ticks add.
    let idle_began = chrono::Utc::now().to_rfc3339();
    let idle_end = Duration::from_secs_f64(run.notified_tick as f64 * 0.85);
    let idle = sample(&world, &exsync, idle_end.saturating_sub(started.elapsed())).await;
    let ticked_idle = fleet::synced_since(&exsync, &fleet, Some(&idle_began)).await?;
    let round_end = Duration::from_secs_f64(run.tick as f64 + run.notified_tick as f64 * 1.1 + 1.0);
    let round_began = chrono::Utc::now().to_rfc3339();
    let round = sample(&world, &exsync, round_end.saturating_sub(started.elapsed())).await;
    let rss_steady = exsync.rss_bytes();
    let ticked_round = fleet::synced_since(&exsync, &fleet, Some(&round_began)).await?;
    let (scrapes, scrapes_failed, scrape_bytes) = scraper.stop().await;
    let per_scrape = support::scrape_cost(&exsync, 100).await?;
    println!();
    println!(
        "scale: {users} users in {} spaces ({} Exchange + {} Pipeliner contacts each), tick {} s, notified tick {} s",
        run.spec.spaces,
        run.spec.exchange_contacts,
        run.spec.crm_contacts,
        run.tick,
        run.notified_tick
    );
    println!("machine: {}", support::machine());
    println!(
        "resident memory {} s after start-up: {:.1} MiB",
        settle.as_secs(),
        mib(rss_started)
    );
    println!(
        "resident memory after the catch-up round: {:.1} MiB; after the quiet round: {:.1} MiB",
        mib(rss_round),
        mib(rss_steady)
    );
    println!("exsync threads after the catch-up round: {threads}");
    // The seconds before sampling began held ticks too: count the catch-up round's polls
    // from the user listing, its CPU per poll from the sampled part.
    let per_poll = catch_up.cpu / catch_up.polls().max(1) as f64;
    println!(
        "catch-up round (every user polls once): {ticked} of {users} users polled while sampled; \
         {} polls sampled, exsync CPU {:.2} s = {:.0} µs per poll -> {:.2} CPU-seconds for {users} polls",
        catch_up.polls(),
        catch_up.cpu,
        per_poll * 1e6,
        per_poll * users as f64
    );
    println!(
        "  requests: Graph {:?}, Pipeliner {:?}",
        catch_up.graph, catch_up.crm
    );
    println!("  {}", catch_up.spread());
    let idle_rate = idle.cpu / idle.seconds;
    println!(
        "idle stretch of {:.0} s (no tick due): {ticked_idle} users ticked, exsync CPU {:.3} s = {:.2} ms per second",
        idle.seconds,
        idle.cpu,
        idle_rate * 1e3,
    );
    println!(
        "  requests: Graph {:?}, Pipeliner {:?}",
        idle.graph, idle.crm
    );
    let above_idle = (round.cpu - idle_rate * round.seconds).max(0.0);
    let per_tick = above_idle / ticked_round.max(1) as f64;
    println!(
        "quiet round over {:.0} s: {ticked_round} of {users} users ticked \
         (a live subscription stands in for the Exchange delta, the space's shared window for most Pipeliner reads), \
         exsync CPU {:.2} s, of which {:.2} s above the idle rate = {:.0} µs per tick \
         -> {:.2} CPU-seconds for the ticks of a quiet round of {users}",
        round.seconds,
        round.cpu,
        above_idle,
        per_tick * 1e6,
        per_tick * users as f64,
    );
    println!(
        "  requests: Graph {:?}, Pipeliner {:?}",
        round.graph, round.crm
    );
    let scraping = per_scrape * round.seconds;
    println!(
        "metrics: /metrics scraped every second through the measured part ({scrapes} scrapes, \
         {scrapes_failed} failed, {:.1} KiB each), so the idle rate above includes them, with \
         the store's figures read every 30 s; 100 scrapes back to back cost exsync {:.2} ms \
         of CPU each (the store read at most once among them), so the quiet round's {:.0} \
         scrapes {scraping:.2} CPU-seconds; the quiet round's ticks and scrapes together: \
         {:.2} CPU-seconds (target < 1)",
        scrape_bytes as f64 / 1024.0,
        per_scrape * 1e3,
        round.seconds,
        above_idle + scraping,
    );
    // The steady state's cost per notified interval: the idle rate over the whole
    // interval and the ticks of one round on top.
    let interval_cpu = idle_rate * run.notified_tick as f64 + per_tick * users as f64;
    println!(
        "one notified interval ({} s) of the steady state, idle time included: {interval_cpu:.2} CPU-seconds \
         ({:.0} µs per quiet tick); {:.2} CPU-seconds per {} s tick interval",
        run.notified_tick,
        interval_cpu / users as f64 * 1e6,
        interval_cpu * run.tick as f64 / run.notified_tick as f64,
        run.tick,
    );
    println!("targets: < 200 MiB resident, < 1 CPU-second per quiet round, no herd");
    exsync.stop().await;
    world.stop().await;
    Ok(())
}

/// What one sampled stretch of time cost and asked of the upstreams.
struct Sampled {
    cpu: f64,
    /// How long the stretch lasted.
    seconds: f64,
    per_second: Vec<u64>,
    graph: std::collections::BTreeMap<String, u64>,
    crm: std::collections::BTreeMap<String, u64>,
}

impl Sampled {
    /// Polls in the stretch: one Graph delta request each.
    fn polls(&self) -> u64 {
        self.per_second.iter().sum()
    }

    /// The spread of polls over the one-second samples.
    fn spread(&self) -> String {
        let n = self.per_second.len().max(1) as f64;
        let mean = self.polls() as f64 / n;
        let mut sorted = self.per_second.clone();
        sorted.sort_unstable();
        let max = sorted.last().copied().unwrap_or(0);
        let p99 = sorted
            .get(((sorted.len() as f64 - 1.0) * 0.99).round() as usize)
            .copied()
            .unwrap_or(0);
        let sd = (self
            .per_second
            .iter()
            .map(|&x| (x as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        format!(
            "polls per second over {} one-second samples: mean {mean:.1}/s, p99 {p99}/s, max {max}/s, standard deviation {sd:.1}",
            self.per_second.len()
        )
    }
}

/// Samples exsync's CPU and the Graph delta requests (one per poll) every second for
/// `length`.
async fn sample(world: &World, exsync: &Exsync, length: Duration) -> Sampled {
    let began = Instant::now();
    let cpu_before = exsync.cpu_seconds();
    let graph_before = world.graph().request_counts();
    let crm_before = world.crm().request_counts();
    let mut per_second = Vec::new();
    let mut last = delta_requests(world);
    while began.elapsed() < length {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = delta_requests(world);
        per_second.push(now - last);
        last = now;
    }
    Sampled {
        cpu: exsync.cpu_seconds() - cpu_before,
        seconds: began.elapsed().as_secs_f64(),
        per_second,
        graph: support::counts_since(world.graph().request_counts(), &graph_before),
        crm: support::counts_since(world.crm().request_counts(), &crm_before),
    }
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
            notified_tick: 60,
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
            notified_tick: 360,
        }
    };
    if let Err(e) = actix_web::rt::System::new().block_on(bench(run)) {
        eprintln!("scale bench failed: {e}");
        std::process::exit(1);
    }
}

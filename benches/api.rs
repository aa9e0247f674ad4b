//! The admin API under load: `GET /api/v1/spaces/{space}/users/{user}` from 64 concurrent
//! keep-alive connections (a closed-loop load generator in this binary, each connection
//! sending its next request when the last one answered), while 1,000 users sync in the
//! same exsync process (10 spaces of 100 users, a 10 s tick, and a stream of contact
//! edits in the simulators so cycles have work). Prints requests per second and the
//! latency percentiles.
//!
//! `cargo bench --bench api`; `-- --quick` loads for 5 s instead of 20 s.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use serde_json::json;
use support::fleet::{self, FleetSpec};
use support::{ms, percentile, Exsync, ExsyncOptions};

const CONNECTIONS: usize = 64;

/// One connection's loop: requests until `until`, each user in turn; the latencies.
async fn connection(
    base: String,
    token: String,
    paths: Arc<Vec<String>>,
    offset: usize,
    until: Instant,
) -> Result<Vec<Duration>, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| e.to_string())?;
    let mut latencies = Vec::new();
    let mut i = offset;
    while Instant::now() < until {
        let path = &paths[i % paths.len()];
        i += 1;
        let sent = Instant::now();
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("GET {path} answered {status}"));
        }
        latencies.push(sent.elapsed());
    }
    Ok(latencies)
}

async fn bench(load_for: Duration) -> Result<(), String> {
    let spec = FleetSpec {
        spaces: 10,
        users_per_space: 100,
        exchange_contacts: 2,
        crm_contacts: 1,
    };
    let world = Arc::new(
        World::start(17, Arc::new(SystemClock), "Api")
            .await
            .map_err(|e| e.to_string())?,
    );
    let fleet = fleet::seed(&world, spec)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exsync = Exsync::start(
        dir.path(),
        ExsyncOptions {
            tick_interval: 10,
            ..ExsyncOptions::default()
        },
    )
    .await?;
    fleet::register(&exsync, &world, &fleet).await?;
    fleet::activate(&exsync, &fleet, 16).await?;
    fleet::wait_synced(&exsync, &fleet, None, Duration::from_secs(600)).await?;

    // Keep the users busy: edit one user's Exchange contact every 10 ms, round robin,
    // so notifications and cycles run all through the load.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let editor = {
        let (world, users) = (world.clone(), fleet.users.clone());
        actix_web::rt::spawn(async move {
            let mut edits = 0usize;
            loop {
                let user = &users[edits % users.len()];
                let contacts = world
                    .graph()
                    .contacts(&user.email, &user.folder)
                    .unwrap_or_default();
                if let Some(id) = contacts.first().and_then(|c| c["id"].as_str()) {
                    let _ = world.graph().update_contact(
                        &user.email,
                        id,
                        json!({ "jobTitle": format!("Edit {edits}") }),
                    );
                }
                edits += 1;
                tokio::select! {
                    _ = &mut stop_rx => break edits,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        })
    };

    let paths: Arc<Vec<String>> = Arc::new(
        fleet
            .users
            .iter()
            .map(|u| format!("/api/v1/spaces/{}/users/{}", u.space, u.user))
            .collect(),
    );
    let cpu_before = exsync.cpu_seconds();
    let started = Instant::now();
    let until = started + load_for;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            actix_web::rt::spawn(connection(
                exsync.base.clone(),
                exsync.token.clone(),
                paths.clone(),
                c * 13,
                until,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    let cpu = exsync.cpu_seconds() - cpu_before;
    let _ = stop_tx.send(());
    let edits = editor.await.map_err(|e| e.to_string())?;
    let cycles = fleet::synced_since(&exsync, &fleet, None).await?;
    let errors = fleet::error_codes(&exsync, &fleet).await?;
    latencies.sort();

    println!();
    println!(
        "admin API under load: GET /api/v1/spaces/{{space}}/users/{{user}}, {CONNECTIONS} connections, {:.0} s, while {} users sync (tick 10 s, {edits} Exchange edits during the load)",
        elapsed.as_secs_f64(),
        fleet.users.len()
    );
    println!("machine: {}", support::machine());
    println!(
        "requests: {} = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    println!(
        "exsync CPU during the load: {cpu:.1} s over {:.1} s; {cycles} users have synced, last errors by code: {errors:?}",
        elapsed.as_secs_f64()
    );
    exsync.stop().await;
    Ok(())
}

fn main() {
    let load_for = Duration::from_secs(if support::quick() { 5 } else { 20 });
    if let Err(e) = actix_web::rt::System::new().block_on(bench(load_for)) {
        eprintln!("api bench failed: {e}");
        std::process::exit(1);
    }
}

//! Change latency through notifications only: a contact edited in one simulator until the
//! edit is visible in the other, each direction, with the periodic tick out of the way
//! (one hour). Prints p50, p99 and max. Target: p99 under 2 s.
//!
//! `cargo bench --bench latency` runs 200 changes; `-- --quick` (or
//! `EXSYNC_BENCH_QUICK=1`) runs 40.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::config::{Config, LogFormat};
use exsync::demo::world::World;
use secrecy::SecretString;
use serde_json::{json, Value};

const MAILBOX: &str = "ann@bench.example";
const FOLDER: &str = "Pipeliner (Bench)";
const CONTACTS: usize = 20;

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var("EXSYNC_BENCH_QUICK").is_ok()
}

fn email(contact: &Value) -> Option<&str> {
    contact["email1"]
        .as_str()
        .or_else(|| contact["emailAddresses"][0]["address"].as_str())
}

async fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(direction: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{direction:<22} n={:<4} p50={:>7.1} ms  p99={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1000.0,
        percentile(&samples, 0.99).as_secs_f64() * 1000.0,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}

async fn bench(changes: usize) -> Result<(), String> {
    let world = World::start(7, Arc::new(SystemClock), "Bench")
        .await
        .map_err(|e| e.to_string())?;
    let owner = world.add_person(MAILBOX);
    let mut crm_ids = Vec::new();
    for i in 0..CONTACTS {
        crm_ids.push(world.crm_create(json!({ "owner_id": owner, "last_name": format!("L{i}"), "email1": format!("l{i}@bench.example") })));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let token = format!("bench-token-{:032x}", rand::random::<u128>());
    let config = Config {
        bind: listener.local_addr().map_err(|e| e.to_string())?,
        data_dir: dir.path().to_owned(),
        admin_token: Some(SecretString::from(token.clone())),
        metrics_token: None,
        master_key: None,
        public_url: Some(base.clone()),
        tls_cert: None,
        tls_key: None,
        log: "warn".into(),
        log_format: LogFormat::Text,
        workers: Some(2),
        tick_interval: 3600,
        notified_tick_interval: 3600,
        graph_budget_requests: 10_000,
        graph_budget_window: 600,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = actix_web::rt::spawn(exsync::app::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    call(
        reqwest::Method::POST,
        "/api/v1/spaces",
        world.space_body("bench"),
    )
    .await
    .map_err(|e| e.to_string())?;
    call(
        reqwest::Method::PUT,
        "/api/v1/spaces/bench/integration",
        json!({ "enabled": true }),
    )
    .await
    .map_err(|e| e.to_string())?;
    let activated = call(
        reqwest::Method::PUT,
        "/api/v1/spaces/bench/users/ann",
        json!({ "email": MAILBOX, "settings": { "sync_type": "bidirectional", "delete_protection": true, "folder": { "create": {} } } }),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !activated.status().is_success() {
        return Err(format!(
            "activation failed: {}",
            activated.text().await.unwrap_or_default()
        ));
    }
    wait_until(Duration::from_secs(30), || {
        world.exchange_contacts(MAILBOX, FOLDER).len() == CONTACTS
    })
    .await
    .ok_or("the initial sync did not finish")?;
    let exchange: Vec<Value> = world.exchange_contacts(MAILBOX, FOLDER);
    let (mut to_exchange, mut to_crm) = (Vec::new(), Vec::new());
    for i in 0..changes {
        let k = i % CONTACTS;
        let value = format!("v{i}");
        if i % 2 == 0 {
            world.crm_update(&crm_ids[k], json!({ "position": value }));
            let target = format!("l{k}@bench.example");
            let took = wait_until(Duration::from_secs(30), || {
                world
                    .exchange_contacts(MAILBOX, FOLDER)
                    .iter()
                    .any(|c| email(c) == Some(target.as_str()) && c["jobTitle"] == value.as_str())
            })
            .await
            .ok_or(format!("change {i} did not reach Exchange"))?;
            to_exchange.push(took);
        } else {
            let contact = exchange
                .iter()
                .find(|c| email(c) == Some(format!("l{k}@bench.example").as_str()))
                .ok_or("a synced contact is missing")?;
            let id = contact["id"].as_str().unwrap_or_default();
            world
                .graph()
                .update_contact(MAILBOX, id, json!({ "companyName": value }))
                .map_err(|e| e.message)?;
            let took = wait_until(Duration::from_secs(30), || {
                world.crm_contacts().iter().any(|c| {
                    c["id"] == crm_ids[k].as_str() && c["quick_account_name"] == value.as_str()
                })
            })
            .await
            .ok_or(format!("change {i} did not reach Pipeliner"))?;
            to_crm.push(took);
        }
    }
    println!("change latency through notifications only (tick 3600 s), {changes} changes, {CONTACTS} synced contacts");
    report("Pipeliner -> Exchange", to_exchange);
    report("Exchange -> Pipeliner", to_crm);
    println!("target: p99 < 2000 ms in each direction");
    let _ = stop.send(());
    let _ = app.await;
    world.stop().await;
    Ok(())
}

fn main() {
    let changes = if quick() { 40 } else { 200 };
    if let Err(e) = actix_web::rt::System::new().block_on(bench(changes)) {
        eprintln!("latency bench failed: {e}");
        std::process::exit(1);
    }
}

//! Shared by the benchmarks: exsync as a child process (its own binary, so its CPU time
//! and resident memory are measured apart from the simulators, which run in the bench
//! process), a client for its admin API, and helpers for figures.
// Each bench binary uses a different part of this module.
#![allow(dead_code)]

pub mod fleet;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Whether the bench runs in its quick mode (`-- --quick` or `EXSYNC_BENCH_QUICK=1`).
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var("EXSYNC_BENCH_QUICK").is_ok()
}

/// Cores and memory of this machine, for the record.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_kib = proc_kib("/proc/meminfo", "MemTotal:");
    format!(
        "{cores} cores, {:.1} GiB memory",
        memory_kib as f64 / 1024.0 / 1024.0
    )
}

/// The kibibytes on the line starting with `key` of a `/proc` file (0 when absent).
fn proc_kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Requests per route counted since `before` (routes with none left out).
pub fn counts_since(
    after: std::collections::BTreeMap<String, u64>,
    before: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .into_iter()
        .filter_map(|(k, v)| {
            let n = v.saturating_sub(before.get(&k).copied().unwrap_or(0));
            (n > 0).then_some((k, n))
        })
        .collect()
}

/// How the exsync child runs.
#[derive(Debug, Clone, Copy)]
pub struct ExsyncOptions {
    /// `EXSYNC_TICK_INTERVAL`, seconds.
    pub tick_interval: u64,
    /// `EXSYNC_NOTIFIED_TICK_INTERVAL`, seconds; `None` keeps it at `tick_interval`.
    pub notified_tick_interval: Option<u64>,
    /// `EXSYNC_GRAPH_BUDGET_REQUESTS`.
    pub budget_requests: u32,
    /// `EXSYNC_GRAPH_BUDGET_WINDOW`, seconds.
    pub budget_window: u64,
    /// `EXSYNC_WORKERS`.
    pub workers: usize,
}

impl Default for ExsyncOptions {
    fn default() -> Self {
        Self {
            tick_interval: 3600,
            notified_tick_interval: None,
            budget_requests: 10_000,
            budget_window: 600,
            workers: 2,
        }
    }
}

/// `exsync serve` running as a child process on a free loopback port.
pub struct Exsync {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token.
    pub token: String,
    http: reqwest::Client,
    clock_ticks: f64,
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

impl Exsync {
    /// Starts the binary on `data_dir` (its log goes to `data_dir/exsync.log`) and waits
    /// until it answers.
    pub async fn start(data_dir: &Path, options: ExsyncOptions) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        // At least 32 characters, as exsync requires of a configured admin token.
        let token = format!("bench-{:032x}", rand::random::<u128>());
        let log = std::fs::File::create(data_dir.join("exsync.log")).map_err(|e| e.to_string())?;
        let child = Command::new(env!("CARGO_BIN_EXE_exsync"))
            .arg("serve")
            .env("EXSYNC_BIND", format!("127.0.0.1:{port}"))
            .env("EXSYNC_DATA_DIR", data_dir.join("data"))
            .env("EXSYNC_ADMIN_TOKEN", &token)
            .env("EXSYNC_PUBLIC_URL", &base)
            .env("EXSYNC_LOG", "warn")
            .env("EXSYNC_WORKERS", options.workers.to_string())
            .env("EXSYNC_TICK_INTERVAL", options.tick_interval.to_string())
            .env(
                "EXSYNC_NOTIFIED_TICK_INTERVAL",
                options
                    .notified_tick_interval
                    .unwrap_or(options.tick_interval)
                    .to_string(),
            )
            .env(
                "EXSYNC_GRAPH_BUDGET_REQUESTS",
                options.budget_requests.to_string(),
            )
            .env(
                "EXSYNC_GRAPH_BUDGET_WINDOW",
                options.budget_window.to_string(),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start exsync: {e}"))?;
        let exsync = Self {
            child,
            base,
            token,
            http: reqwest::Client::new(),
            clock_ticks: clock_ticks_per_second(),
        };
        let up = wait_until(
            Duration::from_secs(60),
            Duration::from_millis(20),
            || async {
                exsync
                    .http
                    .get(format!("{}/healthz", exsync.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        up.map(|_| exsync)
            .ok_or_else(|| "exsync did not answer within 60 s".to_owned())
    }

    /// Calls the admin API; the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Calls the admin API and insists on a 2xx answer.
    pub async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (status, answer) = self.call(method.clone(), path, body).await?;
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(format!("{method} {path} answered {status}: {answer}"))
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far, seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // After the name: state is field 3 of stat(5), utime 14, stime 15.
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / self.clock_ticks
    }

    /// Threads the process runs now.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid())).map_or(0, |d| d.count())
    }

    /// Resident memory now, bytes.
    pub fn rss_bytes(&self) -> u64 {
        proc_kib(&format!("/proc/{}/status", self.pid()), "VmRSS:") * 1024
    }

    /// Stops the process with SIGTERM (graceful: it flushes its database) and waits.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let _ = tokio::task::spawn_blocking(move || self.child.wait()).await;
    }
}

impl Drop for Exsync {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// Scrapes exsync's `/metrics` with the admin token every `every` in a task of its own,
/// as Prometheus would, until stopped.
pub struct Scraper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: actix_web::rt::task::JoinHandle<(u64, u64, usize)>,
}

impl Scraper {
    /// Starts scraping `exsync`.
    pub fn start(exsync: &Exsync, every: Duration) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (url, token) = (format!("{}/metrics", exsync.base), exsync.token.clone());
        let stopped = stop.clone();
        let task = actix_web::rt::spawn(async move {
            let http = reqwest::Client::new();
            let (mut ok, mut failed, mut bytes) = (0, 0, 0);
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match scrape(&http, &url, &token).await {
                    Ok(len) => {
                        ok += 1;
                        bytes = len;
                    }
                    Err(_) => failed += 1,
                }
                tokio::time::sleep(every).await;
            }
            (ok, failed, bytes)
        });
        Self { stop, task }
    }

    /// Stops scraping: the scrapes that succeeded and failed, and the size of the last
    /// answer in bytes.
    pub async fn stop(self) -> (u64, u64, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.unwrap_or((0, 0, 0))
    }
}

/// One scrape of `/metrics`: the size of the answer.
pub async fn scrape(http: &reqwest::Client, url: &str, token: &str) -> Result<usize, String> {
    let response = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("/metrics answered {}", response.status()));
    }
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok(body.len())
}

/// exsync's CPU per scrape of `/metrics`, seconds: `n` scrapes back to back.
pub async fn scrape_cost(exsync: &Exsync, n: u32) -> Result<f64, String> {
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", exsync.base);
    let before = exsync.cpu_seconds();
    for _ in 0..n {
        scrape(&http, &url, &exsync.token).await?;
    }
    Ok((exsync.cpu_seconds() - before) / f64::from(n.max(1)))
}

/// Re-checks `check` every `every` until it holds; how long that took, or `None` after
/// `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, every: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(every).await;
    }
    None
}

/// The `p`-quantile (0.0–1.0) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

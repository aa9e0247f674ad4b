//! The kill -9 rig: both simulators run in the test process, the real `exsync serve`
//! binary runs as a child process on a data dir that outlives it, and the rig kills it
//! with SIGKILL right after an upstream applied one of its writes (a `stall` fault holds
//! the answer back), then starts it again on the same data dir and token.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exsync::clock::SystemClock;
use exsync::demo::world::World;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

/// Ann's mailbox; her Pipeliner user has the same e-mail.
pub const ANN: &str = "ann@acme.example";
/// The existing Exchange folder Ann syncs.
pub const FOLDER: &str = "Customers";
/// Ann's user resource.
pub const USER: &str = "/api/v1/spaces/acme/users/ann";
/// How long a stalled upstream holds its answer: far longer than the rig needs to see
/// the stall and kill exsync, far shorter than exsync's request timeout (30 s).
pub const STALL_MS: u64 = 8_000;
/// How long a scenario may take to converge after a restart.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The exsync child process; killed (SIGKILL) and reaped when dropped, so a failing test
/// leaves no process behind.
struct Process(Option<Child>);

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Both simulators, Ann, and exsync as a child process.
pub struct CrashRig {
    /// The simulators.
    pub world: World,
    /// Ann's Pipeliner Client id (the owner of her contacts).
    pub owner: String,
    /// The id of the Exchange folder she syncs.
    pub folder: String,
    /// SIGKILLs sent so far.
    pub kills: u32,
    /// Whether exsync runs with a public URL, so that it subscribes to Graph and
    /// registers Pipeliner's webhook.
    hooks: bool,
    dir: TempDir,
    token: String,
    base: String,
    process: Process,
    client: reqwest::Client,
}

impl CrashRig {
    /// Starts the simulators (Ann, her folder), exsync on a fresh data dir, registers
    /// the space and switches its integration on.
    pub async fn start(seed: u64) -> Self {
        Self::start_as(seed, false).await
    }

    /// As [`CrashRig::start`], exsync reachable at its own (loopback) public URL: it
    /// subscribes to Graph and registers Pipeliner's webhook.
    pub async fn start_with_hooks(seed: u64) -> Self {
        Self::start_as(seed, true).await
    }

    async fn start_as(seed: u64, hooks: bool) -> Self {
        let world = World::start(seed, Arc::new(SystemClock), "Acme")
            .await
            .expect("simulators start");
        let owner = world.add_person(ANN);
        let folder = world.graph().create_folder(ANN, FOLDER).expect("folder")["id"]
            .as_str()
            .expect("folder id")
            .to_owned();
        let mut rig = Self {
            world,
            owner,
            folder,
            kills: 0,
            hooks,
            dir: tempfile::tempdir().expect("temp dir"),
            token: format!("crash-token-{:032x}", rand::random::<u128>()),
            base: String::new(),
            process: Process(None),
            client: reqwest::Client::new(),
        };
        rig.spawn().await;
        let space = rig.world.space_body("acme");
        let (status, body) = rig.call(Method::POST, "/api/v1/spaces", Some(space)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let on = json!({ "enabled": true });
        let (status, body) = rig
            .call(Method::PUT, "/api/v1/spaces/acme/integration", Some(on))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        rig
    }

    /// Activates Ann: bidirectional, newest wins, her existing folder.
    pub async fn activate(&self, delete_protection: bool) {
        let settings = json!({
            "sync_type": "bidirectional",
            "delete_protection": delete_protection,
            "conflict_policy": "newest",
            "folder": { "existing": self.folder },
        });
        let body = json!({ "email": ANN, "settings": settings });
        let (status, answer) = self.call(Method::PUT, USER, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }

    /// Runs `exsync serve` on the data dir and waits until it is ready.
    async fn spawn(&mut self) {
        assert!(self.process.0.is_none(), "exsync is already running");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        self.base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("exsync.log"))
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_exsync"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("EXSYNC_") {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .env("EXSYNC_BIND", format!("127.0.0.1:{port}"))
            .env("EXSYNC_DATA_DIR", self.dir.path())
            .env("EXSYNC_ADMIN_TOKEN", &self.token)
            .env(
                "EXSYNC_LOG",
                std::env::var("EXSYNC_SOAK_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("EXSYNC_TICK_INTERVAL", "1")
            .stdout(Stdio::null())
            .stderr(log);
        if self.hooks {
            command.env("EXSYNC_PUBLIC_URL", &self.base);
        }
        self.process.0 = Some(command.spawn().expect("exsync starts"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            let exited = self
                .process
                .0
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!("exsync never got ready ({exited:?})\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills exsync with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill(&mut self) {
        let mut child = self.process.0.take().expect("exsync is running");
        child.kill().expect("SIGKILL sent");
        child.wait().expect("exsync reaped");
        self.kills += 1;
    }

    /// Starts exsync again on the same data dir (its master key file included) and token.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }

    /// Kills exsync and stops the simulators.
    pub async fn stop(self) {
        let CrashRig { world, process, .. } = self;
        drop(process);
        world.stop().await;
    }

    /// Sends an admin request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Ann as the API shows her (settings, status, sync facts).
    pub async fn user(&self) -> Value {
        self.call(Method::GET, USER, None).await.1
    }

    /// Every link of Ann's, all pages.
    pub async fn links(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut request = self
                .client
                .get(format!("{}{USER}/links", self.base))
                .bearer_auth(&self.token)
                .query(&[("limit", "500")]);
            if let Some(after) = &after {
                request = request.query(&[("after", after)]);
            }
            let page: Value = request
                .send()
                .await
                .expect("links")
                .json()
                .await
                .expect("page");
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return out,
            }
        }
    }

    /// Ann's status, her newest journal lines, the request counts and exsync's log tail,
    /// for failure messages (what exsync cannot answer is left out).
    pub async fn explain(&self) -> String {
        let user = self.try_call(Method::GET, USER, None).await;
        let events = self
            .try_call(Method::GET, &format!("{USER}/events?limit=500"), None)
            .await;
        if let Ok((_, events)) = &events {
            self.dump(events);
        }
        let lines: Vec<String> = match &events {
            Ok((_, events)) => events["items"]
                .as_array()
                .into_iter()
                .flatten()
                .rev()
                .take(20)
                .map(|e| format!("{} {}", e["kind"], e["message"]))
                .collect(),
            Err(_) => vec![],
        };
        format!(
            "user: {}\nrecent events:\n{}\ngraph requests: {:?}\npipeliner requests: {:?}\n\
             exsync log:\n{}",
            user.map(|(_, u)| json!({ "status": u["status"], "sync": u["sync"] }))
                .unwrap_or_default(),
            lines.join("\n"),
            self.world.graph().request_counts(),
            self.world.crm().request_counts(),
            self.log_tail()
        )
    }

    /// With `EXSYNC_SOAK_DUMP` set to a directory: leaves Ann's whole journal, both
    /// sides' contacts and exsync's log there, for a failure to be read at leisure.
    fn dump(&self, events: &Value) {
        let Ok(dir) = std::env::var("EXSYNC_SOAK_DUMP") else {
            return;
        };
        let dir = std::path::Path::new(&dir);
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(dir.join("events.json"), pretty(events)))
            .and_then(|()| {
                std::fs::write(dir.join("exchange.json"), pretty(&json!(self.exchange())))
            })
            .and_then(|()| std::fs::write(dir.join("crm.json"), pretty(&json!(self.crm()))))
            .and_then(|()| {
                std::fs::copy(self.dir.path().join("exsync.log"), dir.join("exsync.log"))
            });
        if let Err(e) = written {
            eprintln!("could not dump the soak's state to {}: {e}", dir.display());
        }
    }

    /// The last lines exsync logged (warnings and errors) across its runs.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("exsync.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

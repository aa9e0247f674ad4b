//! The engine's actors with scripted cycle runners over a real store: cycles run on
//! request and record status, triggers coalesce, a panicking user restarts alone, pause,
//! resume and the integration switch take effect, shutdown lets running cycles commit,
//! notified users wait longer for their safety net, a write to Pipeliner wakes the
//! space's other users, quiet cycles write nothing but are shown and read on from, and
//! ticks under a quiet lease only ask its probe until it sees a change or the lease ends.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exsync::clock::SystemClock;
use exsync::engine::messages::{CycleEvent, CycleOutcome};
use exsync::engine::runner::{
    CycleError, CycleJob, CycleReport, CycleRunner, HeldWatermark, QuietLease, QuietProbe,
    StateLeft, Trigger,
};
use exsync::engine::schedule::Pacing;
use exsync::engine::status;
use exsync::engine::{Engine, EngineOptions};
use exsync::ids::{SpaceId, UserId};
use exsync::store::spaces::{MicrosoftConnection, PipelinerConnection, SpaceRecord};
use exsync::store::users::{StatusError, SyncStatus, UserRecord, UserState};
use exsync::store::{Store, StoreError};
use exsync::sync::settings::SyncType;
use exsync::sync::user_settings::{FolderChoice, NewFolder, UserSettings};
use futures_util::future::{FutureExt, LocalBoxFuture};
use secrecy::SecretString;
use tokio::sync::{broadcast, mpsc, Semaphore};

/// A runner that reports each call, waits at a gate, panics for chosen users once, and
/// answers with each user's scripted report (one Exchange create by default).
struct ScriptedRunner {
    calls: mpsc::UnboundedSender<(String, Trigger)>,
    gate: Arc<Semaphore>,
    panic_once: Mutex<HashSet<String>>,
    reports: HashMap<String, CycleReport>,
    /// The held watermark each job came with, in call order.
    held: Arc<Mutex<Vec<Option<HeldWatermark>>>>,
}

impl CycleRunner for ScriptedRunner {
    fn run(&self, job: CycleJob) -> LocalBoxFuture<'static, Result<CycleReport, CycleError>> {
        let user = job.user.id.to_string();
        self.held.lock().unwrap().push(job.held);
        let _ = self.calls.send((user.clone(), job.trigger));
        let panics = self.panic_once.lock().unwrap().remove(&user);
        let gate = self.gate.clone();
        let scripted = self.reports.get(&user).cloned();
        async move {
            let _permit = gate.acquire().await.expect("gate open");
            if panics {
                panic!("injected failure for {user}");
            }
            Ok(scripted.unwrap_or_else(|| {
                let mut report = CycleReport::default();
                report.exchange.created = 1;
                report
            }))
        }
        .boxed_local()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Store,
    engine: Engine,
    calls: mpsc::UnboundedReceiver<(String, Trigger)>,
    events: broadcast::Receiver<CycleEvent>,
    gate: Arc<Semaphore>,
    held: Arc<Mutex<Vec<Option<HeldWatermark>>>>,
}

fn space(store: &Store, id: &str, enabled: bool) -> SpaceId {
    let id = SpaceId::parse(id).unwrap();
    let secret = SecretString::from("s".to_owned());
    let now = chrono::Utc::now();
    store
        .insert_space(&SpaceRecord {
            id: id.clone(),
            name: "Acme".into(),
            pipeliner: PipelinerConnection {
                service_url: "http://127.0.0.1:1".into(),
                space_id: "acme".into(),
                api_key: "k".into(),
                api_secret: store.seal("x", &secret).unwrap(),
            },
            microsoft: MicrosoftConnection {
                tenant_id: "t".into(),
                client_id: "c".into(),
                client_secret: store.seal("y", &secret).unwrap(),
                graph_url: "http://127.0.0.1:1/v1.0".into(),
                login_url: "http://127.0.0.1:1".into(),
            },
            integration_enabled: enabled,
            custom_mappings: Vec::new(),
            created_at: now,
            updated_at: now,
        })
        .unwrap();
    id
}

fn user(store: &Store, space: &SpaceId, id: &str, state: UserState) -> UserId {
    let id = UserId::parse(id).unwrap();
    let now = chrono::Utc::now();
    store
        .put_user(&UserRecord {
            space: space.clone(),
            id: id.clone(),
            email: format!("{id}@acme.com"),
            pipeliner_user_id: None,
            credentials: None,
            settings: UserSettings {
                sync_type: SyncType::Bidirectional,
                sync_preference: None,
                delete_protection: true,
                folder: FolderChoice::Create(NewFolder::default()),
                conflict_policy: Default::default(),
            },
            state,
            activated_at: now,
            updated_at: now,
            status: SyncStatus::default(),
            reconcile_epoch: 0,
        })
        .unwrap();
    id
}

fn set_state(store: &Store, space: &SpaceId, user: &UserId, state: UserState) {
    store
        .update_user(space, user, |u| {
            u.state = state;
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// Quick debounce and restarts, with `tick` as both tick intervals.
fn pacing(tick: Duration) -> Pacing {
    Pacing {
        tick,
        notified_tick: tick,
        debounce: Duration::from_millis(20),
        restart_base: Duration::from_millis(10),
        restart_max: Duration::from_millis(50),
    }
}

impl Harness {
    fn new(seed: impl FnOnce(&Store), gate_permits: usize, panic_once: &[&str]) -> Self {
        let pacing = pacing(Duration::from_secs(3600));
        Self::scripted(seed, gate_permits, panic_once, pacing, HashMap::new())
    }

    fn scripted(
        seed: impl FnOnce(&Store),
        gate_permits: usize,
        panic_once: &[&str],
        pacing: Pacing,
        reports: HashMap<String, CycleReport>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        seed(&store);
        let (tx, calls) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(gate_permits));
        let held = Arc::default();
        let runner = Arc::new(ScriptedRunner {
            calls: tx,
            gate: gate.clone(),
            panic_once: Mutex::new(panic_once.iter().map(|s| s.to_string()).collect()),
            reports,
            held: Arc::clone(&held),
        });
        let options = EngineOptions {
            pacing,
            arbiters: 2,
            shutdown_grace: Duration::from_secs(10),
            ..EngineOptions::default()
        };
        let engine = Engine::start(store.clone(), runner, Arc::new(SystemClock), options);
        let events = engine.subscribe();
        Self {
            _dir: dir,
            store,
            engine,
            calls,
            events,
            gate,
            held,
        }
    }

    async fn next_call(&mut self) -> (String, Trigger) {
        tokio::time::timeout(Duration::from_secs(10), self.calls.recv())
            .await
            .expect("a cycle starts")
            .expect("runner alive")
    }

    async fn next_event(&mut self) -> CycleEvent {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("a cycle ends")
            .expect("events flow")
    }
}

#[actix_web::test]
async fn a_requested_cycle_runs_and_its_status_is_recorded() {
    let mut h = Harness::new(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        100,
        &[],
    );
    let (acme, jane) = (
        SpaceId::parse("acme").unwrap(),
        UserId::parse("jane").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Manual));
    let event = h.next_event().await;
    assert_eq!(event.outcome, CycleOutcome::Done);
    let record = h.store.user(&acme, &jane).unwrap().unwrap();
    assert!(record.status.last_sync_started_at.is_some());
    assert!(record.status.last_sync_finished_at.is_some());
    assert_eq!(record.status.counts.exchange.created, 1);
    assert!(
        record.status.next_sync_at.is_some(),
        "the next tick is scheduled"
    );
    assert_eq!(h.engine.actor_count().await, 1);
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn triggers_during_a_cycle_coalesce_into_one_follow_up() {
    let mut h = Harness::new(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        0,
        &[],
    );
    let (acme, jane) = (
        SpaceId::parse("acme").unwrap(),
        UserId::parse("jane").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    h.next_call().await;
    for _ in 0..5 {
        assert!(h.engine.sync_now(&acme, &jane).await);
    }
    let status = h.engine.runtime(&acme, &jane).await.unwrap();
    assert!(status.running, "the first cycle is still running");
    h.gate.add_permits(100);
    assert_eq!(h.next_event().await.outcome, CycleOutcome::Done);
    assert_eq!(h.next_call().await.0, "jane", "one follow-up cycle");
    assert_eq!(h.next_event().await.outcome, CycleOutcome::Done);
    let status = h.engine.runtime(&acme, &jane).await.unwrap();
    assert_eq!(status.cycles, 2);
    assert!(
        h.calls.try_recv().is_err(),
        "five triggers made one follow-up"
    );
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn a_panicking_user_restarts_alone_and_recovers() {
    let mut h = Harness::new(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
            user(store, &s, "joe", UserState::Activated);
        },
        100,
        &["jane"],
    );
    let acme = SpaceId::parse("acme").unwrap();
    let (jane, joe) = (
        UserId::parse("jane").unwrap(),
        UserId::parse("joe").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    h.engine.refresh_user(&acme, &joe, true).await;
    let mut outcomes = Vec::new();
    while outcomes.len() < 3 {
        let event = h.next_event().await;
        outcomes.push((event.user.to_string(), event.outcome));
    }
    assert!(outcomes.contains(&("jane".into(), CycleOutcome::Failed("cycle_crashed".into()))));
    assert!(
        outcomes.contains(&("joe".into(), CycleOutcome::Done)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("jane".into(), CycleOutcome::Done)),
        "the supervisor restarted jane and she synced: {outcomes:?}"
    );
    let jane_record = h.store.user(&acme, &jane).unwrap().unwrap();
    assert_eq!(jane_record.state, UserState::Activated);
    let events = h.store.journal(&acme, &jane, None, 10).unwrap();
    assert!(events.iter().any(|e| e.kind == "cycle_failed"));
    let joe_record = h.store.user(&acme, &joe).unwrap().unwrap();
    assert_eq!(joe_record.status.counts.exchange.created, 1);
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn pause_resume_and_the_integration_switch_take_effect_at_once() {
    let mut h = Harness::new(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        100,
        &[],
    );
    let (acme, jane) = (
        SpaceId::parse("acme").unwrap(),
        UserId::parse("jane").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, false).await;
    assert_eq!(h.engine.actor_count().await, 1);

    set_state(&h.store, &acme, &jane, UserState::Paused);
    h.engine.refresh_user(&acme, &jane, true).await;
    assert!(h.engine.runtime(&acme, &jane).await.unwrap().paused);
    h.engine.sync_now(&acme, &jane).await;
    assert!(h.calls.try_recv().is_err(), "a paused user does not sync");

    set_state(&h.store, &acme, &jane, UserState::Activated);
    h.engine.refresh_user(&acme, &jane, false).await;
    assert_eq!(h.next_call().await.0, "jane", "resuming syncs at once");
    h.next_event().await;

    h.store
        .update_space(&acme, |s| {
            s.integration_enabled = false;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    h.engine.refresh_space(&acme).await;
    assert_eq!(
        h.engine.actor_count().await,
        0,
        "switched off: no actor runs"
    );
    assert!(!h.engine.sync_now(&acme, &jane).await);
    assert!(
        h.store.user(&acme, &jane).unwrap().is_some(),
        "nothing is deleted"
    );

    h.store
        .update_space(&acme, |s| {
            s.integration_enabled = true;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    h.engine.refresh_space(&acme).await;
    assert_eq!(
        h.next_call().await.0,
        "jane",
        "switched on: the user syncs again"
    );
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn shutdown_lets_the_running_cycle_commit() {
    let mut h = Harness::new(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        0,
        &[],
    );
    let (acme, jane) = (
        SpaceId::parse("acme").unwrap(),
        UserId::parse("jane").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    h.next_call().await;
    let engine = h.engine.clone();
    let stopping = actix_web::rt::spawn(async move { engine.shutdown().await });
    h.gate.add_permits(1);
    stopping.await.unwrap();
    let record = h.store.user(&acme, &jane).unwrap().unwrap();
    assert_eq!(
        record.status.counts.exchange.created, 1,
        "the cycle committed before shutdown ended"
    );
}

#[actix_web::test]
async fn a_notified_user_waits_for_the_longer_safety_net_tick() {
    let notified = CycleReport {
        notified: true,
        ..CycleReport::default()
    };
    let mut h = Harness::scripted(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
            user(store, &s, "joe", UserState::Activated);
        },
        100,
        &[],
        Pacing {
            tick: Duration::from_secs(60),
            notified_tick: Duration::from_secs(3600),
            ..Pacing::default()
        },
        HashMap::from([("jane".to_owned(), notified)]),
    );
    let acme = SpaceId::parse("acme").unwrap();
    let (jane, joe) = (
        UserId::parse("jane").unwrap(),
        UserId::parse("joe").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    h.engine.refresh_user(&acme, &joe, true).await;
    h.next_event().await;
    h.next_event().await;
    let wait = |user: &UserId| {
        let status = h.store.user(&acme, user).unwrap().unwrap().status;
        let started = status.last_sync_started_at.expect("started recorded");
        let finished = status.last_sync_finished_at.expect("finished recorded");
        assert!(started <= finished);
        (status.next_sync_at.expect("next run recorded") - finished).num_seconds()
    };
    let jane_wait = wait(&jane);
    assert!(
        (3240..=3960).contains(&jane_wait),
        "both upstreams notify jane: her next run is the notified interval ±10 %, got {jane_wait} s"
    );
    let joe_wait = wait(&joe);
    assert!(
        (54..=66).contains(&joe_wait),
        "joe is polled: his next run is the plain interval ±10 %, got {joe_wait} s"
    );
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn a_write_to_pipeliner_wakes_the_spaces_other_users() {
    let mut wrote = CycleReport::default();
    wrote.crm.updated = 1;
    let mut h = Harness::scripted(
        |store| {
            let acme = space(store, "acme", true);
            user(store, &acme, "jane", UserState::Activated);
            user(store, &acme, "joe", UserState::Activated);
            let globex = space(store, "globex", true);
            user(store, &globex, "ann", UserState::Activated);
        },
        100,
        &[],
        Pacing {
            debounce: Duration::from_millis(20),
            ..Pacing::default()
        },
        HashMap::from([("jane".to_owned(), wrote)]),
    );
    let (acme, globex) = (
        SpaceId::parse("acme").unwrap(),
        SpaceId::parse("globex").unwrap(),
    );
    let (jane, joe, ann) = (
        UserId::parse("jane").unwrap(),
        UserId::parse("joe").unwrap(),
        UserId::parse("ann").unwrap(),
    );
    h.engine.refresh_user(&globex, &ann, false).await;
    h.engine.refresh_user(&acme, &joe, false).await;
    h.engine.refresh_user(&acme, &jane, true).await;
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Manual));
    assert_eq!(
        h.next_call().await,
        ("joe".into(), Trigger::PeerWrote),
        "jane's write reaches joe without a webhook"
    );
    let mut done = HashSet::new();
    while done.len() < 2 {
        done.insert(h.next_event().await.user.to_string());
    }
    assert_eq!(done, HashSet::from(["jane".into(), "joe".into()]));
    assert_eq!(
        h.engine.runtime(&acme, &jane).await.unwrap().cycles,
        1,
        "the writer is not woken by its own write"
    );
    assert_eq!(
        h.engine.runtime(&globex, &ann).await.unwrap().cycles,
        0,
        "another space is not woken"
    );
    assert!(
        h.calls.try_recv().is_err(),
        "joe wrote nothing, so nobody else syncs"
    );
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn the_first_tick_after_a_start_or_restart_reads_both_sides() {
    let mut h = Harness::scripted(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        100,
        &["jane"],
        pacing(Duration::from_millis(100)),
        HashMap::new(),
    );
    let acme = SpaceId::parse("acme").unwrap();
    h.engine
        .refresh_user(&acme, &UserId::parse("jane").unwrap(), false)
        .await;
    // The first tick panics in the runner; the restarted actor's first tick is again a
    // start-up one, and only the ticks after a completed cycle are plain.
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Startup));
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Startup));
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Tick));
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Tick));
    h.engine.shutdown().await;
}

#[actix_web::test]
async fn a_quiet_cycle_writes_nothing_and_the_next_reads_on_from_its_watermark() {
    let reached = chrono::Utc::now();
    let quiet = CycleReport {
        state: StateLeft::Unchanged(Some(HeldWatermark {
            stored: None,
            reached,
        })),
        ..CycleReport::default()
    };
    let mut h = Harness::scripted(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
            let failed = user(store, &s, "joe", UserState::Activated);
            store
                .update_user(&s, &failed, |u| {
                    u.status.last_error = Some(StatusError {
                        code: "graph_unavailable".into(),
                        message: "Graph did not answer".into(),
                        at: chrono::Utc::now(),
                    });
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        },
        100,
        &[],
        pacing(Duration::from_secs(3600)),
        HashMap::from([
            ("jane".to_owned(), quiet.clone()),
            ("joe".to_owned(), quiet),
        ]),
    );
    let acme = SpaceId::parse("acme").unwrap();
    let (jane, joe) = (
        UserId::parse("jane").unwrap(),
        UserId::parse("joe").unwrap(),
    );
    h.engine.refresh_user(&acme, &jane, true).await;
    assert_eq!(h.next_event().await.outcome, CycleOutcome::Done);
    let mut stored = h.store.user(&acme, &jane).unwrap().unwrap();
    assert_eq!(
        stored.status.last_sync_finished_at, None,
        "a quiet cycle of a user with nothing to clear writes nothing"
    );
    h.engine.quiet_cycles().show(&mut stored);
    let (started, finished) = (
        stored
            .status
            .last_sync_started_at
            .expect("held start shown"),
        stored.status.last_sync_finished_at.expect("held end shown"),
    );
    assert!(started <= finished);
    assert!(stored.status.next_sync_at.expect("next run shown") > finished);

    assert!(h.engine.sync_now(&acme, &jane).await);
    assert_eq!(h.next_event().await.outcome, CycleOutcome::Done);
    assert_eq!(
        *h.held.lock().unwrap(),
        [
            None,
            Some(HeldWatermark {
                stored: None,
                reached
            })
        ],
        "the second cycle reads on from the watermark the first reached"
    );

    h.engine.refresh_user(&acme, &joe, true).await;
    assert_eq!(h.next_event().await.outcome, CycleOutcome::Done);
    let status = h.store.user(&acme, &joe).unwrap().unwrap().status;
    assert_eq!(
        status.last_error, None,
        "a quiet cycle clears a stored error"
    );
    assert!(status.last_sync_finished_at.is_some(), "and records itself");
    h.engine.shutdown().await;
}

/// A probe that tells the test each watermark it is asked about and answers what the
/// test sends back.
struct ScriptedProbe {
    asked: mpsc::UnboundedSender<chrono::DateTime<chrono::Utc>>,
    answers:
        Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Option<chrono::DateTime<chrono::Utc>>>>>,
}

impl QuietProbe for ScriptedProbe {
    fn unchanged_since(
        &self,
        watermark: chrono::DateTime<chrono::Utc>,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> LocalBoxFuture<'static, Option<chrono::DateTime<chrono::Utc>>> {
        let _ = self.asked.send(watermark);
        let answers = self.answers.clone();
        async move { answers.lock().await.recv().await.flatten() }.boxed_local()
    }
}

async fn next_asked(
    asked: &mut mpsc::UnboundedReceiver<chrono::DateTime<chrono::Utc>>,
) -> chrono::DateTime<chrono::Utc> {
    tokio::time::timeout(Duration::from_secs(10), asked.recv())
        .await
        .expect("a leased tick asks the probe")
        .expect("probe alive")
}

#[actix_web::test]
async fn ticks_under_a_quiet_lease_only_ask_its_probe_until_it_sees_a_change() {
    let w =
        |secs| chrono::Utc::now() - chrono::Duration::minutes(10) + chrono::Duration::seconds(secs);
    let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
    let (asked_tx, mut asked) = mpsc::unbounded_channel();
    let (answer, answers) = mpsc::unbounded_channel();
    let watermark = HeldWatermark {
        stored: Some(w0),
        reached: w1,
    };
    let quiet = CycleReport {
        notified: true,
        state: StateLeft::Unchanged(Some(watermark)),
        lease: Some(QuietLease {
            until: chrono::Utc::now() + chrono::Duration::hours(1),
            watermark,
            probe: Arc::new(ScriptedProbe {
                asked: asked_tx,
                answers: Arc::new(tokio::sync::Mutex::new(answers)),
            }),
        }),
        ..CycleReport::default()
    };
    let mut h = Harness::scripted(
        |store| {
            let s = space(store, "acme", true);
            user(store, &s, "jane", UserState::Activated);
        },
        100,
        &[],
        pacing(Duration::from_millis(20)),
        HashMap::from([("jane".to_owned(), quiet)]),
    );
    let acme = SpaceId::parse("acme").unwrap();
    let jane = UserId::parse("jane").unwrap();
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Startup));

    // Each tick asks the probe only, reading on from the watermark the last one reached.
    assert_eq!(next_asked(&mut asked).await, w1);
    answer.send(Some(w2)).unwrap();
    assert_eq!(next_asked(&mut asked).await, w2);
    answer.send(Some(w3)).unwrap();
    assert_eq!(next_asked(&mut asked).await, w3);
    assert!(h.calls.try_recv().is_err(), "no leased tick ran a cycle");
    let mut shown = h.store.user(&acme, &jane).unwrap().unwrap();
    h.engine.quiet_cycles().show(&mut shown);
    assert!(
        shown.status.last_sync_finished_at.is_some(),
        "leased ticks show as quiet syncs"
    );

    // The probe sees a change: the tick runs a full cycle from the watermark reached.
    answer.send(None).unwrap();
    assert_eq!(h.next_call().await, ("jane".into(), Trigger::Tick));
    assert_eq!(
        h.held.lock().unwrap().last().copied().flatten(),
        Some(HeldWatermark {
            stored: Some(w0),
            reached: w3
        })
    );

    // That cycle granted the lease again, and the next tick is asking. An admin change
    // ends the lease: the tick already asking finishes, but does not hand the lease back,
    // so the tick after it runs a cycle.
    assert_eq!(next_asked(&mut asked).await, w1);
    h.engine.refresh_user(&acme, &jane, false).await;
    answer.send(Some(w2)).unwrap();
    tokio::select! {
        call = h.calls.recv() => assert_eq!(call, Some(("jane".into(), Trigger::Tick))),
        again = asked.recv() => panic!("a tick after the change asked the probe ({again:?})"),
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("no cycle after the change"),
    }
    h.engine.shutdown().await;
}

#[test]
fn a_next_run_scheduled_before_a_cycle_does_not_overwrite_the_cycles_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let acme = space(&store, "acme", true);
    let jane = user(&store, &acme, "jane", UserState::Activated);
    let t = |secs| chrono::Utc::now() + chrono::Duration::seconds(secs);
    let (scheduled, started) = (t(0), t(1));
    let times = status::CycleTimes {
        started,
        finished: t(2),
        next: t(3600),
    };
    status::record_success(&store, &acme, &jane, &CycleReport::default(), times).unwrap();
    // The actor's start-up write of its first tick lands after the cycle's record.
    status::record_next_run(&store, &acme, &jane, t(30), scheduled).unwrap();
    let stored = store.user(&acme, &jane).unwrap().unwrap().status;
    assert_eq!(stored.next_sync_at, Some(times.next));
    // One scheduled after the cycle started is the newer word.
    let later = t(7200);
    status::record_next_run(&store, &acme, &jane, later, t(5)).unwrap();
    let stored = store.user(&acme, &jane).unwrap().unwrap().status;
    assert_eq!(stored.next_sync_at, Some(later));
}

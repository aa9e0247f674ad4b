//! `exsync demo` as a newcomer meets it: the banner's ready-to-paste edits work as printed
//! and arrive on the other side, each synced change is one line naming the user, the
//! contact and the direction, and a second demo on a taken address says which address
//! and what to do, while one on another address runs beside the first.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use exsync::demo::banner::{banner, edits};
use exsync::demo::watch::{ChangeLine, Watcher};
use exsync::demo::world::PIPELINER_SPACE;
use exsync::demo::{sample, DemoOptions, RunningDemo, SPACE, USERS};
use serde_json::Value;
use tokio::sync::mpsc;

const SEED: u64 = 1;

fn options(bind: SocketAddr) -> DemoOptions {
    DemoOptions {
        bind,
        data_dir: None,
        seed: SEED,
        log: "info".into(),
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Waits until the user's first sync is done, as `GET …/users/{user}` shows it.
async fn first_sync_done(demo: &RunningDemo, user: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    loop {
        let view: Value = client
            .get(format!("{}/api/v1/spaces/{SPACE}/users/{user}", demo.base))
            .bearer_auth(&demo.token)
            .send()
            .await
            .expect("exsync answers")
            .json()
            .await
            .expect("JSON");
        if view["sync"]["initial_sync_done"] == true {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user}'s first sync did not finish: {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a watcher line starting with `prefix` and containing `part`; the lines seen,
/// on time-out.
async fn line_with(
    rx: &mut mpsc::UnboundedReceiver<ChangeLine>,
    prefix: &str,
    part: &str,
) -> String {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = rx.recv().await {
            if line.text.starts_with(prefix) && line.text.contains(part) {
                return Some(line.text);
            }
            seen.push(line.text);
        }
        None
    })
    .await;
    match found {
        Ok(Some(text)) => text,
        _ => panic!("no line starting with {prefix:?} with {part:?}; seen: {seen:#?}"),
    }
}

#[actix_web::test]
async fn the_banner_s_edits_arrive_and_each_is_one_line() {
    let demo = RunningDemo::start(options(any_port()))
        .await
        .expect("demo starts");
    let [exchange_edit, crm_edit] = edits(&demo);
    let text = banner(&demo);
    for expected in [
        format!("{}/swagger-ui/", demo.base),
        demo.token.clone(),
        "Edit one contact on each side".to_owned(),
        exchange_edit.curl(),
        crm_edit.curl(),
        format!(
            "{}/_sim/pipeliner/spaces/{PIPELINER_SPACE}/clients",
            demo.world.pipeliner.service_url()
        ),
    ] {
        assert!(
            text.contains(&expected),
            "the banner lacks {expected}:\n{text}"
        );
    }
    assert!(
        exchange_edit.url.contains(USERS[0].1),
        "{}",
        exchange_edit.url
    );
    assert!(exchange_edit
        .url
        .contains(&demo.world.graph.local_addr().to_string()));
    assert!(crm_edit
        .url
        .contains(&demo.world.pipeliner.local_addr().to_string()));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = Watcher::new(&demo);
    let watching = actix_web::rt::spawn(async move {
        watcher.follow(|line| drop(tx.send(line))).await;
    });
    for (user, _) in USERS {
        first_sync_done(&demo, user).await;
    }
    // A first sync is one cycle of many changes: one summary line, not hundreds.
    line_with(&mut rx, "ann: ", "changes synced in one cycle (").await;

    // Paste the banner's commands (here: send what they send).
    let http = reqwest::Client::new();
    for edit in [&exchange_edit, &crm_edit] {
        let method = reqwest::Method::from_bytes(edit.method.as_bytes()).expect("method");
        let response = http
            .request(method, &edit.url)
            .json(&edit.body)
            .send()
            .await
            .expect("simulator answers");
        assert_eq!(response.status(), 200, "{}", edit.curl());
    }
    let people = sample::people(SEED, 320);
    let (in_exchange, in_crm) = (&people[150], &people[0]);
    // The two lines may come in either order.
    let mut lines = Vec::new();
    for _ in 0..2 {
        lines.push(line_with(&mut rx, "ann: ", "updated").await);
    }
    lines.sort();
    let exchange_line = format!(
        "ann: Exchange → Pipeliner: updated {} {} (job",
        in_exchange.given_name, in_exchange.surname
    );
    let crm_line = format!(
        "ann: Pipeliner → Exchange: updated {} {} (business_phone",
        in_crm.given_name, in_crm.surname
    );
    assert!(lines[0].starts_with(&exchange_line), "{lines:#?}");
    assert!(lines[1].starts_with(&crm_line), "{lines:#?}");

    // The lines are written after the changes are committed: both arrived.
    let crm = demo.world.crm_contacts();
    let paired = crm
        .iter()
        .find(|c| c["email1"] == in_exchange.email.as_str())
        .expect("the Exchange contact's Pipeliner pair");
    assert_eq!(paired["position"], "Head of Demos");
    let folder = demo.world.exchange_contacts(USERS[0].1, "Customers");
    let copy = folder
        .iter()
        .find(|c| c["emailAddresses"][0]["address"] == in_crm.email.as_str())
        .expect("Ann's Pipeliner contact in her folder");
    assert_eq!(copy["businessPhones"][0], "+47 555 0100");

    watching.abort();
    demo.stop().await.expect("demo stops cleanly");
}

#[actix_web::test]
async fn a_second_demo_names_the_taken_address_or_runs_beside_the_first() {
    let taken = TcpListener::bind(any_port()).expect("a port");
    let address = taken.local_addr().expect("address");
    let err = RunningDemo::start(options(address))
        .await
        .expect_err("the address is taken")
        .to_string();
    assert!(
        err.contains(&format!("cannot listen on {address}")),
        "{err}"
    );
    assert!(err.contains("--bind"), "{err}");

    // Two demos at once: each chooses its simulators' ports itself.
    let first = RunningDemo::start(options(any_port()))
        .await
        .expect("first demo");
    let second = RunningDemo::start(options(any_port()))
        .await
        .expect("second demo");
    assert_ne!(first.base, second.base);
    assert_ne!(
        first.world.pipeliner.local_addr(),
        second.world.pipeliner.local_addr()
    );
    let again = first
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let err = RunningDemo::start(options(again))
        .await
        .expect_err("the first demo's address is taken")
        .to_string();
    assert!(err.contains("--bind"), "{err}");
    second.stop().await.expect("second stops");
    first.stop().await.expect("first stops");
}

#[test]
fn the_readme_s_simulator_examples_use_the_demo_s_names() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for expected in [
        format!("S={PIPELINER_SPACE}"),
        USERS[0].1.to_owned(),
        USERS[1].1.to_owned(),
        "Edit one contact on each side".to_owned(),
        "--bind 127.0.0.1:0".to_owned(),
        "/_sim/pipeliner/spaces/$S/clients".to_owned(),
    ] {
        assert!(readme.contains(&expected), "the README lacks {expected}");
    }
    // Shell examples name the space through $S, never a space the demo does not have.
    for line in readme.lines().filter(|l| l.starts_with("curl")) {
        assert!(
            !line.contains("/spaces/demo"),
            "a shell example uses a space the demo lacks: {line}"
        );
    }
}

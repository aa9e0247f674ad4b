//! Stalled answers: the write is applied at once, the answer held back (a whole `$batch`
//! when one of its sub-requests stalls), and other requests are served meanwhile.

use std::time::{Duration, Instant};

use exsync::sim::graph::{FaultKind, FaultRule};
use reqwest::Method;
use serde_json::{json, Value};

use super::fixture::{sim, Sim, MAILBOX};

const USER: &str = "/users/ann@acme.example";

fn stall(route: &str, skip: u32) -> FaultRule {
    FaultRule {
        route: route.into(),
        kind: FaultKind::Stall { millis: 600_000 },
        rate: 1.0,
        count: Some(1),
        skip,
    }
}

/// Sends a request in the background; the answer is held, so the test never awaits it.
fn spawn_call(s: &Sim, path: &str, body: Value) -> tokio::task::JoinHandle<()> {
    let request = s
        .http
        .post(format!("{}{path}", s.running.graph_url()))
        .bearer_auth(&s.token)
        .json(&body)
        .send();
    tokio::spawn(async move {
        let _ = request.await;
    })
}

/// Polls until the folder holds a contact with this surname, or panics after 10 s.
async fn until_stored(s: &Sim, folder: &str, surname: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let contacts = s.control.contacts(MAILBOX, folder).unwrap_or_default();
        if contacts.iter().any(|c| c["surname"] == surname) {
            return;
        }
        assert!(Instant::now() < deadline, "{surname} stored within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A request that must answer (within 10 s) while something else is stalled.
async fn answers(s: &Sim, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    tokio::time::timeout(Duration::from_secs(10), s.call(method, path, body))
        .await
        .expect("answered during the stall")
}

#[actix_web::test]
async fn a_stalled_create_is_stored_before_its_answer_arrives() {
    let s = sim(30).await;
    let folder = s.folder("Customers");
    let path = format!("{USER}/contactFolders/{folder}/contacts");
    s.control.add_fault(stall("contacts.create", 1));
    let (status, _) = answers(&s, Method::POST, &path, Some(json!({"surname": "Skipped"}))).await;
    assert_eq!(status, 201, "the first create is skipped");
    let stalled = spawn_call(&s, &path, json!({"surname": "Stalled"}));
    until_stored(&s, &folder, "Stalled").await;
    let (status, _) = answers(&s, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let (status, _) = answers(&s, Method::POST, &path, Some(json!({"surname": "After"}))).await;
    assert_eq!(status, 201, "the count is used up");
    assert!(!stalled.is_finished(), "the answer is still held");
    stalled.abort();
    s.running.stop().await;
}

#[actix_web::test]
async fn a_stalled_sub_request_holds_the_whole_batch_answer() {
    let s = sim(31).await;
    let folder = s.folder("Customers");
    let url = format!("{USER}/contactFolders/{folder}/contacts");
    s.control.add_fault(stall("contacts.create", 0));
    let requests: Vec<Value> = ["First", "Second"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"id": i.to_string(), "method": "POST", "url": url,
            "headers": {"Content-Type": "application/json"}, "body": {"surname": name}})
        })
        .collect();
    let stalled = spawn_call(&s, "/$batch", json!({"requests": requests}));
    until_stored(&s, &folder, "First").await;
    until_stored(&s, &folder, "Second").await;
    let (status, _) = answers(&s, Method::GET, &format!("{USER}/contactFolders"), None).await;
    assert_eq!(status, 200);
    assert!(!stalled.is_finished(), "the batch answer is still held");
    stalled.abort();
    s.running.stop().await;
}

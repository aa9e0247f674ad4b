//! exsync's Graph client against the simulator: sign-in, folders, contacts, delta rounds
//! and their expiry, batches with throttled sub-requests, bulk lookups by extended
//! property, subscriptions.

use std::collections::{BTreeMap, HashMap};

use exsync::connectors::graph::batch::MAX_RESENDS;
use exsync::connectors::graph::mapping::INTENT_PROPERTY;
use exsync::connectors::graph::models::{BatchRequest, DeltaItem, GraphContact};
use exsync::connectors::graph::subscriptions::SubscriptionTarget;
use exsync::connectors::graph::{GraphClient, GraphError};
use exsync::sim::graph::{FaultKind, FaultPlan, FaultRule, SimSettings};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use super::fixture::{receiver, sim, Sim, MAILBOX};

#[actix_web::test]
async fn folders_and_contacts_round_trip_through_the_client() {
    let s = sim(11).await;
    let client = s.client();
    let folder = client
        .ensure_folder(MAILBOX, "Pipeliner (Acme)")
        .await
        .unwrap();
    let again = client
        .ensure_folder(MAILBOX, "Pipeliner (Acme)")
        .await
        .unwrap();
    assert_eq!(
        folder.id, again.id,
        "ensure_folder finds the existing folder"
    );
    assert_eq!(client.list_folders(MAILBOX).await.unwrap().len(), 1);
    let property = "String {00000000-0000-0000-0000-0000000000aa} Name intent";
    let created = client
        .create_contact(
            MAILBOX,
            &folder.id,
            &json!({ "givenName": "Ada", "singleValueExtendedProperties": [{ "id": property, "value": "x:1" }] }),
        )
        .await
        .unwrap();
    let found = client
        .find_by_property(MAILBOX, &folder.id, property, "x:1")
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id), Some(created.id.clone()));
    let updated = client
        .update_contact(MAILBOX, &created.id, &json!({ "surname": "Lovelace" }))
        .await
        .unwrap();
    assert_ne!(updated.change_key, created.change_key);
    assert_eq!(
        client.get_contact(MAILBOX, &created.id).await.unwrap().body["surname"],
        "Lovelace"
    );
    client.delete_contact(MAILBOX, &created.id).await.unwrap();
    client.delete_contact(MAILBOX, &created.id).await.unwrap();
    assert!(matches!(
        client.get_contact(MAILBOX, &created.id).await,
        Err(GraphError::NotFound { .. })
    ));
    assert!(matches!(
        client.list_folders("nobody@acme.example").await,
        Err(GraphError::NotFound { .. })
    ));
    s.running.stop().await;
}

#[actix_web::test]
async fn delta_rounds_are_complete_and_expire_loudly() {
    let s = sim(12).await;
    let client = s.client();
    let folder = client.ensure_folder(MAILBOX, "F").await.unwrap().id;
    for i in 0..150 {
        s.control
            .create_contact(MAILBOX, &folder, json!({ "surname": format!("S{i}") }))
            .unwrap();
    }
    let round = client.delta_round(MAILBOX, &folder, None).await.unwrap();
    assert_eq!(round.items.len(), 150);
    let id = match &round.items[0] {
        DeltaItem::Upsert(c) => c.id.clone().unwrap(),
        DeltaItem::Removed { .. } => panic!("a full round lists contacts"),
    };
    s.control.delete_contact(MAILBOX, &id).unwrap();
    let next = client
        .delta_round(MAILBOX, &folder, Some(&round.delta_link))
        .await
        .unwrap();
    assert_eq!(next.items, vec![DeltaItem::Removed { id }]);
    s.control.invalidate_delta(MAILBOX).unwrap();
    assert!(matches!(
        client
            .delta_round(MAILBOX, &folder, Some(&next.delta_link))
            .await,
        Err(GraphError::SyncStateExpired { .. })
    ));
    s.running.stop().await;
}

#[actix_web::test]
async fn batches_retry_throttled_sub_requests_and_report_each_result() {
    let s = sim(13).await;
    let client = s.client();
    let folder = client.ensure_folder(MAILBOX, "F").await.unwrap().id;
    let settings = SimSettings {
        strict_batch_concurrency: true,
        ..SimSettings::default()
    };
    s.control.set_settings(settings);
    let mut requests: Vec<BatchRequest> = (0..8)
        .map(|i| BatchRequest {
            id: format!("c{i}"),
            method: Method::POST,
            url: format!("/users/{MAILBOX}/contactFolders/{folder}/contacts"),
            body: Some(
                serde_json::value::to_raw_value(&json!({ "surname": format!("B{i}") })).unwrap(),
            ),
        })
        .collect();
    requests.push(BatchRequest {
        id: "missing".into(),
        method: Method::DELETE,
        url: format!("/users/{MAILBOX}/contacts/nope"),
        body: None,
    });
    let results = client.batch(MAILBOX, requests).await.unwrap();
    for i in 0..8 {
        assert!(
            results[&format!("c{i}")].is_ok(),
            "c{i}: {:?}",
            results[&format!("c{i}")]
        );
    }
    assert!(matches!(
        results["missing"],
        Err(GraphError::NotFound { .. })
    ));
    assert_eq!(
        s.control.contacts(MAILBOX, &folder).unwrap().len(),
        8,
        "each create ran once"
    );
    assert!(
        client.throttled_count() > 0,
        "the throttled sub-requests were counted"
    );
    s.running.stop().await;
}

/// A simulator whose folder holds 45 contacts carrying exsync's intent property, as
/// cut-off creates leave them (one value needs escaping in a filter and in a URL).
struct Intents {
    s: Sim,
    client: GraphClient,
    folder: String,
    /// The contacts' ids by intent.
    created: HashMap<String, String>,
}

impl Intents {
    async fn new(seed: u64) -> Self {
        let s = sim(seed).await;
        let client = s.client();
        let folder = client.ensure_folder(MAILBOX, "F").await.unwrap().id;
        let created = (0..45)
            .map(|i| {
                let intent = match i {
                    0 => "it's 1+1=2 & #0?".to_owned(),
                    _ => format!("intent-{i}"),
                };
                let body = json!({
                    "surname": format!("S{i}"),
                    "singleValueExtendedProperties": [{ "id": INTENT_PROPERTY, "value": intent }],
                });
                let made = s.control.create_contact(MAILBOX, &folder, body).unwrap();
                (intent, made["id"].as_str().unwrap().to_owned())
            })
            .collect();
        Self {
            s,
            client,
            folder,
            created,
        }
    }

    /// Looks up the 45 intents and 5 that no contact carries, in one call.
    async fn look_up(&self) -> Result<HashMap<String, GraphContact>, GraphError> {
        let mut values: Vec<String> = self.created.keys().cloned().collect();
        values.extend((0..5).map(|i| format!("absent-{i}")));
        self.client
            .find_by_property_many(MAILBOX, &self.folder, INTENT_PROPERTY, &values)
            .await
    }

    /// Every contact was found under its intent, and the absent values are absent.
    fn check(&self, found: &HashMap<String, GraphContact>) {
        assert_eq!(found.len(), 45, "the absent values are absent");
        for (intent, id) in &self.created {
            assert_eq!(&found[intent].id, id, "{intent}");
        }
    }

    /// Requests on `route` since the simulator's counters read `before`.
    fn served(&self, before: &BTreeMap<String, u64>, route: &str) -> u64 {
        let after = self.s.control.request_counts();
        after.get(route).unwrap_or(&0) - before.get(route).unwrap_or(&0)
    }
}

#[actix_web::test]
async fn lookups_by_property_go_twenty_to_a_batch() {
    let t = Intents::new(15).await;
    let before = t.s.control.request_counts();
    t.check(&t.look_up().await.unwrap());
    assert_eq!(t.served(&before, "batch"), 3, "50 lookups in 3 batches");
    // Sub-requests count under their own route: 50 means no lookup went alone.
    assert_eq!(t.served(&before, "contacts.list"), 50);
    t.s.running.stop().await;
}

#[actix_web::test]
async fn throttled_lookups_are_sent_again_until_all_are_answered() {
    let t = Intents::new(16).await;
    t.s.control.set_settings(SimSettings {
        strict_batch_concurrency: true,
        ..SimSettings::default()
    });
    let before = t.s.control.request_counts();
    t.check(&t.look_up().await.unwrap());
    assert!(
        t.s.control.throttled_count() > 0,
        "the fifth and later were 429"
    );
    assert!(t.client.throttled_count() > 0);
    assert!(
        t.served(&before, "batch") > 3,
        "the throttled lookups went again"
    );
    t.s.running.stop().await;
}

/// A fault plan in which contacts lookups after the 25th answer 500, `count` of them
/// (every one when `None`).
fn failing_lookups(count: Option<u32>) -> FaultPlan {
    FaultPlan {
        rules: vec![FaultRule {
            route: "contacts.list".into(),
            kind: FaultKind::Error {
                status: 500,
                retry_after_secs: None,
            },
            rate: 1.0,
            count,
            skip: 25,
        }],
        deliveries: vec![],
    }
}

#[actix_web::test]
async fn failed_lookups_are_sent_again_and_fail_the_call_if_they_keep_failing() {
    let t = Intents::new(17).await;
    t.s.control.set_faults(failing_lookups(Some(3)));
    t.check(&t.look_up().await.unwrap());
    t.s.control.set_faults(failing_lookups(None));
    let before = t.s.control.request_counts();
    let result = t.look_up().await;
    assert!(
        matches!(result, Err(GraphError::Unavailable { status: 500, .. })),
        "an error, not a partial map: {result:?}"
    );
    assert_eq!(
        t.served(&before, "batch"),
        2 + MAX_RESENDS as u64,
        "the second batch failed and was resent; the third was never sent"
    );
    t.s.running.stop().await;
}

#[actix_web::test]
async fn subscriptions_are_created_renewed_and_removed() {
    let s = sim(14).await;
    let client = s.client();
    let folder = client.ensure_folder(MAILBOX, "F").await.unwrap().id;
    let hook = receiver(true);
    let target = SubscriptionTarget {
        notification_url: hook.url.clone(),
        lifecycle_url: hook.url.clone(),
        client_state: SecretString::from("state".to_owned()),
    };
    let now = chrono::Utc::now();
    let sub = client
        .create_subscription(MAILBOX, &folder, &target, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    let renewed = client
        .renew_subscription(MAILBOX, &sub.id, now + chrono::Duration::hours(3))
        .await
        .unwrap();
    assert!(renewed.expiration_date_time > sub.expiration_date_time);
    client.delete_subscription(MAILBOX, &sub.id).await.unwrap();
    client.delete_subscription(MAILBOX, &sub.id).await.unwrap();
    assert!(s.control.subscriptions().is_empty());
    let refused = receiver(false);
    let bad = SubscriptionTarget {
        notification_url: refused.url.clone(),
        lifecycle_url: refused.url.clone(),
        client_state: SecretString::from("state".to_owned()),
    };
    assert!(client
        .create_subscription(MAILBOX, &folder, &bad, now + chrono::Duration::hours(1))
        .await
        .is_err());
    s.running.stop().await;
}

#[actix_web::test]
async fn a_subscription_names_a_base64_folder_id_as_graph_returned_it() {
    let s = sim(15).await;
    let client = s.client();
    // Graph's ids are base64: `+`, `/` and `=` are theirs.
    let folder = "AAMkADk0+ZjQ1/Yz==";
    s.control
        .create_folder_with_id(MAILBOX, folder, "Pipeliner (Acme)")
        .unwrap();
    assert_eq!(client.get_folder(MAILBOX, folder).await.unwrap().id, folder);
    let hook = receiver(true);
    let target = SubscriptionTarget {
        notification_url: hook.url.clone(),
        lifecycle_url: hook.url.clone(),
        client_state: SecretString::from("state".to_owned()),
    };
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    client
        .create_subscription(MAILBOX, folder, &target, expires)
        .await
        .expect("the subscription names the folder Graph returned");
    let subscriptions = s.control.subscriptions();
    assert_eq!(
        subscriptions[0]["resource"],
        format!("/users/{MAILBOX}/contactFolders/{folder}/contacts")
    );

    // Graph encodes the ids it reads from `resource` itself: an encoded one names
    // another folder, and the subscription is refused.
    let (status, body) = s
        .call(
            Method::POST,
            "/subscriptions",
            Some(json!({
                "changeType": "created,updated,deleted",
                "notificationUrl": hook.url,
                "resource": format!(
                    "/users/{MAILBOX}/contactFolders/{}/contacts",
                    exsync::connectors::graph::folders::urlencode(folder)
                ),
                "expirationDateTime": expires.to_rfc3339(),
                "clientState": "state",
            })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "ExtensionError", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("AAMkADk0%252BZjQ1%252FYz%253D%253D")));
    s.running.stop().await;
}

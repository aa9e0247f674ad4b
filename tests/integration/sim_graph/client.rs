//! exsync's Graph client against the simulator: sign-in, folders, contacts, delta rounds
//! and their expiry, batches with throttled sub-requests, subscriptions.

use exsync::connectors::graph::models::{BatchRequest, DeltaItem};
use exsync::connectors::graph::subscriptions::SubscriptionTarget;
use exsync::connectors::graph::GraphError;
use exsync::sim::graph::SimSettings;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use super::fixture::{receiver, sim, MAILBOX};

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

//! What the Graph simulator promises: sign-in and token expiry, folders, contacts and
//! their limits, delta paging and changes, `$batch`, subscriptions with the handshake and
//! notifications, throttling, deterministic faults.

use std::collections::HashSet;

use exsync::sim::graph::{
    DeliveryFaultKind, DeliveryFaultRule, FaultKind, FaultPlan, FaultRule, SimSettings,
};
use reqwest::Method;
use serde_json::{json, Value};

use super::fixture::{receiver, sign_in, sim, MAILBOX, SECRET, TENANT};

const USER: &str = "/users/ann@acme.example";

#[actix_web::test]
async fn sign_in_checks_the_secret_and_tokens_expire() {
    let s = sim(1).await;
    let (status, body) = sign_in(&s.http, &s.running.login_url(), "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("AADSTS"));
    let (status, body) = sign_in(&s.http, &s.running.login_url(), SECRET).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(
        s.call(Method::GET, &format!("{USER}/contactFolders"), None)
            .await
            .0,
        200
    );
    s.clock.advance(chrono::Duration::hours(2));
    let (status, body) = s
        .call(Method::GET, &format!("{USER}/contactFolders"), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    s.running.stop().await;
}

#[actix_web::test]
async fn folders_are_listed_filtered_and_unique_by_name() {
    let s = sim(2).await;
    let (status, created) = s
        .call(
            Method::POST,
            &format!("{USER}/contactFolders"),
            Some(json!({ "displayName": "O'Brien" })),
        )
        .await;
    assert_eq!(status, 201);
    s.folder("Other");
    let (_, found) = s
        .call(
            Method::GET,
            &format!("{USER}/contactFolders?$filter=displayName%20eq%20'O''Brien'"),
            None,
        )
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["id"], created["id"]);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("{USER}/contactFolders"),
            Some(json!({ "displayName": "O'Brien" })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "ErrorFolderExists");
    let (status, body) = s
        .call(
            Method::GET,
            "/users/nobody@acme.example/contactFolders",
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ErrorItemNotFound");
    s.running.stop().await;
}

#[actix_web::test]
async fn contacts_keep_unsent_fields_bump_change_keys_and_respect_limits() {
    let s = sim(3).await;
    let folder = s.folder("Customers");
    let path = format!("{USER}/contactFolders/{folder}/contacts");
    let (status, created) = s
        .call(Method::POST, &path, Some(json!({ "givenName": "Ada", "surname": "Lovelace",
            "singleValueExtendedProperties": [{ "id": "String {00000000-0000-0000-0000-000000000001} Name tag", "value": "t-1" }] })))
        .await;
    assert_eq!(status, 201);
    for key in [
        "id",
        "changeKey",
        "createdDateTime",
        "lastModifiedDateTime",
        "parentFolderId",
        "@odata.etag",
    ] {
        assert!(created[key].is_string(), "{key} in {created}");
    }
    let id = created["id"].as_str().unwrap();
    let (status, patched) = s
        .call(
            Method::PATCH,
            &format!("{USER}/contacts/{id}"),
            Some(json!({ "jobTitle": "Analyst" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["givenName"], "Ada", "unsent fields stay");
    assert_eq!(patched["jobTitle"], "Analyst");
    assert_ne!(patched["changeKey"], created["changeKey"]);
    let (_, found) = s
        .call(Method::GET, &format!("{path}?$filter=singleValueExtendedProperties/any(ep:%20ep/id%20eq%20'String%20%7B00000000-0000-0000-0000-000000000001%7D%20Name%20tag'%20and%20ep/value%20eq%20't-1')"), None)
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1, "{found}");
    let four = json!({ "emailAddresses": [{"address":"a@x"},{"address":"b@x"},{"address":"c@x"},{"address":"d@x"}] });
    let (status, body) = s.call(Method::POST, &path, Some(four)).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("EmailAddresses"));
    let three_phones = json!({ "businessPhones": ["1", "2", "3"] });
    assert_eq!(
        s.call(
            Method::PATCH,
            &format!("{USER}/contacts/{id}"),
            Some(three_phones)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        s.call(Method::DELETE, &format!("{USER}/contacts/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.call(Method::GET, &format!("{USER}/contacts/{id}"), None)
            .await
            .0,
        404
    );
    s.running.stop().await;
}

async fn walk(
    s: &super::fixture::Sim,
    start: &str,
    page: Option<u32>,
) -> (Vec<Value>, String, usize) {
    let mut rows = Vec::new();
    let mut next = start.to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = s.call_with(Method::GET, &next, None, page).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        rows.extend(body["value"].as_array().unwrap().iter().cloned());
        if let Some(link) = body["@odata.nextLink"].as_str() {
            next = link.to_owned();
        } else {
            return (
                rows,
                body["@odata.deltaLink"].as_str().unwrap().to_owned(),
                pages,
            );
        }
    }
}

#[actix_web::test]
async fn delta_pages_through_the_folder_once_then_returns_each_change() {
    let s = sim(4).await;
    let folder = s.folder("Customers");
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            s.control
                .create_contact(MAILBOX, &folder, json!({ "surname": format!("P{i}") }))
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let start = format!("{USER}/contactFolders/{folder}/contacts/delta");
    let (rows, delta_link, pages) = walk(&s, &start, None).await;
    assert_eq!(pages, 3, "about ten a page without maxpagesize");
    let seen: HashSet<_> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen.len(), 25);
    assert_eq!(rows.len(), 25, "each contact exactly once");
    let (_, _, pages) = walk(&s, &start, Some(100)).await;
    assert_eq!(pages, 1);

    s.control
        .update_contact(MAILBOX, &ids[0], json!({ "jobTitle": "CEO" }))
        .unwrap();
    s.control.delete_contact(MAILBOX, &ids[1]).unwrap();
    let created = s
        .control
        .create_contact(MAILBOX, &folder, json!({ "surname": "New" }))
        .unwrap();
    let (rows, next_link, _) = walk(&s, &delta_link, Some(100)).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    let updated = rows.iter().find(|r| r["id"] == ids[0].as_str()).unwrap();
    assert_eq!(updated["jobTitle"], "CEO");
    assert!(
        updated.get("surname").is_none(),
        "an update carries only what changed"
    );
    let removed = rows.iter().find(|r| r["id"] == ids[1].as_str()).unwrap();
    assert_eq!(removed["@removed"]["reason"], "deleted");
    assert!(rows
        .iter()
        .any(|r| r["id"] == created["id"] && r["surname"] == "New"));
    let (rows, _, _) = walk(&s, &next_link, Some(100)).await;
    assert!(rows.is_empty(), "nothing new since");

    s.control.invalidate_delta(MAILBOX).unwrap();
    let (status, body) = s.call(Method::GET, &next_link, None).await;
    assert_eq!(status, 410);
    assert_eq!(body["error"]["code"], "syncStateNotFound");
    s.running.stop().await;
}

#[actix_web::test]
async fn batches_answer_each_request_and_throttle_inside_a_200() {
    let s = sim(5).await;
    let folder = s.folder("Customers");
    let requests: Vec<Value> = (0..21)
        .map(|i| json!({ "id": i.to_string(), "method": "POST", "url": format!("{USER}/contactFolders/{folder}/contacts"),
            "headers": { "Content-Type": "application/json" }, "body": { "surname": format!("B{i}") } }))
        .collect();
    let (status, _) = s
        .call(
            Method::POST,
            "/$batch",
            Some(json!({ "requests": requests })),
        )
        .await;
    assert_eq!(status, 400, "more than 20 requests");
    let settings = SimSettings {
        strict_batch_concurrency: true,
        ..SimSettings::default()
    };
    s.control.set_settings(settings);
    let (status, body) = s
        .call(
            Method::POST,
            "/$batch",
            Some(json!({ "requests": requests[..6] })),
        )
        .await;
    assert_eq!(status, 200);
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.iter().filter(|r| r["status"] == 201).count(), 4);
    let throttled: Vec<_> = responses.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(throttled.len(), 2);
    assert!(throttled[0]["headers"]["Retry-After"].is_string());
    s.running.stop().await;
}

#[actix_web::test]
async fn batched_requests_each_take_a_unit_of_the_mailbox_budget() {
    let s = sim(8).await;
    let folder = s.folder("Customers");
    s.control.set_settings(SimSettings {
        budget_requests: Some(5),
        ..SimSettings::default()
    });
    let requests: Vec<Value> = (0..8)
        .map(|i| json!({ "id": i.to_string(), "method": "GET", "url": format!("{USER}/contactFolders/{folder}") }))
        .collect();
    let (status, body) = s
        .call(
            Method::POST,
            "/$batch",
            Some(json!({ "requests": requests })),
        )
        .await;
    assert_eq!(status, 200, "the batch itself is not a mailbox request");
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.iter().filter(|r| r["status"] == 200).count(), 5);
    let throttled: Vec<_> = responses.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(throttled.len(), 3, "{body}");
    assert_eq!(throttled[0]["body"]["error"]["code"], "TooManyRequests");
    assert!(throttled[0]["headers"]["Retry-After"].is_string());
    assert_eq!(s.control.throttled_count(), 3);
    let (status, _) = s
        .call(Method::GET, &format!("{USER}/contactFolders"), None)
        .await;
    assert_eq!(status, 429, "the budget is shared with plain requests");
    assert_eq!(s.control.throttled_count(), 4);
    s.running.stop().await;
}

#[actix_web::test]
async fn subscriptions_need_the_handshake_and_deliver_changes() {
    let s = sim(6).await;
    let folder = s.folder("Customers");
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let resource = format!("{USER}/contactFolders/{folder}/contacts");
    let bad = receiver(false);
    let (status, body) = s
        .call(
            Method::POST,
            "/subscriptions",
            Some(
                json!({ "changeType": "created,updated,deleted", "notificationUrl": bad.url,
            "resource": resource, "expirationDateTime": expires, "clientState": "secret-state" }),
            ),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        s.control.subscriptions().is_empty(),
        "no subscription without the handshake"
    );

    let mut good = receiver(true);
    let (status, sub) = s
        .call(Method::POST, "/subscriptions", Some(json!({ "changeType": "created,updated,deleted", "notificationUrl": good.url,
            "lifecycleNotificationUrl": good.url, "resource": resource, "expirationDateTime": expires, "clientState": "secret-state" })))
        .await;
    assert_eq!(status, 201, "{sub}");
    let created = s
        .control
        .create_contact(MAILBOX, &folder, json!({ "surname": "Watched" }))
        .unwrap();
    let note = good.next().await;
    let item = &note["value"][0];
    assert_eq!(item["subscriptionId"], sub["id"]);
    assert_eq!(item["clientState"], "secret-state");
    assert_eq!(item["changeType"], "created");
    assert_eq!(item["resourceData"]["id"], created["id"]);
    assert_eq!(item["tenantId"], TENANT);

    s.control.add_notification_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Duplicate,
        rate: 1.0,
        count: Some(1),
    });
    s.control
        .update_contact(
            MAILBOX,
            created["id"].as_str().unwrap(),
            json!({ "jobTitle": "x" }),
        )
        .unwrap();
    assert_eq!(good.next().await["value"][0]["changeType"], "updated");
    assert_eq!(
        good.next().await["value"][0]["changeType"],
        "updated",
        "duplicated on demand"
    );
    s.control.add_notification_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Lose,
        rate: 1.0,
        count: Some(1),
    });
    s.control
        .delete_contact(MAILBOX, created["id"].as_str().unwrap())
        .unwrap();
    s.control
        .lifecycle(sub["id"].as_str().unwrap(), "missed")
        .unwrap();
    assert_eq!(
        good.next().await["value"][0]["lifecycleEvent"],
        "missed",
        "the delete notification was lost"
    );
    assert!(s
        .control
        .notifications()
        .iter()
        .any(|n| n.outcome == "lost"));

    let (status, renewed) = s
        .call(Method::PATCH, &format!("/subscriptions/{}", sub["id"].as_str().unwrap()),
            Some(json!({ "expirationDateTime": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339() })))
        .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/subscriptions/{}", sub["id"].as_str().unwrap()),
            None
        )
        .await
        .0,
        204
    );
    assert!(s.control.subscriptions().is_empty());
    s.running.stop().await;
}

#[actix_web::test]
async fn the_request_budget_and_faults_answer_429_deterministically() {
    let s = sim(7).await;
    let settings = SimSettings {
        budget_requests: Some(3),
        ..SimSettings::default()
    };
    s.control.set_settings(settings);
    let path = format!("{USER}/contactFolders");
    for _ in 0..3 {
        assert_eq!(s.call(Method::GET, &path, None).await.0, 200);
    }
    let response = s
        .http
        .get(format!("{}{path}", s.running.graph_url()))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    s.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(
        s.call(Method::GET, &path, None).await.0,
        200,
        "a new window"
    );

    let outcomes = |seed| async move {
        let s = sim(seed).await;
        s.control.set_faults(FaultPlan {
            rules: vec![FaultRule {
                route: "folders.*".into(),
                kind: FaultKind::Error {
                    status: 503,
                    retry_after_secs: None,
                },
                rate: 0.5,
                count: None,
                skip: 0,
            }],
            deliveries: vec![],
        });
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.push(
                s.call(Method::GET, &format!("{USER}/contactFolders"), None)
                    .await
                    .0,
            );
        }
        s.running.stop().await;
        seen
    };
    let a = outcomes(42).await;
    assert_eq!(a, outcomes(42).await, "the same seed gives the same faults");
    assert!(a.contains(&503) && a.contains(&200));
    assert_ne!(a, outcomes(43).await);
    s.running.stop().await;
}

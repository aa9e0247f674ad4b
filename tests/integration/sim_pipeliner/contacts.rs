//! Reading contracts: paging, the modified filter, soft deletes, e-mail lookup of
//! Clients, and authentication.

use std::collections::HashSet;

use chrono::Duration;
use serde_json::{json, Value};

use super::{obj, Fixture, SPACE};

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn answers_carry_the_simulated_clock_as_their_date() {
    let f = Fixture::start(3).await;
    let answer = f
        .request(reqwest::Method::GET, "/entities/Contacts")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        answer.headers().get("date").and_then(|v| v.to_str().ok()),
        Some("Sun, 01 Mar 2026 09:00:00 GMT")
    );
    f.sim.stop().await;
}

#[actix_web::test]
async fn paging_walks_the_whole_set_exactly_once() {
    let f = Fixture::start(1).await;
    for i in 0..250 {
        f.seed_contact(
            &format!("First{i}"),
            &format!("Last{i}"),
            &format!("p{i}@example.com"),
        );
    }
    let (status, first_page) = f.get("/entities/Contacts").await;
    assert_eq!(status, 200);
    assert_eq!(
        first_page["data"].as_array().map(Vec::len),
        Some(30),
        "default page size"
    );
    let (status, too_big) = f.get("/entities/Contacts?first=101").await;
    assert_eq!(status, 400);
    assert_eq!(too_big["name"], "ERROR_PARAMETER_INVALID");

    for order in ["", "&order-by=-last_name", "&order-by=modified"] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let cursor = after
                .as_ref()
                .map(|c| format!("&after={c}"))
                .unwrap_or_default();
            let (status, body) = f
                .get(&format!("/entities/Contacts?first=100{order}{cursor}"))
                .await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            seen.extend(ids(&body));
            let info = &body["page_info"];
            assert!(info["end_cursor"].is_string(), "end_cursor on every page");
            assert_eq!(info["has_previous_page"], json!(pages > 1));
            if info["has_next_page"] == json!(false) {
                break;
            }
            after = info["end_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 250, "order {order}");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            250,
            "no duplicates"
        );
    }
    let (_, desc) = f
        .get("/entities/Contacts?first=2&order-by=-last_name&load-only=id,last_name")
        .await;
    assert_eq!(desc["data"][0]["last_name"], "Last99");
    assert_eq!(
        desc["data"][0].as_object().map(|o| o.len()),
        Some(2),
        "load-only"
    );
    f.sim.stop().await;
}

#[actix_web::test]
async fn modified_filter_returns_each_change_and_deletes_need_include_deleted() {
    let f = Fixture::start(2).await;
    let contacts: Vec<Value> = (0..5)
        .map(|i| f.seed_contact("A", &format!("B{i}"), ""))
        .collect();
    f.clock.advance(Duration::minutes(1));
    let watermark = "2026-03-01 09:01:00";
    let id = |i: usize| contacts[i]["id"].as_str().unwrap_or_default().to_owned();

    let (status, patched) = f
        .patch(
            &format!("/entities/Contacts/{}", id(1)),
            json!({"email1": "new@example.com"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(patched["data"]["revision"].as_i64() > contacts[1]["revision"].as_i64());
    assert_eq!(patched["data"]["modified"], "2026-03-01T09:01:00");
    assert_eq!(
        patched["data"]["last_name"], "B1",
        "fields not sent are kept"
    );
    f.control
        .update_contact(SPACE, &id(3), obj(json!({"position": "CTO"})))
        .expect("person edit");
    let (status, deleted) = f.delete(&format!("/entities/Contacts/{}", id(4))).await;
    assert_eq!((status, deleted["data"].clone()), (200, json!(id(4))));

    let query = format!(
        "/entities/Contacts?first=100&order-by=modified&filter[modified]={watermark}&filter-op[modified]=gte"
    );
    let (_, live) = f.get(&query).await;
    let mut live_ids = ids(&live);
    live_ids.sort();
    let mut want = vec![id(1), id(3)];
    want.sort();
    assert_eq!(live_ids, want, "changes without the soft delete");
    let (_, all) = f.get(&format!("{query}&include-deleted=true")).await;
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 3);
    assert!(all_ids.contains(&id(4)));
    let gone = all["data"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == json!(id(4))).cloned());
    assert_eq!(gone.map(|c| c["is_deleted"].clone()), Some(json!(true)));

    let (status, missing) = f.get(&format!("/entities/Contacts/{}", id(4))).await;
    assert_eq!(
        (status, missing["name"].clone()),
        (404, json!("ERROR_NOT_FOUND"))
    );
    let (status, found) = f
        .get(&format!(
            "/entities/Contacts/{}?include-deleted=true",
            id(4)
        ))
        .await;
    assert_eq!(
        (status, found["data"]["is_deleted"].clone()),
        (200, json!(true))
    );
    let (_, plain) = f.get("/entities/Contacts?first=100").await;
    assert_eq!(ids(&plain).len(), 4);
    let (status, bad) = f
        .get("/entities/Contacts?filter[modified]=yesterday&filter-op[modified]=gte")
        .await;
    assert_eq!((status, bad["success"].clone()), (400, json!(false)));
    f.sim.stop().await;
}

#[actix_web::test]
async fn clients_are_found_by_email_ignoring_case() {
    let f = Fixture::start(3).await;
    let (status, body) = f
        .get("/entities/Clients?filter[email]=owner@EXAMPLE.com&filter-op[email]=ieq")
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), vec![f.owner_id.clone()]);
    let (_, exact) = f
        .get("/entities/Clients?filter[email]=owner@EXAMPLE.com")
        .await;
    assert_eq!(ids(&exact).len(), 0, "eq is case-sensitive");
    f.sim.stop().await;
}

#[actix_web::test]
async fn credentials_and_space_are_checked() {
    let f = Fixture::start(6).await;
    let garbage = f
        .http
        .post(f.url("/entities/Contacts"))
        .basic_auth("key", Some("nope"))
        .body("{not json");
    assert_eq!(
        super::send(garbage).await.0,
        401,
        "credentials are checked first"
    );
    let wrong = f
        .http
        .get(f.url("/entities/Contacts"))
        .basic_auth("key", Some("nope"));
    let (status, body) = super::send(wrong).await;
    assert_eq!(
        (status, body["http_status"].clone(), body["success"].clone()),
        (401, json!(401), json!(false))
    );
    let other = format!(
        "{}/api/v100/rest/spaces/elsewhere/entities/Contacts",
        f.sim.service_url()
    );
    let (status, body) = super::send(f.http.get(other).basic_auth("key", Some("secret"))).await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("Space not found."))
    );
    let (status, body) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "last_name": "X", "shoe_size": 9}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!(117)));
    f.sim.stop().await;
}

//! The control API's list of users (Clients): the ids a contact's `owner_id` and a share's
//! `client_id` take, so a person seeding the simulator over HTTP can find them.

use serde_json::json;

use super::{send, Fixture, SPACE};

#[actix_web::test]
async fn the_control_api_lists_clients_with_their_ids() {
    let f = Fixture::start(41).await;
    let control = |path: &str| format!("{}/_sim/pipeliner{path}", f.sim.service_url());
    let (status, added) = send(
        f.http
            .post(control(&format!("/spaces/{SPACE}/clients")))
            .json(&json!({"email": "bo@example.com", "first_name": "Bo", "last_name": "Berg"})),
    )
    .await;
    assert_eq!(status, 200, "{added}");

    let (status, listed) = send(f.http.get(control(&format!("/spaces/{SPACE}/clients")))).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().expect("an array of clients");
    let rows: Vec<(&str, &str)> = listed
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default(),
                c["email"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (f.owner_id.as_str(), "Owner@Example.com"),
            (added["id"].as_str().unwrap_or_default(), "bo@example.com"),
        ],
        "in the order they were added, as the REST API renders them"
    );
    assert_eq!(listed[1]["name"], "Bo Berg");

    // The listed id is the one the REST API knows and a contact's owner takes.
    let (status, made) = send(
        f.http
            .post(control(&format!("/spaces/{SPACE}/contacts")))
            .json(&json!({"owner_id": rows[1].0, "last_name": "Owned"})),
    )
    .await;
    assert_eq!((status, &made["owner_id"]), (200, &json!(rows[1].0)));
    let (status, rest) = f.get("/entities/Clients").await;
    assert_eq!(status, 200);
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(2));

    let (status, body) = send(f.http.get(control("/spaces/nowhere/clients"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().is_some(), "{body}");
    f.sim.stop().await;
}

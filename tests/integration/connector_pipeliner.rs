//! The Pipeliner connector against the Pipeliner simulator over real HTTP: users and
//! fields, the contact delta with paging and soft deletes, batch writes with per-item
//! errors, webhooks, and retries through throttling and server errors.

use std::net::TcpListener;
use std::time::Duration;

use exsync::clock::Clock;
use exsync::connectors::pipeliner::mapping::listed_fields;
use exsync::connectors::pipeliner::{
    ListedContact, PipelinerClient, PipelinerConfig, PipelinerError,
};
use exsync::connectors::retry::RetryPolicy;
use exsync::sim::pipeliner::{
    ClientSeed, FaultKind, FaultRule, FieldSeed, PipelinerControl, PipelinerSim,
    PipelinerSimConfig, RunningPipelinerSim, SpaceSeed,
};
use exsync::sync::mapping::{CustomMapping, Mapping};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

struct Fixture {
    sim: RunningPipelinerSim,
    control: PipelinerControl,
    client: PipelinerClient,
    owner: String,
}

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

async fn fixture() -> Fixture {
    fixture_on(std::sync::Arc::new(exsync::clock::SystemClock)).await
}

#[actix_web::test]
async fn users_are_found_by_email_and_required_fields_listed() {
    let f = fixture().await;
    let user = f
        .client
        .user_by_email("jane@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, f.owner);
    assert!(f
        .client
        .user_by_email("nobody@acme.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(f.client.user(&f.owner).await.unwrap().id, f.owner);
    f.control
        .set_field(
            "acme",
            FieldSeed {
                api_name: "cf_region".into(),
                required: true,
                ..Default::default()
            },
        )
        .unwrap();
    let required = f.client.required_contact_fields().await.unwrap();
    assert!(required.contains(&"cf_region".to_owned()), "{required:?}");
    f.sim.stop().await;
}

#[actix_web::test]
async fn the_delta_walks_every_page_once_and_sees_soft_deletes() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for i in 0..250 {
        let created = f
            .control
            .create_contact(
                "acme",
                fields(json!({ "owner_id": f.owner, "last_name": format!("Person {i}") })),
            )
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let all = f.client.contacts_modified_since(None).await.unwrap();
    assert_eq!(all.contacts.len(), 250);
    let mut seen: Vec<_> = all.contacts.iter().map(|c| c.id.clone().unwrap()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 250, "each contact exactly once");
    let watermark = all.newest_modified.expect("a watermark");
    let server_time = all
        .server_time
        .expect("Pipeliner's clock from the Date header");
    assert!(
        server_time >= watermark - chrono::Duration::seconds(1),
        "the answer came after the changes it lists"
    );

    f.control.delete_contact("acme", &ids[3]).unwrap();
    f.control
        .update_contact("acme", &ids[7], fields(json!({ "position": "CFO" })))
        .unwrap();
    let changes = f
        .client
        .contacts_modified_since(Some(watermark))
        .await
        .unwrap();
    let deleted = changes
        .contacts
        .iter()
        .find(|c| c.id.as_ref() == Some(&ids[3]))
        .expect("the deleted contact is listed");
    assert!(deleted.is_deleted);
    assert!(changes
        .contacts
        .iter()
        .any(|c| c.id.as_ref() == Some(&ids[7]) && c.field("position") == Some(Some("CFO"))));
    f.sim.stop().await;
}

/// Asserts that a listed contact came with the members exsync reads besides its fields.
fn assert_reads_its_bookkeeping(contact: &ListedContact) {
    assert!(contact.id.is_some(), "id");
    assert!(contact.version.is_some(), "revision");
    assert!(contact.modified.is_some(), "modified");
    assert!(contact.owner_id.is_some(), "owner_id");
    assert!(contact.share_mode.is_some(), "share_mode");
}

#[actix_web::test]
async fn listed_contacts_hold_only_what_exsync_reads_and_a_garbled_page_is_an_error() {
    let f = fixture().await;
    f.control
        .create_contact(
            "acme",
            fields(json!({ "owner_id": f.owner, "last_name": "Kept", "email4": "spare@x.io" })),
        )
        .unwrap();
    let all = f.client.contacts_modified_since(None).await.unwrap();
    let contact = &all.contacts[0];
    assert_eq!(contact.field("last_name"), Some(Some("Kept")));
    assert_eq!(
        contact.field("middle_name"),
        Some(Some("")),
        "an empty mapped field stays present"
    );
    assert_reads_its_bookkeeping(contact);
    assert!(!contact.is_deleted);
    assert_eq!(contact.field("email4"), None, "not a mapped field");
    assert_eq!(contact.fields.len(), 20, "the default mapping's fields");

    // A client told the fields it lists asks Pipeliner for those only (`load-only`):
    // an unmapped custom field, which a typed row would keep, does not come.
    for api_name in ["cf_birthday", "cf_other"] {
        let field = FieldSeed {
            api_name: api_name.into(),
            ..Default::default()
        };
        f.control.set_field("acme", field).unwrap();
    }
    let mapping = Mapping {
        custom: vec![CustomMapping {
            name: "birthday".into(),
            exchange: "birthday".into(),
            pipeliner: "cf_birthday".into(),
        }],
    };
    let mut config = f.client.config().clone();
    config.listed_fields = Some(listed_fields(&mapping));
    let narrow = PipelinerClient::new(config, reqwest::Client::new());
    f.control
        .create_contact(
            "acme",
            fields(json!({ "owner_id": f.owner, "last_name": "Custom",
                "cf_birthday": "1815-12-10", "cf_other": "unmapped" })),
        )
        .unwrap();
    let listed = narrow.contacts_modified_since(None).await.unwrap();
    let custom = listed
        .contacts
        .iter()
        .find(|c| c.field("last_name") == Some(Some("Custom")))
        .expect("listed");
    assert_eq!(custom.field("cf_birthday"), Some(Some("1815-12-10")));
    assert_eq!(custom.field("cf_other"), None, "{custom:?}");
    assert_reads_its_bookkeeping(custom);
    assert!(custom.field("middle_name").is_some());
    let everything = f.client.contacts_modified_since(None).await.unwrap();
    assert!(everything
        .contacts
        .iter()
        .any(|c| c.field("cf_other") == Some(Some("unmapped"))));

    // A garbled page is retried; one that stays garbled fails the whole listing.
    f.control.add_fault(FaultRule {
        route: "contacts.list".into(),
        kind: FaultKind::MalformedJson,
        rate: 1.0,
        count: Some(1),
        skip: 0,
    });
    let retried = f.client.contacts_modified_since(None).await.unwrap();
    assert_eq!(retried.contacts.len(), 2);
    f.control.add_fault(FaultRule {
        route: "contacts.list".into(),
        kind: FaultKind::MalformedJson,
        rate: 1.0,
        count: None,
        skip: 0,
    });
    let err = f.client.contacts_modified_since(None).await.unwrap_err();
    assert!(matches!(err, PipelinerError::Malformed(_)), "{err:?}");
    f.sim.stop().await;
}

#[actix_web::test]
async fn batch_writes_report_each_item_and_skip_own_webhooks() {
    let f = fixture().await;
    f.control
        .set_field(
            "acme",
            FieldSeed {
                api_name: "cf_region".into(),
                required: true,
                ..Default::default()
            },
        )
        .unwrap();
    let results = f
        .client
        .batch_modify(
            &[
                json!({ "owner_id": f.owner, "last_name": "Lovelace", "cf_region": "EU" }),
                json!({ "owner_id": f.owner, "last_name": "Babbage" }),
            ],
            None,
        )
        .await
        .unwrap();
    let created = results[0].clone().expect("a complete contact is created");
    assert!(
        matches!(&results[1], Err(PipelinerError::Invalid { .. })),
        "a contact missing a required field is refused alone: {:?}",
        results[1]
    );
    let contact = f.client.contact(&created).await.unwrap();
    assert_eq!(contact.field("last_name"), Some(Some("Lovelace")));
    let deleted = f
        .client
        .batch_delete(std::slice::from_ref(&created))
        .await
        .unwrap();
    assert_eq!(deleted[0].as_ref().unwrap(), &created);
    let contact = f.client.contact(&created).await.unwrap();
    assert!(contact.is_deleted);

    let hook = f
        .client
        .create_webhook(
            "http://127.0.0.1:9/webhooks/pipeliner/acme",
            "0b8c8a32-2f53-4c63-9a55-0f1e2d3c4b5a",
        )
        .await
        .unwrap();
    assert_eq!(f.client.webhooks().await.unwrap().len(), 1);
    f.client.delete_webhook(&hook.id).await.unwrap();
    f.client.delete_webhook(&hook.id).await.unwrap();
    assert!(f.client.webhooks().await.unwrap().is_empty());
    assert!(
        f.control.deliveries().is_empty(),
        "writes carrying the skip key trigger no delivery"
    );
    f.sim.stop().await;
}

#[actix_web::test]
async fn throttling_and_server_errors_are_retried_and_bad_credentials_are_not() {
    let f = fixture().await;
    f.control.add_fault(FaultRule {
        route: "clients.list".into(),
        kind: FaultKind::TooManyRequests {
            retry_after_secs: 0,
        },
        rate: 1.0,
        count: Some(2),
        skip: 0,
    });
    f.control.add_fault(FaultRule {
        route: "fields.list".into(),
        kind: FaultKind::Error {
            status: 503,
            retry_after_secs: None,
        },
        rate: 1.0,
        count: Some(2),
        skip: 0,
    });
    assert!(f
        .client
        .user_by_email("jane@acme.com")
        .await
        .unwrap()
        .is_some());
    assert!(f.client.contact_fields().await.is_ok());

    let wrong = PipelinerClient::new(
        PipelinerConfig::new(
            f.sim.service_url(),
            "acme",
            "key",
            SecretString::from("wrong".to_owned()),
        ),
        reqwest::Client::new(),
    );
    let err = wrong.user_by_email("jane@acme.com").await.unwrap_err();
    assert!(
        matches!(err, PipelinerError::Unauthorized { .. }),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("wrong"),
        "no secret in the message"
    );
    f.sim.stop().await;
}

/// A simulated space with one user, its simulator running on `clock`, and a client with
/// quick retries.
async fn fixture_on(clock: exsync::clock::SharedClock) -> Fixture {
    let sim = PipelinerSim::new(PipelinerSimConfig {
        clock,
        ..PipelinerSimConfig::default()
    });
    let control = sim.control();
    control
        .create_space(SpaceSeed {
            id: Some("acme".into()),
            name: "Acme".into(),
            api_key: "key".into(),
            api_secret: "secret".into(),
        })
        .unwrap();
    let owner = control
        .add_client(
            "acme",
            ClientSeed {
                email: "Jane@Acme.com".into(),
                ..Default::default()
            },
        )
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sim = sim
        .start(TcpListener::bind("127.0.0.1:0").unwrap())
        .await
        .unwrap();
    let mut config = PipelinerConfig::new(
        sim.service_url(),
        "acme",
        "key",
        SecretString::from("secret".to_owned()),
    );
    config.retry = RetryPolicy {
        max_retries: 4,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    };
    let client = PipelinerClient::new(config, reqwest::Client::new());
    Fixture {
        control: sim.control(),
        sim,
        client,
        owner,
    }
}

fn listed(f: &Fixture) -> u64 {
    f.control
        .request_counts()
        .get("contacts.list")
        .copied()
        .unwrap_or(0)
}

fn ids_of(changes: &exsync::connectors::pipeliner::contacts::ContactChanges) -> Vec<String> {
    changes
        .contacts
        .iter()
        .map(|c| c.id.clone().unwrap())
        .collect()
}

#[actix_web::test]
async fn periodic_polls_of_a_space_share_one_window_of_changes() {
    use exsync::connectors::pipeliner::feed::SharedPoll;
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .to_utc();
    let clock = std::sync::Arc::new(exsync::clock::ManualClock::new(start));
    let f = fixture_on(clock.clone()).await;
    let create = |name: &str| {
        f.control
            .create_contact(
                "acme",
                fields(json!({ "owner_id": f.owner, "last_name": name })),
            )
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let early = create("Early");
    clock.advance(chrono::Duration::seconds(60));
    let later = create("Later");
    let poll = |since, now| SharedPoll {
        since,
        now,
        max_age: chrono::Duration::seconds(30),
    };

    // The first poll fetches from its watermark; a poll with a later watermark shares it.
    let now = clock.now();
    let first = f
        .client
        .contacts_modified_since_shared(poll(start, now))
        .await
        .unwrap();
    assert_eq!(ids_of(&first), [early.clone(), later.clone()]);
    assert_eq!(first.server_time, Some(now));
    let second = f
        .client
        .contacts_modified_since_shared(poll(start + chrono::Duration::seconds(30), now))
        .await
        .unwrap();
    assert_eq!(
        ids_of(&second),
        std::slice::from_ref(&later),
        "only what changed after its watermark"
    );
    assert_eq!(
        listed(&f),
        1,
        "the second poll was answered from the window"
    );

    // A change after the fetch shows once the window is too old for a poll: one fetch
    // extends it, and polls after that share the extension.
    clock.advance(chrono::Duration::seconds(5));
    f.control
        .update_contact("acme", &early, fields(json!({ "position": "CFO" })))
        .unwrap();
    let still = f
        .client
        .contacts_modified_since_shared(poll(now, clock.now()))
        .await
        .unwrap();
    assert!(
        !ids_of(&still).contains(&early),
        "a window 5 s old answers a poll that allows 30 s"
    );
    clock.advance(chrono::Duration::seconds(30));
    let extended = f
        .client
        .contacts_modified_since_shared(poll(now, clock.now()))
        .await
        .unwrap();
    assert_eq!(listed(&f), 2);
    let cfo = extended
        .contacts
        .iter()
        .find(|c| c.id.as_ref() == Some(&early))
        .expect("the edit is seen");
    assert_eq!(
        cfo.field("position"),
        Some(Some("CFO")),
        "the newest revision"
    );
    let from_start = f
        .client
        .contacts_modified_since_shared(poll(start, clock.now()))
        .await
        .unwrap();
    assert_eq!(from_start.contacts.len(), 2, "each contact once");
    assert_eq!(listed(&f), 2);

    // A watermark older than the window gets a fetch of its own.
    let older = f
        .client
        .contacts_modified_since_shared(poll(start - chrono::Duration::hours(1), clock.now()))
        .await
        .unwrap();
    assert_eq!(older.contacts.len(), 2);
    assert_eq!(listed(&f), 3);
    f.sim.stop().await;
}

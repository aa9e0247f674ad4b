//! The connectors' conversions between each upstream's JSON and the canonical contact,
//! with the normalisation and snapshot hashes they feed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::connectors::graph::mapping::{
    from_graph, from_listed_graph, graph_create, graph_patch, INTENT_PROPERTY,
};
use crate::connectors::graph::models::ListedGraphContact;
use crate::connectors::pipeliner::mapping::{
    from_listed, listed_fields, pipeliner_create, pipeliner_patch,
};
use crate::connectors::pipeliner::ListedContact;
use crate::sync::contact::{Contact, Field, FieldKey};
use crate::sync::input::Presence;
use crate::sync::mapping::{
    pipeliner_field, pipeliner_name, Change, CustomMapping, Mapping, MappingError, Read, ReadError,
};
use crate::sync::normalize::{date_text, same};
use crate::sync::snapshot::{contact_hash, Snapshot};
use crate::sync::{contact::ValueKind, IntentId, Settings, SyncType};

/// A request body's text read back as JSON, to look into.
fn json_of(body: &serde_json::value::RawValue) -> Value {
    serde_json::from_str(body.get()).expect("a body is JSON")
}

/// Reads a Pipeliner contact's JSON as a list page would give it.
fn from_pipeliner(v: &Value, m: &Mapping, owner: &str) -> Result<Read, ReadError> {
    let listed = ListedContact::deserialize(v).map_err(|_| ReadError::NotAnObject)?;
    from_listed(&listed, m, owner)
}

fn birthday_mapping() -> Mapping {
    Mapping {
        custom: vec![CustomMapping {
            name: "birthday".into(),
            exchange: "birthday".into(),
            pipeliner: "cf_birthday".into(),
        }],
    }
}

fn full_contact() -> Contact {
    let mut c = Contact::default();
    for (i, f) in Field::ALL.iter().enumerate() {
        let v = match f {
            Field::Email1 | Field::Email2 | Field::Email3 => format!("p{i}@example.com"),
            _ => format!("value {i}"),
        };
        c.set(&FieldKey::Std(*f), Some(&v));
    }
    c.set(&FieldKey::Custom("birthday".into()), Some("1974-07-22"));
    c
}

fn upsert_of(change: Change) -> crate::sync::Upsert {
    match change {
        Change::Upsert(u) => *u,
        Change::Delete(id) => panic!("unexpected delete of {id}"),
    }
}

#[test]
fn graph_round_trip_keeps_every_mapped_field() {
    let m = birthday_mapping();
    let c = full_contact();
    let mut body = json_of(&graph_create(&c, &m, Some(&IntentId("p:x".into()))));
    body["id"] = json!("AAMk=");
    body["changeKey"] = json!("ck1");
    let read = from_graph(&body, &m).map(|r| upsert_of(r.change));
    let u = read.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u.contact, c);
    assert_eq!(u.presence, Presence::Full);
    assert_eq!(u.intent, None, "a read never carries an intent");
    assert_eq!(u.version.as_deref(), Some("ck1"));
    assert_eq!(
        body["singleValueExtendedProperties"][0]["id"],
        json!(INTENT_PROPERTY)
    );
}

#[test]
fn pipeliner_round_trip_keeps_every_mapped_field_and_sets_owner_only() {
    let m = birthday_mapping();
    let c = full_contact();
    let mut body = json_of(&pipeliner_create(&c, &m, "client-1", None));
    assert_eq!(body["owner_id"], json!("client-1"));
    assert_eq!(body["first_name"], json!("value 0"));
    assert_eq!(body["quick_account_name"], json!("value 5"));
    assert!(body.get("exchange_entity_id").is_none() && body.get("o365_entity_id").is_none());
    body["id"] = json!("uuid-1");
    body["revision"] = json!(7);
    let u = from_pipeliner(&body, &m, "client-1").map(|r| upsert_of(r.change));
    let u = u.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u.contact, c);
    assert_eq!(u.version.as_deref(), Some("7"));
    assert_eq!(u.access, crate::sync::Access::Owner);
}

#[test]
fn a_listed_graph_row_keeps_every_member_a_mapping_reads() {
    let m = birthday_mapping();
    let mut body = json_of(&graph_create(
        &full_contact(),
        &m,
        Some(&IntentId("p:x".into())),
    ));
    for (name, value) in [
        ("id", json!("AAMk=")),
        ("changeKey", json!("ck1")),
        ("lastModifiedDateTime", json!("2026-01-01T10:00:00Z")),
        ("displayName", json!("value 0 value 2")),
        ("parentFolderId", json!("folder")),
        ("homeAddress", json!({ "street": "unmapped" })),
        ("@odata.etag", json!("W/\"ck1\"")),
        ("department", json!(null)),
    ] {
        body[name] = value;
    }
    let listed: ListedGraphContact = serde_json::from_str(&body.to_string()).unwrap();
    assert_eq!(
        listed.custom("department"),
        Some(None),
        "a present null stays present"
    );
    let read = upsert_of(from_listed_graph(&listed, &m).unwrap().change);
    assert_eq!(read.contact, full_contact());
    assert_eq!(read.presence, Presence::Full);
    assert_eq!(read.version.as_deref(), Some("ck1"));
    assert_eq!(
        read.modified.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-01T10:00:00+00:00")
    );
    assert_eq!(
        read.intent, None,
        "extended properties are not read from rows"
    );
    let removed: ListedGraphContact =
        serde_json::from_value(json!({ "id": "AAMk=", "@removed": { "reason": "deleted" } }))
            .unwrap();
    assert!(matches!(
        from_listed_graph(&removed, &m).unwrap().change,
        Change::Delete(_)
    ));
}

/// A whole Pipeliner contact as a list page holds it: every mapped field of
/// [`full_contact`], its bookkeeping and sharing, and members no mapping reads.
fn whole_pipeliner_contact(m: &Mapping) -> Value {
    let mut body = json_of(&pipeliner_create(&full_contact(), m, "client-1", None));
    for (name, value) in [
        ("id", json!("uuid-1")),
        ("revision", json!(7)),
        ("modified", json!("2026-01-01T10:00:00")),
        ("is_deleted", json!(false)),
        ("share_mode", json!(3)),
        ("sharing_clients", json!([{ "client_id": "u", "role": 2 }])),
        ("email4", json!("unmapped@example.com")),
        ("owner", json!("https://x/entities/Clients/client-1")),
        ("formatted_name", json!("value 0 value 2")),
        ("cf_unmapped", json!("")),
    ] {
        body[name] = value;
    }
    body["middle_name"] = json!(null);
    body
}

/// Asserts that `narrowed`, a part of `whole`, reads as `whole` does: contact, presence,
/// version, modification time, access and the sharing members.
fn assert_reads_as_the_whole(narrowed: &Value, whole: &Value, m: &Mapping) {
    let full = upsert_of(from_pipeliner(whole, m, "client-1").unwrap().change);
    let read = upsert_of(from_pipeliner(narrowed, m, "client-1").unwrap().change);
    assert_eq!(read.contact, full.contact);
    assert_eq!(read.presence, full.presence);
    assert_eq!(read.version, full.version);
    assert_eq!(read.modified, full.modified);
    assert_eq!(read.access, full.access);
    for sharing in ["owner_id", "share_mode", "sharing_clients"] {
        assert_eq!(narrowed[sharing], whole[sharing], "{sharing}");
    }
}

#[test]
fn a_listed_contact_keeps_every_member_a_mapping_reads() {
    let m = birthday_mapping();
    let body = whole_pipeliner_contact(&m);
    let listed: ListedContact = serde_json::from_str(&body.to_string()).unwrap();
    for unread in ["email4", "owner", "formatted_name"] {
        assert_eq!(listed.field(unread), None, "{unread}");
    }
    assert_eq!(
        listed.field("middle_name"),
        Some(None),
        "a present null stays present"
    );
    assert_eq!(listed.field("cf_unmapped"), Some(Some("")));
    assert_eq!(listed.field("cf_birthday"), Some(Some("1974-07-22")));
    assert_eq!(listed.owner_id.as_deref(), Some("client-1"));
    assert_eq!(listed.share_mode, Some(3));
    assert_eq!(listed.sharing.len(), 1);
    for f in Field::ALL {
        assert_eq!(pipeliner_field(pipeliner_name(f)), Some(f));
    }
    let read = upsert_of(from_listed(&listed, &m, "client-1").unwrap().change);
    let mut expected = full_contact();
    expected.middle_name = None;
    assert_eq!(read.contact, expected);
    assert_eq!(read.version.as_deref(), Some("7"));
    assert_eq!(
        read.modified.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-01T10:00:00+00:00")
    );
    assert_eq!(read.access, crate::sync::Access::Owner);
}

#[test]
fn a_contact_loaded_with_only_the_listed_fields_reads_as_the_whole_contact() {
    let m = birthday_mapping();
    let body = whole_pipeliner_contact(&m);
    let fields = listed_fields(&m);
    // What Pipeliner answers to `load-only`: the named members (a dotted name keeps
    // the relation it names).
    let loaded: serde_json::Map<String, Value> = body
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| {
            fields
                .iter()
                .any(|f| f.split('.').next() == Some(name.as_str()))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    for unread in ["email4", "owner", "formatted_name", "cf_unmapped"] {
        assert!(!loaded.contains_key(unread), "{unread}");
    }
    assert_eq!(loaded["middle_name"], json!(null), "asked for, so present");
    assert_reads_as_the_whole(&Value::Object(loaded), &body, &m);
    assert_eq!(
        fields.len(),
        fields
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        "each field asked for once"
    );
}

#[test]
fn graph_limits_overflow_is_reported_never_sent() {
    let v = json!({
        "id": "x",
        "emailAddresses": [{"address": "a@x"}, {"address": "b@x"}, {"address": "c@x"}, {"address": "d@x"}],
        "businessPhones": ["1", "2", "3"],
    });
    let r = from_graph(&v, &Mapping::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.warnings.len(), 2);
    let u = upsert_of(r.change);
    assert_eq!(u.contact.email3.as_deref(), Some("c@x"));
    let patch = json_of(&graph_create(&u.contact, &Mapping::default(), None));
    assert_eq!(patch["emailAddresses"].as_array().map(Vec::len), Some(3));
    assert_eq!(patch["businessPhones"].as_array().map(Vec::len), Some(2));
}

#[test]
fn graph_delta_row_is_a_partial_upsert_and_removed_is_a_delete() {
    let r = from_graph(&json!({"id": "x", "jobTitle": "CTO"}), &Mapping::default());
    let u = upsert_of(r.unwrap_or_else(|e| panic!("{e}")).change);
    assert_eq!(
        u.presence,
        Presence::Partial([FieldKey::Std(Field::JobTitle)].into_iter().collect())
    );
    let r = from_graph(
        &json!({"id": "x", "@removed": {"reason": "deleted"}}),
        &Mapping::default(),
    );
    assert_eq!(r.map(|r| r.change), Ok(Change::Delete("x".into())));
    let p = from_pipeliner(
        &json!({"id": "y", "is_deleted": true}),
        &Mapping::default(),
        "u",
    );
    assert_eq!(p.map(|r| r.change), Ok(Change::Delete("y".into())));
    assert_eq!(
        from_graph(&json!([]), &Mapping::default()),
        Err(ReadError::NotAnObject)
    );
    assert_eq!(
        from_graph(&json!({"givenName": "A"}), &Mapping::default()),
        Err(ReadError::MissingId)
    );
}

#[test]
fn patches_carry_only_the_given_fields() {
    let mut changes = BTreeMap::new();
    changes.insert(FieldKey::Std(Field::JobTitle), Some("CTO".to_owned()));
    changes.insert(FieldKey::Std(Field::Notes), None);
    let g = json_of(&graph_patch(&changes, &Mapping::default()));
    assert_eq!(g, json!({"jobTitle": "CTO", "personalNotes": null}));
    let p = json_of(&pipeliner_patch("c-1", &changes, &Mapping::default()));
    assert_eq!(p, json!({"id": "c-1", "position": "CTO", "comments": ""}));
}

#[test]
fn cleared_fields_are_written_as_each_side_clears_them() {
    let mut m = birthday_mapping();
    m.custom.push(CustomMapping {
        name: "department".into(),
        exchange: "department".into(),
        pipeliner: "cf_department".into(),
    });
    let mut changes = BTreeMap::new();
    changes.insert(FieldKey::Custom("birthday".into()), None);
    changes.insert(FieldKey::Custom("department".into()), None);
    changes.insert(FieldKey::Custom("unmapped".into()), Some("x".to_owned()));
    changes.insert(FieldKey::Std(Field::Email1), Some("a@x.test".to_owned()));
    changes.insert(FieldKey::Std(Field::Email2), None);
    changes.insert(FieldKey::Std(Field::HomePhone), None);
    changes.insert(
        FieldKey::Std(Field::City),
        Some("Wien \"Mitte\"".to_owned()),
    );
    assert_eq!(
        json_of(&pipeliner_patch("c-1", &changes, &m)),
        json!({
            "id": "c-1", "email1": "a@x.test", "email2": "", "phone3": "",
            "city": "Wien \"Mitte\"", "cf_birthday": null, "cf_department": "",
        }),
        "a cleared date is null, any other cleared field empty text; unmapped keys are left out"
    );
    assert_eq!(
        json_of(&graph_patch(&changes, &m)),
        json!({
            "emailAddresses": [{ "address": "a@x.test", "name": "a@x.test" }],
            "homePhones": [],
            "businessAddress": {
                "street": null, "city": "Wien \"Mitte\"", "state": null,
                "postalCode": null, "countryOrRegion": null,
            },
            "birthday": null,
            "department": null,
        }),
        "a list or the address goes whole, without its cleared entries"
    );
}

#[test]
fn birthday_is_a_date_without_time_zone_drift() {
    for raw in [
        "1974-07-22",
        "1974-07-22T00:00:00Z",
        "1974-07-22T00:00:00+02:00",
        "1974-07-22T23:30:00-08:00",
        "1974-07-22T11:59:00",
    ] {
        assert_eq!(date_text(raw).as_deref(), Some("1974-07-22"), "{raw}");
    }
    let m = birthday_mapping();
    let r = from_graph(
        &json!({"id": "x", "birthday": "1974-07-22T00:00:00+02:00"}),
        &m,
    );
    let u = upsert_of(r.unwrap_or_else(|e| panic!("{e}")).change);
    let mut c = u.contact.clone();
    // Several round trips through both sides leave the date where it was.
    for _ in 0..3 {
        let mut g = json_of(&graph_create(&c, &m, None));
        g["id"] = json!("x");
        c = upsert_of(from_graph(&g, &m).unwrap_or_else(|e| panic!("{e}")).change).contact;
        let mut p = json_of(&pipeliner_create(&c, &m, "o", None));
        p["id"] = json!("y");
        c = upsert_of(
            from_pipeliner(&p, &m, "o")
                .unwrap_or_else(|e| panic!("{e}"))
                .change,
        )
        .contact;
    }
    assert_eq!(
        c.custom.get("birthday").map(String::as_str),
        Some("1974-07-22")
    );
}

#[test]
fn normalisation_rules() {
    assert!(same(
        ValueKind::Email,
        Some(" Ada@Example.com "),
        Some("ada@example.com")
    ));
    assert!(same(ValueKind::Text, Some(""), None));
    assert!(same(ValueKind::Text, Some("  "), None));
    assert!(!same(ValueKind::Text, Some("Ada"), Some("ada")));
    assert!(same(ValueKind::Phone, Some(" +1 555 "), Some("+1 555")));
    assert!(!same(ValueKind::Phone, Some("+1 555"), Some("+1555")));
}

#[test]
fn snapshot_hash_is_stable_and_normalised() {
    let a = Contact::default().with(Field::Email1, "Ada@Example.com");
    let b = Contact::default().with(Field::Email1, "ada@example.com ");
    assert_eq!(contact_hash(&a), contact_hash(&b));
    assert_ne!(contact_hash(&a), contact_hash(&Contact::default()));
    // Pinned: the stored hash must not change between builds or Rust versions.
    assert_eq!(
        Snapshot::agreed(a).hash(),
        "9032bf7cd4dbdb04c5cb836e944f98f610dff5e4bd581a364970b7d754b19824"
    );
}

#[test]
fn custom_mappings_are_validated() {
    let ok = birthday_mapping();
    assert_eq!(ok.validate(), Ok(()));
    let bad = |exchange: &str, pipeliner: &str| Mapping {
        custom: vec![CustomMapping {
            name: "x".into(),
            exchange: exchange.into(),
            pipeliner: pipeliner.into(),
        }],
    };
    assert!(matches!(
        bad("birthday", "exchange_entity_id").validate(),
        Err(MappingError::BadPipelinerField(_))
    ));
    assert!(matches!(
        bad("givenName", "cf_x").validate(),
        Err(MappingError::BadExchangeProperty(_))
    ));
    assert!(matches!(bad("department", "cf_dept").validate(), Ok(())));
}

#[test]
fn settings_enums_are_snake_case() {
    let s = Settings {
        sync_type: SyncType::ExchangeToCrm,
        ..Settings::default()
    };
    let v = serde_json::to_value(s).unwrap_or_default();
    assert_eq!(v["sync_type"], json!("exchange_to_crm"));
    assert_eq!(v["sync_preference"], json!("owned"));
    assert_eq!(v["conflict_policy"], json!("newest"));
    let back: Result<SyncType, _> = serde_json::from_value(json!("crm_to_exchange"));
    assert_eq!(back.ok(), Some(SyncType::CrmToExchange));
}

#[test]
fn a_read_is_full_only_with_every_mapped_field() {
    use crate::sync::mapping::Present;
    let m = birthday_mapping();
    let all_std = || {
        let mut present = Present::default();
        for f in Field::ALL {
            present.std(f);
        }
        present
    };
    assert_eq!(all_std().into_presence(&Mapping::default()), Presence::Full);
    let Presence::Partial(found) = all_std().into_presence(&m) else {
        panic!("the custom field is missing");
    };
    assert_eq!(found.len(), Field::ALL.len());
    let mut present = all_std();
    present.custom(FieldKey::Custom("birthday".into()));
    assert_eq!(present.into_presence(&m), Presence::Full);
    let mut some = Present::default();
    some.std(Field::Surname);
    some.custom(FieldKey::Custom("birthday".into()));
    let expected = [
        FieldKey::Std(Field::Surname),
        FieldKey::Custom("birthday".into()),
    ];
    assert_eq!(
        some.into_presence(&m),
        Presence::Partial(expected.into_iter().collect())
    );
}

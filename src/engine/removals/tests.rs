//! Retiring registrations in the store, and when removals are due.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;

use super::*;
use crate::store::crypto::SealedSecret;
use crate::store::spaces::{space_secret_context, MicrosoftConnection, PipelinerConnection};
use crate::store::users::SyncStatus;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap() + chrono::Duration::minutes(minute)
}

fn sealed(store: &Store, context: &str) -> SealedSecret {
    store
        .seal(context, &SecretString::from("secret".to_owned()))
        .unwrap()
}

fn space(store: &Store, enabled: bool) -> SpaceRecord {
    let id = SpaceId::parse("acme").unwrap();
    let record = SpaceRecord {
        pipeliner: PipelinerConnection {
            service_url: "https://p".into(),
            space_id: "nl_acme".into(),
            api_key: "key".into(),
            api_secret: sealed(store, &space_secret_context(&id, "pipeliner.api_secret")),
        },
        microsoft: MicrosoftConnection {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: sealed(store, &space_secret_context(&id, "microsoft.client_secret")),
            graph_url: "https://g".into(),
            login_url: "https://l".into(),
        },
        id,
        name: "Acme".into(),
        integration_enabled: enabled,
        custom_mappings: Vec::new(),
        created_at: at(0),
        updated_at: at(0),
    };
    store.insert_space(&record).unwrap();
    record
}

fn user(store: &Store, id: &str, state: UserState) -> UserRecord {
    let record = UserRecord {
        space: SpaceId::parse("acme").unwrap(),
        id: UserId::parse(id).unwrap(),
        email: format!("{id}@acme.com"),
        pipeliner_user_id: None,
        credentials: None,
        settings: serde_json::from_value(serde_json::json!({
            "sync_type": "bidirectional",
            "delete_protection": true,
            "folder": { "create": {} }
        }))
        .unwrap(),
        state,
        activated_at: at(0),
        updated_at: at(0),
        status: SyncStatus::default(),
        reconcile_epoch: 0,
    };
    store.put_user(&record).unwrap();
    record
}

fn subscription(store: &Store, id: &str, user: &str) -> SubscriptionRecord {
    let record = SubscriptionRecord {
        id: id.into(),
        space: SpaceId::parse("acme").unwrap(),
        user: UserId::parse(user).unwrap(),
        folder_id: "f".into(),
        client_state: sealed(store, "x"),
        expires_at: at(60),
    };
    store.put_subscription(&record).unwrap();
    record
}

fn hook(store: &Store) -> SpaceHookRecord {
    let record = SpaceHookRecord {
        webhook_id: "w1".into(),
        url: "https://x/webhooks/pipeliner/acme".into(),
        signature: sealed(store, "y"),
        options_version: 1,
    };
    store
        .put_space_hook(&SpaceId::parse("acme").unwrap(), &record)
        .unwrap();
    record
}

#[test]
fn retiring_a_space_moves_its_webhook_and_every_subscription_into_pending_removals() {
    let (_dir, store) = crate::store::test_store();
    let space = space(&store, false);
    user(&store, "jane", UserState::Activated);
    subscription(&store, "s1", "jane");
    subscription(&store, "s2", "joe");
    hook(&store);
    assert_eq!(
        retire_space(&store, &space, RemovalReason::IntegrationOff, at(1)).unwrap(),
        3
    );
    assert!(store.all_subscriptions().unwrap().is_empty());
    assert!(store.space_hook(&space.id).unwrap().is_none());
    let pending = store.pending_removals().unwrap();
    assert_eq!(pending.len(), 3);
    let jane = pending
        .iter()
        .find(|r| r.target.id() == "s1")
        .expect("jane's subscription");
    assert_eq!(
        jane.target,
        RemovalTarget::GraphSubscription {
            id: "s1".into(),
            mailbox: "jane@acme.com".into(),
            expires_at: at(60)
        }
    );
    assert_eq!(jane.reason, RemovalReason::IntegrationOff);
    assert!(pending.iter().any(
        |r| r.user.is_none() && r.target == RemovalTarget::PipelinerWebhook { id: "w1".into() }
    ));
}

#[test]
fn a_subscription_stored_after_its_user_left_is_retired_at_once() {
    let (_dir, store) = crate::store::test_store();
    let space = space(&store, true);
    user(&store, "jane", UserState::Activated);
    user(&store, "joe", UserState::Deactivated);
    let kept = subscription(&store, "s1", "jane");
    assert!(
        keep_subscription(&store, &space, "jane@acme.com", &kept, at(1))
            .unwrap()
            .is_none()
    );
    let late = subscription(&store, "s2", "joe");
    let retired = keep_subscription(&store, &space, "joe@acme.com", &late, at(1))
        .unwrap()
        .expect("joe is deactivated");
    assert_eq!(retired.reason, RemovalReason::UserDeactivated);
    assert!(store.subscription("s2").unwrap().is_none());
    assert!(store.subscription("s1").unwrap().is_some());

    let webhook = hook(&store);
    let kept = keep_space_hook(&store, &space, &webhook, at(1)).unwrap();
    assert!(
        kept.unwanted.is_none() && kept.replaced.is_none(),
        "{kept:?}"
    );
    let newer = SpaceHookRecord {
        webhook_id: "w2".into(),
        options_version: webhook.options_version + 1,
        ..webhook.clone()
    };
    let kept = keep_space_hook(&store, &space, &newer, at(1)).unwrap();
    assert!(kept.unwanted.is_none(), "{kept:?}");
    let replaced = kept.replaced.expect("the older webhook is replaced");
    assert_eq!(replaced.reason, RemovalReason::Replaced);
    assert_eq!(replaced.target.id(), "w1");
    assert_eq!(store.space_hook(&space.id).unwrap(), Some(newer.clone()));
    let pending = store.pending_removals().unwrap();
    let webhooks: Vec<&str> = pending
        .iter()
        .filter(|p| matches!(p.target, RemovalTarget::PipelinerWebhook { .. }))
        .map(|p| p.target.id())
        .collect();
    assert_eq!(webhooks, ["w1"], "kept until deleted upstream");
    store
        .update_space(&space.id, |s| {
            s.integration_enabled = false;
            Ok::<_, crate::store::StoreError>(())
        })
        .unwrap();
    let retired = keep_space_hook(&store, &space, &newer, at(2))
        .unwrap()
        .unwanted
        .expect("the space is off");
    assert_eq!(retired.reason, RemovalReason::IntegrationOff);
}

#[test]
fn the_orphan_scan_retires_what_deactivated_users_and_switched_off_spaces_left() {
    let (_dir, store) = crate::store::test_store();
    space(&store, true);
    user(&store, "jane", UserState::Activated);
    user(&store, "joe", UserState::Deactivated);
    user(&store, "ann", UserState::Paused);
    subscription(&store, "s1", "jane");
    subscription(&store, "s2", "joe");
    subscription(&store, "s3", "ann");
    subscription(&store, "s4", "gone");
    hook(&store);
    assert_eq!(retire_orphans(&store, at(1)).unwrap(), 2);
    let mut left: Vec<String> = store
        .all_subscriptions()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    left.sort();
    assert_eq!(left, ["s1", "s3"], "active and paused users keep theirs");
    assert!(store
        .space_hook(&SpaceId::parse("acme").unwrap())
        .unwrap()
        .is_some());
}

#[test]
fn removals_are_due_at_once_then_after_growing_waits() {
    let (_dir, store) = crate::store::test_store();
    let space = space(&store, true);
    let every = Duration::from_secs(60);
    let fresh = PendingRemoval::new(
        &space,
        None,
        RemovalTarget::PipelinerWebhook { id: "w".into() },
        RemovalReason::SpaceDeleted,
        at(0),
    );
    assert!(is_due(&fresh, at(0), every));
    let once = fresh.clone().failed("503", at(0));
    assert!(!is_due(&once, at(0), every));
    assert!(is_due(&once, at(1), every), "one sweep later");
    let thrice = once.failed("503", at(1)).failed("503", at(3));
    assert!(!is_due(&thrice, at(5), every));
    assert!(is_due(&thrice, at(7), every), "four sweeps later");
    let mut many = thrice;
    for _ in 0..20 {
        many = many.failed("503", at(0));
    }
    assert!(!is_due(&many, at(59), every));
    assert!(is_due(&many, at(60), every), "at most an hour apart");
}

#[test]
fn a_removal_uses_the_spaces_current_secrets_while_it_reaches_the_same_upstream() {
    let (_dir, store) = crate::store::test_store();
    let space = space(&store, true);
    let removal = PendingRemoval::new(
        &space,
        None,
        RemovalTarget::PipelinerWebhook { id: "w".into() },
        RemovalReason::IntegrationOff,
        at(0),
    );
    let mut rotated = space.clone();
    rotated.pipeliner.api_key = "new-key".into();
    assert_eq!(
        connection_for(&removal, Some(&rotated)).pipeliner.api_key,
        "new-key"
    );
    let mut moved = space.clone();
    moved.pipeliner.space_id = "nl_other".into();
    assert_eq!(
        connection_for(&removal, Some(&moved)).pipeliner.space_id,
        "nl_acme",
        "a space pointed elsewhere keeps the copy"
    );
    assert_eq!(connection_for(&removal, None).pipeliner.space_id, "nl_acme");
}

//! Field-level merge, conflicts, echo suppression and partial updates.

use super::super::support::*;
use super::ada;
use crate::sync::contact::Field;
use crate::sync::input::{Side, Upsert};
use crate::sync::output::LinkChange;
use crate::sync::plan;
use crate::sync::settings::{ConflictPolicy, SyncType};

#[test]
fn field_level_merge_keeps_both_sides_edits() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    i.crm.upserts = vec![up("c1", ada().with(Field::City, "Paris"))];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    assert_eq!(updates(&p, Side::Exchange), vec![("e1", address_group())]);
    assert!(p.conflicts.is_empty());
}

fn address_group() -> Vec<String> {
    // The address is one Graph property, so the whole group is sent.
    ["street", "city", "state", "postal_code", "country"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn same_field_conflict_is_settled_by_policy_and_journaled() {
    // (policy, exchange modified, crm modified, winner)
    let table = [
        (ConflictPolicy::ExchangeWins, 10, 20, Side::Exchange),
        (ConflictPolicy::CrmWins, 20, 10, Side::Crm),
        (ConflictPolicy::Newest, 10, 20, Side::Crm),
        (ConflictPolicy::Newest, 20, 10, Side::Exchange),
        (ConflictPolicy::Newest, 10, 10, Side::Exchange),
    ];
    for (policy, em, cm, winner) in table {
        let mut s = settings(SyncType::Bidirectional);
        s.conflict_policy = policy;
        let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
        i.exchange.upserts = vec![up_at("e1", ada().with(Field::JobTitle, "CTO"), em)];
        i.crm.upserts = vec![up_at("c1", ada().with(Field::JobTitle, "CEO"), cm)];
        let p = plan(&i);
        assert_eq!(p.conflicts.len(), 1, "{policy:?}");
        let c = &p.conflicts[0];
        assert_eq!(c.winner, winner, "{policy:?} {em} {cm}");
        assert_eq!(c.exchange_value.as_deref(), Some("CTO"));
        assert_eq!(c.crm_value.as_deref(), Some("CEO"));
        assert!(p
            .journal
            .iter()
            .any(|j| j.kind == crate::sync::JournalKind::Conflict));
        let loser = winner.other();
        assert_eq!(p.actions(loser).len(), 1);
        assert!(p.actions(winner).is_empty());
    }
}

#[test]
fn identical_edits_on_both_sides_are_not_conflicts() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    i.crm.upserts = vec![up("c1", ada().with(Field::JobTitle, " CTO "))];
    let p = plan(&i);
    assert!(p.conflicts.is_empty());
    assert_eq!(p.write_count(), 0);
    assert!(matches!(p.links.as_slice(), [LinkChange::Refresh { .. }]));
}

#[test]
fn echo_of_own_write_produces_no_action() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    // Graph lower-cases nothing here but re-serialises spacing and e-mail case.
    let echo = ada().with(Field::Email1, "ADA@EXAMPLE.COM");
    i.exchange.upserts = vec![up("e1", echo)];
    i.crm.upserts = vec![up("c1", ada())];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.conflicts.is_empty());
}

#[test]
fn a_read_back_with_the_snapshots_values_under_new_versions_changes_nothing() {
    // A Pipeliner create answers with an id only, so the link holds no revision until
    // the contact is read back; reading it back with the values exsync wrote is no news.
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.exchange.upserts = vec![Upsert {
        version: Some("ck-2".into()),
        ..up("e1", ada())
    }];
    i.crm.upserts = vec![Upsert {
        version: Some("42".into()),
        ..up("c1", ada())
    }];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.links.is_empty(), "no store write: {:?}", p.links);
    assert!(p.journal.is_empty());

    // A real change still moves the link on with the versions it was read at.
    i.crm.upserts = vec![Upsert {
        version: Some("43".into()),
        ..up("c1", ada().with(Field::JobTitle, "CTO"))
    }];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Exchange),
        vec![("e1", vec!["job_title".to_owned()])]
    );
    let versions = p.links.iter().find_map(|l| match l {
        LinkChange::Refresh {
            exchange_version,
            crm_version,
            ..
        } => Some((exchange_version.clone(), crm_version.clone())),
        _ => None,
    });
    assert_eq!(
        versions,
        Some((Some("ck-2".to_owned()), Some("43".to_owned())))
    );
}

#[test]
fn partial_update_does_not_clear_other_fields() {
    let base = ada()
        .with(Field::City, "Paris")
        .with(Field::JobTitle, "CTO");
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &base)],
    );
    i.exchange.upserts = vec![partial("e1", &[(Field::JobTitle, Some("CEO"))])];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    let snap = p.links.iter().find_map(|l| match l {
        LinkChange::Refresh { snapshot, .. } => Some(snapshot.clone()),
        _ => None,
    });
    let snap = snap.unwrap_or_default();
    assert_eq!(snap.exchange.city.as_deref(), Some("Paris"));
    assert_eq!(snap.crm.job_title.as_deref(), Some("CEO"));
}

#[test]
fn updates_send_only_changed_mapped_fields_with_whole_groups() {
    let base = ada().with(Field::Email2, "ada@work.example");
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &base)],
    );
    i.crm.upserts = vec![up(
        "c1",
        base.clone().with(Field::Email2, "ada@new.example"),
    )];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Exchange),
        vec![(
            "e1",
            vec!["email1".into(), "email2".into(), "email3".into()]
        )]
    );
}

#[test]
fn one_way_source_wins_and_overwriting_an_unsynced_value_is_journaled() {
    let mut s = settings(SyncType::ExchangeToCrm);
    s.conflict_policy = ConflictPolicy::CrmWins;
    let mut l = link("e1", "c1", &ada());
    // Earlier, a person typed a job title in Pipeliner (never synced to Exchange).
    l.snapshot.crm.job_title = Some("Head of R&D".into());
    let mut i = with_links(input(s), vec![l]);
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].winner, Side::Exchange);
    assert_eq!(p.conflicts[0].crm_value.as_deref(), Some("Head of R&D"));
}

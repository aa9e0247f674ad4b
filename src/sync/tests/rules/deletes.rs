//! Deletes: protection and tombstones, propagation, edit beats delete, proof of deletion and the mass-delete guard.

use super::super::support::*;
use super::ada;
use crate::sync::contact::Field;
use crate::sync::input::{Listing, Side, Tombstone};
use crate::sync::output::LinkChange;
use crate::sync::plan;
use crate::sync::settings::{SyncType, Thresholds};

#[test]
fn delete_protection_keeps_pipeliner_contact_and_tombstones_it() {
    for mode in [SyncType::Bidirectional, SyncType::ExchangeToCrm] {
        let mut s = settings(mode);
        s.delete_protection = true;
        let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
        i.exchange.deletes = vec!["e1".into()];
        let p = plan(&i);
        assert!(p.crm.is_empty() && p.exchange.is_empty(), "{mode:?}");
        assert!(p
            .links
            .iter()
            .any(|l| matches!(l, LinkChange::Unlink { .. })));
        assert!(p.links.iter().any(|l| matches!(
            l,
            LinkChange::Tombstone { tombstone, .. } if tombstone.side == Side::Crm && tombstone.id == "c1"
        )));
    }
}

#[test]
fn tombstone_prevents_recreate_loops_in_either_direction() {
    // A tombstoned Pipeliner contact edited later is not created in Exchange again.
    let mut i = input(settings(SyncType::Bidirectional));
    i.tombstones = vec![Tombstone {
        side: Side::Crm,
        id: "c1".into(),
        at: t(0),
    }];
    i.crm.upserts = vec![up("c1", ada().with(Field::City, "Rome"))];
    assert_eq!(plan(&i).write_count(), 0);
    // An Exchange contact whose Pipeliner copy was deleted in exchange_to_crm is not
    // created in Pipeliner again.
    let mut i = with_links(
        input(settings(SyncType::ExchangeToCrm)),
        vec![link("e1", "c1", &ada())],
    );
    i.crm.deletes = vec!["c1".into()];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    let tomb = p.links.iter().find_map(|l| match l {
        LinkChange::Tombstone { tombstone, .. } => Some(tombstone.clone()),
        _ => None,
    });
    let mut i = input(settings(SyncType::ExchangeToCrm));
    i.tombstones = tomb.into_iter().collect();
    i.exchange.upserts = vec![up("e1", ada())];
    assert_eq!(plan(&i).write_count(), 0);
    // Tombstoned records are not paired on a first sync either.
    let mut i = input(settings(SyncType::Bidirectional));
    i.first_sync = true;
    i.tombstones = vec![Tombstone {
        side: Side::Crm,
        id: "c1".into(),
        at: t(0),
    }];
    i.crm.upserts = vec![up("c1", ada())];
    i.exchange.upserts = vec![up("e1", ada())];
    let p = plan(&i);
    assert_eq!(creates(&p, Side::Crm).len(), 1);
    assert!(creates(&p, Side::Exchange).is_empty());
}

#[test]
fn deletes_propagate_when_delete_protection_is_off() {
    // (mode, deleted on, expected delete on)
    let table = [
        (SyncType::Bidirectional, Side::Exchange, Some(Side::Crm)),
        (SyncType::Bidirectional, Side::Crm, Some(Side::Exchange)),
        (SyncType::ExchangeToCrm, Side::Exchange, Some(Side::Crm)),
        (SyncType::CrmToExchange, Side::Crm, Some(Side::Exchange)),
        (SyncType::ExchangeToCrm, Side::Crm, None),
        (SyncType::CrmToExchange, Side::Exchange, None),
    ];
    for (mode, deleted_on, expected) in table {
        let mut i = with_links(input(settings(mode)), vec![link("e1", "c1", &ada())]);
        match deleted_on {
            Side::Exchange => i.exchange.deletes = vec!["e1".into()],
            Side::Crm => i.crm.deletes = vec!["c1".into()],
        }
        let p = plan(&i);
        for side in [Side::Exchange, Side::Crm] {
            let want = usize::from(expected == Some(side));
            assert_eq!(
                deletes(&p, side).len(),
                want,
                "{mode:?} {deleted_on:?} {side:?}"
            );
        }
        assert!(creates(&p, Side::Exchange).is_empty() && creates(&p, Side::Crm).is_empty());
    }
}

#[test]
fn edit_beats_delete() {
    // (mode, deleted on, edited on, recreated on)
    let table = [
        (
            SyncType::Bidirectional,
            Side::Exchange,
            Side::Crm,
            Some(Side::Exchange),
        ),
        (
            SyncType::Bidirectional,
            Side::Crm,
            Side::Exchange,
            Some(Side::Crm),
        ),
        (
            SyncType::ExchangeToCrm,
            Side::Crm,
            Side::Exchange,
            Some(Side::Crm),
        ),
        (
            SyncType::CrmToExchange,
            Side::Exchange,
            Side::Crm,
            Some(Side::Exchange),
        ),
        (SyncType::ExchangeToCrm, Side::Exchange, Side::Crm, None),
        (SyncType::CrmToExchange, Side::Crm, Side::Exchange, None),
    ];
    for protection in [false, true] {
        for (mode, deleted, edited, recreated) in table {
            let mut s = settings(mode);
            s.delete_protection = protection;
            let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
            let edit = ada().with(Field::Notes, "met at the fair");
            match (deleted, edited) {
                (Side::Exchange, _) => {
                    i.exchange.deletes = vec!["e1".into()];
                    i.crm.upserts = vec![up("c1", edit)];
                }
                (Side::Crm, _) => {
                    i.crm.deletes = vec!["c1".into()];
                    i.exchange.upserts = vec![up("e1", edit)];
                }
            }
            let p = plan(&i);
            // The edited record is never deleted.
            assert!(deletes(&p, edited).is_empty(), "{mode:?}");
            let made = [Side::Exchange, Side::Crm]
                .into_iter()
                .find(|s| !creates(&p, *s).is_empty());
            assert_eq!(made, recreated, "{mode:?} deleted on {deleted:?}");
            if recreated.is_some() {
                assert!(p
                    .links
                    .iter()
                    .any(|l| matches!(l, LinkChange::Relink { .. })));
                let made = creates(&p, deleted);
                assert_eq!(made[0].notes.as_deref(), Some("met at the fair"));
            }
        }
    }
}

#[test]
fn no_delete_is_inferred_from_an_incomplete_listing() {
    let links = vec![link("e1", "c1", &ada()), link("e2", "c2", &ada())];
    // A listing that failed part-way, and a "full" listing that came back empty.
    for (listing, upserts) in [(Listing::Incomplete, vec![]), (Listing::Full, vec![])] {
        let mut i = with_links(input(settings(SyncType::Bidirectional)), links.clone());
        i.exchange.listing = listing;
        i.exchange.upserts = upserts;
        let p = plan(&i);
        assert_eq!(p.write_count(), 0, "{listing:?}");
        assert!(p.links.is_empty());
    }
    // A complete full listing does prove the absent record was deleted.
    let mut i = with_links(input(settings(SyncType::Bidirectional)), links);
    i.exchange.listing = Listing::Full;
    i.exchange.upserts = vec![up("e1", ada())];
    let p = plan(&i);
    assert_eq!(deletes(&p, Side::Crm), vec!["c2"]);
}

#[test]
fn full_re_enumeration_reconciles_against_links_without_rewriting() {
    let links: Vec<_> = (0..5)
        .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
        .collect();
    let mut i = with_links(input(settings(SyncType::Bidirectional)), links);
    i.exchange.listing = Listing::Full;
    i.exchange.upserts = (0..5).map(|n| up(&format!("e{n}"), ada())).collect();
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.links.is_empty());
}

#[test]
fn mass_delete_threshold_stops_before_any_write() {
    let links: Vec<_> = (0..100)
        .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
        .collect();
    // (deleted, thresholds, stops)
    let by_count = Thresholds {
        max_deletes: 10,
        max_delete_percent: 100,
        percent_min_links: 0,
    };
    let by_percent = Thresholds {
        max_deletes: 1000,
        max_delete_percent: 5,
        percent_min_links: 50,
    };
    let table = [
        (10, by_count, false),
        (11, by_count, true),
        (5, by_percent, false),
        (6, by_percent, true),
    ];
    for (n, thresholds, stops) in table {
        let mut s = settings(SyncType::Bidirectional);
        s.thresholds = thresholds;
        let mut i = with_links(input(s), links.clone());
        i.exchange.deletes = (0..n).map(|k| format!("e{k}")).collect();
        i.crm.upserts = vec![up("c99", ada().with(Field::City, "Oslo"))];
        let p = plan(&i);
        assert_eq!(p.stop.is_some(), stops, "{n} {thresholds:?}");
        if stops {
            assert_eq!(p.write_count(), 0);
            assert!(p.links.is_empty());
            let stop = p.stop.unwrap_or_else(|| unreachable!());
            assert_eq!((stop.crm_deletes, stop.links), (n, 100));
            i.deletes_confirmed = true;
            let p = plan(&i);
            assert!(p.stop.is_none());
            assert_eq!(deletes(&p, Side::Crm).len(), n);
        }
    }
}

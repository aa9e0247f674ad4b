//! Model-based property test: random sequences of person-made creates, edits and deletes on
//! in-memory Exchange and Pipeliner sides, concurrent edits, cycles that fail half-way and
//! repeated cycles and reconciliations (both sides read in full after a settings
//! change), under random settings. After every step the invariants of
//! [`check`] hold, and a world left alone converges in one cycle, the next writing nothing.

mod check;
mod engine;
mod world;

use proptest::prelude::*;

use crate::sync::input::Side;
use crate::sync::settings::{
    Access, ConflictPolicy, Settings, SyncPreference, SyncType, Thresholds,
};
use world::{fields, World};

#[derive(Clone, Debug)]
enum Op {
    Create {
        side: Side,
        fields: Vec<usize>,
        shared_email: Option<u8>,
    },
    Edit {
        side: Side,
        pick: usize,
        edits: Vec<(usize, bool)>,
    },
    Delete {
        side: Side,
        pick: usize,
    },
    Cycle {
        fail_after: Option<usize>,
        full_exchange: bool,
    },
    Reassign {
        pick: usize,
        access: Access,
    },
    /// A cycle after a settings change: both sides read in full and reconciled.
    Reconcile {
        fail_after: Option<usize>,
    },
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Exchange), Just(Side::Crm)]
}

fn op() -> impl Strategy<Value = Op> {
    let field = 0..fields().len();
    prop_oneof![
        3 => (side(), prop::collection::vec(field.clone(), 1..5), prop::option::weighted(0.4, 0..3u8))
            .prop_map(|(side, fields, shared_email)| Op::Create { side, fields, shared_email }),
        4 => (side(), any::<usize>(), prop::collection::vec((field, prop::bool::weighted(0.2)), 1..4))
            .prop_map(|(side, pick, edits)| Op::Edit { side, pick, edits }),
        2 => (side(), any::<usize>()).prop_map(|(side, pick)| Op::Delete { side, pick }),
        4 => (prop::option::weighted(0.3, 0..6usize), prop::bool::weighted(0.15))
            .prop_map(|(fail_after, full_exchange)| Op::Cycle { fail_after, full_exchange }),
        1 => (any::<usize>(), prop_oneof![Just(Access::Owner), Just(Access::Editor), Just(Access::Viewer)])
            .prop_map(|(pick, access)| Op::Reassign { pick, access }),
        1 => prop::option::weighted(0.3, 0..6usize).prop_map(|fail_after| Op::Reconcile { fail_after }),
    ]
}

fn settings() -> impl Strategy<Value = (Settings, bool)> {
    (
        prop_oneof![
            Just(SyncType::Bidirectional),
            Just(SyncType::ExchangeToCrm),
            Just(SyncType::CrmToExchange)
        ],
        any::<bool>(),
        prop_oneof![
            Just(ConflictPolicy::Newest),
            Just(ConflictPolicy::ExchangeWins),
            Just(ConflictPolicy::CrmWins)
        ],
        prop::bool::weighted(0.25),
        prop_oneof![
            Just(SyncPreference::Owned),
            Just(SyncPreference::Accessible)
        ],
    )
        .prop_map(
            |(sync_type, delete_protection, conflict_policy, require_surname, sync_preference)| {
                let s = Settings {
                    sync_type,
                    sync_preference,
                    delete_protection,
                    conflict_policy,
                    thresholds: Thresholds::default(),
                };
                (s, require_surname)
            },
        )
}

fn apply(w: &mut World, op: &Op) {
    match op {
        Op::Create {
            side,
            fields,
            shared_email,
        } => {
            let all = world::fields();
            let picked: Vec<_> = fields.iter().map(|i| all[*i].clone()).collect();
            w.person_create(*side, &picked, *shared_email);
        }
        Op::Edit { side, pick, edits } => {
            let all = world::fields();
            let edits: Vec<_> = edits.iter().map(|(i, c)| (all[*i].clone(), *c)).collect();
            w.person_edit(*side, *pick, &edits);
        }
        Op::Delete { side, pick } => w.person_delete(*side, *pick),
        Op::Reassign { pick, access } => w.reassign(*pick, *access),
        Op::Cycle {
            fail_after,
            full_exchange,
        } => {
            w.cycle(*fail_after, *full_exchange);
        }
        Op::Reconcile { fail_after } => {
            w.cycle_with(*fail_after, false, true);
        }
    }
}

/// Runs the sequence and checks the invariants after every step.
fn run(settings: Settings, require_surname: bool, ops: &[Op]) -> Result<(), String> {
    let mut w = World::new(settings, require_surname);
    for (n, op) in ops.iter().enumerate() {
        apply(&mut w, op);
        w.check_always()
            .map_err(|e| format!("after step {n} ({op:?}): {e}"))?;
        let mut quiet = w.clone();
        quiet.cycle(None, false);
        let second = quiet.cycle(None, false);
        if second.write_count() > 0 {
            return Err(format!(
                "after step {n} ({op:?}): a second quiet cycle still writes {:?} {:?}",
                second.exchange, second.crm
            ));
        }
        quiet
            .check_always()
            .and_then(|()| quiet.check_converged())
            .map_err(|e| format!("after step {n} ({op:?}) and a quiet cycle: {e}"))?;
        // A reconciliation of a converged world may still pair records left unlinked
        // by e-mail (say a refused create and a Pipeliner contact typed in later with
        // its e-mail), as a first sync would; the one after it finds nothing to change
        // and writes nothing, not even a link.
        quiet.cycle_with(None, false, true);
        quiet
            .check_always()
            .map_err(|e| format!("after step {n} ({op:?}) and a reconciliation: {e}"))?;
        let settled = quiet.cycle_with(None, false, true);
        if settled.write_count() > 0 || !settled.links.is_empty() {
            return Err(format!(
                "after step {n} ({op:?}): a reconciliation of a converged world writes {:?} {:?} {:?}",
                settled.exchange, settled.crm, settled.links
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4000,
        max_shrink_iters: 2000,
        failure_persistence: None,
        // A fixed seed keeps CI reproducible; set PROPTEST_RNG_SEED to explore others.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x6578_7379_6e63),
        ),
        ..ProptestConfig::default()
    })]

    #[test]
    fn model_converges_without_duplicates_or_silent_loss(
        (settings, require_surname) in settings(),
        ops in prop::collection::vec(op(), 1..24),
    ) {
        if let Err(e) = run(settings, require_surname, &ops) {
            prop_assert!(false, "{e}\nsettings: {settings:?} require_surname: {require_surname}");
        }
    }
}

/// A sequence the property test once found. A Pipeliner contact leaves the user's scope,
/// so the cycle deletes its Exchange copy, and the cycle crashes right after that delete,
/// before committing the unlink. The contact comes back into scope. Without a record of
/// exsync's own deletes the next cycle took that delete for a person's and deleted the
/// Pipeliner contact, losing what a person typed there; now the own delete is recognised
/// and the contact gets a new Exchange copy.
#[test]
fn scope_change_around_a_failed_cycle_keeps_the_exchange_edit() {
    let settings = Settings {
        sync_type: SyncType::Bidirectional,
        sync_preference: SyncPreference::Owned,
        delete_protection: false,
        conflict_policy: ConflictPolicy::Newest,
        thresholds: Thresholds {
            max_deletes: 500,
            max_delete_percent: 20,
            percent_min_links: 50,
        },
    };
    let cycle = |fail_after| Op::Cycle {
        fail_after,
        full_exchange: false,
    };
    let ops = [
        Op::Create {
            side: Side::Exchange,
            fields: vec![0],
            shared_email: None,
        },
        cycle(None),
        Op::Create {
            side: Side::Exchange,
            fields: vec![0],
            shared_email: None,
        },
        cycle(None),
        Op::Edit {
            side: Side::Crm,
            pick: 6_810_543_532_263_666_782,
            edits: vec![(7, false)],
        },
        Op::Edit {
            side: Side::Exchange,
            pick: 3_569_926_338_767_442_074,
            edits: vec![(0, false)],
        },
        Op::Reassign {
            pick: 6_995_487_076_305_237_209,
            access: Access::Viewer,
        },
        cycle(Some(2)),
        Op::Reassign {
            pick: 1_581_988_782_584_502_953,
            access: Access::Owner,
        },
    ];
    if let Err(e) = run(settings, false, &ops) {
        panic!("{e}");
    }
}

/// A sequence the property test found: the first sync stops half-way, the Pipeliner copy
/// it created leaves the user's scope and later comes back. The Exchange original is kept
/// and both are tombstoned, so the Pipeliner contact is not copied into Exchange a second
/// time.
#[test]
fn a_first_sync_copy_leaving_and_reentering_scope_is_not_copied_twice() {
    let settings = Settings {
        sync_type: SyncType::Bidirectional,
        sync_preference: SyncPreference::Owned,
        delete_protection: false,
        conflict_policy: ConflictPolicy::Newest,
        thresholds: Thresholds::default(),
    };
    let create = || Op::Create {
        side: Side::Exchange,
        fields: vec![0],
        shared_email: None,
    };
    let ops = [
        create(),
        create(),
        Op::Cycle {
            fail_after: Some(1),
            full_exchange: false,
        },
        Op::Reassign {
            pick: 0,
            access: Access::Viewer,
        },
        Op::Cycle {
            fail_after: None,
            full_exchange: false,
        },
        Op::Reassign {
            pick: 7_855_394_032_825_697_120,
            access: Access::Owner,
        },
    ];
    if let Err(e) = run(settings, false, &ops) {
        panic!("{e}");
    }
}

fn uncommitted_copy_ops() -> Vec<Op> {
    let create = |side| Op::Create {
        side,
        fields: vec![0],
        shared_email: None,
    };
    let cycle = |fail_after| Op::Cycle {
        fail_after,
        full_exchange: false,
    };
    vec![
        cycle(None),
        create(Side::Crm),
        create(Side::Crm),
        cycle(Some(1)),
        create(Side::Exchange),
        cycle(Some(1)),
        Op::Reassign {
            pick: 8_048_511_297_721_865_575,
            access: Access::Viewer,
        },
        cycle(Some(0)),
    ]
}

/// A sequence the property test found: a contact exsync copied into Exchange in a cycle
/// that stopped, whose Pipeliner source then left the user's scope before the copy was
/// committed. The adopted pair ends; its intent now goes only with that pair's commit
/// (`LinkChange::Resolve`), so the copy is never taken for a new contact and copied back.
#[test]
fn an_uncommitted_copy_is_never_copied_back() {
    let settings = Settings {
        sync_type: SyncType::Bidirectional,
        sync_preference: SyncPreference::Owned,
        delete_protection: false,
        conflict_policy: ConflictPolicy::Newest,
        thresholds: Thresholds::default(),
    };
    if let Err(e) = run(settings, false, &uncommitted_copy_ops()) {
        panic!("{e}");
    }
}

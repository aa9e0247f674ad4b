//! Model-based property test: random sequences of person-made creates, edits and deletes on
//! in-memory Exchange and Pipeliner sides, concurrent edits, cycles that fail half-way and
//! repeated cycles, under random settings. After every step the invariants of
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
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4000,
        max_shrink_iters: 2000,
        failure_persistence: None,
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

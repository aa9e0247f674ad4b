//! One table test per rule of DESIGN.md sections 1 and 3, named after the rule, grouped
//! by concept.

mod creates;
mod deletes;
mod merge;
mod modes;
mod reconcile;

use super::support::person;

fn ada() -> crate::sync::Contact {
    person("Ada", "ada@example.com")
}

//! Tests of the sync planner: one table test per rule, mapping round trips, and the
//! model-based property test.

mod model;
mod rules;
mod support;

//! exsync's clients for the outside world, one folder per upstream, sharing one retry
//! policy. Each owns its upstream's wire types and turns them into `sync`'s canonical
//! contact and back (its `mapping` module), by the field table `sync::mapping` keeps.

mod body;
pub mod graph;
#[cfg(test)]
mod mapping_tests;
pub(crate) mod members;
pub mod pipeliner;
pub mod retry;

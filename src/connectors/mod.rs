//! exsync's clients for the outside world, one folder per upstream, sharing one retry
//! policy. They speak each upstream's JSON; what the fields mean is `sync`'s business.

pub mod graph;
pub(crate) mod members;
pub mod pipeliner;
pub mod retry;

//! The Graph simulator's own contracts, and exsync's Graph client against it, over real
//! HTTP on loopback.

mod client;
mod contracts;
mod faults;
mod fixture;

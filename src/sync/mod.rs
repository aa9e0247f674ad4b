//! The pure core of exsync: what a user's sync is configured to do. No I/O, no clock, no
//! randomness; everything comes in as arguments.

pub mod settings;
pub mod user_settings;

//! `exsync demo`: both simulators and exsync in one process, seeded with sample people,
//! so a newcomer sees real sync without any account.

pub mod sample;
pub mod world;

//! The one integration test binary: real servers on loopback, real sled in temp dirs.

mod sim_pipeliner;

//! kill -9 tests: the real `exsync serve` binary runs as a child process next to both
//! simulators, is killed with SIGKILL right after an upstream applied one of its writes
//! (the simulator holds the answer back), people edit or delete the records while it is
//! down, and after a restart on the same data dir everything must converge without a
//! duplicate and without a lost edit.

mod cards;
mod load;
mod random;
mod removals;
mod rig;
mod scenarios;
mod soak_model;
mod watch;

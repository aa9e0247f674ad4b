//! `exsync demo`: both simulators and exsync in one process, seeded with sample people,
//! so a newcomer sees real sync without any account. The demo talks to exsync through its
//! own REST API, as any other system would.
//!
//! - [`running`] starts and stops the whole (exsync on the `--bind` address, the
//!   simulators on free loopback ports, so two demos can run side by side);
//! - [`banner`] is what it prints: addresses, the token, and ready-to-paste commands for
//!   one edit on each side;
//! - [`watch`] writes one log line per synced change, read from the users' journals;
//! - [`quiet`] installs the demo's logger, which leaves out the watcher's own requests;
//! - [`sample`] and [`world`] are the sample people and the simulated upstreams.

pub mod banner;
pub mod quiet;
pub mod running;
pub mod sample;
pub mod watch;
pub mod world;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;

use world::World;

pub use running::RunningDemo;

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where exsync listens.
    pub bind: SocketAddr,
    /// Where exsync keeps its data; a fresh temporary directory when `None`.
    pub data_dir: Option<PathBuf>,
    /// Seeds the sample data and the simulators.
    pub seed: u64,
    /// The log filter.
    pub log: String,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A socket or directory could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// exsync's address is taken or not ours; the message names it and says what to do.
    #[error("{0}")]
    Listen(String),
    /// exsync refused a setup request.
    #[error("setting up the demo failed: {0}")]
    Setup(String),
    /// exsync stopped with an error.
    #[error("{0}")]
    App(#[from] crate::app::AppError),
}

/// The demo's space id in exsync.
pub const SPACE: &str = "acme";
/// The two demo users.
pub const USERS: [(&str, &str); 2] = [("ann", "ann@acme.example"), ("bo", "bo@acme.example")];
/// A colleague who does not use exsync but shares contacts.
pub const COLLEAGUE: &str = "carl@acme.example";

/// What [`seed`] made that the banner's example edits refer to.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    /// The id of Ann's existing "Customers" folder.
    pub customers: String,
    /// An Exchange contact in Ann's "Customers" folder (one Pipeliner also has).
    pub exchange_contact: String,
    /// A Pipeliner contact Ann owns.
    pub crm_contact: String,
}

/// Fills both sides with sample people: Pipeliner contacts owned by Ann, Bo and Carl (some
/// of Carl's shared with Bo and Ann), and Ann's existing "Customers" folder, part of which
/// has the same e-mails as Pipeliner contacts (the first sync pairs those).
pub fn seed(world: &World, seed: u64) -> Seeded {
    let ann = world.add_person(USERS[0].1);
    let bo = world.add_person(USERS[1].1);
    let carl = world.add_person(COLLEAGUE);
    let people = sample::people(seed, 320);
    let mut seeded = Seeded::default();
    for (i, person) in people[..200].iter().enumerate() {
        let owner = [&ann, &bo, &carl][i % 3];
        let id = world.crm_create(Value::Object(person.pipeliner(owner)));
        if i == 0 {
            seeded.crm_contact = id.clone();
        }
        if owner == &carl && i % 2 == 0 {
            let _ = world
                .crm()
                .share_contact(world::PIPELINER_SPACE, &id, &bo, 1);
        } else if owner == &carl && i % 5 == 1 {
            let _ = world
                .crm()
                .share_contact(world::PIPELINER_SPACE, &id, &ann, 2);
        }
    }
    seeded.customers = world
        .graph()
        .create_folder(USERS[0].1, "Customers")
        .ok()
        .and_then(|f| f["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    for person in &people[150..260] {
        let created = world
            .graph()
            .create_contact(USERS[0].1, &seeded.customers, person.graph());
        if seeded.exchange_contact.is_empty() {
            if let Some(id) = created
                .ok()
                .and_then(|c| c["id"].as_str().map(str::to_owned))
            {
                seeded.exchange_contact = id;
            }
        }
    }
    seeded
}

/// Runs the demo until `shutdown` resolves: prints the banner, then one log line per
/// synced change.
pub async fn run(
    options: DemoOptions,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), DemoError> {
    let demo = RunningDemo::start(options).await?;
    println!("{}", banner::banner(&demo));
    let watcher = watch::Watcher::new(&demo);
    tokio::select! {
        _ = shutdown => {}
        _ = watcher.follow(|line| line.log()) => {}
    }
    demo.stop().await
}

//! What `exsync demo` prints once it is set up: the addresses, the admin token, and
//! ready-to-paste `curl` commands for one edit on each side (with the real ports, ids and
//! mailbox), so that "watch it arrive" needs no guessing.

use serde_json::{json, Value};

use super::running::RunningDemo;
use super::world::PIPELINER_SPACE;
use super::{SPACE, USERS};

/// One edit a person makes on one side, as the simulator's control API takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// What the edit stands for, e.g. "Ann edits a contact in Outlook".
    pub what: &'static str,
    /// `PATCH`.
    pub method: &'static str,
    /// The control API URL, with the real port, mailbox or space and contact id.
    pub url: String,
    /// The JSON body.
    pub body: Value,
}

impl Edit {
    /// The edit as a command to paste into a shell.
    pub fn curl(&self) -> String {
        format!(
            "curl -X {} '{}' -H 'content-type: application/json' -d '{}'",
            self.method, self.url, self.body
        )
    }
}

/// One edit on each side: Ann changes a job title in her Exchange folder (it arrives in
/// Pipeliner), and someone changes the phone of a Pipeliner contact Ann owns (it arrives
/// in her folder).
pub fn edits(demo: &RunningDemo) -> [Edit; 2] {
    [
        Edit {
            what: "Ann edits a contact in her Exchange \"Customers\" folder",
            method: "PATCH",
            url: format!(
                "{}/_sim/graph/mailboxes/{}/contacts/{}",
                demo.world.graph.login_url(),
                USERS[0].1,
                demo.seeded.exchange_contact
            ),
            body: json!({ "jobTitle": "Head of Demos" }),
        },
        Edit {
            what: "a contact Ann owns is edited in Pipeliner",
            method: "PATCH",
            url: format!(
                "{}/_sim/pipeliner/spaces/{PIPELINER_SPACE}/contacts/{}",
                demo.world.pipeliner.service_url(),
                demo.seeded.crm_contact
            ),
            body: json!({ "phone1": "+47 555 0100" }),
        },
    ]
}

/// The text printed once the demo runs.
pub fn banner(demo: &RunningDemo) -> String {
    let base = &demo.base;
    let token = &demo.token;
    let graph = demo.world.graph.login_url();
    let pipeliner = demo.world.pipeliner.service_url();
    let [exchange_edit, crm_edit] = edits(demo);
    format!(
        "\nexsync demo is running.\n\n\
         \x20 Swagger UI:       {base}/swagger-ui/  (Authorize with the admin token)\n\
         \x20 Admin token:      {token}\n\
         \x20 Data directory:   {data}\n\
         \x20 Graph simulator:  {graph}  (control API: {graph}/_sim/graph)\n\
         \x20 Pipeliner sim.:   {pipeliner}  (control API: {pipeliner}/_sim/pipeliner, space {PIPELINER_SPACE})\n\n\
         Users of space {SPACE}: ann ({ann}, bidirectional, her \"Customers\" folder) and bo ({bo}, \
         Pipeliner → Exchange, every contact he can see).\n\n\
         Look at Ann in exsync:\n\
         \x20 curl -H 'Authorization: Bearer {token}' {base}/api/v1/spaces/{SPACE}/users/ann\n\n\
         Edit one contact on each side and watch each change arrive: this terminal logs a line per synced change.\n\
         \x20 # {exchange_what}:\n\
         \x20 {exchange_curl}\n\
         \x20 # {crm_what}:\n\
         \x20 {crm_curl}\n\
         \x20 # Pipeliner's users (the owner ids a new contact takes):\n\
         \x20 curl {pipeliner}/_sim/pipeliner/spaces/{PIPELINER_SPACE}/clients\n\n\
         The README's Simulators section lists more control API commands; use these addresses.\n\
         Press Ctrl-C to stop.\n",
        data = demo.data_dir.display(),
        ann = USERS[0].1,
        bo = USERS[1].1,
        exchange_what = exchange_edit.what,
        exchange_curl = exchange_edit.curl(),
        crm_what = crm_edit.what,
        crm_curl = crm_edit.curl(),
    )
}

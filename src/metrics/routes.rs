//! The `route` label of upstream requests: a fixed set per service, found from the path a
//! connector sends to. Ids, mailboxes, query strings and hosts never reach a label.

use super::labels::{HookOperation, Service};

label_values! {
    /// What an upstream request was for.
    Route {
        /// Graph: the app-only sign-in (`/oauth2/v2.0/token`).
        GraphToken => "token",
        /// Graph: contact folders (list, look up, create).
        GraphFolders => "folders",
        /// Graph: contacts of a folder (read, look up by property, write one).
        GraphContacts => "contacts",
        /// Graph: a folder's contact delta.
        GraphDelta => "delta",
        /// Graph: `$batch` (up to 20 sub-requests).
        GraphBatch => "batch",
        /// Graph: change-notification subscriptions.
        GraphSubscriptions => "subscriptions",
        /// Graph: anything else.
        GraphOther => "other",
        /// Pipeliner: contacts (list, read one).
        PipelinerContacts => "contacts",
        /// Pipeliner: `batch-modify` / `batch-delete` of contacts.
        PipelinerContactsBatch => "contacts_batch",
        /// Pipeliner: webhooks.
        PipelinerWebhooks => "webhooks",
        /// Pipeliner: clients (the space's users).
        PipelinerClients => "clients",
        /// Pipeliner: field definitions.
        PipelinerFields => "fields",
        /// Pipeliner: anything else.
        PipelinerOther => "other",
    }
}

impl Route {
    /// The service the route belongs to.
    pub fn service(self) -> Service {
        match self {
            Route::GraphToken
            | Route::GraphFolders
            | Route::GraphContacts
            | Route::GraphDelta
            | Route::GraphBatch
            | Route::GraphSubscriptions
            | Route::GraphOther => Service::Graph,
            _ => Service::Pipeliner,
        }
    }

    /// What a request with `method` on this route does to a Graph subscription or a
    /// Pipeliner webhook, if anything.
    pub fn hook_operation(self, method: &reqwest::Method) -> Option<HookOperation> {
        use reqwest::Method;
        match (self, method) {
            (Route::GraphSubscriptions | Route::PipelinerWebhooks, &Method::POST) => {
                Some(HookOperation::Create)
            }
            (Route::GraphSubscriptions, &Method::PATCH) => Some(HookOperation::Renew),
            (Route::GraphSubscriptions | Route::PipelinerWebhooks, &Method::DELETE) => {
                Some(HookOperation::Delete)
            }
            _ => None,
        }
    }

    /// The route of a Graph path below the version root, or of an absolute Graph URL (a
    /// delta or next link).
    pub fn graph(path_or_url: &str) -> Self {
        let path = path_or_url.split('?').next().unwrap_or(path_or_url);
        let (mut folders, mut contacts) = (false, false);
        for segment in path.split('/') {
            match segment {
                "$batch" => return Route::GraphBatch,
                "subscriptions" => return Route::GraphSubscriptions,
                "delta" if contacts => return Route::GraphDelta,
                "contactFolders" => folders = true,
                "contacts" => contacts = true,
                _ => {}
            }
        }
        match (contacts, folders) {
            (true, _) => Route::GraphContacts,
            (false, true) => Route::GraphFolders,
            (false, false) => Route::GraphOther,
        }
    }

    /// The route of a Pipeliner path below the space, e.g. `/entities/Contacts/batch-modify`.
    pub fn pipeliner(path: &str) -> Self {
        let path = path.split('?').next().unwrap_or(path);
        let mut segments = path.trim_start_matches('/').split('/');
        if segments.next() != Some("entities") {
            return Route::PipelinerOther;
        }
        match (segments.next(), segments.next()) {
            (Some("Contacts"), Some(next)) if next.starts_with("batch-") => {
                Route::PipelinerContactsBatch
            }
            (Some("Contacts"), _) => Route::PipelinerContacts,
            (Some("Webhooks"), _) => Route::PipelinerWebhooks,
            (Some("Clients"), _) => Route::PipelinerClients,
            (Some("Fields"), _) => Route::PipelinerFields,
            _ => Route::PipelinerOther,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_paths_map_to_their_route_whatever_the_ids() {
        let cases = [
            ("/users/ann%40acme.example/contactFolders", Route::GraphFolders),
            ("/users/contacts%40acme.example/contactFolders/AAMk=", Route::GraphFolders),
            ("/users/ann%40acme.example/contactFolders/AAMk/contacts", Route::GraphContacts),
            ("/users/ann%40acme.example/contacts/AAMkAD", Route::GraphContacts),
            (
                "/users/ann%40acme.example/contactFolders/AAMk/contacts?$filter=x",
                Route::GraphContacts,
            ),
            (
                "https://graph.microsoft.com/v1.0/users/ann%40acme.example/contactFolders/AAMk/contacts/delta?$deltatoken=abc/def",
                Route::GraphDelta,
            ),
            ("/$batch", Route::GraphBatch),
            ("/subscriptions", Route::GraphSubscriptions),
            ("/subscriptions/7f1c-delta", Route::GraphSubscriptions),
            ("/users/ann%40acme.example", Route::GraphOther),
        ];
        for (path, route) in cases {
            assert_eq!(Route::graph(path), route, "{path}");
            assert_eq!(route.service(), Service::Graph);
        }
    }

    #[test]
    fn writes_to_subscriptions_and_webhooks_are_hook_operations() {
        use reqwest::Method;
        let op = |route: Route, method: Method| route.hook_operation(&method);
        assert_eq!(
            op(Route::GraphSubscriptions, Method::POST),
            Some(HookOperation::Create)
        );
        assert_eq!(
            op(Route::GraphSubscriptions, Method::PATCH),
            Some(HookOperation::Renew)
        );
        assert_eq!(
            op(Route::PipelinerWebhooks, Method::DELETE),
            Some(HookOperation::Delete)
        );
        assert_eq!(op(Route::PipelinerWebhooks, Method::GET), None);
        assert_eq!(op(Route::GraphContacts, Method::POST), None);
    }

    #[test]
    fn pipeliner_paths_map_to_their_route_whatever_the_ids() {
        let cases = [
            ("/entities/Contacts", Route::PipelinerContacts),
            ("/entities/Contacts/0e5e-batch", Route::PipelinerContacts),
            (
                "/entities/Contacts/batch-modify",
                Route::PipelinerContactsBatch,
            ),
            (
                "/entities/Contacts/batch-delete",
                Route::PipelinerContactsBatch,
            ),
            ("/entities/Webhooks/9a1b", Route::PipelinerWebhooks),
            ("/entities/Clients?filter=x", Route::PipelinerClients),
            ("/entities/Fields", Route::PipelinerFields),
            ("/something/else", Route::PipelinerOther),
        ];
        for (path, route) in cases {
            assert_eq!(Route::pipeliner(path), route, "{path}");
            assert_eq!(route.service(), Service::Pipeliner);
        }
    }
}

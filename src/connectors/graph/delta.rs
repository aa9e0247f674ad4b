//! Delta rounds on a contacts folder: follow `@odata.nextLink` to the `@odata.deltaLink`;
//! a round that stops half-way returns an error and its partial results are dropped, so
//! the stored link only advances after a complete round. Rows are kept with only the
//! members exsync reads.

use reqwest::Method;

use super::folders::urlencode;
use super::models::{DeltaItem, DeltaPage, DeltaRound};
use super::{GraphClient, GraphError, Replay};

impl GraphClient {
    /// One complete delta round, starting from `delta_link` or, when `None`, from scratch
    /// (a full enumeration of the folder). An expired link gives
    /// [`GraphError::SyncStateExpired`].
    pub async fn delta_round(
        &self,
        mailbox: &str,
        folder: &str,
        delta_link: Option<&str>,
    ) -> Result<DeltaRound, GraphError> {
        let mut next = delta_link.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "{}/contactFolders/{}/contacts/delta",
                self.user_path(mailbox),
                urlencode(folder)
            )
        });
        let mut items = Vec::new();
        loop {
            let (_, page): (_, DeltaPage) = self
                .send_costing_as(mailbox, 1, Method::GET, &next, None::<&()>, Replay::Safe)
                .await?;
            let Some(rows) = page.value else {
                return Err(GraphError::Malformed("a delta page without value".into()));
            };
            for row in rows {
                let Some(id) = &row.id else {
                    return Err(GraphError::Malformed("a delta entry without id".into()));
                };
                if row.removed {
                    items.push(DeltaItem::Removed { id: id.clone() });
                } else {
                    items.push(DeltaItem::Upsert(Box::new(row)));
                }
            }
            if let Some(link) = page.next_link {
                next = link;
            } else if let Some(link) = page.delta_link {
                return Ok(DeltaRound {
                    items,
                    delta_link: link,
                });
            } else {
                return Err(GraphError::Malformed(
                    "a delta page with neither nextLink nor deltaLink".into(),
                ));
            }
        }
    }
}

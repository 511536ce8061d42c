//! What holds applications back: the per-application rate limit (HTTP 429, shared by instances
//! through the database) and the wait behind `auth_status` (on the change feed).

use std::time::Duration;

use super::Fail;
use crate::clock::now;
use crate::store::{
    self, StoreError,
    applications::{ApplicationRow, AuthRequestRow},
};
use crate::web::state::AppState;

/// Counts a request against the application's budget for this minute.
pub async fn count(state: &AppState, app: &ApplicationRow) -> Result<(), Fail> {
    let limit = state.settings.applications.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let hits = store::rate_limits::hit(&state.db, &app.integration_key, now()).await?;
    if hits > i64::from(limit) {
        tracing::warn!(application = %app.integration_key, hits, "application over its rate limit");
        return Err(Fail::too_many_requests());
    }
    Ok(())
}

/// An async request once it is final, or as it stands after `limit` (None: unknown or expired).
/// Woken by the change feed (any instance's answer); reads the database again at least every few seconds.
/// When the server stops, answers at once with the request as it stands (`waiting`: Duo clients poll again).
pub async fn until_final(
    state: &AppState,
    application_id: &str,
    txid: &str,
    limit: Duration,
) -> Result<Option<AuthRequestRow>, StoreError> {
    let topic = store::applications::request_topic(txid);
    let mut sub = state.db.changes().subscribe(&topic).await?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match store::applications::request(&state.db, application_id, txid, now()).await? {
            Some(r) if !r.is_final() && tokio::time::Instant::now() < deadline && !state.shutdown.is_raised() => {
                tokio::select! {
                    _ = sub.changed(deadline) => {}
                    _ = state.shutdown.raised() => {}
                }
            }
            other => return Ok(other),
        }
    }
}

//! What holds applications back: the per-application rate limit (HTTP 429, shared by instances
//! through the database) and the wait behind `auth_status` (one function, to be swapped for the
//! change feed).

use std::time::{Duration, Instant};

use super::Fail;
use crate::store::{
    self, StoreError,
    applications::{ApplicationRow, AuthRequestRow},
};
use crate::web::state::{AppState, now};

/// How often the wait looks at the database.
const POLL: Duration = Duration::from_millis(250);

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
/// Polls for now; a change feed can replace this function without touching its callers.
pub async fn until_final(
    state: &AppState,
    application_id: &str,
    txid: &str,
    limit: Duration,
) -> Result<Option<AuthRequestRow>, StoreError> {
    let deadline = Instant::now() + limit;
    loop {
        match store::applications::request(&state.db, application_id, txid, now()).await? {
            Some(r) if !r.is_final() && Instant::now() + POLL < deadline => tokio::time::sleep(POLL).await,
            other => return Ok(other),
        }
    }
}

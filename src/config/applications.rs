//! Settings for applications calling the Duo-compatible APIs: the per-application rate limit and
//! how long `auth_status` waits for a final answer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationsSettings {
    /// Requests per minute one application (integration key) may make; more get HTTP 429. 0: no limit.
    pub rate_limit_per_minute: u32,
    /// The longest `auth_status` holds a request open waiting for a final answer.
    pub auth_status_wait_seconds: u32,
}

impl Default for ApplicationsSettings {
    fn default() -> Self {
        Self { rate_limit_per_minute: 600, auth_status_wait_seconds: 30 }
    }
}

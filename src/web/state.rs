//! Shared application state handed to every handler (no globals): database, settings, keys.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::sync::{Arc, Mutex};

use url::Url;

use crate::channels::mail::Mailer;

use crate::config::{Logo, Settings};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::secrets::Keys;
use crate::store::Db;
use crate::store::{self, StoreError};

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub keys: Keys,
    /// The origin users see; used for same-origin checks and the setup link.
    pub public_url: Url,
    /// The institution's logo, when configured.
    pub logo: Option<Logo>,
    pub mailer: Arc<Mailer>,
    /// Texts and calls (the simulator or a carrier), with the anti-pumping budgets.
    pub phones: Arc<crate::channels::telephony::Phones>,
    /// The last policy read and when (see `policy`).
    pub policy_cache: Mutex<Option<(Instant, Policy)>>,
    pub metrics: Arc<Metrics>,
    /// The OpenID Connect providers users may sign in with (discovery and keys cached).
    pub oidc: Arc<crate::oidc::Providers>,
    /// Raised when the server begins a graceful stop (long-polls answer at once; see `crate::shutdown`).
    pub shutdown: Arc<crate::shutdown::Shutdown>,
}

/// How long one instance reuses the policy it read.
pub const POLICY_TTL: Duration = Duration::from_secs(2);

impl AppState {
    /// Cookies are marked Secure (and use the `__Host-` prefix) when users reach us over TLS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The policy in force now: the configuration's defaults with the console's saved rules.
    /// Read at most once per `POLICY_TTL` per instance (a page asks for it several times); a
    /// change saved here is seen at once, one saved on another instance within the TTL.
    pub async fn policy(&self) -> Result<Policy, StoreError> {
        if let Ok(cache) = self.policy_cache.lock()
            && let Some((at, policy)) = cache.as_ref()
            && at.elapsed() < POLICY_TTL
        {
            return Ok(policy.clone());
        }
        let mut policy = Policy::defaults(&self.settings);
        for (key, value) in store::policies::all(&self.db).await? {
            if let Err(e) = policy.set(&key, &value) {
                tracing::warn!(key = %key, error = %e, "ignoring a saved policy rule");
            }
        }
        if let Ok(mut cache) = self.policy_cache.lock() {
            *cache = Some((Instant::now(), policy.clone()));
        }
        Ok(policy)
    }

    /// Forgets the cached policy (after saving a change).
    pub fn forget_policy(&self) {
        if let Ok(mut cache) = self.policy_cache.lock() {
            *cache = None;
        }
    }

    /// The hostname applications sign (Duo APIs): configured, or the public URL's host.
    pub fn api_hostname(&self) -> String {
        self.settings
            .duo
            .api_hostname
            .clone()
            .unwrap_or_else(|| self.public_url.host_str().unwrap_or("localhost").to_string())
    }

    /// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// Seconds since the Unix epoch, from the server's clock (the only clock Twofold trusts).
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

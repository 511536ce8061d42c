//! The sign-in core: the one place that decides "may this person in?" for every front door (the
//! browser prompt, the Auth API, the Universal Prompt, the authenticator's device API, and the
//! doors still to come). It knows nothing of HTTP: doors hand it parsed input and turn its typed
//! verdicts into a page, Duo's JSON or a RADIUS packet.
//!
//! It owns the rules every door shares: which methods the policy allows, the lockout (each guess
//! is reserved in the same conditional write that checks the lock and the budget), replay, the
//! throttles, and the audit entry of each outcome.

pub mod access;
pub mod allowed;
mod attempt;
pub mod bypass;
pub mod devices;
pub mod enroll;
mod error;
mod fraud;
pub mod lockout;
pub mod passcode;
pub mod password;
pub mod phone;
pub mod push;
pub mod readiness;
pub mod security_key;
mod tell;
pub mod token_claim;
mod trusted_browser;
mod verdict;
pub mod verification;

pub use error::Error;
pub use tell::Told;
pub use verdict::{Accepted, Application, Caller, Factor, Verdict};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::channels::mail::Mailer;
use crate::channels::telephony::Phones;
use crate::config::Settings;
use crate::policy::Policy;
use crate::secrets::Keys;
use crate::shutdown::Shutdown;
use crate::store::{self, Db, StoreError};
use url::Url;

/// How long one instance reuses the policy it read.
pub const POLICY_TTL: Duration = Duration::from_secs(2);

/// The outbound channels and the stop flag, as `SignIn::new` takes them.
pub struct Channels {
    pub mailer: Arc<Mailer>,
    pub phones: Arc<Phones>,
    pub shutdown: Arc<Shutdown>,
}

/// What the core works with: the database, the keys, the settings and the policy read from them,
/// the outbound channels, and the process's stop flag (for work that outlives a request). Cheap
/// to clone: a background task takes its own copy.
#[derive(Clone)]
pub struct SignIn {
    pub db: Db,
    pub keys: Keys,
    pub settings: Arc<Settings>,
    pub mailer: Arc<Mailer>,
    /// Texts and calls (the simulator or a carrier), with the anti-pumping budgets.
    pub phones: Arc<Phones>,
    /// Raised when the server begins a graceful stop (see `crate::shutdown`).
    pub shutdown: Arc<Shutdown>,
    /// The origin users see: the WebAuthn relying party, links in mail, Web Push's subject.
    pub public_url: Url,
    /// Where requests come from (the GeoIP databases of `[geoip]`, if any).
    pub locator: Arc<crate::geoip::Locator>,
    /// The LDAP/AD directory of `[directory]`, if one is configured: it checks the passwords of
    /// the accounts it owns.
    pub directory: Option<crate::directory::Directory>,
    /// The last policy read and when (see `policy`).
    policy_cache: Arc<Mutex<Option<(Instant, Policy)>>>,
    /// Each application's access rules as last read, and when (see `access::application_rules`).
    pub(crate) application_rules_cache:
        Arc<Mutex<std::collections::HashMap<String, (Instant, access::ApplicationRules)>>>,
}

impl SignIn {
    pub fn new(db: Db, keys: Keys, settings: Arc<Settings>, public_url: Url, channels: Channels) -> Self {
        let Channels { mailer, phones, shutdown } = channels;
        let locator = Arc::new(crate::geoip::Locator::new(&settings.geoip));
        // `app::Application::build` opened it once already, so a bad CA file stopped the start.
        let directory = crate::directory::Directory::new(&settings.directory).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the directory is not usable");
            None
        });
        Self {
            db,
            keys,
            settings,
            mailer,
            phones,
            shutdown,
            public_url,
            locator,
            directory,
            policy_cache: Default::default(),
            application_rules_cache: Default::default(),
        }
    }

    /// The time now (the server's clock; see `crate::clock`).
    pub fn now(&self) -> i64 {
        crate::clock::now()
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
        if let Ok(mut cache) = self.application_rules_cache.lock() {
            cache.clear();
        }
    }
}

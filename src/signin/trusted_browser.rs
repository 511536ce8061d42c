//! "Trust this browser": a remembered second factor. Signing in with it is an attempt like any
//! other (the account must be unlocked when it is used), but no guess: it is not counted.

use crate::domain::AuditEvent;
use crate::store::attempts::{Check, Consume};

use super::attempt::{Failure, Kind};
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};

impl SignIn {
    /// Whether `cookie` is a valid "Trust this browser" cookie of `user_id` (read only: for the
    /// password throttle, which lets a trusted browser past the username's cap from everywhere).
    pub async fn browser_trusted(&self, user_id: &str, cookie: &str) -> Result<bool, Error> {
        let days = i64::from(self.policy().await?.trusted_browser_days);
        if days == 0 {
            return Ok(false);
        }
        let t = self.now();
        let hash = self.keys.hash_token(cookie);
        let found = crate::store::trusted_browsers::is_valid(&self.db, &hash, user_id, t - days * 86_400, t).await?;
        Ok(found)
    }

    /// Signs `caller` in with the browser's trust cookie, if the browser is still trusted (not
    /// revoked, not expired, and trusted within the days in force at the caller's application: a
    /// shortened policy applies at once). `None` when the policy trusts no browsers there.
    pub async fn trusted_browser(&self, caller: &Caller<'_>, cookie: &str) -> Result<Option<Verdict>, Error> {
        // The days in force at the application asking (its own rule, else the global one).
        let days = i64::from(self.rules_for(&caller.user.id, caller.application).await?.trusted_browser_days.0);
        if days == 0 {
            return Ok(None);
        }
        let consume = Consume::TrustedBrowser {
            token_hash: self.keys.hash_token(cookie),
            trusted_since: self.now() - days * 86_400,
        };
        let accepted = Accepted { factor: Factor::TrustedBrowser, detail: String::new() };
        let check = move || Check { candidates: vec![(consume, accepted)], ..Check::default() };
        let failure = Failure::new(AuditEvent::MfaTrustedBrowser, "the browser is no longer trusted");
        Ok(Some(self.attempt(caller, Kind::Approval, failure, check).await?))
    }
}

//! Settings of the OpenID provider (docs/openid.md) and of Microsoft Entra ID's External
//! Authentication Methods (docs/entra.md). Clients are registered in the console.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct OpenidSettings {
    /// A signing key signs for this many days, then a new one is made (the old stays published).
    pub key_rotation_days: u32,
    /// Lifetime of ID tokens and access tokens (userinfo).
    pub token_seconds: u32,
    pub entra: EntraSettings,
}

impl Default for OpenidSettings {
    fn default() -> Self {
        Self { key_rotation_days: 90, token_seconds: 600, entra: EntraSettings::default() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EntraSettings {
    /// The institution's Microsoft Entra tenant id (a GUID). Needed before an Entra application
    /// can be used: `id_token_hint`s from any other tenant are refused.
    pub tenant_id: Option<String>,
    /// Where Entra publishes its signing keys; default Microsoft's for the tenant.
    pub keys_url: Option<String>,
    /// The hint's issuer; default `https://login.microsoftonline.com/<tenant>/v2.0`.
    pub issuer: Option<String>,
    /// The hint's claim naming the Twofold user: `preferred_username` (default), `upn`, `email`,
    /// `oid` or `sub`.
    pub user_claim: Option<String>,
    /// A domain removed from the claim's value (`ada@example.edu` → `ada`), when usernames in
    /// Twofold have none.
    pub strip_domain: Option<String>,
    /// How long after it expired a hint is still accepted (Entra sends hints close to expiry).
    pub hint_leeway_seconds: Option<u32>,
}

impl EntraSettings {
    pub fn issuer(&self) -> Option<String> {
        self.issuer
            .clone()
            .or_else(|| self.tenant_id.as_ref().map(|t| format!("https://login.microsoftonline.com/{t}/v2.0")))
    }

    pub fn keys_url(&self) -> Option<String> {
        self.keys_url.clone().or_else(|| {
            self.tenant_id.as_ref().map(|t| format!("https://login.microsoftonline.com/{t}/discovery/v2.0/keys"))
        })
    }

    pub fn user_claim(&self) -> &str {
        self.user_claim.as_deref().unwrap_or("preferred_username")
    }

    pub fn hint_leeway(&self) -> i64 {
        i64::from(self.hint_leeway_seconds.unwrap_or(600))
    }
}

impl OpenidSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3650).contains(&self.key_rotation_days) {
            return Err(invalid("openid.key_rotation_days", "must be from 1 to 3650"));
        }
        if !(60..=86_400).contains(&self.token_seconds) {
            return Err(invalid("openid.token_seconds", "must be from 60 to 86400"));
        }
        if !["preferred_username", "upn", "email", "oid", "sub"].contains(&self.entra.user_claim()) {
            return Err(invalid("openid.entra.user_claim", "must be preferred_username, upn, email, oid or sub"));
        }
        if let Some(url) = self.entra.keys_url.as_deref()
            && !(url.starts_with("https://")
                || url.starts_with("http://127.0.0.1")
                || url.starts_with("http://localhost"))
        {
            return Err(invalid("openid.entra.keys_url", "must be an https:// address"));
        }
        Ok(())
    }
}

//! Settings for signing in with the institution's OpenID Connect provider(s) (`[oidc]`,
//! `[[oidc.providers]]`), validated at start so a typo fails with the key that is wrong.

use serde::{Deserialize, Serialize};
use url::Url;

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// How far the provider's clock may be from ours when checking an ID token's expiry.
    pub clock_skew_seconds: u32,
    /// Timeout for every request to a provider (discovery, keys, token exchange).
    pub http_timeout_seconds: u32,
    /// How long discovery documents and signing keys are reused before they are fetched again
    /// (an unknown key id fetches them at once).
    pub metadata_cache_minutes: u32,
    /// How long a started sign-in may take at the provider before it must start again.
    pub login_timeout_minutes: u32,
    pub providers: Vec<OidcProvider>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            clock_skew_seconds: 60,
            http_timeout_seconds: 10,
            metadata_cache_minutes: 60,
            login_timeout_minutes: 10,
            providers: Vec::new(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// Short name used in URLs (`/login/oidc/<id>/callback`): lower-case letters, digits and `-`.
    pub id: String,
    /// Shown on the button: "Sign in with <name>".
    pub name: String,
    /// The issuer; `<issuer>/.well-known/openid-configuration` is read at start and cached.
    pub issuer: String,
    pub client_id: String,
    /// Absent for a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Read `client_secret` from this file (Docker/Kubernetes secrets).
    #[serde(default)]
    pub client_secret_file: Option<std::path::PathBuf>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID-token claim that holds the Twofold username.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    #[serde(default = "default_display_name_claim")]
    pub display_name_claim: String,
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// The claim listing the user's groups (e.g. `groups`, `roles`); needed for `allowed_groups`.
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// When not empty, only members of at least one of these groups may sign in this way.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Create the Twofold account at first sign-in (just in time) when no account has the username.
    #[serde(default)]
    pub provision_users: bool,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("username_claim", &self.username_claim)
            .field("groups_claim", &self.groups_claim)
            .field("allowed_groups", &self.allowed_groups)
            .field("provision_users", &self.provision_users)
            .finish_non_exhaustive()
    }
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}
fn default_username_claim() -> String {
    "preferred_username".into()
}
fn default_display_name_claim() -> String {
    "name".into()
}
fn default_email_claim() -> String {
    "email".into()
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

impl OidcSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.http_timeout_seconds == 0 || self.http_timeout_seconds > 120 {
            return Err(invalid("oidc.http_timeout_seconds", "must be from 1 to 120"));
        }
        if self.clock_skew_seconds > 600 {
            return Err(invalid("oidc.clock_skew_seconds", "must be at most 600"));
        }
        if self.metadata_cache_minutes == 0 {
            return Err(invalid("oidc.metadata_cache_minutes", "must be greater than 0"));
        }
        if self.login_timeout_minutes == 0 || self.login_timeout_minutes > 60 {
            return Err(invalid("oidc.login_timeout_minutes", "must be from 1 to 60"));
        }
        for (i, p) in self.providers.iter().enumerate() {
            p.validate().map_err(|e| match e {
                ConfigError::Invalid { key, reason } => {
                    invalid(key, format!("provider {} (`{}`): {reason}", i + 1, p.id))
                }
                other => other,
            })?;
            if self.providers[..i].iter().any(|q| q.id == p.id) {
                return Err(invalid("oidc.providers.id", format!("`{}` is used by two providers", p.id)));
            }
        }
        Ok(())
    }

    pub fn provider(&self, id: &str) -> Option<&OidcProvider> {
        self.providers.iter().find(|p| p.id == id)
    }
}

impl OidcProvider {
    fn validate(&self) -> Result<(), ConfigError> {
        let id_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if self.id.is_empty() || self.id.len() > 32 || !self.id.chars().all(id_ok) {
            return Err(invalid("oidc.providers.id", "must be 1-32 lower-case letters, digits or -"));
        }
        if self.name.trim().is_empty() {
            return Err(invalid("oidc.providers.name", "must not be empty"));
        }
        let issuer = Url::parse(&self.issuer).map_err(|e| invalid("oidc.providers.issuer", e.to_string()))?;
        let loopback = matches!(issuer.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if !(issuer.scheme() == "https" || (issuer.scheme() == "http" && loopback)) {
            return Err(invalid(
                "oidc.providers.issuer",
                "must be an https:// URL (http:// only on loopback, for tests)",
            ));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("oidc.providers.issuer", "must not have a query or fragment"));
        }
        if self.client_id.trim().is_empty() {
            return Err(invalid("oidc.providers.client_id", "must not be empty"));
        }
        if self.client_secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(invalid(
                "oidc.providers.client_secret",
                "must not be empty when set (leave it out for a public client)",
            ));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(invalid("oidc.providers.scopes", "must include \"openid\""));
        }
        if self.username_claim.trim().is_empty() {
            return Err(invalid("oidc.providers.username_claim", "must not be empty"));
        }
        if !self.allowed_groups.is_empty() && self.groups_claim.is_none() {
            return Err(invalid("oidc.providers.allowed_groups", "needs groups_claim (the claim that lists groups)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn provider() -> OidcProvider {
        OidcProvider {
            id: "um".into(),
            name: "UM Account".into(),
            issuer: "https://login.example.edu/realms/um".into(),
            client_id: "twofold".into(),
            client_secret: Some("s3cret".into()),
            client_secret_file: None,
            scopes: default_scopes(),
            username_claim: default_username_claim(),
            display_name_claim: default_display_name_claim(),
            email_claim: default_email_claim(),
            groups_claim: None,
            allowed_groups: vec![],
            provision_users: false,
        }
    }

    fn check(p: OidcProvider) -> Result<(), String> {
        OidcSettings { providers: vec![p], ..OidcSettings::default() }.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn a_well_formed_provider_is_accepted() {
        check(provider()).unwrap();
        check(OidcProvider { issuer: "http://127.0.0.1:4000".into(), client_secret: None, ..provider() }).unwrap();
    }

    #[test]
    fn bad_provider_settings_name_the_key() {
        let cases = [
            (OidcProvider { id: "UM Account".into(), ..provider() }, "oidc.providers.id"),
            (OidcProvider { issuer: "http://login.example.edu".into(), ..provider() }, "oidc.providers.issuer"),
            (OidcProvider { issuer: "not a url".into(), ..provider() }, "oidc.providers.issuer"),
            (OidcProvider { client_id: " ".into(), ..provider() }, "oidc.providers.client_id"),
            (OidcProvider { scopes: vec!["profile".into()], ..provider() }, "oidc.providers.scopes"),
            (OidcProvider { allowed_groups: vec!["staff".into()], ..provider() }, "oidc.providers.allowed_groups"),
        ];
        for (p, key) in cases {
            let err = check(p).unwrap_err();
            assert!(err.contains(key), "{err} should name {key}");
        }
    }

    #[test]
    fn two_providers_cannot_share_an_id() {
        let s = OidcSettings { providers: vec![provider(), provider()], ..OidcSettings::default() };
        assert!(s.validate().unwrap_err().to_string().contains("used by two providers"));
    }

    #[test]
    fn debug_never_shows_the_client_secret() {
        assert!(!format!("{:?}", provider()).contains("s3cret"));
    }
}

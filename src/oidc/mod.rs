//! The OpenID Connect relying party: discovery and signing keys (cached, refreshed on an unknown
//! key id), the authorization request (code flow, PKCE, state, nonce) and ID-token verification.

pub mod claims;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    TokenResponse, reqwest,
};
use serde::{Deserialize, Serialize};
use url::Url;

pub use claims::{ClaimsProblem, Identity};

use crate::config::{OidcProvider, OidcSettings};

/// Why a sign-in through a provider failed. Each has its own page; none is a 500.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no such provider")]
    UnknownProvider,
    /// Discovery, keys or the token endpoint could not be reached or answered nonsense.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// The provider refused the code (expired, used already, or not ours).
    #[error("code refused: {0}")]
    CodeRefused(String),
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce …).
    #[error("ID token rejected: {0}")]
    BadToken(String),
}

/// A client built from discovery: authorization endpoint known, token and userinfo endpoints
/// as the provider published them.
type Discovered =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A started sign-in, kept in the user's session until the provider sends them back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub started: i64,
}

struct Entry {
    config: OidcProvider,
    redirect: RedirectUrl,
    cache: RwLock<Option<(Instant, CoreProviderMetadata)>>,
    /// Set while a background refresh runs, so a stale cache starts one refresh, not one per request.
    refreshing: AtomicBool,
}

/// Every configured provider, with its cached discovery document and keys.
pub struct Providers {
    entries: Vec<Entry>,
    http: reqwest::Client,
    skew: chrono::Duration,
    ttl: Duration,
}

impl Providers {
    pub fn new(settings: &OidcSettings, public_url: &Url) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for p in &settings.providers {
            let redirect = public_url.join(&format!("login/oidc/{}/callback", p.id))?;
            entries.push(Entry {
                config: p.clone(),
                redirect: RedirectUrl::from_url(redirect),
                cache: RwLock::new(None),
                refreshing: AtomicBool::new(false),
            });
        }
        // No redirects: a provider's endpoints answer directly (and nothing can bounce us elsewhere).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(u64::from(settings.http_timeout_seconds)))
            .build()?;
        Ok(Self {
            entries,
            http,
            skew: chrono::Duration::seconds(i64::from(settings.clock_skew_seconds)),
            ttl: Duration::from_secs(u64::from(settings.metadata_cache_minutes) * 60),
        })
    }

    /// (id, name) of each provider, in configuration order, for the login page.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.entries.iter().map(|e| (e.config.id.clone(), e.config.name.clone())).collect()
    }

    pub fn config(&self, id: &str) -> Option<&OidcProvider> {
        self.entry(id).ok().map(|e| &e.config)
    }

    fn entry(&self, id: &str) -> Result<&Entry, OidcError> {
        self.entries.iter().find(|e| e.config.id == id).ok_or(OidcError::UnknownProvider)
    }

    /// Fetches every provider's discovery document and keys in the background, so the first
    /// sign-in does not wait for them (failures are logged and retried on use).
    pub fn warm_up(self: &Arc<Self>) {
        for e in &self.entries {
            let (me, id) = (self.clone(), e.config.id.clone());
            tokio::spawn(async move {
                if let Err(err) = me.refresh(&id).await {
                    tracing::warn!(provider = %id, error = %err, "OpenID Connect discovery failed; retried on use");
                }
            });
        }
    }

    async fn refresh(&self, id: &str) -> Result<CoreProviderMetadata, OidcError> {
        let entry = self.entry(id)?;
        let issuer = IssuerUrl::new(entry.config.issuer.clone()).map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        if let Ok(mut cache) = entry.cache.write() {
            *cache = Some((Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    /// The discovery document and keys: cached; past the TTL the cached copy is still used while
    /// a fresh one is fetched in the background; fetched now only when there is none.
    async fn metadata(self: &Arc<Self>, id: &str) -> Result<CoreProviderMetadata, OidcError> {
        let entry = self.entry(id)?;
        let cached = entry.cache.read().ok().and_then(|c| c.clone());
        match cached {
            Some((at, metadata)) if at.elapsed() < self.ttl => Ok(metadata),
            Some((_, metadata)) => {
                if entry.refreshing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    let (me, id) = (self.clone(), id.to_string());
                    tokio::spawn(async move {
                        if let Err(err) = me.refresh(&id).await {
                            tracing::warn!(provider = %id, error = %err, "OpenID Connect refresh failed");
                        }
                        if let Ok(entry) = me.entry(&id) {
                            entry.refreshing.store(false, Ordering::Release);
                        }
                    });
                }
                Ok(metadata)
            }
            None => self.refresh(id).await,
        }
    }

    fn client(&self, entry: &Entry, metadata: CoreProviderMetadata) -> Discovered {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(entry.config.client_id.clone()),
            entry.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(entry.redirect.clone())
    }

    /// Starts a sign-in: the provider's authorization URL and what to keep until the callback.
    pub async fn begin(self: &Arc<Self>, id: &str, now: i64) -> Result<(Url, Pending), OidcError> {
        let entry = self.entry(id)?;
        let client = self.client(entry, self.metadata(id).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in entry.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = Pending {
            provider: id.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            started: now,
        };
        Ok((url, pending))
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and verifies the ID token.
    /// A token signed with a key we do not know yet fetches the keys again once (rotation).
    pub async fn finish(self: &Arc<Self>, pending: &Pending, code: &str) -> Result<Identity, OidcError> {
        let entry = self.entry(&pending.provider)?;
        let client = self.client(entry, self.metadata(&pending.provider).await?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => OidcError::CodeRefused(r.to_string()),
                other => OidcError::Unreachable(error_chain(&other)),
            })?;
        let token = response.id_token().ok_or_else(|| OidcError::BadToken("no ID token in the response".into()))?;
        match self.verify(&client, token, &pending.nonce) {
            Err(VerifyError::UnknownKey) => {
                let fresh = self.refresh(&pending.provider).await?;
                let client = self.client(entry, fresh);
                self.verify(&client, token, &pending.nonce).map_err(VerifyError::into_oidc)
            }
            other => other.map_err(VerifyError::into_oidc),
        }
    }

    fn verify(&self, client: &Discovered, token: &CoreIdToken, nonce: &str) -> Result<Identity, VerifyError> {
        let skew = self.skew;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
                CoreJwsSigningAlgorithm::RsaSsaPssSha256,
                CoreJwsSigningAlgorithm::RsaSsaPssSha384,
                CoreJwsSigningAlgorithm::RsaSsaPssSha512,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EcdsaP384Sha384,
                CoreJwsSigningAlgorithm::EdDsa,
            ])
            // Clock-skew tolerance: a token is accepted until `exp + skew`, and may be issued up to
            // `skew` in our future, not later.
            .set_time_fn(move || chrono::Utc::now() - skew)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > chrono::Utc::now() + skew { Err(format!("issued in the future ({iat})")) } else { Ok(()) }
            });
        let claims = token.claims(&verifier, &Nonce::new(nonce.to_string())).map_err(|e| match e {
            openidconnect::ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => VerifyError::UnknownKey,
            other => VerifyError::Rejected(other.to_string()),
        })?;
        let subject = claims.subject().as_str().to_string();
        let raw = raw_claims(&token.to_string()).ok_or_else(|| VerifyError::Rejected("unreadable claims".into()))?;
        Ok(Identity { subject, claims: raw })
    }
}

enum VerifyError {
    UnknownKey,
    Rejected(String),
}

impl VerifyError {
    fn into_oidc(self) -> OidcError {
        match self {
            VerifyError::UnknownKey => OidcError::BadToken("signed with a key the provider does not publish".into()),
            VerifyError::Rejected(reason) => OidcError::BadToken(reason),
        }
    }
}

/// Every claim of a JWT whose signature was already verified (the payload, decoded as it is, so
/// any configured claim can be read).
fn raw_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An error with its causes, for the log and the audit detail (never holds tokens or secrets).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

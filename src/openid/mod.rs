//! The OpenID provider's parts that know nothing of HTTP: its signing keys (RSA, sealed at rest,
//! rotated), compact JWS, the ID token's claims (`amr` from the factor used), and the check of
//! Microsoft Entra ID's `id_token_hint` for External Authentication Methods. The web door
//! (`web::openid`) reads requests and renders answers over these.

pub mod claims;
pub mod hint;
pub mod keys;

/// What went wrong inside the provider (never shown to the browser as is).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot open or seal a signing key")]
    Sealing,
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("key generation failed: {0}")]
    Generation(String),
}

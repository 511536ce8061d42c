//! Microsoft Entra ID's `id_token_hint` (External Authentication Methods): an RS256 JWT Entra
//! signed about the user who passed its first factor. Checked against Entra's published keys
//! (fetched and cached; fetched again when a key id is new), its issuer (the institution's tenant),
//! its audience (the client id Entra was given) and its expiry (with a leeway: Entra sends hints
//! close to expiry).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use serde_json::{Map, Value};

/// Why a hint is refused (said to the browser as an OIDC error, and audited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    #[error("the id_token_hint is not a signed JWT")]
    Malformed,
    #[error("the id_token_hint is not signed with RS256")]
    Algorithm,
    #[error("the id_token_hint names a key Entra does not publish")]
    UnknownKey,
    #[error("the id_token_hint's signature does not verify")]
    Signature,
    #[error("the id_token_hint comes from another issuer (tenant)")]
    Issuer,
    #[error("the id_token_hint is for another client")]
    Audience,
    #[error("the id_token_hint has expired")]
    Expired,
    #[error("Entra's keys could not be fetched")]
    KeysUnavailable,
}

/// What the hint must say.
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub now: i64,
    /// Seconds after `exp` the hint is still accepted.
    pub leeway: i64,
}

fn part(text: &str) -> Result<Value, HintError> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| HintError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| HintError::Malformed)
}

/// The key id the hint names (to fetch Entra's keys again when it is new).
pub fn key_id(token: &str) -> Result<String, HintError> {
    let header = part(token.split('.').next().unwrap_or_default())?;
    header.get("kid").and_then(Value::as_str).map(str::to_string).ok_or(HintError::Malformed)
}

/// The hint's claims, once everything checks out.
pub fn verify(token: &str, keys: &CoreJsonWebKeySet, expect: &Expect<'_>) -> Result<Map<String, Value>, HintError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HintError::Malformed);
    };
    let head = part(header)?;
    if head.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(HintError::Algorithm);
    }
    let kid = JsonWebKeyId::new(key_id(token)?);
    let key = keys.keys().iter().find(|k| k.key_id() == Some(&kid)).ok_or(HintError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| HintError::Malformed)?;
    let input = format!("{header}.{payload}");
    key.verify_signature(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input.as_bytes(), &signature)
        .map_err(|_| HintError::Signature)?;
    let Value::Object(claims) = part(payload)? else { return Err(HintError::Malformed) };
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(HintError::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expect.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(HintError::Audience);
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or(HintError::Malformed)?;
    if exp + expect.leeway < expect.now {
        return Err(HintError::Expired);
    }
    Ok(claims)
}

/// Entra's signing keys, fetched from `keys_url` and kept for a day; a hint naming a key not in
/// the copy fetches again (at most once a minute, so forged key ids cannot make us hammer Entra).
#[derive(Default)]
pub struct EntraKeys {
    cache: Mutex<Option<(Instant, CoreJsonWebKeySet)>>,
    last_fetch: Mutex<Option<Instant>>,
}

const KEEP: Duration = Duration::from_secs(86_400);
const REFETCH_AFTER: Duration = Duration::from_secs(60);

impl EntraKeys {
    pub async fn for_key(&self, keys_url: &str, kid: &str) -> Result<CoreJsonWebKeySet, HintError> {
        let wanted = JsonWebKeyId::new(kid.to_string());
        let cached = self.cache.lock().ok().and_then(|c| c.clone());
        if let Some((at, set)) = &cached
            && at.elapsed() < KEEP
            && set.keys().iter().any(|k| k.key_id() == Some(&wanted))
        {
            return Ok(set.clone());
        }
        let recently = self.last_fetch.lock().ok().and_then(|l| *l).is_some_and(|at| at.elapsed() < REFETCH_AFTER);
        if recently && let Some((_, set)) = cached {
            return Ok(set);
        }
        if let Ok(mut last) = self.last_fetch.lock() {
            *last = Some(Instant::now());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| HintError::KeysUnavailable)?;
        let response = client.get(keys_url).send().await.map_err(|_| HintError::KeysUnavailable)?;
        if !response.status().is_success() {
            return Err(HintError::KeysUnavailable);
        }
        let set: CoreJsonWebKeySet = response.json().await.map_err(|_| HintError::KeysUnavailable)?;
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), set.clone()));
        }
        Ok(set)
    }
}

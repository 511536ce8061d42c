//! The provider's signing keys: RSA 2048 (RS256, what Microsoft Entra ID and every relying party
//! accept), generated here with the `rsa` crate, sealed with the data key, and used through
//! `openidconnect`'s signing key. A key signs for `rotation_days`; then a new one is made, and the
//! older stays published for as long again so tokens and cached key sets still verify.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use serde_json::{Value, json};

use super::Error;
use crate::secrets::Keys;
use crate::store::{self, Db};

pub const ALG: &str = "RS256";
const DAY: i64 = 86_400;

fn context(kid: &str) -> String {
    format!("openid-key:{kid}")
}

/// A key that can sign, with its id.
pub struct SigningKey {
    pub kid: String,
    key: CoreRsaPrivateSigningKey,
}

impl SigningKey {
    fn open(keys: &Keys, row: &store::openid::KeyRow) -> Result<Self, Error> {
        let pem = keys.open(&context(&row.kid), &row.private_sealed).map_err(|_| Error::Sealing)?;
        let pem = std::str::from_utf8(&pem).map_err(|_| Error::Sealing)?;
        let key = CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(row.kid.clone())))
            .map_err(Error::Signing)?;
        Ok(Self { kid: row.kid.clone(), key })
    }

    /// A compact JWS (RFC 7515) of `claims`, RS256, with this key's id.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let header = json!({ "alg": ALG, "typ": "JWT", "kid": self.kid });
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self
            .key
            .sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input.as_bytes())
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn public(&self) -> CoreJsonWebKey {
        self.key.as_verification_key()
    }
}

/// The key to sign with now: the newest, or a new one when there is none younger than
/// `rotation_days` (two instances may both make one; both are published, either signs).
pub async fn current(db: &Db, keys: &Keys, now: i64, rotation_days: u32) -> Result<SigningKey, Error> {
    let since = now - i64::from(rotation_days) * DAY;
    if let Some(row) = store::openid::keys_since(db, since).await?.first() {
        return SigningKey::open(keys, row);
    }
    let kid = crate::secrets::new_id();
    // Generating an RSA key takes a moment: off the async threads.
    let pem = tokio::task::spawn_blocking(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
        key.to_pkcs1_pem(LineEnding::LF).map(|p| p.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| Error::Generation(e.to_string()))?
    .map_err(Error::Generation)?;
    let sealed = keys.seal(&context(&kid), pem.as_bytes()).map_err(|_| Error::Sealing)?;
    store::openid::insert_key(db, &kid, ALG, &sealed, now).await?;
    tracing::info!(kid = %kid, "made a new OpenID signing key");
    let row = store::openid::KeyRow { kid, alg: ALG.into(), private_sealed: sealed, created_at: now };
    SigningKey::open(keys, &row)
}

/// The JSON Web Key Set relying parties verify with: every key that signed within the last two
/// rotation periods.
pub async fn published(db: &Db, keys: &Keys, now: i64, rotation_days: u32) -> Result<Value, Error> {
    current(db, keys, now, rotation_days).await?;
    let since = now - 2 * i64::from(rotation_days) * DAY;
    let mut list = Vec::new();
    for row in store::openid::keys_since(db, since).await? {
        let public = SigningKey::open(keys, &row)?.public();
        let mut jwk = serde_json::to_value(&public).map_err(|e| Error::Signing(e.to_string()))?;
        jwk["alg"] = json!(ALG);
        list.push(jwk);
    }
    Ok(json!({ "keys": list }))
}

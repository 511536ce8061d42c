//! Web Push to the Twofold authenticator: RFC 8291 message encryption (aes128gcm, RFC 8188) and
//! RFC 8292 VAPID, on RustCrypto (p256 ECDH and ECDSA, HKDF-SHA-256, AES-128-GCM); sent with reqwest.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::{PublicKey, SecretKey};
use rand::RngExt;
use sha2::Sha256;

/// One record holds the whole (small) message.
const RECORD_SIZE: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum WebPushError {
    #[error("the subscription's keys are not a P-256 point and a 16-byte secret")]
    BadSubscription,
    #[error("the message is too long for one record")]
    TooLong,
    #[error("encryption failed")]
    Crypto,
    #[error("the push service answered {0}")]
    Refused(u16),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// Encrypts `plaintext` for a subscription (`ua_public`: 65-byte point, `auth`: 16 bytes) with
/// the sender key `as_secret` and `salt` (both fresh per message; fixed only in tests).
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    salt: &[u8; 16],
    as_secret: &SecretKey,
) -> Result<Vec<u8>, WebPushError> {
    if auth.len() != 16 {
        return Err(WebPushError::BadSubscription);
    }
    if plaintext.len() + 1 + 16 > RECORD_SIZE as usize {
        return Err(WebPushError::TooLong);
    }
    let ua = PublicKey::from_sec1_bytes(ua_public).map_err(|_| WebPushError::BadSubscription)?;
    let ua_bytes = ua.to_sec1_bytes();
    let as_bytes = as_secret.public_key().to_sec1_bytes();
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua.as_affine());
    // RFC 8291 §3.3: IKM from the ECDH secret, keyed by the auth secret and both public keys.
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&ua_bytes);
    key_info.extend_from_slice(&as_bytes);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| WebPushError::Crypto)?;
    // RFC 8188 §2.2–2.3: content-encryption key and nonce (one record: sequence number 0).
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| WebPushError::Crypto)?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| WebPushError::Crypto)?;
    let mut record = plaintext.to_vec();
    record.push(2); // the last record's delimiter, no padding
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| WebPushError::Crypto)?;
    let sealed = cipher.encrypt(&Nonce::from(nonce), record.as_slice()).map_err(|_| WebPushError::Crypto)?;
    let mut body = salt.to_vec();
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_bytes.len() as u8);
    body.extend_from_slice(&as_bytes);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// The VAPID `Authorization` header value for `endpoint` (RFC 8292): an ES256 JWT for the
/// endpoint's origin, valid 12 hours, and the public key.
pub fn vapid_authorization(key: &SigningKey, endpoint: &url::Url, subject: &str, now: i64) -> String {
    let audience = endpoint.origin().ascii_serialization();
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
    let claims = serde_json::json!({ "aud": audience, "exp": now + 12 * 3600, "sub": subject });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signature: Signature = key.sign(signing_input.as_bytes());
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    format!("vapid t={jwt}, k={}", vapid_public_key(key))
}

/// The VAPID signing key, derived from the data key (every instance has the same one; nothing
/// to store or rotate separately).
pub fn vapid_key(keys: &crate::secrets::Keys) -> Option<SigningKey> {
    let derived = URL_SAFE_NO_PAD.decode(keys.hash_token("twofold-vapid-key-v1")).ok()?;
    SigningKey::from_slice(&derived).ok()
}

/// The application server key the app subscribes with (uncompressed point, base64url).
pub fn vapid_public_key(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes())
}

/// A subscription as the browser gives it (`PushSubscription.toJSON()`).
pub struct Subscription<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// Encrypts `payload` for the subscription and posts it to the push service.
pub async fn send(
    client: &reqwest::Client,
    vapid: &SigningKey,
    subject: &str,
    sub: &Subscription<'_>,
    payload: &[u8],
    now: i64,
) -> Result<(), WebPushError> {
    let endpoint = url::Url::parse(sub.endpoint).map_err(|_| WebPushError::BadSubscription)?;
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| WebPushError::BadSubscription);
    let salt: [u8; 16] = rand::rng().random();
    let sender = loop {
        let bytes: [u8; 32] = rand::rng().random();
        if let Ok(k) = SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let body = encrypt(payload, &decode(sub.p256dh)?, &decode(sub.auth)?, &salt, &sender)?;
    let response = client
        .post(endpoint.clone())
        .header("Authorization", vapid_authorization(vapid, &endpoint, subject, now))
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("TTL", "60")
        .header("Urgency", "high")
        .body(body)
        .send()
        .await?;
    if response.status().is_success() { Ok(()) } else { Err(WebPushError::Refused(response.status().as_u16())) }
}

/// Tells every subscribed app of `user_id` something it shows as a notification (a recovery was
/// requested, ...): no request, nothing to approve.
pub async fn notice_user(
    db: &crate::store::Db,
    keys: &crate::secrets::Keys,
    subject: &str,
    user_id: &str,
    title: &str,
    body: &str,
) -> anyhow::Result<usize> {
    let payload = serde_json::json!({ "type": "notice", "title": title, "body": body }).to_string();
    deliver(db, keys, subject, user_id, &payload).await
}

/// Notifies every subscribed app of `user_id` of a new push request. The payload carries only
/// the request id: the app fetches the details itself, signed. A subscription the push service
/// says is gone (404, 410) is forgotten; other failures are logged (the open app polls anyway).
pub async fn notify_user(
    db: &crate::store::Db,
    keys: &crate::secrets::Keys,
    subject: &str,
    user_id: &str,
    request_id: &str,
) -> anyhow::Result<()> {
    let payload = serde_json::json!({ "type": "push", "request_id": request_id }).to_string();
    deliver(db, keys, subject, user_id, &payload).await.map(|_| ())
}

/// Sends `payload` to every subscription of `user_id`; returns how many took it. A subscription
/// the push service says is gone (404, 410) is forgotten; other failures are logged.
async fn deliver(
    db: &crate::store::Db,
    keys: &crate::secrets::Keys,
    subject: &str,
    user_id: &str,
    payload: &str,
) -> anyhow::Result<usize> {
    use crate::store;
    let subscriptions = store::push_devices::subscriptions_for_user(db, user_id).await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let key = vapid_key(keys).ok_or_else(|| anyhow::anyhow!("no VAPID key"))?;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let mut delivered = 0;
    for s in subscriptions {
        let sub = Subscription { endpoint: &s.endpoint, p256dh: &s.p256dh, auth: &s.auth };
        match send(&client, &key, subject, &sub, payload.as_bytes(), crate::clock::now()).await {
            Ok(()) => delivered += 1,
            Err(WebPushError::Refused(404 | 410)) => {
                store::push_devices::remove_subscription(db, &s.device_id).await?;
            }
            Err(e) => tracing::warn!(device = %s.device_id, error = %e, "web push: send failed"),
        }
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    #[test]
    fn encryption_matches_the_rfc_8291_example() {
        let as_secret = SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt(
            b"When I grow up, I want to be a watermelon",
            &b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            &b64("BTBZMqHH6r4Tts7J_aSIgg"),
            &salt,
            &as_secret,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn a_bad_subscription_key_is_refused() {
        let k = SecretKey::from_slice(&[3u8; 32]).unwrap();
        assert!(encrypt(b"x", &[4u8; 65], &[0u8; 16], &[0u8; 16], &k).is_err());
        assert!(encrypt(b"x", &k.public_key().to_sec1_bytes(), &[0u8; 3], &[0u8; 16], &k).is_err());
    }
}

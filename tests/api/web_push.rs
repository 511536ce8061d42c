//! Web Push: the app subscribes (signed by its key); a new push request is sent, encrypted
//! (RFC 8291, aes128gcm) with a VAPID JWT (RFC 8292), to a local HTTP server standing in for the
//! push service, which decrypts it with the subscription's keys and checks the JWT.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::{PublicKey, SecretKey};
use rand::RngExt;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::helpers::{now, spawn_app_with};
use crate::push::{api, send_push, sign, user_with_app};

/// What the push service received.
struct Delivery {
    authorization: String,
    encoding: String,
    body: Vec<u8>,
}

/// A push service on a random local port; returns its endpoint URL and what it receives.
fn push_service() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel::<Delivery>();
    let server = HttpServer::new(move || {
        let tx = tx.clone();
        App::new().route(
            "/push/{id}",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let tx = tx.clone();
                async move {
                    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let _ = tx.send(Delivery {
                        authorization: header("authorization"),
                        encoding: header("content-encoding"),
                        body: body.to_vec(),
                    });
                    HttpResponse::Created().finish()
                }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind the push service");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/push/abc123"), rx)
}

/// The browser's side of RFC 8291: decrypts one aes128gcm record.
fn decrypt(body: &[u8], ua_secret: &SecretKey, auth: &[u8]) -> Vec<u8> {
    let salt = &body[..16];
    let idlen = body[20] as usize;
    let as_public = &body[21..21 + idlen];
    let ciphertext = &body[21 + idlen..];
    let sender = PublicKey::from_sec1_bytes(as_public).expect("the sender key is a P-256 point");
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), sender.as_affine());
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&ua_secret.public_key().to_sec1_bytes());
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes()).expand(&key_info, &mut ikm).unwrap();
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).unwrap();
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).unwrap();
    let mut plain =
        Aes128Gcm::new_from_slice(&cek).unwrap().decrypt(&Nonce::from(nonce), ciphertext).expect("decrypts");
    assert_eq!(plain.pop(), Some(2), "one final record");
    plain
}

#[tokio::test]
async fn a_new_push_is_delivered_encrypted_with_a_vapid_signature_to_the_subscribed_app() {
    // The local push service stands in for a listed one.
    let app = spawn_app_with(|s| s.push.web_push_hosts.push("127.0.0.1".into())).await;
    let (user_id, phone) = user_with_app(&app, "ada").await;
    let (endpoint, mut received) = push_service();

    // The browser's subscription keys.
    let ua_secret = loop {
        let bytes: [u8; 32] = rand::rng().random();
        if let Ok(k) = SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let auth: [u8; 16] = rand::rng().random();
    let p256dh = URL_SAFE_NO_PAD.encode(ua_secret.public_key().to_sec1_bytes());
    let ts = now();
    let message = format!("twofold-push-subscribe\n{}\n{ts}\n{endpoint}", phone.device_id);
    let mut body = json!({ "device_id": phone.device_id, "timestamp": ts, "endpoint": endpoint, "p256dh": p256dh,
                           "auth": URL_SAFE_NO_PAD.encode(auth), "signature": "" });
    assert_eq!(api(&app, "/device/v1/subscribe", body.clone()).await.0, 401, "unsigned subscriptions are refused");
    body["signature"] = json!(sign(&phone.key, &message));
    assert_eq!(api(&app, "/device/v1/subscribe", body.clone()).await.0, 200);

    // A device key cannot point the server at an address of its choosing.
    let (unlisted, _) = push_service();
    let mut other = body.clone();
    let elsewhere = unlisted.replace("127.0.0.1", "localhost");
    let message = format!("twofold-push-subscribe\n{}\n{ts}\n{elsewhere}", phone.device_id);
    other["endpoint"] = json!(elsewhere);
    other["signature"] = json!(sign(&phone.key, &message));
    assert_eq!(api(&app, "/device/v1/subscribe", other).await.0, 400, "an unlisted push service is refused");

    let (id, number) = send_push(&app).await;
    let delivery = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("delivered").unwrap();
    assert_eq!(delivery.encoding, "aes128gcm");
    let payload: Value = serde_json::from_slice(&decrypt(&delivery.body, &ua_secret, &auth)).unwrap();
    assert_eq!(payload["request_id"], id.as_str());
    assert!(!String::from_utf8_lossy(&delivery.body).contains(&number), "the number is never sent to the phone");

    // VAPID: an ES256 JWT for the push service's origin, signed by the key the app subscribed with.
    let vapid: Value = app.get("/device/v1/vapid").await.json().await.unwrap();
    let auth_header = delivery.authorization;
    let (jwt, k) = auth_header.strip_prefix("vapid t=").and_then(|r| r.split_once(", k=")).expect("vapid t=…, k=…");
    assert_eq!(k, vapid["public_key"].as_str().unwrap());
    let (signing_input, signature) = jwt.rsplit_once('.').unwrap();
    let key = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    key.verify(signing_input.as_bytes(), &signature).expect("the JWT signature verifies");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signing_input.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["aud"], endpoint.trim_end_matches("/push/abc123"));
    assert!(claims["exp"].as_i64().unwrap() > now());

    // A notice (e.g. "a recovery passcode was requested") reaches the same app: nothing to approve.
    let subject = format!("http://{}", app.address);
    let told = twofold::channels::web_push::notice_user(
        &app.db,
        &app.keys,
        &subject,
        &user_id,
        "Recovery requested",
        "Cancel it if this wasn't you.",
    )
    .await
    .unwrap();
    assert_eq!(told, 1);
    let delivery = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("delivered").unwrap();
    let payload: Value = serde_json::from_slice(&decrypt(&delivery.body, &ua_secret, &auth)).unwrap();
    assert_eq!(
        payload,
        json!({ "type": "notice", "title": "Recovery requested", "body": "Cancel it if this wasn't you." })
    );
}

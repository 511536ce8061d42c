//! A software security key for the WebAuthn tests: ECDSA P-256 (ES256), a COSE public key,
//! authenticatorData, clientDataJSON and "none" attestation, written from the specification, so
//! each part of a response can be tampered with (origin, rpId, counter, flags, signature).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftKey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    pub counter: u32,
    /// Sets the user-verified flag (a PIN or fingerprint was checked).
    pub verifies_user: bool,
    /// The origin written into clientDataJSON (a browser writes the page's origin).
    pub origin: String,
    /// The relying party id hashed into authenticatorData.
    pub rp_id: String,
}

impl SoftKey {
    /// A key for `origin` (e.g. `http://localhost:1234`); the rpId is the origin's host.
    pub fn new(origin: &str, seed: u8) -> Self {
        let mut secret = [0x11u8; 32];
        secret[0] = seed;
        let host = origin.split("://").nth(1).unwrap_or_default().split(':').next().unwrap_or_default();
        Self {
            key: SigningKey::from_slice(&secret).expect("a valid P-256 scalar"),
            credential_id: vec![seed; 32],
            counter: 0,
            verifies_user: true,
            origin: origin.to_string(),
            rp_id: host.to_string(),
        }
    }

    pub fn id_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"].as_str().expect("options carry a challenge");
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags | UP | if self.verifies_user { UV } else { 0 });
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// The answer to `navigator.credentials.create` for these options (CreationChallengeResponse).
    pub fn register(&mut self, options: &Value) -> Value {
        let client_data = self.client_data("webauthn.create", options);
        let mut auth_data = self.auth_data(AT);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let mut attestation = map(3);
        attestation.extend(text("fmt"));
        attestation.extend(text("none"));
        attestation.extend(text("attStmt"));
        attestation.extend(map(0));
        attestation.extend(text("authData"));
        attestation.extend(bytes(&auth_data));
        json!({
            "id": self.id_text(),
            "rawId": self.id_text(),
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            }
        })
    }

    /// The answer to `navigator.credentials.get` (RequestChallengeResponse); the counter moves on.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.assert_with_counter(options, self.counter)
    }

    pub fn assert_with_counter(&self, options: &Value, counter: u32) -> Value {
        let client_data = self.client_data("webauthn.get", options);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(UP | if self.verifies_user { UV } else { 0 });
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": self.id_text(),
            "rawId": self.id_text(),
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
                "userHandle": null,
            }
        })
    }

    /// COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let raw = point.as_bytes();
        let (x, y) = (&raw[1..33], &raw[33..65]);
        let mut out = map(5);
        out.extend(int(1));
        out.extend(int(2));
        out.extend(int(3));
        out.extend(int(-7));
        out.extend(int(-1));
        out.extend(int(1));
        out.extend(int(-2));
        out.extend(bytes(x));
        out.extend(int(-3));
        out.extend(bytes(y));
        out
    }
}

/// Flips one bit of a base64url field inside a response (a bad signature, a changed challenge…).
pub fn tamper(response: &mut Value, field: &str) {
    let text = response["response"][field].as_str().expect("field present").to_string();
    let mut raw = URL_SAFE_NO_PAD.decode(text).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    response["response"][field] = Value::String(URL_SAFE_NO_PAD.encode(raw));
}

// Just enough CBOR (RFC 8949) for attestation objects and COSE keys.
fn head(major: u8, value: u64) -> Vec<u8> {
    let m = major << 5;
    match value {
        0..=23 => vec![m | value as u8],
        24..=0xff => vec![m | 24, value as u8],
        0x100..=0xffff => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(value as u16).to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![m | 26];
            v.extend_from_slice(&(value as u32).to_be_bytes());
            v
        }
    }
}

fn int(value: i64) -> Vec<u8> {
    if value >= 0 { head(0, value as u64) } else { head(1, (-1 - value) as u64) }
}

fn bytes(value: &[u8]) -> Vec<u8> {
    let mut v = head(2, value.len() as u64);
    v.extend_from_slice(value);
    v
}

fn text(value: &str) -> Vec<u8> {
    let mut v = head(3, value.len() as u64);
    v.extend_from_slice(value.as_bytes());
    v
}

fn map(entries: u64) -> Vec<u8> {
    head(5, entries)
}

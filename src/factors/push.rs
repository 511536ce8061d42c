//! Push with number matching, pure: the number to type, the push states, and the device-key
//! signatures (ECDSA P-256 / SHA-256, WebCrypto's raw r‖s form) that authenticate the app.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use rand::RngExt;

/// A push request's state. `Pending` is the only state that changes; every other one is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    Pending,
    Approved,
    Denied,
    Fraud,
    TimedOut,
    Cancelled,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Pending => "pending",
            PushStatus::Approved => "approved",
            PushStatus::Denied => "denied",
            PushStatus::Fraud => "fraud",
            PushStatus::TimedOut => "timed_out",
            PushStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Fraud, Self::TimedOut, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// What the app answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// "Deny", then "It was a mistake".
    Deny,
    /// "Deny", then "It seems fraudulent".
    Fraud,
}

impl Decision {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "approve" => Some(Decision::Approve),
            "deny" => Some(Decision::Deny),
            "fraud" => Some(Decision::Fraud),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
            Decision::Fraud => "fraud",
        }
    }
}

/// The number shown on the login screen, `digits` long without a leading zero (so what the user
/// reads is what they type).
pub fn new_number(digits: u32) -> String {
    let digits = digits.clamp(2, 6);
    let low = 10u32.pow(digits - 1);
    rand::rng().random_range(low..low * 10).to_string()
}

/// The bytes the app signs to answer: request id, decision and the number typed.
pub fn answer_message(request_id: &str, decision: Decision, number: &str) -> String {
    format!("twofold-push-answer\n{request_id}\n{}\n{number}", decision.as_str())
}

/// The bytes the app signs to list its pending requests: device id and the current time.
pub fn pending_message(device_id: &str, timestamp: i64) -> String {
    format!("twofold-push-pending\n{device_id}\n{timestamp}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the public key is not an uncompressed P-256 point in base64url")]
    BadKey,
}

/// Parses the app's public key: an uncompressed SEC1 P-256 point (WebCrypto "raw"), base64url.
pub fn parse_public_key(b64: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).map_err(|_| KeyError::BadKey)?;
    if bytes.len() != 65 || bytes[0] != 4 {
        return Err(KeyError::BadKey);
    }
    VerifyingKey::from_sec1_bytes(&bytes).map_err(|_| KeyError::BadKey)
}

/// True when `signature_b64` (64-byte r‖s, base64url) is `public_key_b64`'s signature of `message`.
/// High-S signatures (WebCrypto does not normalise) are accepted: both forms are valid ECDSA.
pub fn verify(public_key_b64: &str, message: &str, signature_b64: &str) -> bool {
    let Ok(key) = parse_public_key(public_key_b64) else { return false };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature_b64.trim_end_matches('=')) else { return false };
    let Ok(signature) = Signature::from_slice(&bytes) else { return false };
    key.verify(message.as_bytes(), &signature.normalize_s()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    fn public(k: &SigningKey) -> String {
        URL_SAFE_NO_PAD.encode(k.verifying_key().to_sec1_point(false).as_bytes())
    }

    fn sign(k: &SigningKey, msg: &str) -> String {
        let sig: Signature = k.sign(msg.as_bytes());
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    }

    #[test]
    fn a_signature_by_the_device_key_over_the_answer_verifies() {
        let k = key();
        let msg = answer_message("r1", Decision::Approve, "123");
        assert!(verify(&public(&k), &msg, &sign(&k, &msg)));
    }

    #[test]
    fn a_signature_over_another_number_decision_or_request_does_not_verify() {
        let k = key();
        let sig = sign(&k, &answer_message("r1", Decision::Approve, "123"));
        assert!(!verify(&public(&k), &answer_message("r1", Decision::Approve, "124"), &sig));
        assert!(!verify(&public(&k), &answer_message("r1", Decision::Deny, "123"), &sig));
        assert!(!verify(&public(&k), &answer_message("r2", Decision::Approve, "123"), &sig));
    }

    #[test]
    fn another_key_or_garbage_does_not_verify() {
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let msg = answer_message("r1", Decision::Approve, "123");
        assert!(!verify(&public(&key()), &msg, &sign(&other, &msg)));
        assert!(!verify(&public(&key()), &msg, ""));
        assert!(!verify("AAAA", &msg, &sign(&key(), &msg)));
    }

    #[test]
    fn a_high_s_signature_is_accepted_like_webcrypto_gives_it() {
        let k = key();
        let msg = pending_message("d1", 100);
        let sig: Signature = k.sign(msg.as_bytes());
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        assert!(verify(&public(&k), &msg, &URL_SAFE_NO_PAD.encode(high.to_bytes())));
    }

    #[test]
    fn numbers_have_the_asked_digits_and_no_leading_zero() {
        for _ in 0..200 {
            let n = new_number(3);
            assert_eq!(n.len(), 3);
            assert!(!n.starts_with('0'));
        }
    }

    #[test]
    fn statuses_and_decisions_round_trip() {
        for s in ["pending", "approved", "denied", "fraud", "timed_out", "cancelled"] {
            assert_eq!(PushStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Decision::parse("approve"), Some(Decision::Approve));
        assert_eq!(Decision::parse("yes"), None);
    }
}

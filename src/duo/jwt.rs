//! Compact JSON Web Tokens signed with HS512, the only algorithm Duo's Universal Prompt uses:
//! signing and verifying with an application's secret key (hand-written, see architecture.md).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha512;

pub type Claims = Map<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    Malformed,
    /// A header that does not say HS512 (`none` and every other algorithm are refused).
    Algorithm,
    /// The HMAC does not match.
    Signature,
}

fn mac(secret: &str) -> Option<Hmac<Sha512>> {
    <Hmac<Sha512> as KeyInit>::new_from_slice(secret.as_bytes()).ok()
}

/// `base64url(header).base64url(claims).base64url(HMAC-SHA512)`.
pub fn sign(claims: &Claims, secret: &str) -> Option<String> {
    let header = B64.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).ok()?);
    let input = format!("{header}.{payload}");
    let mut m = mac(secret)?;
    m.update(input.as_bytes());
    Some(format!("{input}.{}", B64.encode(m.finalize().into_bytes())))
}

/// The claims of a token signed HS512 with `secret`. The signature is checked (in constant time)
/// before the claims are read; the claims' meaning is the caller's to check.
pub fn verify(token: &str, secret: &str) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = serde_json::from_slice(&B64.decode(header).map_err(|_| JwtError::Malformed)?)
        .map_err(|_| JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS512") {
        return Err(JwtError::Algorithm);
    }
    let signature = B64.decode(signature).map_err(|_| JwtError::Malformed)?;
    let mut m = mac(secret).ok_or(JwtError::Signature)?;
    m.update(&token.as_bytes()[..header_and_payload_len(token)]);
    m.verify_slice(&signature).map_err(|_| JwtError::Signature)?;
    match serde_json::from_slice(&B64.decode(payload).map_err(|_| JwtError::Malformed)?) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(JwtError::Malformed),
    }
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Claims {
        v.as_object().cloned().unwrap()
    }

    /// A token made by PyJWT 2.15 (`jwt.encode({"sub": "ada"}, "secret", algorithm="HS512")`): the
    /// same bytes come out of `sign`, and it verifies.
    #[test]
    fn tokens_match_pyjwt_byte_for_byte() {
        let token = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEifQ.\
                     wXvj4hys5_K70HtSUuqDO1amglMfY7UV_LuEkJTJ10KGYY-0SuYQEmNIEXorKLhPgU65wMV6yd_1_ElnBLV7SA";
        assert_eq!(sign(&claims(json!({"sub": "ada"})), "secret").unwrap(), token);
        assert_eq!(verify(token, "secret").unwrap()["sub"], "ada");
    }

    #[test]
    fn wrong_secrets_other_algorithms_and_garbage_are_refused() {
        let t = sign(&claims(json!({"sub": "ada"})), "secret").unwrap();
        assert_eq!(verify(&t, "other"), Err(JwtError::Signature));
        let (_, rest) = t.split_once('.').unwrap();
        let none = format!("{}.{rest}", B64.encode(br#"{"alg":"none"}"#));
        assert_eq!(verify(&none, "secret"), Err(JwtError::Algorithm));
        let hs256 = format!("{}.{rest}", B64.encode(br#"{"alg":"HS256"}"#));
        assert_eq!(verify(&hs256, "secret"), Err(JwtError::Algorithm));
        assert_eq!(verify("a.b", "secret"), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c.d", "secret"), Err(JwtError::Malformed));
        let mut tampered = t.clone();
        tampered.push('A');
        assert!(verify(&tampered, "secret").is_err());
    }
}

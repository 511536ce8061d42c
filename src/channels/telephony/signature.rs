//! `X-Twilio-Signature`: HMAC-SHA1 over the full webhook URL and the sorted POST parameters,
//! keyed with the auth token, Base64. Verified in constant time; the URL comes from configuration.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature a carrier holding `auth_token` sends for a POST to `url` with `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = match <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable but must not panic.
        Err(_) => return String::new(),
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// True when `header` is the signature for this URL and these parameters (constant-time).
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: Option<&str>) -> bool {
    let Some(header) = header else { return false };
    if auth_token.is_empty() {
        return false;
    }
    let expected = compute(auth_token, url, params);
    expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    #[test]
    fn the_published_vector_matches() {
        assert_eq!(compute("12345", URL, &params()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let mut shuffled = params();
        shuffled.reverse();
        assert!(verify("12345", URL, &shuffled, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")), "order does not matter");
    }

    #[test]
    fn tampering_a_missing_header_or_another_url_fails() {
        let good = Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let mut tampered = params();
        tampered[2].1 = "9".into();
        assert!(!verify("12345", URL, &tampered, good));
        assert!(!verify("12345", URL, &params(), None));
        assert!(!verify("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", &params(), good));
        assert!(!verify("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", &params(), good));
        assert!(!verify("54321", URL, &params(), good));
        assert!(!verify("", URL, &params(), good));
    }
}

//! Request signatures of Duo's APIs, versions 2 and 5 (DUO-API.md §2.3): the canonical string, the
//! HMAC, and the checks around them (date skew, host line). The comparison is constant-time.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Python's `quote(s, safe='~')`: everything but A–Z a–z 0–9 `_ . - ~` is escaped, upper-case hex.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

fn quote(s: &str) -> String {
    utf8_percent_encode(s, QUOTE).to_string()
}

/// OAuth-1.0-style canonical parameters: keys and values quoted, sorted by key then value.
pub fn canon_params(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (quote(k), quote(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The sha512 hex of the `X-Duo-*` headers as v5 signs them (names lower-cased, sorted, NUL-joined).
pub fn canon_x_duo_headers(headers: &[(String, String)]) -> String {
    let mut lowered: Vec<(String, &str)> = headers.iter().map(|(k, v)| (k.to_lowercase(), v.as_str())).collect();
    lowered.sort();
    let joined: Vec<&str> = lowered.iter().flat_map(|(k, v)| [k.as_str(), *v]).collect();
    hex::encode(Sha512::digest(joined.join("\0").as_bytes()))
}

/// What the server knows about a request, before checking its signature.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The configured API hostname (what clients sign), not the Host header.
    pub host: &'a str,
    pub path: &'a str,
    /// Decoded query parameters, plus form parameters for a form-encoded body.
    pub params: Vec<(String, String)>,
    /// The raw date header as sent.
    pub date: &'a str,
    pub body: &'a [u8],
    pub x_duo_headers: Vec<(String, String)>,
}

pub fn canonical_v2(r: &Request<'_>) -> String {
    [r.date, &r.method.to_uppercase(), &r.host.to_lowercase(), r.path, &canon_params(&r.params)].join("\n")
}

/// v5: query parameters only (a JSON body's parameters are signed through the body hash).
pub fn canonical_v5(r: &Request<'_>, query_params: &[(String, String)]) -> String {
    [
        r.date,
        &r.method.to_uppercase(),
        &r.host.to_lowercase(),
        r.path,
        &canon_params(query_params),
        &hex::encode(Sha512::digest(r.body)),
        &canon_x_duo_headers(&r.x_duo_headers),
    ]
    .join("\n")
}

/// HMAC accepts keys of any length; `None` only if a future version stops doing so.
pub fn hmac_sha1_hex(key: &str, message: &str) -> Option<String> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(message.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

pub fn hmac_sha512_hex(key: &str, message: &str) -> Option<String> {
    let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(message.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// `Authorization: Basic base64(ikey:hexsig)` split into its parts.
pub fn parse_authorization(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (ikey, sig) = text.split_once(':')?;
    Some((ikey.to_string(), sig.to_ascii_lowercase()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2Sha1,
    V2Sha512,
    V5,
}

/// Checks `signature` against every version that fits its length: v5 first (a JSON body or a
/// GET), then v2 with SHA-512 and v2 with SHA-1. `query_params` are the query string's alone.
pub fn verify(r: &Request<'_>, query_params: &[(String, String)], secret: &str, signature: &str) -> Option<Version> {
    let matches =
        |expected: Option<String>| expected.is_some_and(|e| bool::from(e.as_bytes().ct_eq(signature.as_bytes())));
    match signature.len() {
        128 => {
            if matches(hmac_sha512_hex(secret, &canonical_v5(r, query_params))) {
                Some(Version::V5)
            } else if matches(hmac_sha512_hex(secret, &canonical_v2(r))) {
                Some(Version::V2Sha512)
            } else {
                None
            }
        }
        40 if matches(hmac_sha1_hex(secret, &canonical_v2(r))) => Some(Version::V2Sha1),
        _ => None,
    }
}

/// Parses the signed date (RFC 2822, as Python's `email.utils.formatdate` writes it, `-0000` included).
pub fn parse_date(value: &str) -> Option<i64> {
    let normalized = value.trim().replace(" -0000", " +0000").replace(" GMT", " +0000");
    time::OffsetDateTime::parse(&normalized, &time::format_description::well_known::Rfc2822)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(params: &[(&str, &str)], date: &'a str) -> Request<'a> {
        Request {
            method: "post",
            host: "API-XXXXXXXX.duosecurity.com",
            path: "/accounts/v1/account/list",
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            date,
            body: b"",
            x_duo_headers: vec![],
        }
    }

    /// duo_client_python's own test (test_client.py, TestCanonicalize.test_v2).
    #[test]
    fn v2_canonical_string_matches_the_reference_client() {
        let date = "Fri, 07 Dec 2012 17:18:00 -0000";
        let r = request(
            &[
                (
                    "\u{469a}\u{287b}\u{35d0}\u{8ef3}\u{6727}\u{502a}\u{0810}\u{d091}\u{00c8}\u{c170}",
                    "\u{0f45}\u{1a76}\u{341a}\u{654c}\u{c23f}\u{9b09}\u{abe2}\u{8343}\u{1b27}\u{60d0}",
                ),
                (
                    "\u{7449}\u{7e4b}\u{ccfb}\u{59ff}\u{fe5f}\u{83b7}\u{adcc}\u{900c}\u{cfd1}\u{7813}",
                    "\u{8db7}\u{5022}\u{92d3}\u{42ef}\u{207d}\u{8730}\u{acfe}\u{5617}\u{0946}\u{4e30}",
                ),
                ("bar", "baz"),
                ("foo", "bar"),
            ],
            date,
        );
        let expected = "Fri, 07 Dec 2012 17:18:00 -0000\nPOST\napi-xxxxxxxx.duosecurity.com\n/accounts/v1/account/list\n\
             %E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0=\
             %E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90&\
             %E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93=\
             %E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0&\
             bar=baz&foo=bar";
        assert_eq!(canonical_v2(&r), expected);
    }

    #[test]
    fn params_sort_by_quoted_key_then_value_and_escape_like_python() {
        let params = vec![
            ("b".to_string(), "2 2".to_string()),
            ("a".to_string(), "z/y".to_string()),
            ("a".to_string(), "x~".to_string()),
        ];
        assert_eq!(canon_params(&params), "a=x~&a=z%2Fy&b=2%202");
    }

    #[test]
    fn x_duo_headers_hash_lowercased_sorted_and_nul_joined() {
        let empty = canon_x_duo_headers(&[]);
        assert_eq!(empty, hex::encode(Sha512::digest(b"")));
        let h = canon_x_duo_headers(&[("X-Duo-B".into(), "2".into()), ("x-duo-a".into(), "1".into())]);
        assert_eq!(h, hex::encode(Sha512::digest(b"x-duo-a\x001\x00x-duo-b\x002")));
    }

    #[test]
    fn every_version_verifies_and_a_wrong_key_does_not() {
        let date = "Tue, 10 Sep 2024 12:00:00 -0000";
        let r = request(&[("username", "ada")], date);
        let v2 = canonical_v2(&r);
        assert_eq!(verify(&r, &[], "secret", &hmac_sha1_hex("secret", &v2).unwrap()), Some(Version::V2Sha1));
        assert_eq!(verify(&r, &[], "secret", &hmac_sha512_hex("secret", &v2).unwrap()), Some(Version::V2Sha512));
        let json = Request { params: vec![], body: br#"{"username":"ada"}"#, ..r.clone() };
        let v5 = canonical_v5(&json, &[]);
        assert_eq!(verify(&json, &[], "secret", &hmac_sha512_hex("secret", &v5).unwrap()), Some(Version::V5));
        assert_eq!(verify(&r, &[], "other", &hmac_sha1_hex("secret", &v2).unwrap()), None);
        assert_eq!(verify(&r, &[], "secret", "deadbeef"), None);
    }

    #[test]
    fn authorization_headers_split_into_key_and_signature() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("DIXXX:ABCDEF"));
        assert_eq!(parse_authorization(&header), Some(("DIXXX".into(), "abcdef".into())));
        assert_eq!(parse_authorization("Bearer x"), None);
    }

    #[test]
    fn python_dates_parse() {
        assert_eq!(parse_date("Tue, 10 Sep 2024 12:00:00 -0000"), Some(1_725_969_600));
        assert_eq!(parse_date("Tue, 10 Sep 2024 14:00:00 +0200"), Some(1_725_969_600));
        assert_eq!(parse_date("yesterday"), None);
    }
}

//! The Universal Prompt's rules (DUO-API.md §2.4), pure: client assertions, the authorize request
//! JWT, redirect URIs and the id_token's claims. The current time is always passed in.

use serde_json::{Value, json};
use url::Url;

use super::jwt::Claims;

/// Clock leeway for `exp`, as Duo's clients use.
pub const LEEWAY: i64 = 60;
/// Clients sign for at most five minutes; a token that claims to live longer is refused.
pub const MAX_LIFETIME: i64 = 300;
/// How long an authorization code can be exchanged.
pub const CODE_SECONDS: i64 = 60;
/// How long an id_token is valid.
pub const ID_TOKEN_SECONDS: i64 = 300;
pub const STATE_MIN: usize = 16;
pub const STATE_MAX: usize = 1024;
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn text<'a>(claims: &'a Claims, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// `aud` is one of `audiences` (a string, or an array holding one of them).
fn audience_ok(claims: &Claims, audiences: &[String]) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    }
}

/// `exp` is present, not past (with leeway), and not further away than a client may sign for.
fn expiry_ok(claims: &Claims, now: i64) -> Result<(), &'static str> {
    let exp = claims.get("exp").and_then(Value::as_f64).ok_or("the JWT has no exp")? as i64;
    if exp + LEEWAY < now {
        return Err("the JWT has expired");
    }
    if exp > now + MAX_LIFETIME + LEEWAY {
        return Err("the JWT lives longer than five minutes");
    }
    Ok(())
}

/// The audience the client signed (one of ours), once checked. Used as the id_token's issuer, so
/// the client finds the token endpoint it called.
pub fn audience(claims: &Claims, audiences: &[String]) -> Option<String> {
    match claims.get("aud") {
        Some(Value::String(a)) => audiences.iter().find(|x| *x == a).cloned(),
        Some(Value::Array(list)) => {
            list.iter().filter_map(Value::as_str).find_map(|a| audiences.iter().find(|x| *x == a).cloned())
        }
        _ => None,
    }
}

/// A client assertion (health_check, token): `iss` = `sub` = client id, `aud` one of ours, `exp`, `jti`.
pub fn check_assertion(claims: &Claims, client_id: &str, audiences: &[String], now: i64) -> Result<(), &'static str> {
    if text(claims, "iss") != Some(client_id) || text(claims, "sub") != Some(client_id) {
        return Err("iss and sub must be the client id");
    }
    if !audience_ok(claims, audiences) {
        return Err("aud is not this endpoint");
    }
    expiry_ok(claims, now)?;
    if text(claims, "jti").is_none_or(str::is_empty) {
        return Err("the JWT has no jti");
    }
    Ok(())
}

/// What an application asks for in `/oauth/v1/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizeRequest {
    pub redirect_uri: String,
    pub state: String,
    pub username: String,
    pub nonce: Option<String>,
    /// Send the code back as `duo_code` (Duo's clients ask for it) rather than `code`.
    pub use_duo_code: bool,
}

fn length_ok(value: &str) -> bool {
    (STATE_MIN..=STATE_MAX).contains(&value.chars().count())
}

/// The request JWT, signed by the application: response type, scope, client id, audience
/// (the API host), expiry, state, duo_uname and redirect_uri. `query_nonce` is the `nonce`
/// parameter Duo's clients put beside the JWT.
pub fn check_request(
    claims: &Claims,
    client_id: &str,
    audiences: &[String],
    query_nonce: Option<&str>,
    now: i64,
) -> Result<AuthorizeRequest, &'static str> {
    if text(claims, "response_type") != Some("code") {
        return Err("response_type must be code");
    }
    if !text(claims, "scope").is_some_and(|s| s.split(' ').any(|x| x == "openid")) {
        return Err("scope must include openid");
    }
    if text(claims, "client_id") != Some(client_id) || text(claims, "iss").is_some_and(|i| i != client_id) {
        return Err("client_id does not match");
    }
    if !audience_ok(claims, audiences) {
        return Err("aud is not this API host");
    }
    expiry_ok(claims, now)?;
    let state = text(claims, "state").ok_or("the request has no state")?;
    if !length_ok(state) {
        return Err("state must be 16 to 1024 characters");
    }
    let username = text(claims, "duo_uname").filter(|u| !u.trim().is_empty()).ok_or("the request has no duo_uname")?;
    let redirect_uri = text(claims, "redirect_uri").ok_or("the request has no redirect_uri")?;
    let nonce = text(claims, "nonce").or(query_nonce).filter(|n| !n.is_empty());
    if nonce.is_some_and(|n| !length_ok(n)) {
        return Err("nonce must be 16 to 1024 characters");
    }
    Ok(AuthorizeRequest {
        redirect_uri: redirect_uri.to_string(),
        state: state.to_string(),
        username: username.to_string(),
        nonce: nonce.map(str::to_string),
        use_duo_code: claims.get("use_duo_code_attribute").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// A redirect URI an administrator may register: https, or http on the loopback interface
/// (development and tests); no fragment, no user name or password.
pub fn parse_redirect_uri(value: &str) -> Result<String, &'static str> {
    let url = Url::parse(value.trim()).map_err(|_| "not a URL")?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err("use https (http only for 127.0.0.1 or localhost)");
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("no #fragment and no user name or password");
    }
    Ok(url.to_string())
}

/// Where the browser goes back to: the registered URI with the code (or an error) and the state.
pub fn redirect_back(redirect_uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    url.query_pairs_mut().extend_pairs(params);
    Some(url.to_string())
}

/// Everything the id_token says about one successful prompt.
pub struct Outcome<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub application: &'a str,
    pub username: &'a str,
    pub user_id: &'a str,
    pub nonce: Option<&'a str>,
    pub factor: &'a str,
    pub auth_time: i64,
    pub txid: &'a str,
    pub ip: Option<&'a str>,
}

/// The id_token claims as Duo's look: iss (the token endpoint), aud (client id), sub and
/// preferred_username (the username), exp, iat, auth_time, nonce, auth_result, auth_context.
pub fn id_token_claims(o: &Outcome<'_>, now: i64) -> Claims {
    let mut claims = json!({
        "iss": o.issuer,
        "aud": o.client_id,
        "sub": o.username,
        "preferred_username": o.username,
        "exp": now + ID_TOKEN_SECONDS,
        "iat": now,
        "auth_time": o.auth_time,
        "auth_result": { "result": "allow", "status": "allow", "status_msg": "Login Successful" },
        "auth_context": {
            "event_type": "authentication",
            "result": "success",
            "reason": "user_approved",
            "factor": o.factor,
            "timestamp": o.auth_time,
            "txid": o.txid,
            "user": { "name": o.username, "key": o.user_id },
            "application": { "name": o.application, "key": o.client_id },
            "access_device": { "ip": o.ip },
        },
    });
    if let Some(nonce) = o.nonce {
        claims["nonce"] = json!(nonce);
    }
    claims.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "DIXXXXXXXXXXXXXXXXXX";

    fn claims(v: Value) -> Claims {
        v.as_object().cloned().unwrap()
    }

    fn request(now: i64) -> Value {
        json!({
            "scope": "openid", "redirect_uri": "https://app.example.edu/cb", "client_id": ID, "iss": ID,
            "aud": "https://mfa.example.edu", "exp": now + 300, "state": "s".repeat(36),
            "response_type": "code", "duo_uname": "ada", "use_duo_code_attribute": true,
        })
    }

    #[test]
    fn a_request_like_duos_client_sends_is_accepted() {
        let aud = vec!["https://mfa.example.edu".to_string()];
        let r = check_request(&claims(request(1000)), ID, &aud, Some(&"n".repeat(36)), 1000).unwrap();
        assert_eq!(r.username, "ada");
        assert_eq!(r.nonce.as_deref(), Some("n".repeat(36).as_str()));
        assert!(r.use_duo_code);
    }

    #[test]
    fn requests_with_a_wrong_claim_are_refused() {
        let aud = vec!["https://mfa.example.edu".to_string()];
        let with = |k: &str, v: Value| {
            let mut c = request(1000);
            c[k] = v;
            check_request(&claims(c), ID, &aud, None, 1000)
        };
        assert!(with("client_id", json!("DIOTHER")).is_err());
        assert!(with("aud", json!("https://evil.example")).is_err());
        assert!(with("exp", json!(1000 - 61)).is_err(), "expired beyond the leeway");
        assert!(with("exp", json!(1000 - 30)).is_ok(), "inside the leeway");
        assert!(with("exp", json!(1000 + 3600)).is_err(), "too long-lived");
        assert!(with("state", json!("short")).is_err());
        assert!(with("state", json!("s".repeat(1025))).is_err());
        assert!(with("duo_uname", json!("")).is_err());
        assert!(with("response_type", json!("token")).is_err());
        assert!(with("scope", json!("email")).is_err());
        assert!(with("nonce", json!("tiny")).is_err());
    }

    #[test]
    fn assertions_need_our_audience_and_the_client_id() {
        let aud = vec!["https://mfa.example.edu/oauth/v1/token".to_string()];
        let ok = json!({"iss": ID, "sub": ID, "aud": aud[0], "exp": 1300, "jti": "j".repeat(36)});
        assert!(check_assertion(&claims(ok.clone()), ID, &aud, 1000).is_ok());
        assert_eq!(audience(&claims(ok.clone()), &aud).as_deref(), Some(aud[0].as_str()));
        let mut bad = ok.clone();
        bad["sub"] = json!("DIOTHER");
        assert!(check_assertion(&claims(bad), ID, &aud, 1000).is_err());
        let mut bad = ok.clone();
        bad["aud"] = json!("https://mfa.example.edu/oauth/v1/health_check");
        assert!(check_assertion(&claims(bad), ID, &aud, 1000).is_err());
        let mut bad = ok;
        bad.as_object_mut().unwrap().remove("jti");
        assert!(check_assertion(&claims(bad), ID, &aud, 1000).is_err());
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        assert!(parse_redirect_uri("https://app.example.edu/duo-callback").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:5000/cb").is_ok());
        assert!(parse_redirect_uri("http://app.example.edu/cb").is_err());
        assert!(parse_redirect_uri("https://app.example.edu/cb#x").is_err());
        assert!(parse_redirect_uri("https://u:p@app.example.edu/cb").is_err());
        assert!(parse_redirect_uri("javascript:alert(1)").is_err());
        let back = redirect_back("https://app.example.edu/cb?x=1", &[("duo_code", "abc"), ("state", "s t")]).unwrap();
        assert_eq!(back, "https://app.example.edu/cb?x=1&duo_code=abc&state=s+t");
    }
}

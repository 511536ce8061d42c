//! The Universal Prompt (`/oauth/v1/…`) as a web application uses it: HS512 client assertions and
//! request JWTs built here (independently of the server's code), the prompt, and the code exchange.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::helpers::{TestApp, location, now, spawn_app};

pub(crate) const REDIRECT: &str = "https://app.example.edu/duo-callback";
const STATE: &str = "state-0123456789-abcdefghijklmnopqrst";
const NONCE: &str = "nonce-0123456789-abcdefghijklmnopqrst";

pub(crate) struct WebApp {
    pub ikey: String,
    pub skey: String,
}

/// A web application with its keys and registered redirect URIs.
pub(crate) async fn add_web_app(app: &TestApp, name: &str, redirect_uris: &[&str]) -> WebApp {
    let id = twofold::secrets::new_id();
    let (ikey, skey) = (twofold::duo::keys::new_integration_key(), twofold::duo::keys::new_secret_key());
    let keys = app.keys.clone();
    let sealed = keys.seal(&format!("app-secret:{id}"), skey.as_bytes()).unwrap();
    twofold::store::applications::insert(&app.db, &id, name, "web", &ikey, &sealed, now()).await.unwrap();
    let uris: Vec<String> = redirect_uris.iter().map(|u| u.to_string()).collect();
    twofold::store::applications::set_redirect_uris(&app.db, &id, &uris).await.unwrap();
    WebApp { ikey, skey }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hmac512(secret: &str, input: &str) -> Vec<u8> {
    let mut m = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(input.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A compact JWS, HS512, written out from RFC 7515 (as PyJWT makes them).
pub(crate) fn hs512(claims: &Value, secret: &str) -> String {
    let input = format!("{}.{}", b64(br#"{"alg":"HS512","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    format!("{input}.{}", b64(&hmac512(secret, &input)))
}

/// The claims of an HS512 token, after checking its signature with `secret`.
fn verified_claims(token: &str, secret: &str) -> Value {
    let (input, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(b64(&hmac512(secret, input)), signature, "signed with the client secret");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(input.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS512");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(input.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

impl WebApp {
    fn assertion_for(&self, app: &TestApp, path: &str, secret: &str) -> String {
        let claims = json!({
            "iss": self.ikey, "sub": self.ikey, "aud": app.url(path), "exp": now() + 300,
            // A fresh jti each time, as Duo's clients make one (an assertion is used once).
            "jti": twofold::secrets::new_id(),
        });
        hs512(&claims, secret)
    }

    /// The request JWT Duo's clients send, with some claims replaced.
    pub(crate) fn request_jwt(&self, app: &TestApp, changes: Value) -> String {
        let mut claims = json!({
            "scope": "openid", "redirect_uri": REDIRECT, "client_id": self.ikey, "iss": self.ikey,
            "aud": app.address, "exp": now() + 300, "state": STATE, "response_type": "code",
            "duo_uname": "ada", "use_duo_code_attribute": true,
        });
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        hs512(&claims, &self.skey)
    }

    pub(crate) fn authorize_path(&self, request: &str) -> String {
        format!("/oauth/v1/authorize?response_type=code&client_id={}&request={request}&nonce={NONCE}", self.ikey)
    }

    fn token_request(&self, app: &TestApp, code: &str, redirect_uri: &str, secret: &str) -> reqwest::RequestBuilder {
        let assertion = self.assertion_for(app, "/oauth/v1/token", secret);
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", &self.ikey),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
        ];
        reqwest::Client::new().post(app.url("/oauth/v1/token")).query(&params)
    }

    async fn token(&self, app: &TestApp, code: &str, redirect_uri: &str, secret: &str) -> (u16, Value) {
        let r = self.token_request(app, code, redirect_uri, secret).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

/// Ten backup codes for a signed-in user (passcodes the prompt accepts without waiting for a TOTP step).
pub(crate) async fn backup_codes(app: &TestApp) -> Vec<String> {
    let page = app.post_form("/settings/backup-codes", &[]).await.text().await.unwrap();
    page.split("<li><code>").skip(1).map(|s| s.split("</code>").next().unwrap().replace(' ', "")).collect()
}

/// A fresh browser goes through authorize → prompt → continue; returns the code and the state
/// from the address it is sent back to, and that browser.
async fn prompt_round_trip(app: &TestApp, web: &WebApp, passcode: &str) -> (String, String, TestApp) {
    let browser = app.other_browser();
    let r = browser.get(&web.authorize_path(&web.request_jwt(app, json!({})))).await;
    assert_eq!(location(&r), "/prompt");
    assert_eq!(browser.get("/settings").await.status(), 303, "not a portal session");
    let r = browser.post_form("/prompt/passcode", &[("passcode", passcode)]).await;
    let next = location(&r);
    assert!(next.starts_with("/oauth/v1/continue?code="), "{next}");
    let r = browser.get(&next).await;
    assert_eq!(r.status(), 200);
    let refresh = r.headers()["refresh"].to_str().unwrap().to_string();
    let target = url::Url::parse(refresh.strip_prefix("0; url=").unwrap()).unwrap();
    assert!(target.as_str().starts_with(REDIRECT), "{target}");
    assert!(r.text().await.unwrap().contains("Continue to Wiki"));
    let q = |name: &str| target.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    (q("duo_code"), q("state"), browser)
}

#[test]
fn jwts_built_here_match_pyjwt() {
    // jwt.encode({"sub": "ada"}, "secret", algorithm="HS512") with PyJWT 2.15.
    assert_eq!(
        hs512(&json!({"sub": "ada"}), "secret"),
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEifQ.\
         wXvj4hys5_K70HtSUuqDO1amglMfY7UV_LuEkJTJ10KGYY-0SuYQEmNIEXorKLhPgU65wMV6yd_1_ElnBLV7SA"
    );
}

#[tokio::test]
async fn health_check_accepts_a_good_client_assertion_and_refuses_bad_ones() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    let post = |client_id: String, assertion: String| {
        let url = app.url("/oauth/v1/health_check");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[("client_id", client_id), ("client_assertion", assertion)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let good = web.assertion_for(&app, "/oauth/v1/health_check", &web.skey);
    let (status, body) = post(web.ikey.clone(), good.clone()).await;
    assert_eq!((status, body["stat"].as_str()), (200, Some("OK")), "{body}");
    assert!((body["response"]["timestamp"].as_i64().unwrap() - now()).abs() < 5);
    // The same assertion (same jti) again: refused, it works once.
    assert_eq!(post(web.ikey.clone(), good).await.0, 401, "a client assertion is used once");

    let wrong_secret = web.assertion_for(&app, "/oauth/v1/health_check", &"x".repeat(40));
    let (status, body) = post(web.ikey.clone(), wrong_secret).await;
    assert_eq!((status, body["stat"].as_str()), (401, Some("FAIL")));
    let wrong_audience = web.assertion_for(&app, "/oauth/v1/token", &web.skey);
    assert_eq!(post(web.ikey.clone(), wrong_audience).await.0, 401);
    let expired = hs512(
        &json!({"iss": web.ikey, "sub": web.ikey, "aud": app.url("/oauth/v1/health_check"), "exp": now() - 120, "jti": "j"}),
        &web.skey,
    );
    assert_eq!(post(web.ikey.clone(), expired).await.0, 401, "expired beyond the minute of leeway");
    let unknown = twofold::duo::keys::new_integration_key();
    let good = web.assertion_for(&app, "/oauth/v1/health_check", &web.skey);
    assert_eq!(post(unknown, good).await.0, 401);
}

#[tokio::test]
async fn authorize_refuses_requests_it_cannot_trust() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    app.add_user("ada").await;
    let refused = |path: String, why: &'static str| {
        let browser = app.other_browser();
        async move {
            let r = browser.get(&path).await;
            assert_eq!(r.status(), 400, "{why}");
            let page = r.text().await.unwrap();
            assert!(page.contains("This sign-in request cannot be used"), "{why}: {page}");
            page
        }
    };
    let wrong_key = WebApp { ikey: web.ikey.clone(), skey: "y".repeat(40) };
    refused(web.authorize_path(&wrong_key.request_jwt(&app, json!({}))), "bad signature").await;
    refused(web.authorize_path(&web.request_jwt(&app, json!({"exp": now() - 120}))), "expired").await;
    let other_id = twofold::duo::keys::new_integration_key();
    refused(web.authorize_path(&web.request_jwt(&app, json!({"client_id": other_id}))), "wrong client id").await;
    let page = refused(
        web.authorize_path(&web.request_jwt(&app, json!({"redirect_uri": "https://evil.example/cb"}))),
        "unregistered redirect_uri",
    )
    .await;
    assert!(page.contains("not registered"));
    refused(web.authorize_path(&web.request_jwt(&app, json!({"state": "short"}))), "short state").await;
    refused(web.authorize_path(&web.request_jwt(&app, json!({"duo_uname": ""}))), "no duo_uname").await;
    refused(web.authorize_path(&web.request_jwt(&app, json!({"aud": "https://evil.example"}))), "audience").await;
    let short_nonce = format!(
        "{}&nonce=tiny",
        web.authorize_path(&web.request_jwt(&app, json!({}))).replace(&format!("&nonce={NONCE}"), "")
    );
    refused(short_nonce, "short nonce").await;

    let log = app.table_text("audit_log", &["event", "outcome", "detail", "application"]).await;
    assert!(log.contains("refused: The request is not signed by the application"), "{log}");
    assert!(log.contains("has not registered") && log.contains("Wiki"), "audited with the application");

    // A user Twofold does not know goes back to the application with access_denied and the state.
    let r = app.other_browser().get(&web.authorize_path(&web.request_jwt(&app, json!({"duo_uname": "nobody"})))).await;
    let back = location(&r);
    assert!(back.starts_with(&format!("{REDIRECT}?error=access_denied")), "{back}");
    assert!(back.contains(&format!("state={STATE}")));
}

#[tokio::test]
async fn the_prompt_sends_the_user_back_with_a_code_that_is_exchanged_once() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    let other = add_web_app(&app, "Mail", &[REDIRECT]).await;
    let (ada, _) = app.signed_in_user("ada").await;
    let codes = backup_codes(&app).await;
    let (code, state, browser) = prompt_round_trip(&app, &web, &codes[0]).await;
    assert_eq!(state, STATE);
    let r = browser.get("/settings").await;
    assert_eq!(location(&r), "/login", "the prompt's session ended; it never became a portal session");

    let (status, body) = web.token(&app, &code, REDIRECT, &"z".repeat(40)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "wrong client secret");
    let log = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(log.contains("universal.token") && log.contains("invalid_client"), "{log}");
    let (status, body) = other.token(&app, &code, REDIRECT, &other.skey).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another application's code");

    let (status, body) = web.token(&app, &code, REDIRECT, &web.skey).await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(body["id_token"].as_str().unwrap(), &web.skey);
    assert_eq!(claims["aud"], web.ikey.as_str());
    assert_eq!(claims["iss"], app.url("/oauth/v1/token"));
    assert_eq!(claims["sub"], "ada");
    assert_eq!(claims["preferred_username"], "ada");
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["auth_result"]["result"], "allow");
    assert_eq!(claims["auth_context"]["application"]["key"], web.ikey.as_str());
    assert!(claims["exp"].as_i64().unwrap() > now() && (claims["iat"].as_i64().unwrap() - now()).abs() < 5);

    let (status, body) = web.token(&app, &code, REDIRECT, &web.skey).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a code works once");

    let events = app.audit_events(&ada.id).await;
    for expected in [("universal.authorize", "info"), ("mfa.backup_code", "success"), ("universal.token", "success")] {
        assert!(events.iter().any(|(e, o)| (e.as_str(), o.as_str()) == expected), "{expected:?} in {events:?}");
    }
}

#[tokio::test]
async fn expired_codes_and_another_redirect_uri_are_refused() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT, "https://app.example.edu/other"]).await;
    app.signed_in_user("ada").await;
    let codes = backup_codes(&app).await;
    let (code, _, _) = prompt_round_trip(&app, &web, &codes[0]).await;
    app.sql(&format!("UPDATE universal_codes SET expires_at = {}", now() - 1)).await;
    let (status, body) = web.token(&app, &code, REDIRECT, &web.skey).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "expired after 60 seconds");

    let (code, _, _) = prompt_round_trip(&app, &web, &codes[1]).await;
    let (status, _) = web.token(&app, &code, "https://app.example.edu/other", &web.skey).await;
    assert_eq!(status, 400, "the redirect_uri must be the one the code was issued for");
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_have_exactly_one_winner() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    app.signed_in_user("ada").await;
    let codes = backup_codes(&app).await;
    let (code, _, _) = prompt_round_trip(&app, &web, &codes[0]).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| web.token_request(&app, &code, REDIRECT, &web.skey))
        .map(|r| tokio::spawn(async move { r.send().await.unwrap().status().as_u16() }))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push((t.await.unwrap(), ()));
    }
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 400));
}

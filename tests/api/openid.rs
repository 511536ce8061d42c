//! The OpenID provider (issue 19) over HTTP: Microsoft Entra ID's External Authentication Methods
//! against a stand-in for Entra written with PyJWT (tests/entra/entra.py: it signs the hints and
//! verifies the ID token Twofold posts back with Twofold's published keys), and the code flow with
//! PKCE of an ordinary application. The same flows in headless Chromium are in `browser_openid`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, TestApp, location, now, spawn_app_with};

pub(crate) const TENANT: &str = "11111111-2222-3333-4444-555555555555";

/// The Entra stand-in, stopped when dropped.
pub(crate) struct Entra {
    child: Child,
    pub port: u16,
    pub client_id: String,
}

impl Drop for Entra {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Entra {
    fn start(client_id: &str) -> Self {
        let mut child = Command::new("python3")
            .args(["tests/entra/entra.py", client_id])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/entra/entra.py (python3 -m pip install 'PyJWT[crypto]')");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("entra.py printed its port, not {line:?}"));
        Self { child, port, client_id: client_id.into() }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn callback(&self) -> String {
        self.url("/callback")
    }

    /// A hint for `user`, with the stand-in's query options (`exp`, `aud`, `iss`, `forge`).
    pub(crate) async fn hint(&self, user: &str, options: &str) -> String {
        let url = self.url(&format!("/hint?user={user}&{options}"));
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }

    pub(crate) async fn result(&self) -> Value {
        reqwest::get(self.url("/result")).await.unwrap().json().await.unwrap()
    }
}

/// Twofold trusting the stand-in as the institution's Entra tenant, with an Entra application.
pub(crate) async fn entra_app() -> (TestApp, Entra) {
    let client_id = twofold::duo::keys::new_integration_key();
    let entra = Entra::start(&client_id);
    let port = entra.port;
    let app = spawn_app_with(move |s| {
        s.openid.entra.tenant_id = Some(TENANT.into());
        s.openid.entra.issuer = Some(format!("http://127.0.0.1:{port}/{TENANT}/v2.0"));
        s.openid.entra.keys_url = Some(format!("http://127.0.0.1:{port}/keys"));
    })
    .await;
    register(&app, "Microsoft 365", "entra", &client_id, &[&entra.callback()]).await;
    (app, entra)
}

/// An application of the provider with its client id; returns the client secret.
pub(crate) async fn register(app: &TestApp, name: &str, kind: &str, client_id: &str, redirect_uris: &[&str]) -> String {
    let id = twofold::secrets::new_id();
    let secret = twofold::duo::keys::new_secret_key();
    let sealed = app.keys.seal(&format!("app-secret:{id}"), secret.as_bytes()).unwrap();
    twofold::store::applications::insert(&app.db, &id, name, kind, client_id, &sealed, now()).await.unwrap();
    let uris: Vec<String> = redirect_uris.iter().map(|u| u.to_string()).collect();
    twofold::store::applications::set_redirect_uris(&app.db, &id, &uris).await.unwrap();
    secret
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The value of the hidden field `name` on a form-post page.
fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].replace("&#34;", "\"").replace("&#39;", "'").replace("&amp;", "&"))
}

async fn entra_authorize(browser: &TestApp, entra: &Entra, hint: &str) -> reqwest::Response {
    let q = query(&[
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("client_id", &entra.client_id),
        ("redirect_uri", &entra.callback()),
        ("nonce", "nonce-1"),
        ("state", "state-1"),
        ("id_token_hint", hint),
    ]);
    browser.get(&format!("/oidc/authorize?{q}")).await
}

#[tokio::test]
async fn entra_sends_a_user_through_the_prompt_and_verifies_the_id_token_posted_back() {
    let (app, entra) = entra_app().await;
    app.signed_in_user("ada").await;
    let codes = crate::universal::backup_codes(&app).await;
    let browser = app.other_browser();
    let hint = entra.hint("ada", "").await;
    // The stand-in learns the nonce and the hint's subject as Entra would (its /start page).
    let start = format!("/start?twofold={}&hint={hint}&nonce=nonce-1&state=state-1", app.address);
    reqwest::get(entra.url(&start)).await.unwrap();
    let r = entra_authorize(&browser, &entra, &hint).await;
    assert_eq!(location(&r), "/prompt");
    let prompt = browser.get_html("/prompt").await;
    assert!(prompt.contains("Verify it's you to continue to <strong>Microsoft 365</strong>"), "{prompt}");
    assert_eq!(browser.get("/settings").await.status(), 303, "not a portal session");
    let r = browser.post_form("/prompt/passcode", &[("passcode", &codes[0])]).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains(&format!("form-action http://127.0.0.1:{}", entra.port)), "{csp}");
    let page = r.text().await.unwrap();
    let id_token = hidden(&page, "id_token").expect("the page posts an id_token");
    assert_eq!(hidden(&page, "state").as_deref(), Some("state-1"));
    // What the browser does next: post it to Entra, which verifies it with Twofold's keys.
    reqwest::Client::new()
        .post(entra.callback())
        .form(&[("id_token", id_token.as_str()), ("state", "state-1")])
        .send()
        .await
        .unwrap();
    let result = entra.result().await;
    assert_eq!(result["valid"], true, "{result}");
    assert_eq!(result["claims"]["amr"], serde_json::json!(["otp"]));
    assert_eq!(result["claims"]["sub"], "entra-subject-of-ada");
    assert_eq!(browser.get("/prompt").await.status(), 303, "the session ended with the answer");
}

#[tokio::test]
async fn forged_expired_and_foreign_hints_are_refused_back_to_entra() {
    let (app, entra) = entra_app().await;
    app.signed_in_user("ada").await;
    let issuer = format!("http://127.0.0.1:{}/other-tenant/v2.0", entra.port);
    for (options, why) in [
        ("forge=1", "signature does not verify"),
        ("exp=-3600", "has expired"),
        ("aud=someone-else", "is for another client"),
        (&format!("iss={issuer}") as &str, "another issuer"),
    ] {
        let hint = entra.hint("ada", options).await;
        let r = entra_authorize(&app.other_browser(), &entra, &hint).await;
        assert_eq!(r.status(), 200, "{options}");
        let page = r.text().await.unwrap();
        assert_eq!(hidden(&page, "error").as_deref(), Some("invalid_request"), "{options}: {page}");
        assert!(hidden(&page, "error_description").unwrap().contains(why), "{options}: {page}");
    }
    // A hint that expired a moment ago is still accepted (Entra sends them close to expiry).
    let hint = entra.hint("ada", "exp=-30").await;
    assert_eq!(location(&entra_authorize(&app.other_browser(), &entra, &hint).await), "/prompt");
    // An unknown user goes back as access_denied; an unregistered address gets our page.
    let hint = entra.hint("nobody", "").await;
    let page = entra_authorize(&app.other_browser(), &entra, &hint).await.text().await.unwrap();
    assert_eq!(hidden(&page, "error").as_deref(), Some("access_denied"));
    let q = query(&[("client_id", &entra.client_id), ("redirect_uri", "https://evil.example/cb"), ("scope", "openid")]);
    assert_eq!(app.get(&format!("/oidc/authorize?{q}")).await.status(), 400);
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(audit.contains("hint refused: the id_token_hint's signature does not verify"), "{audit}");
}

fn pkce() -> (String, String) {
    let verifier = format!("{}{}", twofold::secrets::random_token(), twofold::secrets::random_token());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

const RP_CALLBACK: &str = "http://127.0.0.1:9/callback";

/// An ordinary application's code flow through the password and the prompt: the code.
async fn code_for(app: &TestApp, client_id: &str, challenge: &str, passcode: &str) -> (TestApp, String) {
    let browser = app.other_browser();
    let q = query(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid profile email"),
        ("state", "rp-state"),
        ("nonce", "rp-nonce"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    assert_eq!(location(&browser.get(&format!("/oidc/authorize?{q}")).await), "/login");
    assert_eq!(location(&browser.login("ada", PASSWORD).await), "/prompt");
    let next = location(&browser.post_form("/prompt/passcode", &[("passcode", passcode)]).await);
    assert!(next.starts_with("/oauth/v1/continue?code="), "{next}");
    let page = browser.get(&next).await;
    let refresh = page.headers()["refresh"].to_str().unwrap().to_string();
    let target = url::Url::parse(refresh.trim_start_matches("0; url=")).unwrap();
    assert!(target.as_str().starts_with(RP_CALLBACK));
    let param = |n: &str| target.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("rp-state"));
    (browser, param("code").unwrap())
}

async fn token(app: &TestApp, client_id: &str, secret: &str, code: &str, verifier: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/oidc/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP_CALLBACK),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn claims(id_token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id_token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn the_code_flow_with_pkce_gives_tokens_once_and_userinfo_by_scope() {
    let app = spawn_app_with(|_| {}).await;
    let (ada, _) = app.signed_in_user("ada").await;
    let codes = crate::universal::backup_codes(&app).await;
    let client_id = twofold::duo::keys::new_integration_key();
    let secret = register(&app, "Wiki", "oidc", &client_id, &[RP_CALLBACK]).await;
    let (verifier, challenge) = pkce();
    let (_, code) = code_for(&app, &client_id, &challenge, &codes[0]).await;
    assert_eq!(token(&app, &client_id, "wrong secret", &code, &verifier).await.0, 401);
    let (status, body) = token(&app, &client_id, &secret, &code, "not-the-verifier-0123456789-0123456789-0123").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a wrong verifier spends the code");
    let (verifier, challenge) = pkce();
    let (_, code) = code_for(&app, &client_id, &challenge, &codes[1]).await;
    let (status, body) = token(&app, &client_id, &secret, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        (id["sub"].as_str(), id["aud"].as_str(), id["nonce"].as_str()),
        (Some(ada.id.as_str()), Some(client_id.as_str()), Some("rp-nonce"))
    );
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!((id["iss"].as_str(), id["email"].as_str()), (Some(app.address.as_str()), Some("ada@example.edu")));
    assert_eq!(token(&app, &client_id, &secret, &code, &verifier).await.0, 400, "a code works once");
    let info: Value = reqwest::Client::new()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((info["sub"].as_str(), info["name"].as_str()), (Some(ada.id.as_str()), Some("ada Tester")));
    let r = reqwest::Client::new().get(app.url("/oidc/userinfo")).bearer_auth("nonsense").send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The key set holds the key the token names.
    let jwks: Value = reqwest::get(app.url("/oidc/jwks")).await.unwrap().json().await.unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD.decode(body["id_token"].as_str().unwrap().split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn a_code_flow_without_pkce_or_with_an_unknown_address_is_refused() {
    let app = spawn_app_with(|_| {}).await;
    let client_id = twofold::duo::keys::new_integration_key();
    register(&app, "Wiki", "oidc", &client_id, &[RP_CALLBACK]).await;
    let q = query(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let back = location(&app.get(&format!("/oidc/authorize?{q}")).await);
    assert!(
        back.starts_with(RP_CALLBACK) && back.contains("error=invalid_request") && back.contains("state=s"),
        "{back}"
    );
    let q = query(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ("scope", "openid"),
    ]);
    let r = app.get(&format!("/oidc/authorize?{q}")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("has not registered"));
    let q = query(&[
        ("response_type", "id_token"),
        ("client_id", &client_id),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid"),
    ]);
    assert!(location(&app.get(&format!("/oidc/authorize?{q}")).await).contains("error=unsupported_response_type"));
    let discovery: Value =
        reqwest::get(app.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], app.address);
    assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]));
}

#[tokio::test]
async fn signing_keys_rotate_and_the_previous_key_stays_published() {
    let app = spawn_app_with(|s| s.openid.key_rotation_days = 30).await;
    let jwks: Value = reqwest::get(app.url("/oidc/jwks")).await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let sealed = app.table_text("openid_signing_keys", &["private_sealed"]).await;
    assert!(!sealed.contains("PRIVATE KEY"), "the key is sealed at rest");
    app.sql(&format!("UPDATE openid_signing_keys SET created_at = {}", now() - 31 * 86_400)).await;
    let jwks: Value = reqwest::get(app.url("/oidc/jwks")).await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "a new key, and the old one still published");
    app.sql(&format!(
        "UPDATE openid_signing_keys SET created_at = {} WHERE created_at < {}",
        now() - 61 * 86_400,
        now() - 86_400
    ))
    .await;
    let jwks: Value = reqwest::get(app.url("/oidc/jwks")).await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "keys older than two periods are no longer published");
}

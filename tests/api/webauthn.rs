//! Security keys over HTTP with a software authenticator (soft_key.rs): registration in the
//! wizard, sign-in at the prompt, and every way a response must be refused (T24, T25).

use serde_json::Value;
use twofold::config::Settings;
use twofold::config::webauthn::{CounterRegression, UserVerification};

use crate::helpers::{PASSWORD, TestApp, location, spawn_app_with};
use crate::soft_key::{SoftKey, tamper};

/// An app whose public URL is `http://localhost:<port>` (browsers refuse IP addresses as relying
/// parties, so keys are offered only on a domain name).
pub async fn key_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    spawn_app_with(|s| {
        s.bind = format!("127.0.0.1:{port}");
        s.public_url = Some(format!("http://localhost:{port}"));
        configure(s);
    })
    .await
}

pub(crate) async fn key_app() -> TestApp {
    key_app_with(|_| {}).await
}

pub(crate) fn origin(app: &TestApp) -> String {
    format!("http://localhost:{}", app.port)
}

pub(crate) async fn options(app: &TestApp, path: &str) -> Value {
    let response = app.post_form(path, &[]).await;
    assert_eq!(response.status(), 200, "options from {path}");
    response.json().await.unwrap()
}

/// Wizard up to "Use a security key"; returns the registration options.
pub(crate) async fn start_key_wizard(app: &TestApp) -> Value {
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    let response = app.post_form("/enroll/device-type", &[("kind", "security_key")]).await;
    assert_eq!(location(&response), "/enroll/security-key");
    let page = app.get_html("/enroll/security-key").await;
    assert!(page.contains("Use a security key") && page.contains("/static/webauthn.js"));
    options(app, "/enroll/security-key/options").await
}

pub(crate) async fn submit_registration(app: &TestApp, response: &Value) -> reqwest::Response {
    app.post_form("/enroll/security-key", &[("credential", &response.to_string())]).await
}

/// A user who logged in with the password and registered `key` (named "YubiKey").
pub(crate) async fn user_with_key(app: &TestApp, username: &str, key: &mut SoftKey) -> String {
    let user = app.add_user(username).await;
    assert_eq!(location(&app.login(username, PASSWORD).await), "/prompt");
    let opts = start_key_wizard(app).await;
    let response = submit_registration(app, &key.register(&opts)).await;
    assert_eq!(location(&response), "/enroll/options");
    let response = app.post_form("/enroll/options", &[("name", "YubiKey"), ("login_action", "ask")]).await;
    assert_eq!(location(&response), "/enroll/done");
    user.id
}

/// A fresh browser signed in with the password, at the prompt.
pub(crate) async fn at_prompt(app: &TestApp, username: &str) -> TestApp {
    let b = app.other_browser();
    assert_eq!(location(&b.login(username, PASSWORD).await), "/prompt");
    b
}

pub(crate) async fn submit_assertion(app: &TestApp, response: &Value) -> reqwest::Response {
    app.post_form("/prompt/security-key", &[("credential", &response.to_string())]).await
}

pub(crate) async fn successes(app: &TestApp, user_id: &str) -> usize {
    app.audit_events(user_id).await.iter().filter(|(e, o)| e == "mfa.security_key" && o == "success").count()
}

#[tokio::test]
async fn a_security_key_is_registered_in_the_wizard_and_signs_in_at_the_prompt() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;

    let b = at_prompt(&app, "ada").await;
    let prompt = b.get_html("/prompt").await;
    assert!(prompt.contains("Use a security key"), "the prompt offers the key");
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(opts["publicKey"]["allowCredentials"][0]["id"], key.id_text(), "the user's key is allowed");
    let response = submit_assertion(&b, &key.assert(&opts)).await;
    assert_eq!(location(&response), "/prompt/trust", "signed in exactly as with a passcode");
    assert_eq!(successes(&app, &user_id).await, 1);

    let settings = b.get_html("/settings").await;
    assert!(settings.contains("YubiKey") && settings.contains("Security key"), "listed with the devices");
    let stored = app.table_text("webauthn_credentials", &["credential_id", "sealed_credential"]).await;
    assert!(stored.contains(&key.id_text()));
    assert!(!stored.contains("ES256") && !stored.contains("SECP256R1"), "the credential is sealed at rest");
}

#[tokio::test]
async fn the_security_key_choice_is_hidden_without_a_domain_name() {
    let app = spawn_app_with(|_| {}).await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    app.post_form("/enroll/start", &[]).await;
    let page = app.get_html("/enroll/device-type").await;
    assert!(page.contains("Mobile phone") && !page.contains("Security key"), "{page}");
}

#[tokio::test]
async fn keys_already_registered_are_excluded_and_cannot_be_added_twice() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/prompt/trust");

    let opts = start_key_wizard(&b).await;
    assert_eq!(opts["publicKey"]["excludeCredentials"][0]["id"], key.id_text());
    let response = submit_registration(&b, &key.register(&opts)).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    let alert = body.split("role=\"alert\"").nth(1).unwrap_or_default().split('<').next().unwrap_or_default();
    assert_eq!(status, 409, "{alert}");
    assert!(alert.contains("already registered"));
}

#[tokio::test]
async fn a_registration_for_another_origin_or_relying_party_is_refused() {
    let app = key_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    for (origin, rp_id) in [("https://evil.example", None), ("http://localhost:1", None), ("", Some("evil.example"))] {
        let opts = start_key_wizard(&app).await;
        let mut key = SoftKey::new(&format!("http://localhost:{}", app.port), 2);
        if !origin.is_empty() {
            key.origin = origin.to_string();
        }
        if let Some(rp) = rp_id {
            key.rp_id = rp.to_string();
        }
        let response = submit_registration(&app, &key.register(&opts)).await;
        assert_eq!(response.status(), 422, "{origin} {rp_id:?}");
        app.post_form("/enroll/back", &[]).await;
    }
    assert_eq!(app.table_text("webauthn_credentials", &["id"]).await, "", "nothing stored");
}

#[tokio::test]
async fn an_assertion_for_another_origin_or_relying_party_is_refused() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;

    key.origin = "https://evil.example".into();
    let opts = options(&b, "/prompt/security-key/options").await;
    let response = submit_assertion(&b, &key.assert(&opts)).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("different website"));

    key.origin = origin(&app);
    key.rp_id = "evil.example".into();
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(submit_assertion(&b, &key.assert(&opts)).await.status(), 422);
    assert_eq!(successes(&app, &user_id).await, 0);
}

#[tokio::test]
async fn a_challenge_is_used_up_by_the_first_answer_even_a_wrong_one() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;

    let opts = options(&b, "/prompt/security-key/options").await;
    let good = key.assert(&opts);
    let mut bad = good.clone();
    tamper(&mut bad, "signature");
    assert_eq!(submit_assertion(&b, &bad).await.status(), 422, "a bad signature is refused");
    let response = submit_assertion(&b, &good).await;
    assert_eq!(response.status(), 422, "the ceremony was consumed before verification");
    assert!(response.text().await.unwrap().contains("expired or was already used"));
    assert_eq!(successes(&app, &user_id).await, 0);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    let answer = key.assert(&opts);
    assert_eq!(location(&submit_assertion(&b, &answer).await), "/prompt/trust");

    // An attacker with the password replays the captured answer, with and without a new challenge.
    let c = at_prompt(&app, "ada").await;
    assert_eq!(submit_assertion(&c, &answer).await.status(), 422, "no ceremony");
    options(&c, "/prompt/security-key/options").await;
    assert_eq!(submit_assertion(&c, &answer).await.status(), 422, "the old challenge");
    assert_eq!(successes(&app, &user_id).await, 1);
}

#[tokio::test]
async fn of_ten_concurrent_submissions_of_one_answer_exactly_one_succeeds() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    let answer = key.assert(&opts).to_string();
    let token = crate::helpers::csrf_in(&b.get_html("/prompt").await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let request = b
                .client
                .post(b.url("/prompt/security-key"))
                .form(&[("csrf_token", token.clone()), ("credential", answer.clone())]);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(successes(&app, &user_id).await, 1);
}

#[tokio::test]
async fn a_signature_counter_that_goes_backwards_is_refused_and_the_key_flagged() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    key.counter = 41;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/prompt/trust");

    // A clone of the key, behind the original.
    let c = at_prompt(&app, "ada").await;
    let opts = options(&c, "/prompt/security-key/options").await;
    let response = submit_assertion(&c, &key.assert_with_counter(&opts, 7)).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("may have been copied"));
    let events = app.audit_events(&user_id).await;
    assert!(events.iter().any(|(e, _)| e == "security_key.clone_warning"), "{events:?}");
    assert_ne!(app.table_text("webauthn_credentials", &["CAST(flagged_at AS TEXT)"]).await, "");

    // Policy "reject": the real key still works (its counter moves on).
    let opts = options(&c, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&c, &key.assert(&opts)).await), "/prompt/trust");
}

#[tokio::test]
async fn with_the_disable_policy_a_flagged_key_no_longer_signs_in() {
    let app = key_app_with(|s| s.webauthn.counter_regression = CounterRegression::Disable).await;
    let mut key = SoftKey::new(&origin(&app), 1);
    user_with_key(&app, "ada", &mut key).await;
    key.counter = 10;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/prompt/trust");
    let c = at_prompt(&app, "ada").await;
    let opts = options(&c, "/prompt/security-key/options").await;
    assert_eq!(submit_assertion(&c, &key.assert_with_counter(&opts, 3)).await.status(), 422);
    let response = c.post_form("/prompt/security-key/options", &[]).await;
    assert_eq!(response.status(), 404, "no usable key left");
}

#[tokio::test]
async fn user_verification_is_enforced_when_required() {
    let app = key_app_with(|s| s.webauthn.user_verification = UserVerification::Required).await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let mut key = SoftKey::new(&origin(&app), 1);
    key.verifies_user = false;
    let opts = start_key_wizard(&app).await;
    assert_eq!(opts["publicKey"]["authenticatorSelection"]["userVerification"], "required");
    let response = submit_registration(&app, &key.register(&opts)).await;
    assert_eq!(response.status(), 422, "registration without UV is refused");

    key.verifies_user = true;
    let opts = options(&app, "/enroll/security-key/options").await;
    assert_eq!(location(&submit_registration(&app, &key.register(&opts)).await), "/enroll/options");
    app.post_form("/enroll/options", &[("name", "Key"), ("login_action", "ask")]).await;

    let b = at_prompt(&app, "ada").await;
    key.verifies_user = false;
    let opts = options(&b, "/prompt/security-key/options").await;
    let response = submit_assertion(&b, &key.assert(&opts)).await;
    assert_eq!(response.status(), 422, "a touch without verification is refused");
    key.verifies_user = true;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/prompt/trust");
}

#[tokio::test]
async fn an_unregistered_key_is_named_as_such_and_failures_lock_the_account() {
    let app = key_app_with(|s| s.lockout.max_failures = 3).await;
    let mut key = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    let mut stranger = SoftKey::new(&origin(&app), 9);
    let opts = options(&b, "/prompt/security-key/options").await;
    let response = submit_assertion(&b, &stranger.assert(&opts)).await;
    assert!(response.text().await.unwrap().contains("not registered to your account"));
    let response = b.post_form("/prompt/security-key", &[("credential", "{not json")]).await;
    assert_eq!(response.status(), 422);
    let opts = options(&b, "/prompt/security-key/options").await;
    let mut bad = key.assert(&opts);
    tamper(&mut bad, "signature");
    assert_eq!(location(&submit_assertion(&b, &bad).await), "/prompt", "the third failure locks");
    let events = app.audit_events(&user_id).await;
    assert!(events.iter().any(|(e, _)| e == "account.locked"), "{events:?}");
    assert_eq!(b.post_form("/prompt/security-key/options", &[]).await.status(), 403);
}

#[tokio::test]
async fn without_javascript_the_pages_explain_that_a_key_needs_it() {
    let app = key_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    start_key_wizard(&app).await;
    let page = app.get_html("/enroll/security-key").await;
    assert!(page.contains("<noscript>"));
    let response = app.post_form("/enroll/security-key", &[("credential", "")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("needs JavaScript"));
    let script = app.get("/static/webauthn.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
}

//! "Trust this browser?": the next sign-in from this browser skips the prompt until the trust
//! expires; other browsers, other users, tampered or expired cookies get the prompt.

use crate::helpers::{PASSWORD, TestApp, client_with_cookie_header, csrf_in, location, now, spawn_app, spawn_app_with};

async fn trusted(app: &TestApp) -> String {
    let (user, _) = app.signed_in_user("ada").await;
    let page = app.get_html("/prompt/trust").await;
    assert!(page.contains("Trust this browser?") && page.contains("Trust browser") && page.contains("Don't trust"));
    let response = app.post_form("/prompt/trust", &[("choice", "trust")]).await;
    assert_eq!(location(&response), "/settings");
    let cookie = TestApp::set_cookie(&response, "twofold_trust").expect("a trust cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000"), "30 days by default: {cookie}");
    log_out(app).await;
    user.id
}

async fn log_out(app: &TestApp) {
    let token = csrf_in(&app.get_html("/settings").await);
    app.post_raw("/logout", &[("csrf_token", &token)]).await;
}

fn trust_cookie(app: &TestApp) -> String {
    app.cookie_header().split("; ").find(|c| c.starts_with("twofold_trust=")).expect("trust cookie kept").to_string()
}

/// Logs in on a fresh cookie-less client that sends only `cookie`.
async fn login_with_cookie(app: &TestApp, username: &str, cookie: &str) -> String {
    let client = client_with_cookie_header();
    let page = client.get(app.url("/login")).header("cookie", cookie).send().await.unwrap();
    let session = TestApp::set_cookie(&page, "twofold_session").unwrap();
    let session = session.split(';').next().unwrap().to_string();
    let token = csrf_in(&page.text().await.unwrap());
    let response = client
        .post(app.url("/login"))
        .header("cookie", format!("{cookie}; {session}"))
        .form(&[("csrf_token", token.as_str()), ("username", username), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    location(&response)
}

#[tokio::test]
async fn a_trusted_browser_skips_the_prompt_next_time() {
    let app = spawn_app().await;
    let user_id = trusted(&app).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/settings");
    // Signed in, but no fresh second factor: devices and codes ask for a real one first.
    assert_eq!(location(&app.get("/settings").await), "/prompt");
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Confirm it"), "{prompt}");
    assert!(app.audit_events(&user_id).await.iter().any(|(e, _)| e == "mfa.trusted_browser"));
}

#[tokio::test]
async fn another_browser_still_gets_the_prompt() {
    let app = spawn_app().await;
    trusted(&app).await;
    let other = app.other_browser();
    assert_eq!(location(&other.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn dont_trust_sets_no_cookie() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let response = app.post_form("/prompt/trust", &[("choice", "dont")]).await;
    assert_eq!(location(&response), "/settings");
    assert!(TestApp::set_cookie(&response, "twofold_trust").is_none());
    log_out(&app).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn an_expired_trust_is_refused() {
    let app = spawn_app().await;
    let user_id = trusted(&app).await;
    app.sql(&format!("UPDATE trusted_browsers SET expires_at = {} WHERE user_id = '{user_id}'", now() - 1)).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn a_tampered_trust_cookie_is_refused() {
    let app = spawn_app().await;
    trusted(&app).await;
    let cookie = trust_cookie(&app);
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(login_with_cookie(&app, "ada", &tampered).await, "/prompt");
    assert_eq!(login_with_cookie(&app, "ada", &cookie).await, "/settings", "the untouched cookie still works");
}

#[tokio::test]
async fn a_trust_cookie_does_not_work_for_another_user() {
    let app = spawn_app().await;
    trusted(&app).await;
    let cookie = trust_cookie(&app);
    app.add_user("bob").await;
    assert_eq!(login_with_cookie(&app, "bob", &cookie).await, "/prompt");
}

#[tokio::test]
async fn a_revoked_trust_is_refused() {
    let app = spawn_app().await;
    let user_id = trusted(&app).await;
    twofold::store::trusted_browsers::revoke_all_for_user(&app.db, &user_id, now()).await.unwrap();
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn with_trust_turned_off_the_question_is_not_asked() {
    let app = spawn_app_with(|s| s.trusted_browser.days = 0).await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let seed = app.enroll_phone().await;
    assert_eq!(location(&app.pass_second_factor(&seed).await), "/settings");
    assert_eq!(location(&app.get("/prompt/trust").await), "/settings");
}

#[tokio::test]
async fn a_trusted_browser_does_not_skip_the_prompt_of_a_locked_account() {
    let app = spawn_app().await;
    let user_id = trusted(&app).await;
    app.sql(&format!("UPDATE users SET locked_at = {} WHERE id = '{user_id}'", now())).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    assert!(app.get_html("/prompt").await.contains("Your account is locked"));
}

#[tokio::test]
async fn a_trusted_browser_is_no_fresh_second_factor_for_codes_or_new_devices() {
    let app = spawn_app().await;
    let user = trusted(&app).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/settings");
    let token = csrf_in(&app.get_html("/prompt").await);
    // With the password and the trusted browser alone: no backup codes, no new device.
    let codes = app.post_raw("/settings/backup-codes", &[("csrf_token", &token)]).await;
    assert_eq!(location(&codes), "/prompt");
    assert_eq!(twofold::store::backup_codes::count_unused(&app.db, &user).await.unwrap(), 0);
    let wizard = app.post_raw("/enroll/start", &[("csrf_token", &token)]).await;
    assert_eq!(location(&wizard), "/prompt");
    let wizard = twofold::store::enrollments::current(&app.db, &user, now()).await.unwrap();
    assert_ne!(wizard.map(|w| w.step), Some(twofold::domain::EnrollStep::DeviceType), "no new wizard started");
}

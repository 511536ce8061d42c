//! Web hygiene: CSRF on every form, same-origin checks, GET never changes state, headers,
//! cookies, body limits, friendly errors, idle and absolute session timeouts.

use crate::helpers::{PASSWORD, TestApp, csrf_in, location, now, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.get("/login").await;
    let missing = app.post_raw("/login", &[("username", "ada"), ("password", PASSWORD)]).await;
    assert_eq!(missing.status(), 403);
    assert!(missing.text().await.unwrap().contains("This form has expired"));
    let wrong = app.post_raw("/login", &[("csrf_token", "forged"), ("username", "ada"), ("password", PASSWORD)]).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(location(&app.get("/prompt").await), "/login", "not signed in");
}

#[tokio::test]
async fn a_token_from_another_session_is_refused() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let attacker = app.other_browser();
    let attacker_token = csrf_in(&attacker.get_html("/login").await);
    app.get("/login").await;
    let response =
        app.post_raw("/login", &[("csrf_token", &attacker_token), ("username", "ada"), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let token = csrf_in(&app.get_html("/settings").await);
    let foreign = app
        .client
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let cross = app
        .client
        .post(app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(app.get("/settings").await.status(), 200, "still signed in");
    let same = app
        .client
        .post(app.url("/logout"))
        .header("origin", &app.address)
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&same), "/login");
    let _ = user;
}

#[tokio::test]
async fn get_and_head_never_change_state() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    for path in ["/enroll/start", "/logout", "/prompt/passcode", "/enroll/back"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 404, "{path}");
    }
    assert_eq!(location(&app.get("/enroll").await), "/prompt", "no wizard was started");
    assert_eq!(app.get("/prompt").await.status(), 200, "still signed in");
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/login", "/no-such-page"] {
        let response = app.get(path).await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");
    }
    let css = app.get("/static/style.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn pages_contain_no_inline_script_or_style() {
    let app = spawn_app().await;
    let html = app.get_html("/login").await;
    assert!(!html.contains("<script"));
    assert!(!html.contains("style="));
}

#[tokio::test]
async fn an_unknown_page_gets_a_friendly_404() {
    let app = spawn_app().await;
    let response = app.get("/does/not/exist").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("<main"));
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_413() {
    let app = spawn_app().await;
    let token = csrf_in(&app.get_html("/login").await);
    let big = "x".repeat(10 * 1024 * 1024);
    let response = app.post_raw("/login", &[("csrf_token", &token), ("username", &big), ("password", "x")]).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_json_body_on_a_form_endpoint_is_refused_with_415() {
    let app = spawn_app().await;
    app.get("/login").await;
    let response =
        app.client.post(app.url("/login")).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_and_scoped_to_the_site() {
    let app = spawn_app().await;
    let response = app.get("/login").await;
    let cookie = TestApp::set_cookie(&response, "twofold_session").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests");
    assert!(!cookie.contains("Expires") && !cookie.contains("Max-Age"), "a browser-session cookie: {cookie}");
}

#[tokio::test]
async fn behind_tls_cookies_are_secure_with_the_host_prefix_and_hsts_is_sent() {
    let app = spawn_app_with(|s| s.public_url = Some("https://mfa.example.edu".into())).await;
    let response = app.get("/login").await;
    assert!(response.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
    let cookie = TestApp::set_cookie(&response, "__Host-twofold").expect("__Host- prefixed session cookie");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain="), "{cookie}");
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/settings").await.status(), 200);
    app.sql(&format!("UPDATE sessions SET expires_at = {}", now() - 1)).await;
    assert_eq!(location(&app.get("/settings").await), "/login");
}

#[tokio::test]
async fn activity_keeps_an_idle_session_alive() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.sql(&format!("UPDATE sessions SET expires_at = {}", now() + 5)).await;
    assert_eq!(app.get("/settings").await.status(), 200);
    let text = app.table_text("sessions", &["CAST(expires_at AS TEXT)"]).await;
    let expiry: i64 = text.lines().map(|l| l.trim().parse::<i64>().unwrap()).max().unwrap();
    assert!(expiry >= now() + 29 * 60, "the idle timeout restarted at 30 minutes");
}

#[tokio::test]
async fn a_session_past_the_absolute_timeout_ends_despite_activity() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let started = now() - 12 * 3600;
    // Rewrite the recorded sign-in time inside the stored session state.
    app.edit_sessions(|state| {
        state.insert("started".into(), started.to_string());
    })
    .await;
    assert_eq!(location(&app.get("/settings").await), "/login");
}

#[tokio::test]
async fn the_institution_logo_is_served_from_our_own_origin() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#).unwrap();
    let app = spawn_app_with(|s| s.institution.logo_file = Some(logo.clone())).await;
    let html = app.get_html("/login").await;
    assert!(html.contains(r#"<img class="logo" src="/branding/logo" alt="Example University">"#));
    let response = app.get("/branding/logo").await;
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert!(response.text().await.unwrap().starts_with("<svg"));
    let without = spawn_app().await;
    assert_eq!(without.get("/branding/logo").await.status(), 404);
    assert!(!without.get_html("/login").await.contains("/branding/logo"));
}

#[tokio::test]
async fn head_requests_are_answered_like_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/login", "/healthz", "/static/style.css"] {
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        assert!(head.text().await.unwrap().is_empty(), "{path}");
    }
}

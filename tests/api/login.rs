//! Signing in with a password: the first factor, session renewal, no user enumeration, logout.

use crate::helpers::{PASSWORD, TestApp, client_with_cookie_header, csrf_in, location, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_login_page_has_labelled_username_and_password_fields() {
    let app = spawn_app().await;
    let response = app.get("/login").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<label for="username">Username</label>"#));
    assert!(html.contains(r#"<label for="password">Password</label>"#));
    assert!(html.contains(">Log in</button>"));
    assert!(html.contains("Example University"));
}

#[tokio::test]
async fn the_start_page_sends_visitors_to_log_in() {
    let app = spawn_app().await;
    assert_eq!(location(&app.get("/").await), "/login");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let wrong = app.login("ada", "not the password").await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let other = app.other_browser();
    let unknown = other.login("nobody", "not the password").await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text().await.unwrap();
    assert_eq!(wrong_status, 401);
    assert_eq!(wrong_status, unknown_status);
    // Pages differ only in the echoed username and the per-session CSRF token.
    let normalize = |body: &str, name: &str| body.replace(&csrf_in(body), "TOKEN").replace(name, "NAME");
    assert_eq!(normalize(&wrong_body, "ada"), normalize(&unknown_body, "nobody"));
    assert!(wrong_body.contains("Incorrect username or password"));
}

#[tokio::test]
async fn a_correct_password_leads_to_the_prompt_with_a_new_session_id() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let first = app.get("/login").await;
    let before = TestApp::set_cookie(&first, "twofold_session").expect("a session for the login form");
    let token = csrf_in(&first.text().await.unwrap());
    let response =
        app.post_raw("/login", &[("csrf_token", &token), ("username", "ADA "), ("password", PASSWORD)]).await;
    assert_eq!(location(&response), "/prompt");
    let after = TestApp::set_cookie(&response, "twofold_session").expect("the session id is renewed");
    assert_ne!(before, after);
}

#[tokio::test]
async fn a_session_fixed_before_login_is_dead_afterwards() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    // The attacker's browser gets a session and plants its cookie in the victim's browser.
    let attacker = app.other_browser();
    let page = attacker.get("/login").await;
    let planted = TestApp::set_cookie(&page, "twofold_session").unwrap();
    let planted_value = planted.split(';').next().unwrap().to_string();
    let token = csrf_in(&page.text().await.unwrap());
    // The victim logs in with that cookie.
    let response = client_with_cookie_header()
        .post(app.url("/login"))
        .header("cookie", &planted_value)
        .form(&[("csrf_token", token.as_str()), ("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/prompt");
    // The attacker's copy of the old id reaches nothing.
    let probe = attacker.get("/prompt").await;
    assert_eq!(location(&probe), "/login");
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let app = spawn_app().await;
    let user = app.add_user("ada").await;
    twofold::store::users::set_status(&app.db, &user.id, "disabled").await.unwrap();
    let response = app.login("ada", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Your account is disabled"));
}

#[tokio::test]
async fn logging_out_destroys_the_server_side_session() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let html = app.get_html("/settings").await;
    assert!(html.contains("My Settings &amp; Devices"));
    // Keep a copy of the cookie, as an attacker (or the back button) would.
    let stolen = app.cookie_header();
    assert_eq!(location(&app.post_raw("/logout", &[("csrf_token", &csrf_in(&html))]).await), "/login");
    let replay = client_with_cookie_header().get(app.url("/settings")).header("cookie", stolen).send().await.unwrap();
    assert_eq!(location(&replay), "/login");
    assert_eq!(location(&app.get("/settings").await), "/login");
}

#[tokio::test]
async fn repeated_wrong_passwords_pause_sign_in_for_that_username() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    for i in 0..10 {
        assert_eq!(app.login("ada", "wrong guess").await.status(), 401, "attempt {i}");
    }
    let paused = app.login("ada", PASSWORD).await;
    assert_eq!(paused.status(), 429, "even the right password waits");
    assert!(paused.text().await.unwrap().contains("Too many sign-in attempts. Wait 15 minutes"));
    // Another username from the same address is not affected yet.
    app.add_user("bob").await;
    assert_eq!(location(&app.other_browser().login("bob", PASSWORD).await), "/prompt");
    // The window passes.
    app.sql(&format!("UPDATE login_attempts SET at = {}", crate::helpers::now() - 16 * 60)).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn unknown_usernames_are_paused_exactly_like_real_ones() {
    let app = spawn_app().await;
    for _ in 0..10 {
        assert_eq!(app.login("nobody", "wrong guess").await.status(), 401);
    }
    assert_eq!(app.login("nobody", "wrong guess").await.status(), 429);
}

#[tokio::test]
async fn many_wrong_passwords_from_one_address_pause_it() {
    let app = spawn_app_with(|s| s.login.max_failures_per_address = 5).await;
    app.add_user("ada").await;
    for i in 0..5 {
        assert_eq!(app.login(&format!("user{i}"), "wrong guess").await.status(), 401);
    }
    assert_eq!(app.login("ada", PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn a_correct_password_clears_the_count_for_the_account() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    for _ in 0..9 {
        app.login("ada", "wrong guess").await;
    }
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    let other = app.other_browser();
    for _ in 0..9 {
        assert_eq!(other.login("ada", "wrong guess").await.status(), 401);
    }
}

#[tokio::test]
async fn forty_passwords_at_once_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    // 39 wrong guesses and the right password, all at the same moment, each from its own browser.
    let mut browsers = Vec::new();
    for i in 0..40 {
        let b = app.other_browser();
        let token = csrf_in(&b.get_html("/login").await);
        let password = if i == 20 { PASSWORD.to_string() } else { format!("guess {i}") };
        browsers.push((b, token, password));
    }
    let attempts = browsers.iter().map(|(b, token, password)| async move {
        let fields = [("csrf_token", token.as_str()), ("username", "ada"), ("password", password.as_str())];
        b.post_raw("/login", &fields).await.status().as_u16()
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(checked <= 10, "{checked} passwords were checked: {statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 30, "{statuses:?}");
    let id = crate::helpers::user_id(&app, "ada").await;
    let audited = twofold::store::audit::for_user(&app.db, &id, 100).await.unwrap();
    assert!(audited.iter().filter(|e| e.event == "login.password").count() <= 10);
}

/// Logs in as `username` from `address` (the app trusts 127.0.0.1 as its proxy).
async fn login_from(app: &TestApp, address: &str, username: &str, password: &str) -> u16 {
    let b = app.other_browser();
    let token = csrf_in(&b.get_html("/login").await);
    let fields = [("csrf_token", token.as_str()), ("username", username), ("password", password)];
    let r = b.client.post(b.url("/login")).header("x-forwarded-for", address).form(&fields).send().await.unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_real_user_out_elsewhere() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.login.max_failures_per_account_total = 25;
    })
    .await;
    app.add_user("ada").await;
    for _ in 0..10 {
        assert_eq!(login_from(&app, "203.0.113.9", "ada", "wrong guess").await, 401);
    }
    assert_eq!(login_from(&app, "203.0.113.9", "ada", PASSWORD).await, 429, "that address is paused for ada");
    assert_eq!(login_from(&app, "198.51.100.7", "ada", PASSWORD).await, 303, "ada herself, elsewhere, is not");
    // Guessing spread over many addresses meets the slower cap for the username everywhere.
    for i in 0..25 {
        login_from(&app, &format!("192.0.2.{i}"), "ada", "wrong guess").await;
    }
    assert_eq!(login_from(&app, "198.51.100.8", "ada", PASSWORD).await, 429);
}

#[tokio::test]
async fn a_browser_the_user_trusted_is_not_held_back_by_guessing_elsewhere() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.login.max_failures_per_account_total = 15;
    })
    .await;
    app.signed_in_user("ada").await;
    assert_eq!(location(&app.post_form("/prompt/trust", &[("choice", "trust")]).await), "/settings");
    let token = csrf_in(&app.get_html("/settings").await);
    app.post_raw("/logout", &[("csrf_token", &token)]).await;
    for i in 0..15 {
        login_from(&app, &format!("192.0.2.{i}"), "ada", "wrong guess").await;
    }
    assert_eq!(login_from(&app, "198.51.100.8", "ada", PASSWORD).await, 429, "the cap holds for others");
    let token = csrf_in(&app.get_html("/login").await);
    let fields = [("csrf_token", token.as_str()), ("username", "ada"), ("password", PASSWORD)];
    let r = app
        .client
        .post(app.url("/login"))
        .header("x-forwarded-for", "198.51.100.9")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/settings", "ada's trusted browser gets through");
}

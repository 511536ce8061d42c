//! "Sign in with <institution>" against a real OpenID Connect provider (the npm `oidc-provider`
//! package, tests/oidc/provider.js) started by each test on loopback.

mod idp;

use std::process::{Command, Stdio};

use serde_json::json;

pub use idp::{Idp, idp_and_app, provider_settings};
use idp::{callback_for, follow_to_twofold, provider_callback, query_value, resolve, sign_in_with_provider};

use crate::helpers::{PASSWORD, csrf_in, location, spawn_app_with, user_id};

#[tokio::test]
async fn signing_in_with_the_provider_matches_an_existing_user_and_reaches_the_prompt() {
    let (_idp, app) = idp_and_app(|_, _| {}).await;
    let user = app.add_user("alice").await;
    let login_page = app.get_html("/login").await;
    assert!(login_page.contains("Sign in with UM Account"), "{login_page}");

    let response = sign_in_with_provider(&app, "alice").await;
    assert_eq!(location(&response), "/prompt");
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Start setup"), "half-authenticated like a password sign-in:\n{prompt}");
    assert_eq!(location(&app.get("/settings").await), "/prompt", "only the prompt and enrolment");
    let events = app.audit_events(&user.id).await;
    assert!(events.contains(&("login.oidc".into(), "success".into())), "{events:?}");
    assert!(events.contains(&("oidc.linked".into(), "info".into())), "{events:?}");
}

#[tokio::test]
async fn a_provider_that_allows_it_creates_the_account_at_first_sign_in() {
    let (idp, app) = idp_and_app(|_, p| p.provision_users = true).await;
    idp.account("newbie", json!({ "preferred_username": "NewBie", "name": "New Person" })).await;
    let response = sign_in_with_provider(&app, "newbie").await;
    assert_eq!(location(&response), "/prompt");
    let user = twofold::store::users::by_username(&app.db, &twofold::domain::Username::parse("newbie").unwrap())
        .await
        .unwrap()
        .expect("the account was created just in time");
    assert_eq!(user.display_name, "New Person");
    assert_eq!(user.email, "newbie@example.edu");
    assert!(user.password_hash.is_none(), "no Twofold password for a provider account");
    let events = app.audit_events(&user.id).await;
    assert!(events.contains(&("user.provisioned".into(), "success".into())), "{events:?}");
}

#[tokio::test]
async fn without_provisioning_an_unknown_person_is_told_the_account_is_not_set_up() {
    let (_idp, app) = idp_and_app(|_, _| {}).await;
    let response = sign_in_with_provider(&app, "stranger").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.unwrap();
    assert!(page.contains("Your account is not set up for Twofold"), "{page}");
    assert_eq!(location(&app.get("/prompt").await), "/login", "not signed in");
}

#[tokio::test]
async fn a_username_change_at_the_provider_keeps_the_account_and_cannot_take_another() {
    let (idp, app) = idp_and_app(|_, _| {}).await;
    let alice = app.add_user("alice").await;
    app.add_user("bob").await;
    assert_eq!(location(&sign_in_with_provider(&app, "alice").await), "/prompt");

    // The same person (same subject) is renamed to "bob" at the provider: still Alice here.
    idp.account("alice", json!({ "preferred_username": "bob" })).await;
    let other = app.other_browser();
    assert_eq!(location(&sign_in_with_provider(&other, "alice").await), "/prompt");
    let prompt = other.get_html("/prompt").await;
    assert!(prompt.contains("alice Tester"), "signed in as Alice, not Bob:\n{prompt}");

    // Someone else (another subject) now carries the username "alice": refused.
    idp.account("mallory", json!({ "preferred_username": "alice" })).await;
    let third = app.other_browser();
    let response = sign_in_with_provider(&third, "mallory").await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("linked to a different UM Account identity"));
    assert_eq!(location(&third.get("/prompt").await), "/login");
    let events = app.audit_events(&alice.id).await;
    assert!(events.contains(&("login.oidc".into(), "failure".into())), "{events:?}");
}

#[tokio::test]
async fn id_tokens_with_a_wrong_audience_issuer_nonce_expiry_or_key_are_rejected() {
    let (idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    for mode in ["aud", "iss", "nonce", "expired", "unknown_kid", "future"] {
        idp.control("tamper", json!({ "mode": mode })).await;
        let browser = app.other_browser();
        let response = sign_in_with_provider(&browser, "alice").await;
        assert_eq!(response.status(), 401, "{mode}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Sign-in couldn't be verified"), "{mode}: {page}");
        assert_eq!(location(&browser.get("/prompt").await), "/login", "{mode}: not signed in");
    }
    idp.control("tamper", json!({ "mode": "none" })).await;
    assert_eq!(location(&sign_in_with_provider(&app, "alice").await), "/prompt", "an honest token still works");
}

#[tokio::test]
async fn a_token_that_expired_seconds_ago_is_accepted_within_the_clock_skew_tolerance() {
    let (idp, app) = idp_and_app(|s, _| s.oidc.clock_skew_seconds = 60).await;
    app.add_user("alice").await;
    idp.control("tamper", json!({ "mode": "slightly_expired" })).await;
    assert_eq!(location(&sign_in_with_provider(&app, "alice").await), "/prompt");

    let (idp, strict) = idp_and_app(|s, _| s.oidc.clock_skew_seconds = 0).await;
    strict.add_user("alice").await;
    idp.control("tamper", json!({ "mode": "slightly_expired" })).await;
    assert_eq!(sign_in_with_provider(&strict, "alice").await.status(), 401, "no tolerance configured");
}

#[tokio::test]
async fn a_callback_works_once_and_only_in_the_browser_that_started_it() {
    let (_idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    let callback = provider_callback(&app, "alice").await;

    // Another browser presenting this callback (login CSRF) gets nowhere.
    let attacker = app.other_browser();
    let response = attacker.client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Sign-in expired"));

    assert_eq!(location(&app.client.get(&callback).send().await.unwrap()), "/prompt");
    app.post_form("/logout", &[]).await;
    let replay = app.client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400, "a replayed callback is refused");
    assert_eq!(location(&app.get("/prompt").await), "/login");

    // A wrong state from the browser that started a sign-in is refused too.
    let fresh = provider_callback(&app, "alice").await;
    let tampered = fresh.replace("state=", "state=x");
    assert_eq!(app.client.get(&tampered).send().await.unwrap().status(), 400);

    // A callback naming another issuer (RFC 9207 mix-up) is refused.
    let fresh = provider_callback(&app, "alice").await;
    let mixed = fresh.replace("iss=http", "iss=https%3A%2F%2Fevil.example&x=");
    assert_eq!(app.client.get(&mixed).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_sign_in_keeps_working() {
    let (idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    assert_eq!(location(&sign_in_with_provider(&app, "alice").await), "/prompt");
    idp.control("rotate", json!({})).await;
    let browser = app.other_browser();
    assert_eq!(location(&sign_in_with_provider(&browser, "alice").await), "/prompt", "new key fetched");
}

#[tokio::test]
async fn an_unreachable_provider_gives_a_clear_page() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(|s| {
        let mut other = provider_settings("https://login.example.edu");
        (other.id, other.name) = ("staff".into(), "Staff Account".into());
        s.oidc.providers = vec![provider_settings(&format!("http://127.0.0.1:{closed}")), other];
        s.oidc.http_timeout_seconds = 2;
    })
    .await;
    let login = app.get_html("/login").await;
    assert!(login.contains("Sign in with UM Account") && login.contains("Sign in with Staff Account"), "{login}");
    let response = app.get("/login/oidc/um").await;
    assert_eq!(response.status(), 502);
    let page = response.text().await.unwrap();
    assert!(page.contains("Can't reach UM Account"), "{page}");
    assert!(page.contains("Back to Log in"));
}

#[tokio::test]
async fn declining_at_the_provider_gives_a_clear_page() {
    let (idp, app) = idp_and_app(|_, _| {}).await;
    let start = app.get("/login/oidc/um").await;
    let (_, page) = follow_to_twofold(&app, location(&start)).await;
    let cancel = page.split("href=\"").find(|s| s.contains("/abort")).expect("a Cancel link").split('"').next();
    let cancel = resolve(&format!("{}/", idp.issuer()), cancel.unwrap());
    let (callback, _) = follow_to_twofold(&app, cancel).await;
    let response = app.client.get(callback.expect("back to Twofold")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Sign-in cancelled"));
    let audit = app.table_text("audit_log", &["event", "outcome", "detail"]).await;
    assert!(audit.contains("login.oidc failure the user did not consent (access_denied)"), "{audit}");
}

#[tokio::test]
async fn a_code_the_provider_already_redeemed_is_refused_with_a_clear_page() {
    let (_idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    let first = provider_callback(&app, "alice").await;
    assert_eq!(location(&app.client.get(&first).send().await.unwrap()), "/prompt");
    app.post_form("/logout", &[]).await;

    // A new sign-in (fresh state) carrying the code that was already redeemed.
    let second = provider_callback(&app, "alice").await;
    let replay = second.replace(&query_value(&second, "code"), &query_value(&first, "code"));
    let response = app.client.get(replay).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Sign-in expired"));
    assert_eq!(location(&app.get("/prompt").await), "/login");
    let audit = app.table_text("audit_log", &["event", "outcome", "detail"]).await;
    assert!(audit.contains("login.oidc failure code refused"), "{audit}");
}

#[tokio::test]
async fn a_provider_that_stops_answering_during_a_sign_in_gives_a_clear_page() {
    let (idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    let callback = provider_callback(&app, "alice").await;
    drop(idp);
    let response = app.client.get(callback).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("Can't reach UM Account"));
    let audit = app.table_text("audit_log", &["event", "outcome", "detail"]).await;
    assert!(audit.contains("login.oidc failure provider unreachable"), "{audit}");
}

#[tokio::test]
async fn one_callback_presented_many_times_at_once_signs_in_exactly_once() {
    let (_idp, app) = idp_and_app(|_, _| {}).await;
    app.add_user("alice").await;
    let callback = provider_callback(&app, "alice").await;
    let attempts = (0..10).map(|_| {
        let (client, url) = (app.client.clone(), callback.clone());
        tokio::spawn(async move { client.get(url).send().await.unwrap() })
    });
    let mut signed_in = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let response = attempt.await.unwrap();
        match response.status().as_u16() {
            303 => {
                assert_eq!(location(&response), "/prompt");
                signed_in += 1;
            }
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(signed_in, 1, "the state is used exactly once");
}

#[tokio::test]
async fn disabled_users_and_people_outside_the_allowed_groups_are_refused() {
    let (idp, app) = idp_and_app(|_, p| {
        p.groups_claim = Some("groups".into());
        p.allowed_groups = vec!["staff".into()];
    })
    .await;
    app.add_user("alice").await;
    app.add_user("carol").await;
    idp.account("alice", json!({ "groups": ["staff"] })).await;
    idp.account("carol", json!({ "groups": ["alumni"] })).await;
    let response = sign_in_with_provider(&app.other_browser(), "carol").await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("not in a group that may use"));

    twofold::store::users::set_status(&app.db, &user_id(&app, "alice").await, "disabled").await.unwrap();
    let response = sign_in_with_provider(&app, "alice").await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Your account is disabled"));
}

#[tokio::test]
async fn with_local_passwords_off_only_administrators_use_a_password() {
    let (_idp, app) = idp_and_app(|s, _| s.login.local_passwords = false).await;
    app.add_user("alice").await;
    let page = app.get_html("/login").await;
    assert!(page.contains("Sign in with UM Account"));
    assert!(!page.contains("name=\"password\""), "no password form:\n{page}");
    let local = app.get_html("/login?local").await;
    assert!(local.contains("name=\"password\""), "the break-glass form");
    let log_in = || async {
        let token = csrf_in(&app.get_html("/login?local").await);
        app.post_raw("/login", &[("csrf_token", &token), ("username", "alice"), ("password", PASSWORD)]).await
    };
    let response = log_in().await;
    assert_eq!(response.status(), 401, "a user's password no longer signs in");
    assert!(response.text().await.unwrap().contains("Incorrect username or password"), "same answer as a wrong one");
    app.sql("UPDATE users SET role = 'admin' WHERE username = 'alice'").await;
    assert_eq!(location(&log_in().await), "/prompt", "administrators still can");
}

#[tokio::test]
async fn a_sign_in_from_the_configuration_file_leaves_no_code_state_or_secret_in_the_log() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let config = format!(
        "bind = \"127.0.0.1:{port}\"\nlog = \"debug\"\nworkers = 1\n\n[[oidc.providers]]\nid = \"um\"\n\
         name = \"UM Account\"\nissuer = \"{}\"\nclient_id = \"twofold\"\nclient_secret = \"twofold-secret\"\n\
         provision_users = true\n",
        idp.issuer()
    );
    std::fs::write(dir.path().join("twofold.toml"), config).unwrap();
    let log_path = dir.path().join("server.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
    cmd.arg("serve")
        .current_dir(dir.path())
        .env_remove("TWOFOLD_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    if let Some(url) = crate::helpers::fresh_database_url().await {
        cmd.env("TWOFOLD_DATABASE_URL", url);
    }
    let mut server = cmd.spawn().unwrap();
    let (client, _jar) = crate::helpers::new_client();
    let started = std::time::Instant::now();
    while client.get(format!("{address}/healthz")).send().await.is_err() {
        assert!(started.elapsed().as_secs() < 20, "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    idp.control("client", json!({ "redirect_uris": [format!("{address}/login/oidc/um/callback")] })).await;

    let callback = callback_for(&client, &address, "grace").await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&response), "/prompt");
    let _ = server.kill();
    let _ = server.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/login/oidc/{id}/callback"), "requests are logged by route:\n{log}");
    for secret in [query_value(&callback, "code"), query_value(&callback, "state"), "twofold-secret".into()] {
        assert!(!log.contains(&secret), "{secret} is in the log:\n{log}");
    }
}

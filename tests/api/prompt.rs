//! The prompt: "Enter a Passcode" with TOTP, single use under concurrency, drift, replay and lockout.

use crate::helpers::{PASSWORD, TestApp, count_to, csrf_in, location, now, spawn_app, spawn_app_with};
use twofold::factors::totp::TotpSeed;

/// A user who has just enrolled a phone ("Continue to Login"): signed in with the password only.
async fn at_the_prompt(app: &TestApp) -> (String, TotpSeed) {
    let user = app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    let seed = app.enroll_phone().await;
    (user.id, seed)
}

/// A code the seed does not produce anywhere near now.
fn wrong_code(seed: &TotpSeed) -> String {
    let t = now() as u64;
    let near: Vec<String> = (-3i64..=3).map(|k| seed.code_at((t as i64 + 30 * k) as u64)).collect();
    (0..).map(|n| format!("{:06}", 123_457 + n * 7919)).find(|c| !near.contains(c)).unwrap()
}

#[tokio::test]
async fn a_user_without_a_device_sees_not_enrolled_yet_and_start_setup() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let html = app.get_html("/prompt").await;
    assert!(html.contains("Not enrolled yet"));
    assert!(html.contains(">Start setup</button>"));
}

#[tokio::test]
async fn a_password_only_session_reaches_neither_settings_nor_trust() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let token = csrf_in(&app.get_html("/settings").await);
    app.post_raw("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    for path in ["/settings", "/prompt/trust"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/prompt", "{path}");
    }
    // Enrolment is closed to a password-only session once a device exists (enrolment hijack).
    for path in ["/enroll/device-type", "/enroll/activate"] {
        assert_eq!(location(&app.get(path).await), "/prompt", "{path}");
    }
    let start = app.post_form("/enroll/start", &[]).await;
    assert_eq!(location(&start), "/prompt");
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_log_in() {
    let app = spawn_app().await;
    for path in ["/prompt", "/settings", "/enroll/device-type", "/prompt/trust"] {
        assert_eq!(location(&app.get(path).await), "/login", "{path}");
    }
}

#[tokio::test]
async fn the_current_code_signs_in_and_renews_the_session_id() {
    let app = spawn_app().await;
    let (user_id, seed) = at_the_prompt(&app).await;
    let before = app.cookie_header();
    let response = app.pass_second_factor(&seed).await;
    assert_eq!(location(&response), "/prompt/trust");
    assert!(TestApp::set_cookie(&response, "twofold_session").is_some(), "a new session id after the second factor");
    assert_ne!(before, app.cookie_header());
    assert_eq!(app.get("/settings").await.status(), 200);
    let events = app.audit_events(&user_id).await;
    assert!(events.contains(&("mfa.passcode".into(), "success".into())));
}

#[tokio::test]
async fn a_code_is_never_accepted_twice() {
    let app = spawn_app().await;
    let (_, seed) = at_the_prompt(&app).await;
    let code = seed.code_at(now() as u64 + 30);
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    let other = app.other_browser();
    other.login("ada", PASSWORD).await;
    let again = other.post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn an_earlier_step_is_refused_after_a_later_one() {
    let app = spawn_app().await;
    let (_, seed) = at_the_prompt(&app).await;
    let t = now() as u64;
    assert_eq!(
        location(&app.post_form("/prompt/passcode", &[("passcode", &seed.code_at(t + 30))]).await),
        "/prompt/trust"
    );
    let other = app.other_browser();
    other.login("ada", PASSWORD).await;
    let older = other.post_form("/prompt/passcode", &[("passcode", &seed.code_at(t))]).await;
    assert_eq!(older.status(), 422, "step t is at or before the accepted step t+1");
}

#[tokio::test]
async fn codes_outside_the_drift_window_are_refused() {
    let app = spawn_app().await;
    let (_, seed) = at_the_prompt(&app).await;
    for offset in [-90i64, 90] {
        let code = seed.code_at((now() + offset) as u64);
        let response = app.post_form("/prompt/passcode", &[("passcode", &code)]).await;
        assert_eq!(response.status(), 422, "offset {offset}");
        assert!(response.text().await.unwrap().contains("Incorrect passcode"));
    }
}

#[tokio::test]
async fn a_malformed_passcode_gets_a_specific_message_and_is_not_counted() {
    let app = spawn_app().await;
    let (user_id, _) = at_the_prompt(&app).await;
    let response = app.post_form("/prompt/passcode", &[("passcode", "abc")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("only digits"));
    let user = twofold::store::users::by_id(&app.db, &user_id).await.unwrap().unwrap();
    assert_eq!(user.failed_attempts, 0);
}

#[tokio::test]
async fn of_twenty_concurrent_submissions_of_one_code_exactly_one_succeeds() {
    let app = spawn_app().await;
    let (_, seed) = at_the_prompt(&app).await;
    let code = seed.code_at(now() as u64 + 30);
    let results = app.concurrent_passcodes("ada", &code, 20).await;
    assert_eq!(count_to(&results, "/prompt/trust"), 1, "{results:?}");
    // The others were refused as replays (and, being 19 failures, locked the account).
    assert!(results.iter().all(|(s, to)| *s == 422 || (*s == 303 && to.is_some())), "{results:?}");
}

#[tokio::test]
async fn ten_failures_lock_the_account_and_then_even_the_right_code_is_refused() {
    let app = spawn_app().await;
    let (user_id, seed) = at_the_prompt(&app).await;
    let bad = wrong_code(&seed);
    for i in 1..=9 {
        let r = app.post_form("/prompt/passcode", &[("passcode", &bad)]).await;
        assert_eq!(r.status(), 422, "attempt {i}");
    }
    // The tenth failure, from another browser: the count is per user, not per session.
    let other = app.other_browser();
    other.login("ada", PASSWORD).await;
    assert_eq!(location(&other.post_form("/prompt/passcode", &[("passcode", &bad)]).await), "/prompt");
    let page = app.get_html("/prompt").await;
    assert!(page.contains("Your account is locked"), "{page}");
    assert!(page.contains("Contact your help desk"));
    let right = seed.code_at(now() as u64 + 30);
    let r = app.post_form("/prompt/passcode", &[("passcode", &right)]).await;
    assert_eq!(location(&r), "/prompt");
    assert_eq!(location(&app.get("/settings").await), "/prompt", "still not signed in");
    let events = app.audit_events(&user_id).await;
    assert!(events.contains(&("account.locked".into(), "info".into())));
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let app = spawn_app().await;
    let (user_id, seed) = at_the_prompt(&app).await;
    let bad = wrong_code(&seed);
    for _ in 0..5 {
        app.post_form("/prompt/passcode", &[("passcode", &bad)]).await;
    }
    assert_eq!(twofold::store::users::by_id(&app.db, &user_id).await.unwrap().unwrap().failed_attempts, 5);
    app.pass_second_factor(&seed).await;
    assert_eq!(twofold::store::users::by_id(&app.db, &user_id).await.unwrap().unwrap().failed_attempts, 0);
}

#[tokio::test]
async fn automatic_unlock_releases_the_account_after_the_configured_time() {
    let app = spawn_app_with(|s| {
        s.lockout.max_failures = 3;
        s.lockout.auto_unlock_minutes = 15;
    })
    .await;
    let (user_id, seed) = at_the_prompt(&app).await;
    let bad = wrong_code(&seed);
    for _ in 0..3 {
        app.post_form("/prompt/passcode", &[("passcode", &bad)]).await;
    }
    let page = app.get_html("/prompt").await;
    assert!(page.contains("Try again in 15 minutes"), "{page}");
    // Fifteen minutes pass.
    app.sql(&format!("UPDATE users SET locked_at = {} WHERE id = '{user_id}'", now() - 15 * 60)).await;
    let page = app.get_html("/prompt").await;
    assert!(page.contains("Enter a Passcode"), "{page}");
    assert_eq!(location(&app.pass_second_factor(&seed).await), "/prompt/trust");
}

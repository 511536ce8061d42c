//! "Lost your device?": a recovery passcode for someone who proves who they are with imported
//! identity facts and their password. Uniform refusals, throttled, single use, time limited.

use twofold::domain::import::parse_csv;
use twofold::secrets::Keys;

use crate::helpers::{PASSWORD, TestApp, count_to, csrf_in, element_text, location, now, spawn_app, spawn_app_with};

fn keys(app: &TestApp) -> Keys {
    app.keys.clone()
}

/// Imports facts for `username` (the user must exist; the import updates them).
async fn import_facts(app: &TestApp, username: &str, dob: &str, id4: &str) {
    let csv = format!(
        "username,display_name,email,date_of_birth,id_last4\n{username},{username} Tester,{username}@example.edu,{dob},{id4}\n"
    );
    let rows = parse_csv(&csv).unwrap();
    let keys = keys(app);
    twofold::store::import::apply(&app.db, &rows, &|u, f, v| keys.hash_fact(u, f, v), now()).await.unwrap();
}

/// The recovery passcode mailed to `email` most recently (digits only), and its "This wasn't me" link path.
pub(crate) async fn mailed_recovery(app: &TestApp, email: &str) -> (String, String) {
    let mail = twofold::store::outbox::for_recipient(&app.db, email).await.unwrap();
    let row = mail.iter().rev().find(|m| m.subject.starts_with("Your recovery passcode")).expect("a recovery mail");
    let body = twofold::channels::mail::Mailer::open_body(&app.keys, &row.body).expect("a readable body");
    let code = body
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 11 && l.chars().filter(char::is_ascii_digit).count() == 9)
        .expect("the passcode line")
        .replace(' ', "");
    let link = body.lines().find(|l| l.contains("/wasnt-me/")).expect("a This wasn't me link");
    let path = link[link.find("/wasnt-me/").unwrap()..].trim().to_string();
    (code, path)
}

async fn recover(app: &TestApp, username: &str, dob: &str, id4: &str, password: &str) -> reqwest::Response {
    let token = csrf_in(&app.get_html("/recover").await);
    app.post_raw(
        "/recover",
        &[
            ("csrf_token", &token),
            ("username", username),
            ("date_of_birth", dob),
            ("id_last4", id4),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn the_right_facts_and_password_give_a_single_use_recovery_passcode() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "ab12").await;
    let lost = app.other_browser();
    let login = lost.get_html("/login").await;
    assert!(login.contains(r#"<a href="/recover">Lost your device?</a>"#));
    let page = lost.get_html("/recover").await;
    for label in ["Username", "Date of birth", "Last 4 characters of your ID", "Password", "Get recovery passcode"] {
        assert!(page.contains(label), "{label}");
    }
    let response = recover(&lost, "ADA", "1995-12-10", "AB12", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let sent = response.text().await.unwrap();
    // Facts and a password never show a passcode: it goes to the address on file.
    assert!(sent.contains("Check your email") && sent.contains("a•••@example.edu"), "{sent}");
    let (code, _) = mailed_recovery(&app, "ada@example.edu").await;
    assert!(!sent.contains(&code) && !sent.contains(&twofold::factors::codes::display(&code)));
    assert!(!lost.table_text("one_time_codes", &["salt", "code_hash"]).await.contains(&code));
    assert!(app.audit_events(&ada.id).await.iter().any(|(e, _)| e == "recovery.issued"));
    // Every enrolled mobile phone is told as well (in the background), by a text with no code.
    let number = twofold::store::phone_devices::for_user(&app.db, &app.keys, &ada.id).await.unwrap().remove(0).phone;
    let mut notices: Vec<String> = Vec::new();
    for _ in 0..100 {
        notices = twofold::store::phone_texts::recent(&app.db, &app.keys, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.to_number == number)
            .filter_map(|t| twofold::channels::telephony::simulator::Simulator::open_body(&app.keys, &t.id, &t.body))
            .filter(|body| body.contains("A recovery passcode was requested"))
            .collect();
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(notices.len(), 1, "one notice to {number}");
    assert!(!notices[0].contains(&code) && notices[0].contains("My Settings & Devices"), "{}", notices[0]);

    // It signs in once and leads to adding a new device, which then offers to remove the old one.
    assert_eq!(location(&lost.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(location(&lost.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/enroll/device-type");
    lost.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    lost.verify_mobile_number().await;
    lost.post_form("/enroll/platform", &[("platform", "iphone")]).await;
    lost.post_form("/enroll/install", &[]).await;
    let page = lost.get_html("/enroll/activate").await;
    let seed = twofold::factors::totp::TotpSeed::from_base32(&element_text(&page, "setup-key")).unwrap();
    lost.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await;
    lost.post_form("/enroll/options", &[("name", "Replacement"), ("login_action", "ask")]).await;
    let done = lost.get_html("/enroll/done").await;
    assert!(done.contains("Remove the device you lost") && done.contains("Remove My iPhone"), "{done}");

    let again = app.other_browser();
    again.login("ada", PASSWORD).await;
    let reused = again.post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert_eq!(reused.status(), 422, "single use");
    let words = reused.text().await.unwrap();
    assert!(words.contains("it was already used") && !words.contains("newest passcode shown in your app"), "{words}");
}

#[tokio::test]
async fn every_wrong_answer_gets_the_same_reply() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    app.add_user("bob").await; // no facts imported
    let cases = [
        ("ada", "1995-12-11", "AB12", PASSWORD),
        ("ada", "1995-12-10", "AB13", PASSWORD),
        ("ada", "1995-12-10", "AB12", "wrong password"),
        ("nobody", "1995-12-10", "AB12", PASSWORD),
        ("bob", "1995-12-10", "AB12", PASSWORD),
    ];
    let mut bodies = Vec::new();
    for (user, dob, id4, password) in cases {
        let b = app.other_browser();
        let r = recover(&b, user, dob, id4, password).await;
        assert_eq!(r.status(), 401, "{user} {dob} {id4}");
        let body = r.text().await.unwrap();
        bodies.push(
            body.replace(&csrf_in(&body), "TOKEN")
                .replace(&format!("value=\"{user}\""), "value=\"NAME\"")
                .replace(&format!("value=\"{dob}\""), "value=\"DOB\"")
                .replace(&format!("value=\"{id4}\""), "value=\"ID\""),
        );
    }
    assert!(bodies[0].contains("We could not confirm those details"));
    assert!(bodies.iter().all(|b| b == &bodies[0]), "no hint which fact was wrong");
    assert!(
        twofold::store::one_time_codes::usable(&app.db, &crate::helpers::user_id(&app, "ada").await, now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_date_in_the_wrong_format_is_pointed_out_and_not_counted() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let b = app.other_browser();
    for _ in 0..12 {
        let r = recover(&b, "ada", "10/12/1995", "AB12", PASSWORD).await;
        assert_eq!(r.status(), 422);
        let page = r.text().await.unwrap();
        assert!(page.contains("year-month-day") && page.contains(r#"value="AB12""#), "the other answers are kept");
    }
    assert_eq!(recover(&b, "ada", "1995-12-10", "AB12", PASSWORD).await.status(), 200, "format errors are not guesses");
}

#[tokio::test]
async fn guessing_is_throttled() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let b = app.other_browser();
    for _ in 0..10 {
        assert_eq!(recover(&b, "ada", "2000-01-01", "ZZZZ", PASSWORD).await.status(), 401);
    }
    assert_eq!(recover(&b, "ada", "1995-12-10", "AB12", PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn a_recovery_passcode_expires() {
    let app = spawn_app_with(|s| s.recovery.passcode_minutes = 5).await;
    app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let b = app.other_browser();
    assert_eq!(recover(&b, "ada", "1995-12-10", "AB12", PASSWORD).await.status(), 200);
    let (code, _) = mailed_recovery(&app, "ada@example.edu").await;
    app.sql(&format!("UPDATE one_time_codes SET expires_at = {}", now() - 1)).await;
    b.login("ada", PASSWORD).await;
    assert_eq!(b.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
}

#[tokio::test]
async fn recovery_can_be_turned_off() {
    let app = spawn_app_with(|s| s.recovery.enabled = false).await;
    assert_eq!(app.get("/recover").await.status(), 404);
    assert!(!app.get_html("/login").await.contains("Lost your device?"));
}

#[tokio::test]
async fn of_twenty_concurrent_uses_of_a_recovery_passcode_exactly_one_succeeds() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    assert_eq!(recover(&app.other_browser(), "ada", "1995-12-10", "AB12", PASSWORD).await.status(), 200);
    let (code, _) = mailed_recovery(&app, "ada@example.edu").await;
    let results = app.concurrent_passcodes("ada", &code, 20).await;
    assert_eq!(count_to(&results, "/enroll/device-type"), 1, "{results:?}");
}

#[tokio::test]
async fn parallel_guesses_at_the_identity_check_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let mut browsers = Vec::new();
    for i in 0..30 {
        let b = app.other_browser();
        let token = csrf_in(&b.get_html("/recover").await);
        let id4 = if i == 15 { "AB12".to_string() } else { format!("Z{i:03}") };
        browsers.push((b, token, id4));
    }
    let guesses = browsers.iter().map(|(b, token, id4)| async move {
        let fields = [
            ("csrf_token", token.as_str()),
            ("username", "ada"),
            ("date_of_birth", "1995-12-10"),
            ("id_last4", id4.as_str()),
            ("password", PASSWORD),
        ];
        b.post_raw("/recover", &fields).await.status().as_u16()
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(checked <= 10, "{checked} guesses were checked: {statuses:?}");
}

#[tokio::test]
async fn with_a_waiting_period_the_passcode_works_only_later_and_can_be_cancelled_meanwhile() {
    let app = spawn_app_with(|s| s.recovery.wait_hours = 24).await;
    let (ada, _) = app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let thief = app.other_browser();
    let sent = recover(&thief, "ada", "1995-12-10", "AB12", PASSWORD).await.text().await.unwrap();
    assert!(sent.contains("starts to work on"), "{sent}");
    let (code, _) = mailed_recovery(&app, "ada@example.edu").await;
    // During the wait the passcode signs nobody in.
    assert_eq!(location(&thief.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(thief.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
    // Ada, signed in with her device a moment ago, sees it and cancels it.
    let stepped = &app;
    let settings = stepped.get_html("/settings").await;
    assert!(settings.contains("A recovery passcode was asked for your account"), "{settings}");
    let id = settings.split("/settings/recovery/").nth(1).unwrap().split('/').next().unwrap().to_string();
    assert_eq!(location(&stepped.post_form(&format!("/settings/recovery/{id}/cancel"), &[]).await), "/settings");
    assert!(!stepped.get_html("/settings").await.contains("A recovery passcode was asked for"));
    assert!(app.audit_events(&ada.id).await.iter().any(|(e, _)| e == "recovery.cancelled"));
    // Even once the wait is over, a cancelled passcode does nothing.
    app.sql(&format!("UPDATE one_time_codes SET not_before = {}", now() - 1)).await;
    assert_eq!(thief.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
}

#[tokio::test]
async fn this_wasnt_me_in_the_recovery_mail_cancels_it_and_signs_out_everywhere() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;
    let thief = app.other_browser();
    assert_eq!(recover(&thief, "ada", "1995-12-10", "AB12", PASSWORD).await.status(), 200);
    let (code, link) = mailed_recovery(&app, "ada@example.edu").await;
    let owner = app.other_browser();
    let page = owner.get_html(&link).await;
    assert!(page.contains("a recovery passcode was asked for your account"), "{page}");
    let token = csrf_in(&page);
    let done = owner.post_raw(&link, &[("csrf_token", &token)]).await.text().await.unwrap();
    assert!(done.contains("We cancelled the recovery passcode"), "{done}");
    assert_eq!(location(&app.get("/settings").await), "/login", "Ada's sessions were ended");
    assert_eq!(location(&thief.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(thief.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
    assert!(twofold::store::fraud_reports::recent(&app.db, 10).await.unwrap().iter().any(|r| r.user_id == ada.id));
}

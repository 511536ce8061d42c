//! Phones end to end with the telephony simulator: enrolling a mobile by text and a landline by
//! call, "Text Me" and "Call Me" at the prompt, the fraud key, the duplicate-number rule and the
//! hourly budgets (T06, T08, T16, T36, T37).

use crate::helpers::{PASSWORD, TestApp, count_to, location, next_mobile_number, now, spawn_app, spawn_app_with};

/// An administrator, fully signed in in their own browser (to answer calls on the simulator page).
pub async fn admin(app: &TestApp) -> TestApp {
    let browser = app.other_browser();
    let (user, _) = browser.signed_in_user("root").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", user.id)).await;
    browser
}

/// Signs `username` in and runs the wizard up to the phone step for `kind`.
async fn at_phone_step(app: &TestApp, username: &str, kind: &str) -> String {
    let user = app.add_user(username).await;
    assert_eq!(location(&app.login(username, PASSWORD).await), "/prompt");
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    assert_eq!(location(&app.post_form("/enroll/device-type", &[("kind", kind)]).await), "/enroll/phone");
    user.id
}

/// Finishes the wizard from "Device options".
async fn save_options(app: &TestApp, name: &str, action: &str) {
    let r = app.post_form("/enroll/options", &[("name", name), ("login_action", action)]).await;
    assert_eq!(location(&r), "/enroll/done");
}

/// A user whose only device is a mobile phone known by its number (no app); left at the prompt
/// with the password only. Returns the user id and the number.
pub(crate) async fn mobile_only_user(app: &TestApp, username: &str, action: &str) -> (String, String) {
    let id = at_phone_step(app, username, "mobile").await;
    let number = next_mobile_number();
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let code = app.texted_codes(&number).await.pop().unwrap();
    app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", &code)]).await;
    assert_eq!(location(&app.post_form("/enroll/phone/app", &[("choice", "skip")]).await), "/enroll/options");
    save_options(app, "Work mobile", action).await;
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login(username, PASSWORD).await), "/prompt");
    (id, number)
}

/// Codes texted to `number` since `before` was read.
pub(crate) async fn fresh_codes(app: &TestApp, number: &str, before: &[String]) -> Vec<String> {
    app.texted_codes(number).await.into_iter().filter(|c| !before.contains(c)).collect()
}

pub(crate) async fn ringing_call(app: &TestApp, user_id: &str) -> String {
    let calls = twofold::store::phone_calls::recent_simulated(&app.db, &app.keys, 10).await.unwrap();
    calls.into_iter().find(|c| c.user_id == user_id && c.status == "ringing").expect("a ringing call").id
}

#[tokio::test]
async fn the_number_step_accepts_the_forms_people_type_and_explains_mistakes() {
    let app = spawn_app().await;
    at_phone_step(&app, "ada", "mobile").await;
    let page = app.get_html("/enroll/phone").await;
    assert!(page.contains("Phone number") && page.contains("Country") && !page.contains("Extension"));
    for (input, country, message) in [
        ("204 FLOWERS", "CA", "Remove the letters"),
        ("123", "CA", "too short"),
        ("+41 33 123456789", "CH", "too long"),
        ("+44 7700 900123", "", "not a valid number"),
        ("+44 909 879 0000", "", "Premium-rate"),
        ("+81 3 1234 5678", "", "cannot be used here"),
    ] {
        let r = app.post_form("/enroll/phone", &[("country", country), ("number", input)]).await;
        assert_eq!(r.status(), 422, "{input}");
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{input}: expected {message:?}");
    }
    let r = app.post_form("/enroll/phone", &[("country", "CA"), ("number", "(204) 555-0123")]).await;
    assert_eq!(location(&r), "/enroll/phone/confirm");
    let confirm = app.get_html("/enroll/phone/confirm").await;
    assert!(confirm.contains("Is this the correct number?") && confirm.contains("+1 204-555-0123"), "{confirm}");
    assert!(confirm.contains("Yes, it&#39;s correct") || confirm.contains("Yes, it's correct"));
    assert_eq!(location(&app.post_form("/enroll/back", &[]).await), "/enroll/phone", "Back returns to the number");
    let r = app.post_form("/enroll/phone", &[("country", "GB"), ("number", "00 44 1509 222333")]).await;
    assert_eq!(location(&r), "/enroll/phone/confirm");
    assert!(app.get_html("/enroll/phone/confirm").await.contains("+44 1509 222333"));
}

#[tokio::test]
async fn a_mobile_phone_is_enrolled_by_a_texted_code_and_keeps_its_app() {
    let app = spawn_app().await;
    let (user, _seed) = app.signed_in_user("ada").await;
    let devices = twofold::store::phone_devices::for_user(&app.db, &app.keys, &user.id).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].phone.starts_with("+1204555"), "stored in E.164");
    // The same device has its app (the helper signed in with the app's passcode).
    let all = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    assert!(!all[0].totp_secret.is_empty() && all[0].id == devices[0].id);
    let events: Vec<String> = app.audit_events(&user.id).await.into_iter().map(|e| e.0).collect();
    assert!(events.contains(&"enroll.phone_verified".to_string()) && events.contains(&"phone.text_sent".to_string()));
    let audit = app.table_text("audit_log", &["detail"]).await;
    assert!(!audit.contains(&devices[0].phone), "the audit log holds only masked numbers");
}

#[tokio::test]
async fn a_wrong_texted_code_stores_no_device() {
    let app = spawn_app().await;
    let id = at_phone_step(&app, "ada", "mobile").await;
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &next_mobile_number())]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let r = app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", "0000000")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("That code is not right"));
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &id).await.unwrap(), 0);
}

#[tokio::test]
async fn a_landline_is_verified_by_a_call_answered_on_the_simulator_page() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let id = at_phone_step(&app, "ada", "landline").await;
    assert!(app.get_html("/enroll/phone").await.contains("Extension"));
    let r =
        app.post_form("/enroll/phone", &[("country", "CH"), ("number", "033 223 45 67"), ("extension", "12")]).await;
    assert_eq!(location(&r), "/enroll/phone/confirm");
    assert!(app.get_html("/enroll/phone/confirm").await.contains("+41 33 223 45 67"));
    app.post_form("/enroll/phone/confirm", &[]).await;
    assert!(app.get_html("/enroll/phone/verify").await.contains("Call me to verify"));
    app.post_form("/enroll/phone/verify", &[("action", "call")]).await;
    let waiting = app.get_html("/enroll/phone/verify").await;
    assert!(
        waiting.contains("data-wait-state=\"ringing\"") && waiting.contains("/static/wait.js"),
        "the page updates by itself while ringing"
    );
    assert!(!waiting.contains("http-equiv=\"refresh\""), "without reloading every few seconds (WCAG 2.2.1)");
    // The simulator page, for administrators only, rings the call.
    assert_eq!(app.get("/simulator/phone").await.status().as_u16() / 100, 3, "not for a half-signed-in user");
    let sim = root.get_html("/simulator/phone").await;
    assert!(
        sim.contains("Telephony simulator") && sim.contains("Answer and press a key") && sim.contains("+41332234567")
    );
    let call = ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "1")]).await;
    assert!(app.get_html("/enroll/phone/verify").await.contains("You answered the call"));
    let r = app.post_form("/enroll/phone/verify", &[("action", "check")]).await;
    assert_eq!(location(&r), "/enroll/options");
    let options = app.get_html("/enroll/options").await;
    assert!(options.contains("Automatically call this device"));
    save_options(&app, "Desk phone", "call").await;
    let devices = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap();
    assert_eq!((devices[0].kind.as_str(), devices[0].phone.as_str()), ("landline", "+41332234567"));
    assert_eq!(devices[0].phone_extension.as_deref(), Some("12"));
    // A landline may be shared: a colleague adds the same number.
    let colleague = app.other_browser();
    at_phone_step(&colleague, "bob", "landline").await;
    let r = colleague.post_form("/enroll/phone", &[("country", "CH"), ("number", "+41 33 223 45 67")]).await;
    assert_eq!(location(&r), "/enroll/phone/confirm");
}

#[tokio::test]
async fn a_mobile_number_of_another_account_cannot_be_added_and_whose_is_not_said() {
    let app = spawn_app().await;
    let (_, number) = mobile_only_user(&app, "ada", "ask").await;
    let other = app.other_browser();
    at_phone_step(&other, "bob", "mobile").await;
    let r = other.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("already registered to another account"));
    assert!(!html.contains("ada Tester") && !html.contains("ada@"), "whose number it is stays unsaid");
}

#[tokio::test]
async fn text_me_codes_sign_in_once_and_new_codes_keep_the_failure_count() {
    let app = spawn_app().await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Text Me") && prompt.contains("Call Me") && prompt.contains("+1 ••• ••• "), "{prompt}");
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    let earlier = app.texted_codes(&number).await;
    assert_eq!(location(&app.post_form("/prompt/text", &[("device", &device)]).await), "/prompt");
    assert!(app.get_html("/prompt").await.contains("We texted you a passcode"));
    // T08: five failures, then new codes: the count goes on.
    for _ in 0..5 {
        assert_eq!(app.post_form("/prompt/passcode", &[("passcode", "1234567")]).await.status(), 422);
    }
    app.post_form("/prompt/text", &[("device", &device)]).await;
    app.post_form("/prompt/passcode", &[("passcode", "7654321")]).await;
    let failures = app.table_text("users", &["CAST(failed_attempts AS TEXT)", "username"]).await;
    assert!(failures.contains("6 ada"), "{failures}");
    let codes = fresh_codes(&app, &number, &earlier).await;
    assert_eq!(codes.len(), 2, "a batch of one code per text by default");
    let code = codes[0].clone();
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    let again = app.other_browser();
    again.login("ada", PASSWORD).await;
    assert_eq!(again.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422, "single use");
}

#[tokio::test]
async fn of_twenty_concurrent_submissions_of_a_texted_code_exactly_one_succeeds() {
    let app = spawn_app_with(|s| s.telephony.sms_batch_size = 3).await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    let before = app.texted_codes(&number).await;
    app.post_form("/prompt/text", &[("device", &device)]).await;
    let codes = fresh_codes(&app, &number, &before).await;
    assert_eq!(codes.len(), 3, "a batch of three in one text");
    let results = app.concurrent_passcodes("ada", &codes[0], 20).await;
    assert_eq!(count_to(&results, "/prompt/trust"), 1, "{results:?}");
}

#[tokio::test]
async fn a_texted_code_expires_after_ten_minutes() {
    let app = spawn_app().await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    let before = app.texted_codes(&number).await;
    app.post_form("/prompt/text", &[("device", &device)]).await;
    let code = fresh_codes(&app, &number, &before).await.remove(0);
    // T16: the code was sent 10 minutes and 1 second ago.
    app.sql(&format!("UPDATE phone_codes SET expires_at = {} WHERE user_id = '{id}'", now() - 1)).await;
    assert_eq!(app.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
}

#[tokio::test]
async fn call_me_answered_signs_in_and_declined_or_fraud_does_not() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let (id, _) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;

    // Declined: a clear message, other options stay.
    assert_eq!(location(&app.post_form("/prompt/call", &[("device", &device)]).await), "/prompt/call");
    assert!(app.get_html("/prompt/call").await.contains("Calling your phone"));
    let call = ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/decline"), &[]).await;
    let page = app.get_html("/prompt/call").await;
    assert!(page.contains("The call was declined") && page.contains("Other options"));
    assert_eq!(location(&app.post_form("/prompt/call/continue", &[]).await), "/prompt/call");

    // Fraud key: denied, a fraud report and an audit event.
    app.post_form("/prompt/call", &[("device", &device)]).await;
    let call = ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "9")]).await;
    // The browser that asked (maybe the attacker's) is signed out; the report is filed.
    assert_eq!(location(&app.get("/prompt/call").await), "/login", "the requester's session ended");
    let reports = twofold::store::fraud_reports::recent(&app.db, 10).await.unwrap();
    assert!(reports.iter().any(|r| r.user_id == id && r.method == "phone_call"));
    let events: Vec<String> = app.audit_events(&id).await.into_iter().map(|e| e.0).collect();
    assert!(events.contains(&"phone.call_fraud".to_string()));
    assert!(events.contains(&"fraud.reported".to_string()), "{events:?}");
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");

    // Answered: the session continues, once.
    app.post_form("/prompt/call", &[("device", &device)]).await;
    let call = ringing_call(&app, &id).await;
    // Another session cannot use this call.
    let thief = app.other_browser();
    thief.login("ada", PASSWORD).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "5")]).await;
    assert_eq!(location(&thief.post_form("/prompt/call/continue", &[]).await), "/prompt/call");
    let page = app.get_html("/prompt/call").await;
    assert!(page.contains("Call answered") && page.contains("/static/phone_wait.js"));
    assert_eq!(location(&app.post_form("/prompt/call/continue", &[]).await), "/prompt/trust");
}

#[tokio::test]
async fn an_unanswered_call_times_out_with_a_clear_message() {
    let app = spawn_app().await;
    let (id, _) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    app.post_form("/prompt/call", &[("device", &device)]).await;
    app.sql(&format!("UPDATE phone_calls SET expires_at = {} WHERE user_id = '{id}'", now() - 1)).await;
    assert!(app.get_html("/prompt/call").await.contains("The call was not answered in time"));
    assert!(app.get_html("/prompt").await.contains("Enter a Passcode"), "other methods stay");
}

#[tokio::test]
async fn automatically_call_this_device_calls_when_the_prompt_opens() {
    let app = spawn_app().await;
    mobile_only_user(&app, "ada", "call").await;
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains(r#"id="continue-form" data-auto="1""#), "the script places the call");
    assert!(prompt.contains("/static/phone_wait.js"));
    let js = app.get("/static/phone_wait.js").await;
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
}

#[tokio::test]
async fn past_a_budget_nothing_is_sent_and_administrators_are_alerted() {
    let app = spawn_app_with(|s| s.telephony.budgets.per_number_per_hour = 3).await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    // One text at enrolment, two more now: the budget of three is spent.
    for _ in 0..2 {
        assert_eq!(location(&app.post_form("/prompt/text", &[("device", &device)]).await), "/prompt");
    }
    let sent = app.texted_codes(&number).await.len();
    let r = app.post_form("/prompt/text", &[("device", &device)]).await;
    assert_eq!(r.status(), 429);
    let html = r.text().await.unwrap();
    assert!(html.contains("We cannot send more texts") && html.contains("Enter a Passcode"), "other methods stay");
    let r = app.post_form("/prompt/call", &[("device", &device)]).await;
    assert_eq!(r.status(), 429, "calls count against the same number's budget");
    assert_eq!(app.texted_codes(&number).await.len(), sent, "no carrier request was made");
    let events = app.audit_events(&id).await;
    assert!(events.iter().any(|(e, o)| e == "phone.budget_exceeded" && o == "failure"), "{events:?}");
}

#[tokio::test]
async fn a_per_prefix_budget_stops_sequential_numbers() {
    // T36: many enrolment texts to sequential numbers under one prefix.
    let app = spawn_app_with(|s| {
        s.telephony.budgets.per_prefix_per_hour = 3;
        s.telephony.budgets.per_user_per_hour = 100;
    })
    .await;
    at_phone_step(&app, "ada", "mobile").await;
    for n in 0..6 {
        app.post_form("/enroll/phone", &[("country", "CA"), ("number", &format!("+1204555{:04}", 150 + n))]).await;
        app.post_form("/enroll/phone/confirm", &[]).await;
        let r = app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
        if n >= 3 {
            assert_eq!(r.status(), 422);
            assert!(r.text().await.unwrap().contains("We cannot send more texts"));
        }
        app.post_form("/enroll/back", &[]).await;
    }
    let sent = twofold::store::phone_texts::recent(&app.db, &app.keys, 100).await.unwrap().len();
    assert_eq!(sent, 3, "only the prefix budget's worth reached the carrier");
}

#[tokio::test]
async fn my_settings_show_the_number_and_the_console_finds_users_by_it() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let e164 = twofold::store::phone_devices::for_user(&app.db, &app.keys, &user.id).await.unwrap().remove(0).phone;
    let shown = twofold::domain::PhoneNumber::from_e164(&e164).unwrap().international().to_string();
    let settings = app.get_html("/settings").await;
    assert!(settings.contains(&shown), "the owner sees the whole number: {shown}");
    let root = admin(&app).await;
    let national = format!("({}) {}-{}", &e164[2..5], &e164[5..8], &e164[8..]);
    for typed in [e164.as_str(), shown.as_str(), national.as_str()] {
        let r = root.client.get(root.url("/admin/users")).query(&[("q", typed)]).send().await.unwrap();
        let html = r.text().await.unwrap();
        assert!(html.contains("ada Tester"), "search by {typed:?} finds the user");
    }
    let detail = root.get_html(&format!("/admin/users/{}", user.id)).await;
    assert!(detail.contains(&twofold::domain::phone::mask(&e164)) && !detail.contains(&shown), "staff see it masked");
}

#[tokio::test]
async fn five_wrong_codes_at_enrolment_void_the_texted_code() {
    let app = spawn_app().await;
    at_phone_step(&app, "ada", "mobile").await;
    let number = next_mobile_number();
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let code = app.texted_codes(&number).await.pop().unwrap();
    let wrong = if code == "1111111" { "2222222" } else { "1111111" };
    for _ in 0..4 {
        app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", wrong)]).await;
    }
    let r = app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", wrong)]).await;
    assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    let r = app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", &code)]).await;
    assert_eq!(r.status(), 422, "the right code no longer works");
}

#[tokio::test]
async fn a_mobile_number_can_be_verified_by_a_call_instead() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let id = at_phone_step(&app, "ada", "mobile").await;
    app.post_form("/enroll/phone", &[("country", "AU"), ("number", "0491 570 156")]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    assert!(app.get_html("/enroll/phone/verify").await.contains("Call me instead"));
    app.post_form("/enroll/phone/verify", &[("action", "call")]).await;
    let call = ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "1")]).await;
    assert_eq!(location(&app.post_form("/enroll/phone/verify", &[("action", "check")]).await), "/enroll/phone/app");
    assert_eq!(location(&app.post_form("/enroll/phone/app", &[("choice", "skip")]).await), "/enroll/options");
    let devices = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap();
    assert_eq!((devices[0].kind.as_str(), devices[0].phone.as_str()), ("mobile", "+61491570156"));
}

#[tokio::test]
async fn the_help_desk_can_add_a_mobile_number_another_account_holds() {
    let app = spawn_app().await;
    let (_, number) = mobile_only_user(&app, "ada", "ask").await;
    let bob = app.add_user("bob").await;
    let desk = app.other_browser();
    let (grace, _) = desk.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", grace.id)).await;
    let page = desk.get_html(&format!("/admin/users/{}", bob.id)).await;
    assert!(page.contains("Add a phone number"));
    let r =
        desk.post_form(&format!("/admin/users/{}/phone", bob.id), &[("kind", "mobile"), ("number", "204 555")]).await;
    assert_eq!(r.status(), 422, "a bad number is explained");
    let r = desk.post_form(&format!("/admin/users/{}/phone", bob.id), &[("kind", "mobile"), ("number", &number)]).await;
    assert_eq!(location(&r), format!("/admin/users/{}", bob.id));
    let devices = twofold::store::phone_devices::for_user(&app.db, &app.keys, &bob.id).await.unwrap();
    assert_eq!(devices[0].phone, number);
    let events = app.audit_events(&bob.id).await;
    assert!(events.iter().any(|(e, _)| e == "device.phone_added"), "{events:?}");
}

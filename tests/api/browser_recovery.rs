//! In a real browser: "Lost your device?". Ada has lost her phone. Without calling anyone, she
//! answers with the identity details her institution imported and her password, gets a recovery
//! passcode, signs in with it, adds a replacement phone and removes the lost one.
//!
//! Headless Chromium is driven over WebDriver by clicking what a person would click (`browser_steps.rs`).
//! Needs `chromium` and `chromium-driver`, like `browser.rs`; fails, never skips, without them. With
//! `TWOFOLD_SCREENSHOTS=<dir>` it saves PNGs of the recovery form, the passcode and the last page
//! of the wizard (which offers to remove the lost device).

use twofold::domain::import::parse_csv;

use crate::browser_steps::{
    Screenshots, add_phone, click_button, click_link, csp_violations, device_card, expect_heading, expect_text,
    field_value, fill, find, log_in, main_text, open_login,
};
use crate::helpers::{PASSWORD, TestApp, now, spawn_app};
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_lost_their_phone_replaces_it_with_a_recovery_passcode_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();

    // Arrange over HTTP: Ada has a phone ("My iPhone"), and the institution has imported her
    // date of birth and the last 4 characters of her ID.
    let (ada, _lost_phone) = app.signed_in_user("ada").await;
    import_facts(&app, "ada", "1995-12-10", "AB12").await;

    // ----- Ada, without her phone, in a fresh browser -----------------------------------------
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;
    open_login(b, &app).await;
    click_link(b, "Lost your device?").await;
    expect_heading(b, "Lost your device?").await;

    // A mistyped ID: the same reply whatever was wrong, and no passcode.
    fill(b, "Username", "ada").await;
    fill(b, "Date of birth", "1995-12-10").await;
    fill(b, "Last 4 characters of your ID", "ab13").await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Get recovery passcode").await;
    expect_text(b, "We could not confirm those details").await;
    expect_heading(b, "Lost your device?").await;
    let alert = b.text(&find(b, "//*[@id='form-error']").await).await.unwrap();
    assert!(alert.starts_with("We could not confirm those details"), "the uniform refusal: {alert:?}");
    assert!(b.find("//*[@id='recovery-passcode']").await.is_err(), "no passcode after a wrong answer");
    assert_eq!(field_value(b, "Username").await, "ada", "the username is kept for the next try");

    // She starts over, with the right details (the ID typed in lower case, as people do).
    click_link(b, "Back to Log in").await;
    expect_heading(b, "Log in").await;
    click_link(b, "Lost your device?").await;
    expect_heading(b, "Lost your device?").await;
    assert!(b.find("//*[@id='form-error']").await.is_err(), "a fresh form shows no refusal");
    fill(b, "Username", "ada").await;
    fill(b, "Date of birth", "1995-12-10").await;
    fill(b, "Last 4 characters of your ID", "ab12").await;
    fill(b, "Password", PASSWORD).await;
    shots.take(b, "30-lost-your-device").await;
    click_button(b, "Get recovery passcode").await;

    // The passcode is mailed to the address on file, never shown to whoever typed the details.
    expect_heading(b, "Check your email").await;
    let issued = main_text(b).await;
    for expected in [
        "We sent a recovery passcode to a•••@example.edu",
        "It works once, until",
        "Log in with your username and password.",
    ] {
        assert!(issued.contains(expected), "the page says {expected:?}:\n{issued}");
    }
    let (code, _) = crate::recovery::mailed_recovery(&app, "ada@example.edu").await;
    let shown = twofold::factors::codes::display(&code);
    assert!(!issued.contains(&code) && !issued.contains(&shown), "the passcode is not on the page");
    shots.take(b, "31-recovery-passcode").await;
    click_button(b, "Log in").await;

    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;
    // She types it as shown (with the spaces).
    fill(b, "Passcode", &shown).await;
    click_button(b, "Verify").await;

    // Straight on to add a new phone (no "Trust this browser?").
    add_phone(b, &app, "iPhone", "Replacement phone").await;

    // Done, and offered to remove the phone she lost.
    expect_heading(b, "You're all set").await;
    let done = main_text(b).await;
    for expected in ["Replacement phone is ready to use.", "Remove the device you lost"] {
        assert!(done.contains(expected), "the last page says {expected:?}:\n{done}");
    }
    assert!(
        b.find("//main//a[normalize-space()='Remove Replacement phone']").await.is_err(),
        "the new phone is not offered for removal:\n{done}"
    );
    shots.take(b, "32-done-remove-old").await;
    click_link(b, "Remove My iPhone").await;

    expect_heading(b, "Remove My iPhone?").await;
    click_button(b, "Remove").await;

    // Her settings show the replacement, and only it.
    expect_heading(b, "My Settings & Devices").await;
    find(b, &device_card("Replacement phone")).await;
    let settings = main_text(b).await;
    assert!(!settings.contains("My iPhone"), "the lost phone is gone from her settings:\n{settings}");

    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "no CSP violations: {violations:#?}");
    browser.close().await;

    // What the database, the audit log and the outbox say.
    let devices = twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap();
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Replacement phone"], "ada has exactly the replacement phone");
    assert!(
        twofold::store::one_time_codes::usable(&app.db, &ada.id, now()).await.unwrap().is_empty(),
        "the recovery passcode is spent"
    );
    let events = app.audit_events(&ada.id).await;
    for expected in ["recovery.refused", "recovery.issued", "mfa.recovery_passcode", "device.removed"] {
        assert!(events.iter().any(|(event, _)| event == expected), "{expected} is audited: {events:?}");
    }
    let mail = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
    assert!(
        mail.iter().any(|m| m.subject.starts_with("Your recovery passcode")),
        "ada is told by email: {:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

// ----- Arranging -------------------------------------------------------------------------------

/// Imports identity facts for `username` (who must exist), as `recovery.rs` does.
async fn import_facts(app: &TestApp, username: &str, dob: &str, id4: &str) {
    let csv = format!(
        "username,display_name,email,date_of_birth,id_last4\n{username},{username} Tester,{username}@example.edu,{dob},{id4}\n"
    );
    let rows = parse_csv(&csv).unwrap();
    let keys = app.keys.clone();
    twofold::store::import::apply(&app.db, &rows, &|u, f, v| keys.hash_fact(u, f, v), now()).await.unwrap();
}

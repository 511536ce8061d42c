//! In a real browser: Ada enrols her desk phone (a landline) with "Call me to verify", chooses
//! "Automatically call this device", and logs in with the call. Root, an administrator, answers
//! each call on the clearly marked phone simulator page in another browser.
//!
//! Headless Chromium over WebDriver (`browser_steps.rs`); fails, never skips, without it.

use crate::browser_steps::{
    Screenshots, choose, click_button, click_link, csp_violations, expect_heading, expect_text, fill, log_in,
    main_text, open_login,
};
use crate::helpers::{PASSWORD, location, now, spawn_app};
use crate::webdriver::{Browser, ChromeDriver};

/// On the simulator page (root's browser): answers the ringing call with "Answer and press a key".
async fn answer_call(root: &Browser<'_>, address: &str) {
    root.goto(&format!("{address}/simulator/phone")).await;
    expect_heading(root, "Phone simulator").await;
    expect_text(root, "Ringing:").await;
    click_button(root, "Answer and press a key").await;
    expect_heading(root, "Phone simulator").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landline_is_enrolled_and_signs_in_with_call_me_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();

    // Arrange over HTTP: root is an administrator with a phone app.
    let root_http = app.other_browser();
    let root = root_http.add_user("root").await;
    assert_eq!(location(&root_http.login("root", PASSWORD).await), "/prompt");
    let root_seed = root_http.enroll_phone().await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", root.id)).await;
    app.add_user("ada").await;

    // Root opens the console and finds the phone simulator from the Outbox page.
    let desk = driver.new_session(1280, 1000).await;
    let r = &desk;
    open_login(r, &app).await;
    log_in(r, "root").await;
    expect_heading(r, "Choose an authentication method").await;
    fill(r, "Passcode", &root_seed.code_at(now() as u64 + 30)).await;
    click_button(r, "Verify").await;
    expect_heading(r, "Trust this browser?").await;
    click_button(r, "Don't trust").await;
    // Let that navigation finish first, or it may land after the next one.
    expect_heading(r, "My Settings & Devices").await;
    r.goto(&app.url("/admin/outbox")).await;
    expect_heading(r, "Outbox").await;
    click_link(r, "Phone simulator").await;
    expect_heading(r, "Phone simulator").await;
    assert!(main_text(r).await.contains("Telephony simulator."), "the page says nothing reaches a real phone");

    // Ada enrols her landline.
    let session = driver.new_session(1280, 1000).await;
    let b = &session;
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Not enrolled yet").await;
    click_button(b, "Start setup").await;
    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Landline").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Enter your landline number").await;
    fill(b, "Phone number", "+41 33 223 45 67").await;
    fill(b, "Extension", "12").await;
    shots.take(b, "40-phone-number").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Is this the correct number?").await;
    assert!(main_text(b).await.contains("+41 33 223 45 67 extension 12"));
    shots.take(b, "41-phone-confirm").await;
    click_button(b, "Yes, it's correct").await;
    expect_heading(b, "Verify your number").await;
    click_button(b, "Call me to verify").await;
    expect_text(b, "We are calling +41 33 223 45 67").await;
    shots.take(b, "42-phone-calling").await;
    answer_call(r, &app.address).await;
    shots.take(r, "43-phone-simulator").await;
    // Ada's page notices by itself and continues.
    expect_heading(b, "Device options").await;
    fill(b, "Device name", "Desk phone").await;
    choose(b, "Automatically call this device").await;
    click_button(b, "Save").await;
    expect_heading(b, "You're all set").await;
    click_link(b, "Continue to Login").await;

    // The prompt calls by itself; Root answers; Ada is in.
    expect_heading(b, "Calling your phone").await;
    shots.take(b, "44-call-me-waiting").await;
    answer_call(r, &app.address).await;
    expect_heading(b, "Trust this browser?").await;

    for (who, browser) in [("root", &desk), ("ada", &session)] {
        let violations = csp_violations(browser).await;
        assert!(violations.is_empty(), "no CSP violations in {who}'s browser: {violations:#?}");
    }
    session.close().await;
    desk.close().await;
}

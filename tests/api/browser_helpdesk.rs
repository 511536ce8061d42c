//! In a real browser: a help-desk call about a lost phone. Grace (help desk) signs in, finds Ada in
//! the console, disables the lost phone and issues a temporary passcode; Ada, in another browser,
//! signs in with that passcode and goes straight through the wizard to add a new phone.
//!
//! Headless Chromium is driven over WebDriver by clicking what a person would click (`browser_steps.rs`).
//! Needs `chromium` and `chromium-driver`, like `browser.rs`; fails, never skips, without them. With
//! `TWOFOLD_SCREENSHOTS=<dir>` it saves PNGs of the console pages and of Ada's prompt.
//! A second call: Grace verifies the caller with a verification push before anything else.

use crate::browser_steps::{
    Screenshots, add_phone, click, click_button, click_link, csp_violations, device_card, expect_heading, expect_text,
    field_value, fill, fill_within, find, log_in, main_text, open_login,
};
use crate::helpers::{PASSWORD, location, now, spawn_app};
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_desk_call_replaces_a_lost_phone_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();

    // Arrange over HTTP: Ada has a phone ("My iPhone"); Grace is on the help desk with her own
    // phone, enrolled without passing the prompt (so the browser prompt takes a fresh step).
    let (ada, _) = app.signed_in_user("ada").await;

    // ----- Grace, at the help desk ------------------------------------------------------------
    let desk = help_desk_in_browser(&driver, &app).await;
    let b = &desk;
    expect_text(b, "2 users.").await;
    fill(b, "Search by username, name or email", "ada").await;
    click_button(b, "Search").await;
    expect_text(b, "1 user matching \"ada\".").await;
    let row = find(b, "//main//table//tr[td/a[normalize-space()='ada']]").await;
    let row_text = b.text(&row).await.unwrap();
    for expected in ["ada Tester", "ada@example.edu", "active"] {
        assert!(row_text.contains(expected), "the search result shows {expected:?}: {row_text}");
    }
    assert!(b.find("//main//a[normalize-space()='grace']").await.is_err(), "only ada matches \"ada\"");
    shots.take(b, "20-console-users").await;
    click_link(b, "ada").await;

    // Ada's page: disable the lost phone, with a reason.
    expect_heading(b, "ada Tester active").await;
    let phone = &device_card("My iPhone");
    let card_text = b.text(&find(b, phone).await).await.unwrap();
    for expected in ["iPhone", "Added", "Last used"] {
        assert!(card_text.contains(expected), "the device card shows {expected:?}:\n{card_text}");
    }
    assert!(
        b.find("//button[starts-with(normalize-space(), 'Disable account')]").await.is_err(),
        "the help desk never disables accounts"
    );
    fill_within(b, phone, "Reason for disabling this device", "reported lost").await;
    shots.take(b, "21-console-user").await;
    click(b, &format!("{phone}//button[starts-with(normalize-space(), 'Disable device')]"), "Disable device").await;
    // A confirmation first (a page: no JavaScript needed), with the reason; nothing changed yet.
    expect_heading(b, "Disable My iPhone?").await;
    expect_text(b, "reported lost").await;
    shots.take(b, "21-console-disable-device").await;
    assert_eq!(twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap().len(), 1, "not yet");
    click_button(b, "Disable device").await;
    find(b, "//main//p[normalize-space()='No devices.']").await;
    expect_heading(b, "ada Tester active").await;
    expect_text(b, "device.disabled").await;

    // Issue a temporary passcode: one use, valid for one hour (the defaults).
    click_button(b, "Issue temporary passcode").await;
    expect_heading(b, "Issue temporary passcode").await;
    assert!(main_text(b).await.contains("For ada Tester (ada)."));
    assert_eq!(field_value(b, "Uses").await, "1", "one use by default");
    assert_eq!(field_value(b, "Valid for (hours)").await, "1", "one hour by default");
    fill(b, "Reason", "Lost phone, identity checked by video call").await;
    click_button(b, "Issue temporary passcode").await;
    expect_heading(b, "Temporary passcode").await;
    let shown = b.text(&find(b, "//*[@id='temporary-passcode']").await).await.unwrap();
    let digits: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len() == 9 && digits.chars().all(|c| c.is_ascii_digit()), "a 9-digit passcode is shown: {shown:?}");
    let issued = main_text(b).await;
    assert!(issued.contains("Read this to ada Tester. It is shown only now."), "{issued}");
    assert!(issued.contains("It works once, until"), "{issued}");
    shots.take(b, "22-temporary-passcode").await;

    // ----- Ada, without her phone, in another browser -----------------------------------------
    let other = driver.new_session(1280, 1000).await;
    let b = &other;
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;
    let prompt = main_text(b).await;
    assert!(prompt.contains("Enter the 9-digit recovery or temporary passcode you received."), "{prompt}");
    assert!(!prompt.contains("My iPhone"), "the disabled phone is not offered:\n{prompt}");
    // She types it as Grace read it out (with the space).
    fill(b, "Passcode", &shown).await;
    shots.take(b, "23-prompt-temporary").await;
    click_button(b, "Verify").await;

    // Straight on to add a new phone (no "Trust this browser?"), told why.
    expect_text(
        b,
        "You signed in with a one-time passcode (a temporary passcode from your help desk, or a recovery passcode)",
    )
    .await;
    shots.take(b, "23-wizard-after-temporary-passcode").await;
    add_phone(b, &app, "Android", "New phone").await;
    expect_heading(b, "You're all set").await;
    assert!(main_text(b).await.contains("New phone is ready to use."));
    click_button(b, "Continue").await;

    // Fully signed in: her settings show the new phone, and only it.
    expect_heading(b, "My Settings & Devices").await;
    let card = find(b, &device_card("New phone")).await;
    assert!(b.text(&card).await.unwrap().contains("Android"), "the new phone is an Android phone");
    assert!(!main_text(b).await.contains("My iPhone"), "the lost phone is gone from her settings");

    for (who, browser) in [("grace", &desk), ("ada", &other)] {
        let violations = csp_violations(browser).await;
        assert!(violations.is_empty(), "no CSP violations in {who}'s browser: {violations:#?}");
    }
    other.close().await;
    desk.close().await;

    // What the database and the audit log say.
    let devices = twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap();
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["New phone"], "ada has exactly the new phone");
    assert!(
        twofold::store::one_time_codes::usable(&app.db, &ada.id, now()).await.unwrap().is_empty(),
        "the one-use passcode is spent"
    );
    let events = app.audit_events(&ada.id).await;
    for expected in ["device.disabled", "bypass.issued", "mfa.temporary_passcode"] {
        assert!(events.iter().any(|(event, _)| event == expected), "{expected} is audited: {events:?}");
    }
}

/// Grace (help desk) signs in in a real browser with her own phone and opens the console.
async fn help_desk_in_browser<'d>(
    driver: &'d ChromeDriver,
    app: &crate::helpers::TestApp,
) -> crate::webdriver::Browser<'d> {
    staff_in_browser(driver, app, "helpdesk").await
}

/// Grace, with `role` ("helpdesk" or "admin"), signed in with her phone in a real browser and at
/// the console.
pub(crate) async fn staff_in_browser<'d>(
    driver: &'d ChromeDriver,
    app: &crate::helpers::TestApp,
    role: &str,
) -> crate::webdriver::Browser<'d> {
    let grace_http = app.other_browser();
    let grace = grace_http.add_user("grace").await;
    assert_eq!(location(&grace_http.login("grace", PASSWORD).await), "/prompt");
    let grace_seed = grace_http.enroll_phone().await;
    app.sql(&format!("UPDATE users SET role = '{role}' WHERE id = '{}'", grace.id)).await;
    let desk = driver.new_session(1280, 1000).await;
    open_login(&desk, app).await;
    log_in(&desk, "grace").await;
    expect_heading(&desk, "Choose an authentication method").await;
    fill(&desk, "Passcode", &grace_seed.code_at(now() as u64 + 30)).await;
    click_button(&desk, "Verify").await;
    expect_heading(&desk, "Trust this browser?").await;
    click_button(&desk, "Don't trust").await;
    expect_heading(&desk, "My Settings & Devices").await;
    click_link(&desk, "Open the console").await;
    expect_heading(&desk, "Users").await;
    desk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_desk_verifies_a_caller_with_a_verification_push_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    let (ada, phone) = crate::push::user_with_app(&app, "ada").await;
    let desk = help_desk_in_browser(&driver, &app).await;
    let b = &desk;
    fill(b, "Search by username, name or email", "ada").await;
    click_button(b, "Search").await;
    click_link(b, "ada").await;
    click_link(b, "Issue temporary passcode").await;
    expect_heading(b, "Issue temporary passcode").await;
    shots.take(b, "24-verify-the-caller").await;
    click_button(b, "Send verification push").await;
    expect_heading(b, "Verify the caller").await;
    expect_text(b, "Ask the caller to approve it").await;

    // Ada's app lists it as the help desk's and approves it; it shows a code she reads out.
    let ts = now();
    let message = format!("twofold-push-pending\n{}\n{ts}", phone.device_id);
    let body = serde_json::json!({ "device_id": phone.device_id, "timestamp": ts,
                                   "signature": crate::push::sign(&phone.key, &message) });
    let (_, listed) = crate::push::api(&app, "/device/v1/pending", body).await;
    let request = listed["requests"][0]["id"].as_str().expect("the app lists the request").to_string();
    assert!(listed["requests"][0]["application"].as_str().unwrap().contains("help desk is verifying"));
    let (_, answered) = crate::push::answer(&app, &phone, &request, "approve", "").await;
    let code = answered["verification_code"].as_str().expect("a code to read back").to_string();

    // Grace's page updates by itself (no script) and shows the same code.
    let shown = b.text(&find(b, "//*[@id='verification-code']").await).await.unwrap();
    assert_eq!(shown.replace(' ', ""), code, "the agent sees the code the caller reads");
    assert!(main_text(b).await.contains("If the caller reads a different code"));
    shots.take(b, "25-caller-verified").await;
    click_link(b, "Issue temporary passcode").await;
    expect_heading(b, "Issue temporary passcode").await;
    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "no CSP violations: {violations:#?}");
    desk.close().await;
    let events = app.audit_events(&ada).await;
    assert!(events.iter().any(|(e, _)| e == "helpdesk.verification_push_sent"), "{events:?}");
}

//! In a real browser: a new user logs in, enrols an authenticator app through the wizard, signs in
//! with a passcode, trusts the browser, and the next login from that browser (only) skips the
//! prompt. Headless Chromium is driven over WebDriver by clicking what a person would click (the
//! steps are in `browser_steps.rs`, shared with the other browser tests).
//!
//! Needs `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`); the test
//! fails, never skips, without them. With `TWOFOLD_SCREENSHOTS=<dir>` it saves a PNG of each page.
//!
//! The WebDriver client is `webdriver.rs`: a few lines of JSON over `reqwest` (fantoccini without its TLS
//! features offers no public way to make a connector, and the tests must not need TLS anyway).

use serde_json::json;

use crate::browser_steps::{
    Screenshots, choose, click_button, csp_violations, device_card, expect_alert, expect_heading, fill, find,
    is_chosen, log_in, main_text, open_login, reveal_setup_key, wrong_code,
};
use crate::helpers::{PASSWORD, now, spawn_app};
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_enrols_an_authenticator_app_and_signs_in_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let ada = app.add_user("ada").await;
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    // Log in with the password.
    open_login(b, &app).await;
    let styled = b
        .execute("return document.styleSheets.length > 0 && document.styleSheets[0].cssRules.length > 0", vec![])
        .await;
    assert_eq!(styled, Ok(json!(true)), "the stylesheet loads under the Content-Security-Policy");
    shots.take(b, "01-login").await;
    fill(b, "Username", "ada").await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Log in").await;

    // No device yet: the wizard.
    expect_heading(b, "Not enrolled yet").await;
    shots.take(b, "02-start-setup").await;
    click_button(b, "Start setup").await;

    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Mobile phone").await;
    shots.take(b, "03-device-type").await;
    click_button(b, "Continue").await;
    crate::browser_steps::verify_mobile_number(b, &app).await;
    click_button(b, "Set up the app").await;

    expect_heading(b, "What type of mobile phone is it?").await;
    choose(b, "iPhone").await;
    shots.take(b, "04-platform").await;
    click_button(b, "Continue").await;

    expect_heading(b, "Install the authenticator app").await;
    assert!(main_text(b).await.contains("App Store"), "iPhone users are sent to the App Store");
    shots.take(b, "05-install").await;
    choose(b, "Use another authenticator app").await;
    click_button(b, "I have the app installed").await;

    expect_heading(b, "Scan this QR code with the app").await;
    let qr = find(b, "//main//img[starts-with(@alt, 'QR code')]").await;
    assert!(b.displayed(&qr).await.unwrap(), "the QR code is visible");
    let src = b.attribute(&qr, "src").await.unwrap().unwrap_or_default();
    assert!(
        src.starts_with("data:image/svg+xml;base64,"),
        "the QR code is an inline SVG: {}",
        &src[..src.len().min(40)]
    );
    let decoded = b.execute("return arguments[0].complete && arguments[0].naturalWidth > 0", vec![qr.as_arg()]).await;
    assert_eq!(decoded, Ok(json!(true)), "the browser decodes and shows the QR image (CSP allows data: images)");
    let key_element = find(b, "//*[@id='setup-key']").await;
    assert!(!b.displayed(&key_element).await.unwrap(), "the setup key stays folded away until asked for");
    let seed = reveal_setup_key(b).await;
    shots.take(b, "06-activate").await;
    shots.take_mobile(b, "mobile-activate").await;
    fill(b, "Passcode", &seed.code_at(now() as u64)).await;
    click_button(b, "Verify").await;

    expect_heading(b, "Device options").await;
    assert!(main_text(b).await.contains("Your device is verified."));
    fill(b, "Device name", "Ada's iPhone").await;
    assert!(is_chosen(b, "Ask me to choose an authentication method").await, "\"When I log in\" asks by default");
    shots.take(b, "07-device-options").await;
    click_button(b, "Save").await;

    expect_heading(b, "You're all set").await;
    assert!(main_text(b).await.contains("Ada's iPhone is ready to use."));
    shots.take(b, "08-done").await;
    click_button(b, "Continue to Login").await;

    // The prompt: a wrong passcode is refused, the newest one lets Ada in.
    expect_heading(b, "Choose an authentication method").await;
    assert!(b.displayed(&find(b, "//h2[normalize-space()='Enter a Passcode']").await).await.unwrap());
    assert!(main_text(b).await.contains("Open the authenticator app on Ada's iPhone"));
    shots.take(b, "09-prompt").await;
    fill(b, "Passcode", &wrong_code(&seed)).await;
    click_button(b, "Verify").await;
    expect_alert(b, "Incorrect passcode").await;
    shots.take(b, "10-prompt-error").await;
    // The next time step: within the ±1 drift and newer than the step used at enrolment.
    let used_step = (now() as u64 + 30) / 30;
    fill(b, "Passcode", &seed.code_at(used_step * 30)).await;
    click_button(b, "Verify").await;

    expect_heading(b, "Trust this browser?").await;
    shots.take(b, "11-trust").await;
    click_button(b, "Trust browser").await;

    expect_heading(b, "My Settings & Devices").await;
    let card = find(b, &device_card("Ada's iPhone")).await;
    let card_text = b.text(&card).await.unwrap();
    for expected in ["iPhone", "Added", "Last used", "UTC"] {
        assert!(card_text.contains(expected), "the device card shows {expected:?}:\n{card_text}");
    }
    let last_used = find(
        b,
        "//li[h3[starts-with(normalize-space(), \"Ada's iPhone\")]]//dt[normalize-space()='Last used']/following-sibling::dd[1]",
    )
    .await;
    assert_ne!(b.text(&last_used).await.unwrap(), "Never", "the passcode just used counts as use");
    shots.take(b, "12-settings").await;

    // Log out and in again: this browser is trusted, so no "Choose an authentication method";
    // seeing the devices still needs a fresh second factor ("Confirm it's you").
    click_button(b, "Log out").await;
    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "Confirm it's you").await;
    // A step newer than the one just used (each step signs in once): at most one step's wait.
    while (now() as u64 + 30) / 30 <= used_step {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    fill(b, "Passcode", &seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "My Settings & Devices").await;
    let events = app.audit_events(&ada.id).await;
    assert!(
        events.iter().any(|(event, _)| event == "mfa.trusted_browser"),
        "the trusted sign-in is audited: {events:?}"
    );

    // Another browser (a fresh profile) is not trusted.
    let other = driver.new_session(1280, 1000).await;
    open_login(&other, &app).await;
    log_in(&other, "ada").await;
    expect_heading(&other, "Choose an authentication method").await;

    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "no Content-Security-Policy violations in the browser console: {violations:#?}");
    other.close().await;
    browser.close().await;
}

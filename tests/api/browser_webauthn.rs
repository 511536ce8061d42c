//! In a real browser with the WebDriver virtual authenticator: a new user adds a security key
//! in the wizard ("Security key" → "Use a security key" → a touch → name it) and signs in with
//! it at the prompt (T24); a browser without the key is told the key is not there.

use serde_json::json;

use crate::browser_steps::{
    Screenshots, choose, click_button, csp_violations, device_card, expect_alert, expect_heading, fill, find, log_in,
    main_text,
};
use crate::webauthn::key_app_with;
use crate::webdriver::ChromeDriver;
use twofold::config::webauthn::UserVerification;

fn authenticator(transport: &str) -> serde_json::Value {
    json!({
        "protocol": "ctap2",
        "transport": transport,
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserVerified": true,
        "automaticPresenceSimulation": true,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_adds_a_security_key_and_signs_in_with_it_in_a_real_browser() {
    add_a_key_and_sign_in("usb", UserVerification::Preferred).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_authenticator_works_when_user_verification_is_required() {
    add_a_key_and_sign_in("internal", UserVerification::Required).await;
}

async fn add_a_key_and_sign_in(transport: &str, uv: UserVerification) {
    let driver = ChromeDriver::start();
    let app = key_app_with(|s| s.webauthn.user_verification = uv).await;
    let ada = app.add_user("ada").await;
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;
    let key = b.add_virtual_authenticator(authenticator(transport)).await.expect("a virtual authenticator");
    // WebAuthn needs a domain name: the browser uses localhost, the server's public URL.
    let site = format!("http://localhost:{}", app.port);

    b.goto(&format!("{site}/login")).await;
    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "Not enrolled yet").await;
    click_button(b, "Start setup").await;

    expect_heading(b, "What type of device are you adding?").await;
    assert!(main_text(b).await.contains("YubiKey, Touch ID, Windows Hello"));
    choose(b, "Security key").await;
    click_button(b, "Continue").await;

    expect_heading(b, "Use a security key").await;
    shots.take(b, &format!("webauthn-{transport}-01-use-a-security-key")).await;
    click_button(b, "Continue").await;

    expect_heading(b, "Device options").await;
    let held = b.virtual_credentials(&key).await.unwrap();
    assert_eq!(held.as_array().map(Vec::len), Some(1), "the key holds one credential: {held}");
    assert_eq!(held[0]["rpId"], "localhost");
    assert!(!main_text(b).await.contains("passcode from this device"), "a key offers no passcode");
    fill(b, "Device name", "Ada's YubiKey").await;
    shots.take(b, &format!("webauthn-{transport}-02-device-options")).await;
    click_button(b, "Save").await;
    expect_heading(b, "You're all set").await;
    click_button(b, "Continue to Login").await;

    // The prompt: "Use a security key" signs Ada in.
    expect_heading(b, "Choose an authentication method").await;
    assert!(b.displayed(&find(b, "//h2[normalize-space()='Use a security key']").await).await.unwrap());
    shots.take(b, &format!("webauthn-{transport}-03-prompt")).await;
    click_button(b, "Use a security key").await;
    expect_heading(b, "Trust this browser?").await;
    let held = b.virtual_credentials(&key).await.unwrap();
    assert!(held[0]["signCount"].as_u64().unwrap_or(0) >= 1, "the key signed: {held}");
    click_button(b, "Don't trust").await;

    expect_heading(b, "My Settings & Devices").await;
    let card = b.text(&find(b, &device_card("Ada's YubiKey")).await).await.unwrap();
    assert!(card.contains("Security key"), "{card}");
    assert!(main_text(b).await.contains("Verified with a security key"), "recent activity names the key");
    shots.take(b, &format!("webauthn-{transport}-04-settings")).await;
    let events = app.audit_events(&ada.id).await;
    assert!(events.iter().any(|(e, o)| e == "mfa.security_key" && o == "success"), "{events:?}");

    // Another browser without the key: the browser finds no registered key and says so.
    let other = driver.new_session(1280, 1000).await;
    let stranger = other.add_virtual_authenticator(authenticator("internal")).await.unwrap();
    other.goto(&format!("{site}/login")).await;
    log_in(&other, "ada").await;
    expect_heading(&other, "Choose an authentication method").await;
    click_button(&other, "Use a security key").await;
    expect_alert(&other, "not registered to your account").await;
    assert_eq!(other.virtual_credentials(&stranger).await.unwrap(), json!([]));

    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "no Content-Security-Policy violations: {violations:#?}");
    other.remove_virtual_authenticator(&stranger).await.unwrap();
    b.remove_virtual_authenticator(&key).await.unwrap();
    other.close().await;
    browser.close().await;
}

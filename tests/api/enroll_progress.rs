//! The wizard's "Step N of M" and its progress bar are true on every page of each way through
//! (issue 20), and its words follow what the device can really do: no app store while the
//! Twofold authenticator (nothing to install) is chosen, no app passcodes for a phone without one.

use crate::helpers::{PASSWORD, TestApp, location, next_mobile_number, spawn_app};

/// "Step N of M" on the page, checked against its progress bar.
fn step(page: &str) -> String {
    let start = page.find("Step ").unwrap_or_else(|| panic!("no step on the page: {page}"));
    let text: String = page[start..].chars().take_while(|c| *c != '<').collect();
    let text = text.trim().to_string();
    let numbers: Vec<&str> = text.split(' ').filter(|w| w.parse::<u8>().is_ok()).collect();
    let bar = format!("<progress class=\"bar\" max=\"{}\" value=\"{}\"", numbers[1], numbers[0]);
    assert!(page.contains(&bar), "the bar shows {text}: {page}");
    text
}

async fn step_at(app: &TestApp, path: &str) -> String {
    step(&app.get_html(path).await)
}

async fn at_the_wizard(app: &TestApp) {
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
}

#[tokio::test]
async fn a_mobile_phone_with_the_twofold_authenticator_counts_nine_steps_page_by_page() {
    let app = spawn_app().await;
    at_the_wizard(&app).await;
    assert_eq!(step_at(&app, "/enroll/device-type").await, "Step 1 of 9", "Mobile phone is chosen at first");
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    assert_eq!(step_at(&app, "/enroll/phone").await, "Step 2 of 9");
    let number = next_mobile_number();
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    assert_eq!(step_at(&app, "/enroll/phone/confirm").await, "Step 3 of 9");
    app.post_form("/enroll/phone/confirm", &[]).await;
    assert_eq!(step_at(&app, "/enroll/phone/verify").await, "Step 4 of 9");
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let code = app.texted_codes(&number).await.pop().unwrap();
    app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", &code)]).await;
    assert_eq!(step_at(&app, "/enroll/phone/app").await, "Step 5 of 9");
    app.post_form("/enroll/phone/app", &[("choice", "app")]).await;
    assert_eq!(step_at(&app, "/enroll/platform").await, "Step 6 of 9");
    app.post_form("/enroll/platform", &[("platform", "iphone")]).await;

    // The Twofold authenticator is chosen: nothing to install, so no store is the lead; the
    // App Store is named only under "Use another authenticator app".
    let install = app.get_html("/enroll/install").await;
    assert_eq!(step(&install), "Step 7 of 9");
    assert!(install.contains("value=\"twofold\" checked"), "{install}");
    assert!(!install.contains("Open the <strong>App Store</strong>"), "{install}");
    let other = &install[install.find("Use another authenticator app").unwrap()..];
    assert!(other.contains("App Store"), "the store is named for another app");

    app.post_form("/enroll/install", &[("app", "twofold")]).await;
    let activate = app.get_html("/enroll/activate").await;
    assert_eq!(step(&activate), "Step 8 of 9");
    let (code, body, _) = crate::push::activate(&app, &crate::push::token_in(&activate)).await;
    assert_eq!(code, 200, "{body}");
    let options = app.get_html("/enroll/options").await;
    assert_eq!(step(&options), "Step 9 of 9");
    assert!(options.contains("Automatically send this device a Push"));
    assert!(options.contains("Automatically ask me for a passcode from this device"));
    app.post_form("/enroll/options", &[("name", "My iPhone"), ("login_action", "ask")]).await;
    let done = app.get_html("/enroll/done").await;
    assert!(
        done.contains("you will approve a push in the Twofold authenticator, or enter a passcode it shows"),
        "{done}"
    );
}

#[tokio::test]
async fn a_mobile_number_without_an_app_ends_at_step_six_of_six_with_no_word_of_app_passcodes() {
    let app = spawn_app().await;
    at_the_wizard(&app).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    let number = next_mobile_number();
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let code = app.texted_codes(&number).await.pop().unwrap();
    app.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", &code)]).await;
    assert_eq!(step_at(&app, "/enroll/phone/app").await, "Step 5 of 9");
    assert_eq!(location(&app.post_form("/enroll/phone/app", &[("choice", "skip")]).await), "/enroll/options");
    let options = app.get_html("/enroll/options").await;
    assert_eq!(step(&options), "Step 6 of 6");
    assert!(!options.contains("passcode from this device"), "no app, no passcodes: {options}");
    assert!(options.contains("Automatically call this device"));
    app.post_form("/enroll/options", &[("name", "Work mobile"), ("login_action", "ask")]).await;
    let done = app.get_html("/enroll/done").await;
    assert!(done.contains("we will call this phone or text it a passcode"), "{done}");
    assert!(!done.contains("authenticator app"), "{done}");
}

#[tokio::test]
async fn a_tablet_and_a_hardware_token_count_their_own_steps() {
    let app = spawn_app().await;
    at_the_wizard(&app).await;
    app.post_form("/enroll/device-type", &[("kind", "tablet")]).await;
    assert_eq!(step_at(&app, "/enroll/platform").await, "Step 2 of 5");
    app.post_form("/enroll/platform", &[("platform", "ipad")]).await;
    assert_eq!(step_at(&app, "/enroll/install").await, "Step 3 of 5");
    app.post_form("/enroll/install", &[("app", "other")]).await;
    assert_eq!(step_at(&app, "/enroll/activate").await, "Step 4 of 5");

    // Back to the first question: the tablet stays chosen, and so does its count.
    for _ in 0..3 {
        app.post_form("/enroll/back", &[]).await;
    }
    assert_eq!(step_at(&app, "/enroll/device-type").await, "Step 1 of 5");
    assert_eq!(location(&app.post_form("/enroll/device-type", &[("kind", "hardware_token")]).await), "/enroll/token");
    assert_eq!(step_at(&app, "/enroll/token").await, "Step 2 of 3");
}

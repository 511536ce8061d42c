//! In a real browser, the small things people tripped over (issue 20): phone-number fields look
//! like the other fields; "Call Me" and "Text Me" keep apart; the authenticator's "Turn on
//! notifications" stays hidden with no account; an activation link opened while the app is
//! already open activates it; "Continue" before the app is activated says so.
//!
//! Headless Chromium over WebDriver (`browser_steps.rs`); fails, never skips, without it.

use serde_json::{Value, json};

use crate::browser_steps::{
    Screenshots, choose, click_button, click_summary, expect_heading, expect_text, find, log_in, open_login,
};
use crate::helpers::{PASSWORD, location, spawn_app};
use crate::webdriver::{Browser, ChromeDriver, Element};

async fn style(b: &Browser<'_>, e: &Element, property: &str) -> String {
    let v = b.execute(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])",
        vec![e.as_arg(), json!(property)],
    );
    v.await.unwrap().as_str().unwrap_or_default().to_string()
}

async fn rect(b: &Browser<'_>, e: &Element) -> Value {
    b.execute("const r = arguments[0].getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}", vec![e.as_arg()])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_fields_look_like_the_others_and_call_me_and_text_me_keep_apart_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    crate::phones::mobile_only_user(&app, "ada", "ask").await;
    app.add_user("bob").await;
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    // The phone step: the number field (type=tel) is styled as the country list beside it.
    open_login(b, &app).await;
    log_in(b, "bob").await;
    click_button(b, "Start setup").await;
    choose(b, "Mobile phone").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Enter your phone number").await;
    let number = find(b, "//input[@id='number']").await;
    assert_eq!(b.attribute(&number, "type").await.unwrap().as_deref(), Some("tel"));
    let country = find(b, "//select[@id='country']").await;
    for property in ["padding-left", "border-top-width", "border-top-color", "font-size", "width"] {
        assert_eq!(style(b, &number, property).await, style(b, &country, property).await, "{property}");
    }
    shots.take(b, "phone-number-field").await;
    click_button(b, "Log out").await;

    // The prompt of a phone without an app: "Call Me" first, "Text Me" under "Other options",
    // well apart (they used to touch).
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;
    click_summary(b, "Other options").await;
    let call = rect(b, &find(b, "//button[normalize-space()='Call Me']").await).await;
    let text = rect(b, &find(b, "//button[normalize-space()='Text Me']").await).await;
    let gap = text["top"].as_f64().unwrap() - call["bottom"].as_f64().unwrap();
    assert!(gap >= 16.0, "Call Me and Text Me are {gap}px apart: {call} {text}");
    shots.take(b, "prompt-phone-other-options").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticator_activates_a_link_opened_while_it_is_open_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.verify_mobile_number().await;
    app.post_form("/enroll/platform", &[("platform", "android")]).await;
    assert_eq!(location(&app.post_form("/enroll/install", &[("app", "twofold")]).await), "/enroll/activate");
    let token = crate::push::token_in(&app.get_html("/enroll/activate").await);

    // "Continue" before the app is activated: the page says so (no silent reload).
    let r = app.get("/enroll/activate/continue").await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("The app is not activated yet. Scan the QR code with the app first"), "{page}");

    // The app open with no account: no "Turn on notifications".
    let browser = driver.new_session(400, 800).await;
    let p = &browser;
    p.goto(&app.url("/authenticator/")).await;
    let none = find(p, "//*[@id='no-accounts']").await;
    assert!(p.displayed(&none).await.unwrap(), "the app says it has no account yet");
    let notify = find(p, "//*[@id='notify']").await;
    assert!(!p.displayed(&notify).await.unwrap(), "\"Turn on notifications\" is hidden with no account");

    // The activation link opened in the open app (only the fragment changes): it activates.
    p.execute("window.stillOpen = true", vec![]).await.unwrap();
    p.goto(&app.url(&format!("/authenticator/#activate={token}"))).await;
    expect_text(p, "Activated: ").await;
    expect_text(p, "(ada)").await;
    let same = p.execute("return window.stillOpen === true", vec![]).await;
    assert_eq!(same, Ok(json!(true)), "the page was not reloaded: the open app handled the link");
    browser.close().await;

    // Now "Continue" moves on.
    assert_eq!(location(&app.get("/enroll/activate/continue").await), "/enroll/options");
}

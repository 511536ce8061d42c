//! In a real browser with JavaScript turned off: the prompt shows the method last used first,
//! "Other options" (a `<details>` element) reveals the rest, and the device chooser (a plain GET
//! form) switches to another device's methods (issue 20).
//!
//! Headless Chromium over WebDriver (`browser_steps.rs`); fails, never skips, without it. With
//! `TWOFOLD_SCREENSHOTS=<dir>` it saves the prompt with "Other options" open.

use serde_json::json;

use crate::browser_steps::{
    Screenshots, click, click_button, click_summary, expect_heading, fill, find, log_in, main_text, open_login,
};
use crate::helpers::{PASSWORD, location, now, spawn_app};
use crate::prompt_order::add_tablet;
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_orders_methods_and_switches_devices_without_javascript_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    // Arrange over HTTP: Ada's iPhone (app passcodes, calls and texts), last used with a passcode,
    // and her iPad (app passcodes only).
    app.signed_in_user("ada").await;
    let ipad_seed = add_tablet(&app).await;
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");

    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;
    b.cdp("Emulation.setScriptExecutionDisabled", json!({ "value": true })).await.expect("JavaScript off");
    b.goto("data:text/html,<title>off</title><script>document.title='on'</script>").await;
    let title = b.execute("return document.title", vec![]).await;
    assert_eq!(title, Ok(json!("off")), "the page's own scripts do not run");
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;

    // The passcode (last used) is shown; calls and texts wait under "Other options".
    let passcode = find(b, "//h2[normalize-space()='Enter a Passcode']").await;
    assert!(b.displayed(&passcode).await.unwrap(), "the method last used is shown");
    let call = find(b, "//button[normalize-space()='Call Me']").await;
    assert!(!b.displayed(&call).await.unwrap(), "other methods are folded away");
    click_summary(b, "Other options").await;
    assert!(b.displayed(&call).await.unwrap(), "\"Other options\" reveals Call Me");
    let text_me = find(b, "//button[normalize-space()='Text Me']").await;
    assert!(b.displayed(&text_me).await.unwrap(), "and Text Me");
    let manage = find(b, "//main//a[normalize-space()='Manage devices']").await;
    assert_eq!(b.attribute(&manage, "href").await.unwrap().as_deref(), Some("/settings"));
    shots.take(b, "prompt-other-options").await;

    // The device chooser: the iPad's methods (no calls to a tablet).
    click(b, "//select[@id='device']/option[normalize-space()='My iPad']", "My iPad").await;
    click_button(b, "Choose device").await;
    expect_heading(b, "Choose an authentication method").await;
    let url = b.current_url().await.unwrap();
    assert!(url.contains("/prompt?device="), "a plain GET form: {url}");
    let text = main_text(b).await;
    assert!(!text.contains("Call Me") && !text.contains("Text Me"), "{text}");
    assert!(text.contains("Open the authenticator app on My iPad and enter"), "{text}");
    let chosen = find(b, "//select[@id='device']/option[@selected]").await;
    assert_eq!(b.text(&chosen).await.unwrap().trim(), "My iPad");
    shots.take(b, "prompt-device-chooser").await;

    fill(b, "Passcode", &ipad_seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Trust this browser?").await;
    browser.close().await;
}

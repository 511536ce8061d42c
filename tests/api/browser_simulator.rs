//! In a real browser, on the embedded default (the telephony simulator): the "Verify your number"
//! page says the text went to the simulator and where to read it, and a first administrator who
//! has no device yet reads their own simulated text and finishes (issue 20). Anyone else is told
//! an administrator reads it; the page of one's own texts is the administrator's alone.
//!
//! Headless Chromium over WebDriver (`browser_steps.rs`); fails, never skips, without it.

use crate::browser_steps::{
    Screenshots, choose, click_button, click_link, expect_heading, expect_text, fill, find, log_in, main_text,
    open_login,
};
use crate::helpers::{PASSWORD, location, next_mobile_number, spawn_app};
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_administrator_reads_their_own_simulated_text_and_verifies_their_number_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    let root = app.add_user("root").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", root.id)).await;

    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;
    open_login(b, &app).await;
    log_in(b, "root").await;
    click_button(b, "Start setup").await;
    choose(b, "Mobile phone").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Enter your phone number").await;
    let number = next_mobile_number();
    fill(b, "Phone number", &number).await;
    click_button(b, "Continue").await;
    click_button(b, "Yes, it's correct").await;
    click_button(b, "Text me a code").await;
    expect_text(b, "We texted a code to").await;
    let note = main_text(b).await;
    assert!(
        note.contains("Phone simulator. This server runs the telephony simulator: the text went to the simulator"),
        "{note}"
    );
    shots.take(b, "verify-number-simulator").await;

    click_link(b, "Read the simulated text").await;
    expect_heading(b, "Phone simulator: your texts").await;
    expect_text(b, "This server does not send real texts").await;
    let text = b.text(&find(b, "//*[@id='text-1']").await).await.unwrap();
    let code: String = text.split(|c: char| !c.is_ascii_digit()).max_by_key(|run| run.len()).unwrap().to_string();
    assert_eq!(Some(&code), app.texted_codes(&number).await.last(), "the page shows the code texted: {text}");
    shots.take(b, "simulated-texts").await;

    click_link(b, "Back to Verify your number").await;
    expect_heading(b, "Verify your number").await;
    fill(b, "Passcode", &code).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Use the authenticator app too?").await;
    browser.close().await;
}

#[tokio::test]
async fn other_users_are_told_an_administrator_reads_the_text_and_cannot_read_it_themselves() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.post_form("/enroll/phone", &[("country", "CA"), ("number", &next_mobile_number())]).await;
    app.post_form("/enroll/phone/confirm", &[]).await;
    app.post_form("/enroll/phone/verify", &[("action", "text")]).await;
    let page = app.get_html("/enroll/phone/verify").await;
    assert!(page.contains("the text went to the simulator, not to your phone"), "{page}");
    assert!(page.contains("An administrator can read the code on the console's Phone simulator page."));
    assert!(!page.contains("/enroll/phone/simulator"));
    assert_eq!(app.get("/enroll/phone/simulator").await.status(), 404);
}

//! In a real browser: a help-desk call about a lost phone. Grace (help desk) signs in, finds Ada in
//! the console, disables the lost phone and issues a temporary passcode; Ada, in another browser,
//! signs in with that passcode and goes straight through the wizard to add a new phone.
//!
//! Headless Chromium is driven over WebDriver (`webdriver.rs`) by clicking what a person would click.
//! Needs `chromium` and `chromium-driver`, like `browser.rs`; fails, never skips, without them. With
//! `TWOFOLD_SCREENSHOTS=<dir>` it saves PNGs of the console pages and of Ada's prompt.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use twofold::factors::totp::TotpSeed;

use crate::helpers::{PASSWORD, location, now, spawn_app};
use crate::webdriver::{Browser, ChromeDriver, Element, PAGE_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_desk_call_replaces_a_lost_phone_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();

    // Arrange over HTTP: Ada has a phone ("My iPhone"); Grace is on the help desk with her own
    // phone, enrolled without passing the prompt (so the browser prompt below takes a fresh step).
    let (ada, _) = app.signed_in_user("ada").await;
    let grace_http = app.other_browser();
    let grace = grace_http.add_user("grace").await;
    assert_eq!(location(&grace_http.login("grace", PASSWORD).await), "/prompt");
    let grace_seed = grace_http.enroll_phone().await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", grace.id)).await;

    // ----- Grace, at the help desk ------------------------------------------------------------
    let desk = driver.new_session(1280, 1000).await;
    let b = &desk;
    b.goto(&app.url("/login")).await;
    expect_heading(b, "Log in").await;
    log_in(b, "grace").await;
    expect_heading(b, "Choose an authentication method").await;
    // The next time step: within the ±1 drift and newer than the step used at enrolment.
    fill(b, "Passcode", &grace_seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Trust this browser?").await;
    click_button(b, "Don't trust").await;

    expect_heading(b, "My Settings & Devices").await;
    click_link(b, "Open the console").await;
    expect_heading(b, "Users").await;
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
    let phone = "//li[contains(@class, 'device')][h3[starts-with(normalize-space(), 'My iPhone')]]";
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
    b.goto(&app.url("/login")).await;
    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;
    let prompt = main_text(b).await;
    assert!(prompt.contains("Enter the 9-digit recovery or temporary passcode you received."), "{prompt}");
    assert!(!prompt.contains("My iPhone"), "the disabled phone is not offered:\n{prompt}");
    // She types it as Grace read it out (with the space).
    fill(b, "Passcode", &shown).await;
    shots.take(b, "23-prompt-temporary").await;
    click_button(b, "Verify").await;

    // Straight on to add a new phone (no "Trust this browser?").
    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Mobile phone").await;
    click_button(b, "Continue").await;
    expect_heading(b, "What type of mobile phone is it?").await;
    choose(b, "Android").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Install the authenticator app").await;
    assert!(main_text(b).await.contains("Google Play"), "Android users are sent to Google Play");
    click_button(b, "I have the app installed").await;
    expect_heading(b, "Scan this QR code with the app").await;
    click_summary(b, "Can't scan the QR code?").await;
    let key_element = find(b, "//*[@id='setup-key']").await;
    assert!(b.displayed(&key_element).await.unwrap(), "\"Can't scan the QR code?\" reveals the setup key");
    let key = b.text(&key_element).await.unwrap();
    let seed = TotpSeed::from_base32(&key).unwrap_or_else(|| panic!("the setup key {key:?} is base32"));
    fill(b, "Passcode", &seed.code_at(now() as u64)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Device options").await;
    fill(b, "Device name", "New phone").await;
    click_button(b, "Save").await;
    expect_heading(b, "You're all set").await;
    assert!(main_text(b).await.contains("New phone is ready to use."));
    click_button(b, "Continue").await;

    // Fully signed in: her settings show the new phone, and only it.
    expect_heading(b, "My Settings & Devices").await;
    let card = find(b, "//li[contains(@class, 'device')][h3[starts-with(normalize-space(), 'New phone')]]").await;
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

// ----- What a person does ------------------------------------------------------------------------

async fn log_in(b: &Browser<'_>, username: &str) {
    fill(b, "Username", username).await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Log in").await;
}

/// The field labelled `label` anywhere on the page.
async fn field(b: &Browser<'_>, label: &str) -> Element {
    field_within(b, "", label).await
}

/// The field labelled `label` inside the element matched by the XPath `scope` ("" for the page).
async fn field_within(b: &Browser<'_>, scope: &str, label: &str) -> Element {
    let label_element = find(b, &format!("{scope}//label[normalize-space()={}]", literal(label))).await;
    let id = b
        .attribute(&label_element, "for")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the label {label:?} names its field"));
    let field = find(b, &format!("//*[@id={}]", literal(&id))).await;
    assert!(b.displayed(&field).await.unwrap(), "the field {label:?} is visible");
    field
}

/// Types `text` into the field labelled `label` (replacing what is there).
async fn fill(b: &Browser<'_>, label: &str, text: &str) {
    fill_within(b, "", label, text).await;
}

async fn fill_within(b: &Browser<'_>, scope: &str, label: &str, text: &str) {
    let field = field_within(b, scope, label).await;
    b.clear(&field).await.unwrap();
    b.send_keys(&field, text).await.unwrap_or_else(|e| panic!("typing into {label:?}: {e}"));
}

/// What the field labelled `label` holds now.
async fn field_value(b: &Browser<'_>, label: &str) -> String {
    let field = field(b, label).await;
    let value = b.execute("return arguments[0].value", vec![field.as_arg()]).await.unwrap();
    value.as_str().unwrap_or_default().to_string()
}

/// Clicks the visible element matched by `xpath` (`what` names it in failures).
async fn click(b: &Browser<'_>, xpath: &str, what: &str) {
    let element = find(b, xpath).await;
    assert!(b.displayed(&element).await.unwrap(), "{what:?} is visible");
    b.click(&element).await.unwrap_or_else(|e| panic!("clicking {what:?}: {e}"));
}

/// Clicks the button (or link styled as one) that reads `text`.
async fn click_button(b: &Browser<'_>, text: &str) {
    let t = literal(text);
    click(
        b,
        &format!("//button[normalize-space()={t}] | //a[contains(@class, 'button')][normalize-space()={t}]"),
        text,
    )
    .await;
}

/// Clicks the link in the page's main part that reads `text`.
async fn click_link(b: &Browser<'_>, text: &str) {
    click(b, &format!("//main//a[normalize-space()={}]", literal(text)), text).await;
}

/// Clicks the `<summary>` that reads `text`, opening its details.
async fn click_summary(b: &Browser<'_>, text: &str) {
    click(b, &format!("//summary[normalize-space()={}]", literal(text)), text).await;
}

/// XPath for the radio button whose label's main text is `text`.
fn radio_labelled(text: &str) -> String {
    let t = literal(text);
    format!("//label[input[@type='radio']][.//strong[normalize-space()={t}] or normalize-space()={t}]")
}

/// Picks the radio-button choice labelled `text` by clicking its label.
async fn choose(b: &Browser<'_>, text: &str) {
    click(b, &radio_labelled(text), text).await;
    let radio = find(b, &format!("{}/input", radio_labelled(text))).await;
    assert!(b.selected(&radio).await.unwrap(), "{text:?} is selected after clicking it");
}

/// The page's `<h1>`, as shown.
async fn page_heading(b: &Browser<'_>) -> Result<String, String> {
    let h1 = b.find("//h1").await?;
    b.text(&h1).await
}

async fn main_text(b: &Browser<'_>) -> String {
    let main = find(b, "//main").await;
    b.text(&main).await.unwrap()
}

/// The main part's text, or an error while the page is being replaced (a stale element).
async fn try_main_text(b: &Browser<'_>) -> Result<String, String> {
    let main = b.find("//main").await?;
    b.text(&main).await
}

/// Waits until the page's heading reads `expected` (the way to know a navigation has finished).
async fn expect_heading(b: &Browser<'_>, expected: &str) {
    let started = Instant::now();
    loop {
        let seen = page_heading(b).await;
        if seen.as_deref() == Ok(expected) {
            return;
        }
        if started.elapsed() > PAGE_TIMEOUT {
            fail(b, &format!("expected the page {expected:?}, but the heading is {seen:?}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page's main part shows `text` (for pages whose heading stays the same).
async fn expect_text(b: &Browser<'_>, text: &str) {
    let started = Instant::now();
    while !try_main_text(b).await.is_ok_and(|shown| shown.contains(text)) {
        if started.elapsed() > PAGE_TIMEOUT {
            fail(b, &format!("expected {text:?} on the page")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Finds an element, waiting for it to appear.
async fn find(b: &Browser<'_>, xpath: &str) -> Element {
    let started = Instant::now();
    loop {
        match b.find(xpath).await {
            Ok(element) => return element,
            Err(e) if started.elapsed() > PAGE_TIMEOUT => fail(b, &format!("nothing matches {xpath}: {e}")).await,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Fails the test, showing where the browser is and what it shows.
async fn fail(b: &Browser<'_>, message: &str) -> ! {
    let url = b.current_url().await.unwrap_or_default();
    let body = match b.find("//body").await {
        Ok(body) => b.text(&body).await.unwrap_or_default(),
        Err(e) => e,
    };
    panic!("{message} (after {PAGE_TIMEOUT:?}, at {url}):\n{body}");
}

/// An XPath string literal for `s`, whatever quotes it holds.
fn literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("concat('{}')", s.split('\'').collect::<Vec<_>>().join("', \"'\", '"))
    }
}

async fn csp_violations(b: &Browser<'_>) -> Vec<String> {
    let entries =
        b.command(Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await.expect("browser console log");
    entries
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("Content Security Policy"))
        .map(str::to_string)
        .collect()
}

/// With `TWOFOLD_SCREENSHOTS=<dir>`, whole-page PNGs for the docs.
struct Screenshots(Option<PathBuf>);

impl Screenshots {
    fn from_env() -> Self {
        let dir = std::env::var_os("TWOFOLD_SCREENSHOTS").filter(|d| !d.is_empty()).map(PathBuf::from);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        Self(dir)
    }

    async fn take(&self, b: &Browser<'_>, name: &str) {
        let Some(dir) = &self.0 else { return };
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, b.full_page_png().await).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

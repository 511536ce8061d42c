//! In a real browser: "Lost your device?". Ada has lost her phone. Without calling anyone, she
//! answers with the identity details her institution imported and her password, gets a recovery
//! passcode, signs in with it, adds a replacement phone and removes the lost one.
//!
//! Headless Chromium is driven over WebDriver (`webdriver.rs`) by clicking what a person would click.
//! Needs `chromium` and `chromium-driver`, like `browser.rs`; fails, never skips, without them. With
//! `TWOFOLD_SCREENSHOTS=<dir>` it saves PNGs of the recovery form, the passcode and the last page
//! of the wizard (which offers to remove the lost device).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use twofold::domain::import::parse_csv;
use twofold::factors::totp::TotpSeed;
use twofold::secrets::{Keys, MasterKey};

use crate::helpers::{PASSWORD, TestApp, now, spawn_app};
use crate::webdriver::{Browser, ChromeDriver, Element, PAGE_TIMEOUT};

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
    b.goto(&app.url("/login")).await;
    expect_heading(b, "Log in").await;
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

    expect_heading(b, "Your recovery passcode").await;
    let shown = b.text(&find(b, "//*[@id='recovery-passcode']").await).await.unwrap();
    let groups: Vec<&str> = shown.split(' ').collect();
    assert!(
        groups.len() == 3 && groups.iter().all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit())),
        "9 digits shown as \"123 456 789\": {shown:?}"
    );
    let issued = main_text(b).await;
    for expected in
        ["Write it down now: it is shown only once. It works once, until", "Log in with your username and password."]
    {
        assert!(issued.contains(expected), "the passcode page says {expected:?}:\n{issued}");
    }
    shots.take(b, "31-recovery-passcode").await;
    click_button(b, "Log in").await;

    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "Choose an authentication method").await;
    // She types it as shown (with the spaces).
    fill(b, "Passcode", &shown).await;
    click_button(b, "Verify").await;

    // Straight on to add a new phone (no "Trust this browser?").
    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Mobile phone").await;
    click_button(b, "Continue").await;
    expect_heading(b, "What type of mobile phone is it?").await;
    choose(b, "iPhone").await;
    click_button(b, "Continue").await;
    expect_heading(b, "Install the authenticator app").await;
    assert!(main_text(b).await.contains("App Store"), "iPhone users are sent to the App Store");
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
    fill(b, "Device name", "Replacement phone").await;
    click_button(b, "Save").await;

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
    find(b, "//li[contains(@class, 'device')][h3[starts-with(normalize-space(), 'Replacement phone')]]").await;
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
        mail.iter().any(|m| m.subject.contains("recovery passcode was issued")),
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
    let keys = Keys::new(&MasterKey::from_base64(app.settings.master_key.as_deref().unwrap()).unwrap());
    twofold::store::import::apply(&app.db, &rows, &|u, f, v| keys.hash_fact(u, f, v), now()).await.unwrap();
}

// ----- What a person does (as in `browser_helpdesk.rs`) ------------------------------------------

async fn log_in(b: &Browser<'_>, username: &str) {
    fill(b, "Username", username).await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Log in").await;
}

/// The field labelled `label` on the page.
async fn field(b: &Browser<'_>, label: &str) -> Element {
    let label_element = find(b, &format!("//label[normalize-space()={}]", literal(label))).await;
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
    let field = field(b, label).await;
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

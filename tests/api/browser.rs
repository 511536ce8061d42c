//! In a real browser: a new user logs in, enrols an authenticator app through the wizard, signs in
//! with a passcode, trusts the browser, and the next login from that browser (only) skips the
//! prompt. Headless Chromium is driven over WebDriver by clicking what a person would click.
//!
//! Needs `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`); the test
//! fails, never skips, without them. With `TWOFOLD_SCREENSHOTS=<dir>` it saves a PNG of each page.
//!
//! The WebDriver client is `webdriver.rs`: a few lines of JSON over `reqwest` (fantoccini without its TLS
//! features offers no public way to make a connector, and the tests must not need TLS anyway).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use twofold::factors::totp::TotpSeed;

use crate::helpers::{PASSWORD, now, spawn_app};
use crate::webdriver::{Browser, ChromeDriver, Element, PAGE_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_enrols_an_authenticator_app_and_signs_in_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let ada = app.add_user("ada").await;
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    // Log in with the password.
    b.goto(&app.url("/login")).await;
    expect_heading(b, "Log in").await;
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

    expect_heading(b, "What type of mobile phone is it?").await;
    choose(b, "iPhone").await;
    shots.take(b, "04-platform").await;
    click_button(b, "Continue").await;

    expect_heading(b, "Install the authenticator app").await;
    assert!(main_text(b).await.contains("App Store"), "iPhone users are sent to the App Store");
    shots.take(b, "05-install").await;
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
    click_summary(b, "Can't scan the QR code?").await;
    assert!(b.displayed(&key_element).await.unwrap(), "\"Can't scan the QR code?\" reveals the setup key");
    let key = b.text(&key_element).await.unwrap();
    let seed = TotpSeed::from_base32(&key).unwrap_or_else(|| panic!("the setup key {key:?} is base32"));
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
    fill(b, "Passcode", &seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;

    expect_heading(b, "Trust this browser?").await;
    shots.take(b, "11-trust").await;
    click_button(b, "Trust browser").await;

    expect_heading(b, "My Settings & Devices").await;
    let card = find(b, "//li[contains(@class, 'device')][h3[starts-with(normalize-space(), \"Ada's iPhone\")]]").await;
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

    // Log out and in again: this browser is trusted, so no prompt.
    click_button(b, "Log out").await;
    expect_heading(b, "Log in").await;
    log_in(b, "ada").await;
    expect_heading(b, "My Settings & Devices").await;
    let events = app.audit_events(&ada.id).await;
    assert!(
        events.iter().any(|(event, _)| event == "mfa.trusted_browser"),
        "the trusted sign-in is audited: {events:?}"
    );

    // Another browser (a fresh profile) is not trusted.
    let other = driver.new_session(1280, 1000).await;
    other.goto(&app.url("/login")).await;
    expect_heading(&other, "Log in").await;
    log_in(&other, "ada").await;
    expect_heading(&other, "Choose an authentication method").await;

    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "no Content-Security-Policy violations in the browser console: {violations:#?}");
    other.close().await;
    browser.close().await;
}

// ----- What a user does --------------------------------------------------------------------------

async fn log_in(b: &Browser<'_>, username: &str) {
    fill(b, "Username", username).await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Log in").await;
}

/// Types `text` into the field labelled `label` (replacing what is there).
async fn fill(b: &Browser<'_>, label: &str, text: &str) {
    let label_element = find(b, &format!("//label[normalize-space()={}]", literal(label))).await;
    let id = b
        .attribute(&label_element, "for")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the label {label:?} names its field"));
    let field = find(b, &format!("//*[@id={}]", literal(&id))).await;
    assert!(b.displayed(&field).await.unwrap(), "the field {label:?} is visible");
    b.clear(&field).await.unwrap();
    b.send_keys(&field, text).await.unwrap_or_else(|e| panic!("typing into {label:?}: {e}"));
}

/// Clicks the button (or link styled as one) that reads `text`.
async fn click_button(b: &Browser<'_>, text: &str) {
    let t = literal(text);
    let button =
        find(b, &format!("//button[normalize-space()={t}] | //a[contains(@class, 'button')][normalize-space()={t}]"))
            .await;
    assert!(b.displayed(&button).await.unwrap(), "the button {text:?} is visible");
    b.click(&button).await.unwrap_or_else(|e| panic!("clicking {text:?}: {e}"));
}

/// Clicks the `<summary>` that reads `text`, opening its details.
async fn click_summary(b: &Browser<'_>, text: &str) {
    let summary = find(b, &format!("//summary[normalize-space()={}]", literal(text))).await;
    b.click(&summary).await.unwrap_or_else(|e| panic!("clicking {text:?}: {e}"));
}

/// XPath for the radio button whose label's main text is `text`.
fn radio_labelled(text: &str) -> String {
    let t = literal(text);
    format!("//label[input[@type='radio']][.//strong[normalize-space()={t}] or normalize-space()={t}]")
}

/// Picks the radio-button choice labelled `text` by clicking its label.
async fn choose(b: &Browser<'_>, text: &str) {
    let label = find(b, &radio_labelled(text)).await;
    b.click(&label).await.unwrap_or_else(|e| panic!("choosing {text:?}: {e}"));
    assert!(is_chosen(b, text).await, "{text:?} is selected after clicking it");
}

async fn is_chosen(b: &Browser<'_>, text: &str) -> bool {
    let radio = find(b, &format!("{}/input", radio_labelled(text))).await;
    b.selected(&radio).await.unwrap()
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

/// Waits until the page's heading reads `expected` (the way to know a navigation has finished).
async fn expect_heading(b: &Browser<'_>, expected: &str) {
    let started = Instant::now();
    loop {
        let seen = page_heading(b).await;
        if seen.as_deref() == Ok(expected) {
            return;
        }
        if started.elapsed() > PAGE_TIMEOUT {
            let url = b.current_url().await.unwrap_or_default();
            let body = match b.find("//body").await {
                Ok(body) => b.text(&body).await.unwrap_or_default(),
                Err(e) => e,
            };
            panic!(
                "expected the page {expected:?}, but after {PAGE_TIMEOUT:?} the heading is {seen:?} at {url}:\n{body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a visible `role="alert"` message containing `text`.
async fn expect_alert(b: &Browser<'_>, text: &str) {
    let alert = find(b, &format!("//*[@role='alert'][contains(normalize-space(), {})]", literal(text))).await;
    assert!(b.displayed(&alert).await.unwrap(), "the message {text:?} is visible");
}

/// Finds an element, waiting for it to appear.
async fn find(b: &Browser<'_>, xpath: &str) -> Element {
    let started = Instant::now();
    loop {
        match b.find(xpath).await {
            Ok(element) => return element,
            Err(e) if started.elapsed() > PAGE_TIMEOUT => {
                let heading = page_heading(b).await.unwrap_or_default();
                panic!("nothing matches {xpath} on the page {heading:?}: {e}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A well-formed code that is not valid now (nor one step either side).
fn wrong_code(seed: &TotpSeed) -> String {
    let t = now() as u64;
    let valid = [seed.code_at(t - 30), seed.code_at(t), seed.code_at(t + 30), seed.code_at(t + 60)];
    (0..).map(|n: u32| format!("{:06}", n * 111_111 % 1_000_000)).find(|code| !valid.contains(code)).unwrap()
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

// ----- Screenshots for the docs ------------------------------------------------------------------

struct Screenshots(Option<PathBuf>);

impl Screenshots {
    fn from_env() -> Self {
        let dir = std::env::var_os("TWOFOLD_SCREENSHOTS").filter(|d| !d.is_empty()).map(PathBuf::from);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        Self(dir)
    }

    /// The whole page (not only the window) as `<dir>/<name>.png`.
    async fn take(&self, b: &Browser<'_>, name: &str) {
        let Some(dir) = &self.0 else { return };
        save_png(dir, name, &b.full_page_png().await);
    }

    /// The page as a 390 px wide phone shows it.
    async fn take_mobile(&self, b: &Browser<'_>, name: &str) {
        let Some(dir) = &self.0 else { return };
        let phone = json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true });
        b.cdp("Emulation.setDeviceMetricsOverride", phone).await.expect("phone-sized viewport");
        let png = b.full_page_png().await;
        b.cdp("Emulation.clearDeviceMetricsOverride", json!({})).await.expect("back to the desktop viewport");
        save_png(dir, name, &png);
    }
}

fn save_png(dir: &Path, name: &str, png: &[u8]) {
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

//! What a person does in the headless-Chromium tests (log in, fill a labelled field, click, choose, wait for a
//! page, go through the wizard) and the checks and screenshots they share; `webdriver.rs` is the wire client.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use twofold::factors::totp::TotpSeed;

use crate::helpers::{PASSWORD, TestApp, now};
use crate::webdriver::{Browser, Element, PAGE_TIMEOUT};

// ----- Steps -------------------------------------------------------------------------------------

/// Opens the login page and waits for it.
pub(crate) async fn open_login(b: &Browser<'_>, app: &TestApp) {
    b.goto(&app.url("/login")).await;
    expect_heading(b, "Log in").await;
}

/// Logs in as `username` with the test password, on the login page.
pub(crate) async fn log_in(b: &Browser<'_>, username: &str) {
    fill(b, "Username", username).await;
    fill(b, "Password", PASSWORD).await;
    click_button(b, "Log in").await;
}

/// Adds a `platform` phone ("iPhone", "Android") named `name` with the authenticator app, from the
/// wizard's first question to saving the device options.
pub(crate) async fn add_phone(b: &Browser<'_>, app: &TestApp, platform: &str, name: &str) {
    let (store, sent_to) = match platform {
        "iPhone" => ("App Store", "the App Store"),
        "Android" => ("Google Play", "Google Play"),
        other => panic!("no app store known for {other:?}"),
    };
    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Mobile phone").await;
    click_button(b, "Continue").await;
    verify_mobile_number(b, app).await;
    click_button(b, "Set up the app").await;
    expect_heading(b, "What type of mobile phone is it?").await;
    choose(b, platform).await;
    click_button(b, "Continue").await;
    expect_heading(b, "Install the authenticator app").await;
    assert!(main_text(b).await.contains(store), "{platform} users are sent to {sent_to}");
    choose(b, "Use another authenticator app").await;
    click_button(b, "I have the app installed").await;
    expect_heading(b, "Scan this QR code with the app").await;
    let seed = reveal_setup_key(b).await;
    fill(b, "Passcode", &seed.code_at(now() as u64)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Device options").await;
    fill(b, "Device name", name).await;
    click_button(b, "Save").await;
}

/// On "Enter your phone number": types a fresh fictional number, confirms it, and enters the code
/// the telephony simulator texted. Ends on "Use the authenticator app too?". Returns the number.
pub(crate) async fn verify_mobile_number(b: &Browser<'_>, app: &TestApp) -> String {
    let number = crate::helpers::next_mobile_number();
    expect_heading(b, "Enter your phone number").await;
    fill(b, "Phone number", &number).await;
    click_button(b, "Continue").await;
    expect_heading(b, "Is this the correct number?").await;
    click_button(b, "Yes, it's correct").await;
    expect_heading(b, "Verify your number").await;
    click_button(b, "Text me a code").await;
    expect_text(b, "We texted a code to").await;
    let code = app.texted_codes(&number).await.pop().expect("the simulator texted a code");
    fill(b, "Passcode", &code).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Use the authenticator app too?").await;
    number
}

/// On the QR-code page: opens "Can't scan the QR code?" and reads the setup key as the app would.
pub(crate) async fn reveal_setup_key(b: &Browser<'_>) -> TotpSeed {
    click_summary(b, "Can't scan the QR code?").await;
    let key_element = find(b, "//*[@id='setup-key']").await;
    assert!(b.displayed(&key_element).await.unwrap(), "\"Can't scan the QR code?\" reveals the setup key");
    let key = b.text(&key_element).await.unwrap();
    TotpSeed::from_base32(&key).unwrap_or_else(|| panic!("the setup key {key:?} is base32"))
}

/// The field labelled `label` inside the element matched by the XPath `scope` ("" for the page).
pub(crate) async fn field_within(b: &Browser<'_>, scope: &str, label: &str) -> Element {
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
pub(crate) async fn fill(b: &Browser<'_>, label: &str, text: &str) {
    fill_within(b, "", label, text).await;
}

/// Types `text` into the field labelled `label` inside the XPath `scope` (replacing what is there).
pub(crate) async fn fill_within(b: &Browser<'_>, scope: &str, label: &str, text: &str) {
    let field = field_within(b, scope, label).await;
    b.clear(&field).await.unwrap();
    b.send_keys(&field, text).await.unwrap_or_else(|e| panic!("typing into {label:?}: {e}"));
}

/// What the field labelled `label` holds now.
pub(crate) async fn field_value(b: &Browser<'_>, label: &str) -> String {
    let field = field_within(b, "", label).await;
    let value = b.execute("return arguments[0].value", vec![field.as_arg()]).await.unwrap();
    value.as_str().unwrap_or_default().to_string()
}

/// Clicks the visible element matched by `xpath` (`what` names it in failures).
/// An element found on the page before it was replaced (a navigation in flight) is "stale": it
/// is looked up again on the new page.
pub(crate) async fn click(b: &Browser<'_>, xpath: &str, what: &str) {
    let started = Instant::now();
    loop {
        let element = find(b, xpath).await;
        let clicked = match b.displayed(&element).await {
            Ok(visible) => {
                assert!(visible, "{what:?} is visible");
                b.click(&element).await
            }
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => return,
            Err(e) if e.contains("stale element") && started.elapsed() < PAGE_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("clicking {what:?}: {e}"),
        }
    }
}

/// Clicks the `<button>` (or `<a class="button">`) that reads `text`.
pub(crate) async fn click_button(b: &Browser<'_>, text: &str) {
    let t = literal(text);
    click(
        b,
        &format!("//button[normalize-space()={t}] | //a[contains(@class, 'button')][normalize-space()={t}]"),
        text,
    )
    .await;
}

/// Clicks the link in the page's main part that reads `text`.
pub(crate) async fn click_link(b: &Browser<'_>, text: &str) {
    click(b, &format!("//main//a[normalize-space()={}]", literal(text)), text).await;
}

/// Clicks the `<summary>` that reads `text`, opening its details.
pub(crate) async fn click_summary(b: &Browser<'_>, text: &str) {
    click(b, &format!("//summary[normalize-space()={}]", literal(text)), text).await;
}

/// XPath for the radio button's label whose main text is `text`.
fn radio_labelled(text: &str) -> String {
    let t = literal(text);
    format!("//label[input[@type='radio']][.//strong[normalize-space()={t}] or normalize-space()={t}]")
}

/// Picks the radio-button choice labelled `text` by clicking its label.
pub(crate) async fn choose(b: &Browser<'_>, text: &str) {
    click(b, &radio_labelled(text), text).await;
    assert!(is_chosen(b, text).await, "{text:?} is selected after clicking it");
}

/// Whether the radio-button choice labelled `text` is selected.
pub(crate) async fn is_chosen(b: &Browser<'_>, text: &str) -> bool {
    let radio = find(b, &format!("{}/input", radio_labelled(text))).await;
    b.selected(&radio).await.unwrap()
}

// ----- What the page shows -----------------------------------------------------------------------

/// XPath for the device card (in settings or the console) whose heading starts with `name`.
pub(crate) fn device_card(name: &str) -> String {
    format!("//li[contains(@class, 'device')][h3[starts-with(normalize-space(), {})]]", literal(name))
}

/// The page's `<h1>`, as shown.
async fn page_heading(b: &Browser<'_>) -> Result<String, String> {
    let h1 = b.find("//h1").await?;
    b.text(&h1).await
}

/// The text of the page's main part.
pub(crate) async fn main_text(b: &Browser<'_>) -> String {
    let main = find(b, "//main").await;
    b.text(&main).await.unwrap()
}

/// The main part's text, or an error while the page is being replaced (a stale element).
async fn try_main_text(b: &Browser<'_>) -> Result<String, String> {
    let main = b.find("//main").await?;
    b.text(&main).await
}

/// Waits until the page's heading reads `expected` (the way to know a navigation has finished).
pub(crate) async fn expect_heading(b: &Browser<'_>, expected: &str) {
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
pub(crate) async fn expect_text(b: &Browser<'_>, text: &str) {
    let started = Instant::now();
    while !try_main_text(b).await.is_ok_and(|shown| shown.contains(text)) {
        if started.elapsed() > PAGE_TIMEOUT {
            fail(b, &format!("expected {text:?} on the page")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a visible `role="alert"` message containing `text`.
pub(crate) async fn expect_alert(b: &Browser<'_>, text: &str) {
    let alert = find(b, &format!("//*[@role='alert'][contains(normalize-space(), {})]", literal(text))).await;
    assert!(b.displayed(&alert).await.unwrap(), "the message {text:?} is visible");
}

/// Finds an element, waiting for it to appear.
pub(crate) async fn find(b: &Browser<'_>, xpath: &str) -> Element {
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

/// The Content-Security-Policy complaints in the browser's console so far.
pub(crate) async fn csp_violations(b: &Browser<'_>) -> Vec<String> {
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

// ----- Values ------------------------------------------------------------------------------------

/// A well-formed code that is not valid now (nor one step either side).
pub(crate) fn wrong_code(seed: &TotpSeed) -> String {
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

// ----- Screenshots for the docs ------------------------------------------------------------------

/// With `TWOFOLD_SCREENSHOTS=<dir>`, whole-page PNGs for the docs; without it, nothing.
pub(crate) struct Screenshots(Option<PathBuf>);

impl Screenshots {
    pub(crate) fn from_env() -> Self {
        let dir = std::env::var_os("TWOFOLD_SCREENSHOTS").filter(|d| !d.is_empty()).map(PathBuf::from);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        Self(dir)
    }

    /// The whole page (not only the window) as `<dir>/<name>.png`.
    pub(crate) async fn take(&self, b: &Browser<'_>, name: &str) {
        let Some(dir) = &self.0 else { return };
        save_png(dir, name, &b.full_page_png().await);
    }

    /// The page as a 390 px wide phone shows it.
    pub(crate) async fn take_mobile(&self, b: &Browser<'_>, name: &str) {
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

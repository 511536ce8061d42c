//! In a real browser: a user without a phone claims a hardware token (HOTP, two presses) in the
//! wizard, signs in with its next passcode, and finds it under "My Settings & Devices".

use twofold::factors::hotp::HotpSeed;

use crate::browser_steps::{
    Screenshots, choose, click_button, csp_violations, device_card, expect_alert, expect_heading, fill, find, log_in,
    main_text, open_login,
};
use crate::helpers::{now, spawn_app};
use crate::tokens::good_file;
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_claims_a_hardware_token_in_the_wizard_and_signs_in_with_it_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let (db, keys) = twofold::app::open(&app.settings).await.unwrap();
    let rows = twofold::domain::token::parse_csv(&good_file()).unwrap();
    twofold::tokens::import(&db, &keys, &rows, "test", now()).await.unwrap();
    app.add_user("ada").await;
    let seed = HotpSeed::new(b"12345678901234567890", 6);
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Not enrolled yet").await;
    click_button(b, "Start setup").await;
    expect_heading(b, "What type of device are you adding?").await;
    choose(b, "Hardware token").await;
    click_button(b, "Continue").await;

    expect_heading(b, "Add a hardware token").await;
    fill(b, "Serial number", "hotp-1").await;
    fill(b, "Passcode", &seed.code_at(7)).await;
    click_button(b, "Verify").await;
    expect_alert(b, "That serial number and passcode do not match a token you can add.").await;
    shots.take(b, "tokens-01-claim-error").await;
    fill(b, "Passcode", &seed.code_at(7)).await;
    fill(b, "Next passcode", &seed.code_at(8)).await;
    shots.take(b, "tokens-02-claim").await;
    click_button(b, "Verify").await;

    expect_heading(b, "Device options").await;
    click_button(b, "Save").await;
    expect_heading(b, "You're all set").await;
    assert!(main_text(b).await.contains("a passcode from your token"), "{}", main_text(b).await);
    click_button(b, "Continue to Login").await;

    expect_heading(b, "Choose an authentication method").await;
    assert!(main_text(b).await.contains("Press the button on Token HOTP-1"), "{}", main_text(b).await);
    shots.take(b, "tokens-03-prompt").await;
    fill(b, "Passcode", &seed.code_at(8)).await;
    click_button(b, "Verify").await;
    expect_alert(b, "That passcode was already used.").await;
    fill(b, "Passcode", &seed.code_at(9)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Trust this browser?").await;
    click_button(b, "Trust browser").await;

    expect_heading(b, "My Settings & Devices").await;
    let card = b.text(&find(b, &device_card("Token HOTP-1")).await).await.unwrap();
    assert!(card.contains("Hardware token"), "{card}");
    shots.take(b, "tokens-04-settings").await;
    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "{violations:#?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_imports_tokens_and_assigns_one_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let ada = app.add_user("ada").await;
    let grace_http = app.other_browser();
    let grace = grace_http.add_user("grace").await;
    grace_http.login("grace", crate::helpers::PASSWORD).await;
    let grace_seed = grace_http.enroll_phone().await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), good_file()).unwrap();
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    open_login(b, &app).await;
    log_in(b, "grace").await;
    fill(b, "Passcode", &grace_seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;
    click_button(b, "Don't trust").await;
    expect_heading(b, "My Settings & Devices").await;
    b.goto(&app.url("/admin/tokens")).await;
    expect_heading(b, "Hardware tokens").await;
    let input = find(b, "//input[@type='file']").await;
    b.send_keys(&input, &file.path().display().to_string()).await.unwrap();
    click_button(b, "Check file").await;
    expect_heading(b, "Hardware tokens").await;
    assert!(main_text(b).await.contains("The file is valid: 3 tokens."), "{}", main_text(b).await);
    shots.take(b, "tokens-05-import-preview").await;
    click_button(b, "Import 3 tokens").await;
    expect_heading(b, "Hardware tokens").await;
    assert!(main_text(b).await.contains("Imported 3 tokens."));
    shots.take(b, "tokens-06-inventory").await;

    b.goto(&app.url(&format!("/admin/users/{}", ada.id))).await;
    fill(b, "Serial number", "TOTP-1").await;
    click_button(b, "Assign token").await;
    expect_heading(b, "ada Tester active").await;
    assert!(main_text(b).await.contains("TOTP-1"), "{}", main_text(b).await);
    shots.take(b, "tokens-07-user-page").await;
    click_button(b, "Mark lost token TOTP-1").await;
    expect_heading(b, "ada Tester active").await;
    assert!(main_text(b).await.to_lowercase().contains("totp-1 lost"), "{}", main_text(b).await);
    let row = twofold::store::tokens::by_serial(&app.db, "TOTP-1").await.unwrap().unwrap();
    assert_eq!(row.status, "lost");
    let violations = csp_violations(b).await;
    assert!(violations.is_empty(), "{violations:#?}");
    browser.close().await;
}

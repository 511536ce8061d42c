//! In real browsers: a "laptop" and a "phone". Ada starts setup on the laptop and chooses the
//! Twofold authenticator; the phone opens the activation link (the app makes its key with
//! WebCrypto) and the laptop's wizard moves on by itself. She chooses "Automatically send this
//! device a Push"; at the prompt the push starts on arrival, she types the number on the phone
//! and approves, and the laptop moves on. An application's push (Auth API) is approved without a
//! number. Then a push she did not start is reported as fraud.
//!
//! Needs `chromium` and `chromium-driver`, like `browser.rs`. With `TWOFOLD_SCREENSHOTS=<dir>` it
//! saves the activation QR page, the number on the laptop and the request on the phone.

use crate::browser_steps::{
    Screenshots, choose, click_button, click_link, csp_violations, expect_heading, expect_text, fill, find, log_in,
    open_login,
};
use crate::helpers::spawn_app;
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticator_app_activated_from_the_wizard_approves_a_push_with_the_number_shown() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    app.add_user("ada").await;

    // ----- Laptop: log in and start setup -------------------------------------------------------
    let laptop = driver.new_session(1280, 1000).await;
    let l = &laptop;
    open_login(l, &app).await;
    log_in(l, "ada").await;
    expect_heading(l, "Not enrolled yet").await;
    click_button(l, "Start setup").await;
    expect_heading(l, "What type of device are you adding?").await;
    choose(l, "Mobile phone").await;
    click_button(l, "Continue").await;
    crate::browser_steps::verify_mobile_number(l, &app).await;
    click_button(l, "Set up the app").await;
    expect_heading(l, "What type of mobile phone is it?").await;
    choose(l, "Android").await;
    click_button(l, "Continue").await;
    expect_heading(l, "Install the authenticator app").await;
    choose(l, "Twofold authenticator").await;
    click_button(l, "I have the app installed").await;
    expect_heading(l, "Scan this QR code with the app").await;
    expect_text(l, "Email me an activation link instead").await;
    shots.take(l, "50-push-activate").await;
    let link = l.attribute(&find(l, "//a[normalize-space()='Open the activation link']").await, "href").await;
    let link = link.unwrap().expect("the activation link");

    // ----- Phone: open the link (what scanning the QR code does) ------------------------------
    let phone = driver.new_session(400, 800).await;
    let p = &phone;
    p.goto(&link).await;
    expect_text(p, "Activated: ").await;
    expect_text(p, "(ada)").await;
    let passcode = p.text(&find(p, "//*[contains(@class, 'passcode')]").await).await.unwrap();
    assert_eq!(passcode.trim().len(), 6, "the app shows a 6-digit passcode: {passcode:?}");

    // ----- Laptop: the wizard moved on by itself ------------------------------------------------
    expect_heading(l, "Device options").await;
    fill(l, "Device name", "Ada's Pixel").await;
    choose(l, "Automatically send this device a Push").await;
    click_button(l, "Save").await;
    click_link(l, "Continue to Login").await;

    // The push starts on arrival and shows the number to type.
    expect_heading(l, "Enter the number shown in the app").await;
    let number = l.text(&find(l, "//*[@id='push-number']").await).await.unwrap();
    shots.take(l, "51-push-number").await;

    // ----- Phone: the request arrives; type the number and approve ------------------------------
    expect_text(p, "Are you logging in?").await;
    expect_text(p, "ada").await;
    shots.take_mobile(p, "52-push-request").await;
    fill(p, "Enter the number shown on the login screen", number.trim()).await;
    click_button(p, "Approve").await;
    expect_text(p, "Approved").await;

    // ----- Laptop: signed in ----------------------------------------------------------------------
    expect_heading(l, "Trust this browser?").await;
    click_button(l, "Don't trust").await;

    // ----- An application's push (Auth API): approve or deny, no number to type ---------------------
    let vpn = crate::duo::add_application(&app, "Campus VPN").await;
    let params = [("username", "ada"), ("factor", "push"), ("device", "auto"), ("pushinfo", "from=Paris")];
    let phone_side = async {
        expect_text(p, "Campus VPN: Login request (from: Paris)").await;
        shots.take_mobile(p, "43-push-application").await;
        click_button(p, "Approve").await;
        expect_text(p, "Approved").await;
    };
    let ((_, r), ()) =
        tokio::join!(vpn.call(&app, "POST", "/auth/v2/auth", &params, crate::duo::Sig::V5, 0), phone_side);
    assert_eq!(r["response"]["result"], "allow", "{r}");

    // ----- A push Ada did not start: deny, "It seems fraudulent" ------------------------------------
    let attacker = driver.new_session(1280, 1000).await;
    let a = &attacker;
    open_login(a, &app).await;
    log_in(a, "ada").await;
    expect_heading(a, "Enter the number shown in the app").await;
    expect_text(p, "Are you logging in?").await;
    click_button(p, "Deny").await;
    click_button(p, "It seems fraudulent").await;
    expect_text(p, "Reported").await;
    // The browser that asked is signed out, and told nothing about the report.
    expect_heading(a, "Log in").await;
    let reports = twofold::store::fraud_reports::recent(&app.db, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].method, "push");

    for (who, b) in [("laptop", l), ("phone", p), ("attacker", a)] {
        assert!(csp_violations(b).await.is_empty(), "{who}: no Content-Security-Policy violations");
    }
    laptop.close().await;
    phone.close().await;
    attacker.close().await;
}

//! In a real browser: an administrator gives the Campus VPN its own location rule, asks "What
//! applies" for Ada from North Korea, and Ada's browser, behind the institution's proxy
//! (X-Forwarded-For set through the DevTools protocol), is told access is denied.

use serde_json::json;

use crate::browser_helpdesk::staff_in_browser;
use crate::browser_steps::{
    Screenshots, click_button, click_link, csp_violations, expect_heading, expect_text, fill, log_in, open_login,
};
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_an_applications_location_rule_and_a_denied_user_reads_why() {
    let driver = ChromeDriver::start();
    let (app, _dbs) = crate::access::located_app().await;
    let shots = Screenshots::from_env();
    crate::duo::add_application(&app, "Campus VPN").await;
    app.add_user("ada").await;

    let admin = staff_in_browser(&driver, &app, "admin").await;
    let a = &admin;
    click_link(a, "Policies").await;
    expect_heading(a, "Policies").await;
    fill(a, "User locations", "KP deny").await;
    click_button(a, "Save policies").await;
    expect_text(a, "Policies saved.").await;
    click_link(a, "Campus VPN").await;
    expect_heading(a, "Policy of Campus VPN").await;
    fill(a, "Authorized networks", "10.0.0.0/8 allow\n* require").await;
    click_button(a, "Save policy").await;
    expect_text(a, "Policy saved.").await;
    shots.take(a, "60-application-policy").await;

    click_link(a, "Back to Policies").await;
    click_link(a, "See what applies to a user at an application from an address").await;
    expect_heading(a, "What applies").await;
    fill(a, "Username", "ada").await;
    fill(a, "Address (optional)", "203.0.113.5").await;
    click_button(a, "Explain").await;
    expect_text(a, "From address 203.0.113.5 (country KP).").await;
    expect_text(a, "Denied, by location KP (global policy).").await;
    shots.take(a, "61-what-applies").await;

    // Ada, through the institution's proxy from North Korea.
    let ada = driver.new_session(1280, 900).await;
    let b = &ada;
    b.cdp("Network.enable", json!({})).await.unwrap();
    b.cdp("Network.setExtraHTTPHeaders", json!({ "headers": { "X-Forwarded-For": "203.0.113.5" } })).await.unwrap();
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Access denied").await;
    expect_text(b, "Sign-ins from your current location are not allowed by Example University.").await;
    shots.take(b, "62-access-denied").await;
    // From Switzerland she reaches the prompt (setup, since she has no device yet).
    b.cdp("Network.setExtraHTTPHeaders", json!({ "headers": { "X-Forwarded-For": "198.51.100.7" } })).await.unwrap();
    open_login(b, &app).await;
    log_in(b, "ada").await;
    expect_heading(b, "Not enrolled yet").await;

    for (who, browser) in [("admin", a), ("ada", b)] {
        assert!(csp_violations(browser).await.is_empty(), "{who}: no Content-Security-Policy violations");
    }
    admin.close().await;
    ada.close().await;
}

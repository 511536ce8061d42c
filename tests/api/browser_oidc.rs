//! In a real browser: "Sign in with UM Account" on the login page, the provider's own login page
//! (a real OpenID Connect provider on loopback), and back into Twofold's prompt, where a person
//! with no device yet is offered "Start setup".

use serde_json::json;

use crate::browser_steps::{Screenshots, click_button, csp_violations, expect_heading, find, main_text, open_login};
use crate::oidc::idp_and_app;
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_the_provider_in_a_real_browser_and_reaches_the_prompt() {
    let driver = ChromeDriver::start();
    let (idp, app) = idp_and_app(|_, p| p.provision_users = true).await;
    idp.account("ada", json!({ "name": "Ada Lovelace" })).await;
    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;

    open_login(b, &app).await;
    shots.take(b, "oidc-01-login").await;
    click_button(b, "Sign in with UM Account").await;

    // The provider's login page (oidc-provider's development page: any name and password).
    let login = find(b, "//input[@name='login']").await;
    b.send_keys(&login, "ada").await.unwrap();
    let password = find(b, "//input[@name='password']").await;
    b.send_keys(&password, "anything").await.unwrap();
    shots.take(b, "oidc-02-provider").await;
    let submit = find(b, "//button[@type='submit']").await;
    b.click(&submit).await.unwrap();

    // Back in Twofold, half-authenticated: the account was created and the wizard is offered.
    expect_heading(b, "Not enrolled yet").await;
    shots.take(b, "oidc-03-prompt").await;
    assert!(main_text(b).await.contains("Start setup"));
    assert!(b.current_url().await.unwrap().starts_with(&app.url("/prompt")));
    assert_eq!(csp_violations(b).await, Vec::<String>::new());
    browser.close().await;
}

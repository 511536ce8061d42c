//! The OpenID provider in a real browser: an ordinary application built with authlib
//! (tests/entra/rp.py) signs Ada in with the code flow and PKCE, and Microsoft Entra ID's stand-in
//! (tests/entra/entra.py) sends her through the prompt by a cross-site form post and verifies the
//! ID token the page posts back.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::browser_steps::{
    Screenshots, click_button, csp_violations, expect_heading, expect_text, fill, log_in, main_text,
};
use crate::openid::{entra_app, register};
use crate::webdriver::ChromeDriver;

/// The authlib relying party, stopped when dropped.
struct RelyingParty(Child, u16);

impl Drop for RelyingParty {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn relying_party(twofold: &str, client_id: &str, secret: &str) -> RelyingParty {
    let mut child = Command::new("python3")
        .args(["tests/entra/rp.py", twofold, client_id, secret])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs tests/entra/rp.py (python3 -m pip install authlib requests)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| panic!("rp.py printed its port, not {line:?}"));
    RelyingParty(child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authlib_application_signs_in_with_the_code_flow_and_pkce() {
    let driver = ChromeDriver::start();
    let app = crate::helpers::spawn_app_with(|_| {}).await;
    let shots = Screenshots::from_env();
    app.signed_in_user("ada").await;
    let codes = crate::universal::backup_codes(&app).await;
    let client_id = twofold::duo::keys::new_integration_key();
    let secret = register(&app, "Staff wiki", "oidc", &client_id, &[]).await;
    let rp = relying_party(&app.address, &client_id, &secret);
    let callback = format!("http://127.0.0.1:{}/callback", rp.1);
    let id = twofold::store::applications::by_integration_key(&app.db, &client_id).await.unwrap().unwrap().id;
    twofold::store::applications::set_redirect_uris(&app.db, &id, &[callback]).await.unwrap();

    let b = driver.new_session(1280, 900).await;
    b.goto(&format!("http://127.0.0.1:{}/login", rp.1)).await;
    expect_heading(&b, "Log in").await;
    log_in(&b, "ada").await;
    expect_heading(&b, "Choose an authentication method").await;
    expect_text(&b, "Verify it's you to continue to Staff wiki").await;
    shots.take(&b, "70-openid-prompt").await;
    fill(&b, "Passcode", &codes[0]).await;
    click_button(&b, "Verify").await;
    expect_heading(&b, "Signed in to the test application").await;
    let shown = main_text(&b).await;
    assert!(shown.contains("ada") && shown.contains("\"mfa\""), "{shown}");
    b.goto(&app.url("/login")).await;
    assert!(csp_violations(&b).await.is_empty());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_posts_the_browser_to_the_prompt_and_receives_a_verified_id_token() {
    let driver = ChromeDriver::start();
    let (app, entra) = entra_app().await;
    let shots = Screenshots::from_env();
    app.signed_in_user("ada").await;
    let codes = crate::universal::backup_codes(&app).await;
    let hint = entra.hint("ada", "").await;

    let b = driver.new_session(1280, 900).await;
    b.goto(&entra.url(&format!("/start?twofold={}&hint={hint}&nonce=n-123&state=s-456", app.address))).await;
    click_button(&b, "Verify with Twofold").await;
    expect_heading(&b, "Choose an authentication method").await;
    expect_text(&b, "Verify it's you to continue to Microsoft 365").await;
    shots.take(&b, "71-entra-prompt").await;
    fill(&b, "Passcode", &codes[0]).await;
    click_button(&b, "Verify").await;
    expect_heading(&b, "Back at Entra").await;
    let result = entra.result().await;
    assert_eq!(result["valid"], true, "{result}");
    assert_eq!((result["claims"]["nonce"].as_str(), result["state"].as_str()), (Some("n-123"), Some("s-456")));
    b.close().await;
}

//! The test's OpenID Connect provider (tests/oidc/provider.js, the npm `oidc-provider` package) as a
//! child process, and the steps a browser takes through it back to Twofold.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::{Client, Response, Url};
use serde_json::json;
use twofold::config::{OidcProvider, Settings};

use crate::helpers::{TestApp, location, spawn_app_with};

/// A running provider; killed when dropped.
pub struct Idp {
    pub port: u16,
    child: Child,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    pub async fn start() -> Idp {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
        assert!(
            std::path::Path::new(dir).join("node_modules/oidc-provider").exists(),
            "the test OpenID Connect provider is not installed: run `npm ci --prefix tests/oidc`"
        );
        let mut child = Command::new("node")
            .arg(format!("{dir}/provider.js"))
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match std::env::var("TEST_IDP_LOG") {
                Ok(path) => Stdio::from(std::fs::File::create(path).expect("TEST_IDP_LOG file")),
                Err(_) => Stdio::null(),
            })
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdout = child.stdout.take().unwrap();
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                let line = lines.next().expect("provider output").expect("provider line");
                if let Some(port) = line.strip_prefix("READY ") {
                    return port.trim().parse::<u16>().unwrap();
                }
            }
        })
        .await
        .unwrap();
        Idp { port, child }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A control request to the provider (client, account, rotate, tamper).
    pub async fn control(&self, what: &str, body: serde_json::Value) {
        let url = format!("{}/__control/{what}", self.issuer());
        let response = reqwest::Client::new().post(url).json(&body).send().await.expect("control request");
        assert_eq!(response.status(), 200, "control {what}");
    }

    pub async fn account(&self, login: &str, claims: serde_json::Value) {
        self.control("account", json!({ "login": login, "claims": claims })).await;
    }
}

pub fn provider_settings(issuer: &str) -> OidcProvider {
    OidcProvider {
        id: "um".into(),
        name: "UM Account".into(),
        issuer: issuer.into(),
        client_id: "twofold".into(),
        client_secret: Some("twofold-secret".into()),
        client_secret_file: None,
        scopes: vec!["openid".into(), "profile".into(), "email".into(), "groups".into()],
        username_claim: "preferred_username".into(),
        display_name_claim: "name".into(),
        email_claim: "email".into(),
        groups_claim: None,
        allowed_groups: vec![],
        provision_users: false,
    }
}

/// A provider and Twofold configured to use it (the provider knows Twofold's callback).
pub async fn idp_and_app(configure: impl FnOnce(&mut Settings, &mut OidcProvider)) -> (Idp, TestApp) {
    let idp = Idp::start().await;
    let mut provider = provider_settings(&idp.issuer());
    let app = spawn_app_with(|s| {
        configure(s, &mut provider);
        s.oidc.providers = vec![provider];
    })
    .await;
    idp.control("client", json!({ "redirect_uris": [app.url("/login/oidc/um/callback")] })).await;
    (idp, app)
}

pub fn resolve(base: &str, location: &str) -> String {
    Url::parse(base).unwrap().join(location).unwrap().to_string()
}

/// Follows redirects with `client` until the next URL is Twofold's (at `address`); returns that
/// URL and the last provider page.
async fn follow_to(client: &Client, address: &str, mut url: String) -> (Option<String>, String) {
    for _ in 0..10 {
        if url.starts_with(address) {
            return (Some(url), String::new());
        }
        let response = client.get(&url).send().await.expect("provider page");
        if response.status().is_redirection() {
            url = resolve(&url, &location(&response));
            continue;
        }
        return (None, response.text().await.unwrap());
    }
    panic!("too many redirects");
}

pub async fn follow_to_twofold(app: &TestApp, url: String) -> (Option<String>, String) {
    follow_to(&app.client, &app.address, url).await
}

/// The `action` of the provider's login form.
fn form_action(page: &str) -> String {
    let start = page.find("action=\"").expect("a form on the provider's page") + 8;
    page[start..].split('"').next().unwrap().replace("&amp;", "&")
}

/// Starts "Sign in with UM Account" on the Twofold at `address`, signs in at the provider's login
/// page as `login`, and returns Twofold's callback URL (not yet visited).
pub async fn callback_for(client: &Client, address: &str, login: &str) -> String {
    let start = client.get(format!("{address}/login/oidc/um")).send().await.unwrap();
    assert_eq!(start.status(), 303, "the button redirects to the provider");
    let (done, page) = follow_to(client, address, location(&start)).await;
    if let Some(callback) = done {
        return callback; // already signed in at the provider
    }
    assert!(page.contains("name=\"login\""), "the provider's login page:\n{page}");
    let response = client
        .post(form_action(&page))
        .form(&[("prompt", "login"), ("login", login), ("password", "anything")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "the provider accepts the login");
    let next = resolve(&form_action(&page), &location(&response));
    follow_to(client, address, next).await.0.expect("the provider sends the browser back to Twofold")
}

pub async fn provider_callback(app: &TestApp, login: &str) -> String {
    callback_for(&app.client, &app.address, login).await
}

/// Signs in at the provider and visits Twofold's callback.
pub async fn sign_in_with_provider(app: &TestApp, login: &str) -> Response {
    let callback = provider_callback(app, login).await;
    app.client.get(callback).send().await.unwrap()
}

/// The value of a query parameter in a URL.
pub fn query_value(url: &str, name: &str) -> String {
    Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
}

//! The Duo-compatible Auth API v2, called as applications call it: requests signed in the test
//! with its own canonicalisation (v2 SHA-1, v2 SHA-512, v5), and by Duo's official Python client.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Digest;

use crate::helpers::{TestApp, now, spawn_app};

pub(crate) struct Client {
    pub(crate) ikey: String,
    pub(crate) skey: String,
}

pub(crate) async fn add_application(app: &TestApp, name: &str) -> Client {
    let id = twofold::secrets::new_id();
    let (ikey, skey) = (twofold::duo::keys::new_integration_key(), twofold::duo::keys::new_secret_key());
    let keys = app.keys.clone();
    let sealed = keys.seal(&format!("app-secret:{id}"), skey.as_bytes()).unwrap();
    twofold::store::applications::insert(&app.db, &id, name, "auth-api", &ikey, &sealed, now()).await.unwrap();
    Client { ikey, skey }
}

/// Python's `quote(s, safe='~')`, written out independently of the server's code.
fn quote(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn canon(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (quote(k), quote(v))).collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn rfc2822(offset: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now() + offset).unwrap();
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] -0000"
    );
    t.format(&f).unwrap()
}

#[derive(Clone, Copy)]
pub(crate) enum Sig {
    V2Sha1,
    V2Sha512,
    V5,
}

impl Client {
    pub(crate) fn authorization(&self, canonical: &str, sig: Sig) -> String {
        let hex = match sig {
            Sig::V2Sha1 => {
                let mut m = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(self.skey.as_bytes()).unwrap();
                m.update(canonical.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            Sig::V2Sha512 | Sig::V5 => {
                let mut m = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(self.skey.as_bytes()).unwrap();
                m.update(canonical.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
        };
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{hex}", self.ikey)))
    }

    /// Sends a signed request the way duo_client does: v2 with form/query params, v5 with a JSON
    /// body for POST. Returns (HTTP status, parsed JSON).
    pub(crate) async fn call(
        &self,
        app: &TestApp,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
        sig: Sig,
        date_offset: i64,
    ) -> (u16, Value) {
        let date = rfc2822(date_offset);
        let host = "127.0.0.1";
        let http = reqwest::Client::new();
        let post = method == "POST";
        let (canonical, request) = match (sig, post) {
            (Sig::V5, true) => {
                let mut sorted: Vec<_> = params.to_vec();
                sorted.sort();
                let body = serde_json::to_string(
                    &sorted
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                        .collect::<serde_json::Map<_, _>>(),
                )
                .unwrap();
                let body_hash = hex::encode(sha2::Sha512::digest(body.as_bytes()));
                let headers_hash = hex::encode(sha2::Sha512::digest(b""));
                let canonical = [date.as_str(), method, host, path, "", &body_hash, &headers_hash].join("\n");
                (canonical, http.post(app.url(path)).header("content-type", "application/json").body(body))
            }
            (Sig::V5, false) => {
                let body_hash = hex::encode(sha2::Sha512::digest(b""));
                let headers_hash = hex::encode(sha2::Sha512::digest(b""));
                let canonical =
                    [date.as_str(), method, host, path, &canon(params), &body_hash, &headers_hash].join("\n");
                (canonical, http.get(app.url(path)).query(params))
            }
            (_, true) => {
                let canonical = [date.as_str(), method, host, path, &canon(params)].join("\n");
                (canonical, http.post(app.url(path)).form(params))
            }
            (_, false) => {
                let canonical = [date.as_str(), method, host, path, &canon(params)].join("\n");
                (canonical, http.get(app.url(path)).query(params))
            }
        };
        let response = request
            .header("Date", &date)
            .header("Authorization", self.authorization(&canonical, sig))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

#[tokio::test]
async fn ping_needs_no_signature() {
    let app = spawn_app().await;
    let r: Value = app.get("/auth/v2/ping").await.json().await.unwrap();
    assert_eq!(r["stat"], "OK");
    assert!((r["response"]["time"].as_i64().unwrap() - now()).abs() < 5);
}

#[tokio::test]
async fn check_accepts_every_signature_version() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    for sig in [Sig::V2Sha1, Sig::V2Sha512, Sig::V5] {
        let (status, body) = client.call(&app, "GET", "/auth/v2/check", &[], sig, 0).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["stat"], "OK");
    }
}

#[tokio::test]
async fn bad_keys_dates_and_tampering_get_401_in_duos_envelope() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let wrong = Client { ikey: client.ikey.clone(), skey: "x".repeat(40) };
    let (status, body) = wrong.call(&app, "GET", "/auth/v2/check", &[], Sig::V2Sha1, 0).await;
    assert_eq!((status, body["stat"].as_str()), (401, Some("FAIL")));
    assert_eq!(body["code"], 40101);
    let unknown = Client { ikey: twofold::duo::keys::new_integration_key(), skey: client.skey.clone() };
    assert_eq!(unknown.call(&app, "GET", "/auth/v2/check", &[], Sig::V2Sha512, 0).await.0, 401);
    assert_eq!(client.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 600).await.0, 401, "ten minutes of skew");
    assert_eq!(client.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, -600).await.0, 401);
    // Signed for one set of parameters, sent with another.
    let date = rfc2822(0);
    let canonical = [date.as_str(), "POST", "127.0.0.1", "/auth/v2/preauth", &canon(&[("username", "ada")])].join("\n");
    let tampered = reqwest::Client::new()
        .post(app.url("/auth/v2/preauth"))
        .form(&[("username", "bob")])
        .header("Date", &date)
        .header("Authorization", client.authorization(&canonical, Sig::V2Sha1))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    let missing = reqwest::Client::new().get(app.url("/auth/v2/check")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["stat"], "FAIL");
}

#[tokio::test]
async fn preauth_describes_each_kind_of_user() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    app.signed_in_user("ada").await;
    let (_, r) = client.call(&app, "POST", "/auth/v2/preauth", &[("username", "ada")], Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "auth", "{r}");
    let device = &r["response"]["devices"][0];
    assert_eq!(device["type"], "phone");
    assert_eq!(device["name"], "My iPhone");
    assert_eq!(device["capabilities"], serde_json::json!(["auto", "sms", "phone", "mobile_otp"]));

    app.add_user("newbie").await;
    let (_, r) = client.call(&app, "POST", "/auth/v2/preauth", &[("username", "newbie")], Sig::V2Sha1, 0).await;
    assert_eq!(r["response"]["result"], "enroll");
    let portal = r["response"]["enroll_portal_url"].as_str().unwrap();
    assert!(portal.starts_with(&format!("{}/invite/", app.address)), "{portal}");
    let path = portal.strip_prefix(&app.address).unwrap();
    assert!(
        app.other_browser().get_html(path).await.contains("Set up your sign-in"),
        "a working single-use enrolment link"
    );

    let (_, r) = client.call(&app, "POST", "/auth/v2/preauth", &[("username", "nobody")], Sig::V2Sha1, 0).await;
    assert_eq!(r["response"]["result"], "deny");

    let ada = crate::helpers::user_id(&app, "ada").await;
    app.sql(&format!("UPDATE users SET locked_at = {} WHERE id = '{ada}'", now())).await;
    let (_, r) = client.call(&app, "POST", "/auth/v2/preauth", &[("user_id", &ada)], Sig::V2Sha512, 0).await;
    assert_eq!(r["response"]["result"], "deny");
    assert_eq!(r["response"]["status_msg"], "Your account is locked out.");

    let (status, r) = client.call(&app, "POST", "/auth/v2/preauth", &[], Sig::V2Sha1, 0).await;
    assert_eq!((status, r["code"].as_i64()), (400, Some(40001)));
}

#[tokio::test]
async fn auth_with_a_passcode_allows_once_and_counts_failures() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (ada, seed) = app.signed_in_user("ada").await;
    // The prompt used step t+1 at sign-in; the app gets t+1 again (refused) … a fresh code is not
    // available for 30 s, so use a backup code and a TOTP replay instead.
    let replay = seed.code_at(now() as u64 + 30);
    let (_, r) = client
        .call(
            &app,
            "POST",
            "/auth/v2/auth",
            &[("username", "ada"), ("factor", "passcode"), ("passcode", &replay)],
            Sig::V2Sha1,
            0,
        )
        .await;
    assert_eq!(r["response"]["result"], "deny", "{r}");
    assert_eq!(twofold::store::users::by_id(&app.db, &ada.id).await.unwrap().unwrap().failed_attempts, 1);

    let page = app.post_form("/settings/backup-codes", &[]).await.text().await.unwrap();
    let code = page.split("<li><code>").nth(1).unwrap().split("</code>").next().unwrap().replace(' ', "");
    let params = [("username", "ada"), ("factor", "passcode"), ("passcode", code.as_str())];
    let (_, r) = client.call(&app, "POST", "/auth/v2/auth", &params, Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "allow", "{r}");
    assert_eq!(r["response"]["status"], "allow");
    assert_eq!(twofold::store::users::by_id(&app.db, &ada.id).await.unwrap().unwrap().failed_attempts, 0);
    let (_, r) = client.call(&app, "POST", "/auth/v2/auth", &params, Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "deny", "single use");
    let events = app.audit_events(&ada.id).await;
    assert!(events.iter().any(|(e, o)| e == "mfa.backup_code" && o == "success"));
}

#[tokio::test]
async fn async_auth_returns_a_txid_that_only_its_application_can_read() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let other = add_application(&app, "Wiki").await;
    app.signed_in_user("ada").await;
    let params = [("username", "ada"), ("factor", "passcode"), ("passcode", "000000"), ("async", "1")];
    let (_, r) = client.call(&app, "POST", "/auth/v2/auth", &params, Sig::V2Sha512, 0).await;
    let txid = r["response"]["txid"].as_str().expect("a txid").to_string();
    let (_, status) = client.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V2Sha512, 0).await;
    assert_eq!(status["response"]["result"], "deny", "{status}");
    let (code, _) = other.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V2Sha512, 0).await;
    assert_eq!(code, 400);
}

/// Duo's own Python client library talks to Twofold unchanged.
#[tokio::test]
async fn duos_official_python_client_works_against_twofold() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    app.signed_in_user("ada").await;
    app.add_user("newbie").await;
    let script = format!(
        r#"
import json, duo_client
auth = duo_client.Auth(ikey="{ikey}", skey="{skey}", host="127.0.0.1", port={port}, ca_certs="HTTP")
out = {{}}
out["ping"] = auth.ping()
out["check"] = auth.check()
out["preauth"] = auth.preauth(username="ada")
out["auth"] = auth.auth(factor="passcode", username="ada", passcode="000000")
txid = auth.auth(factor="passcode", username="ada", passcode="000000", async_txn=True)["txid"]
out["auth_status"] = auth.auth_status(txid)
out["enroll"] = auth.enroll(username="newbie", valid_secs=600)
out["enroll_status"] = auth.enroll_status(user_id=out["enroll"]["user_id"], activation_code=out["enroll"]["activation_code"])
print(json.dumps(out))
"#,
        ikey = client.ikey,
        skey = client.skey,
        port = app.port
    );
    // Off the test's runtime: the server's database pool lives on it and must keep running.
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new("python3").arg("-c").arg(&script).output())
            .await
            .unwrap()
            .expect("python3 runs");
    assert!(
        output.status.success(),
        "duo_client failed (python3 -m pip install duo_client): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(out["ping"]["time"].is_i64());
    assert!(out["check"]["time"].is_i64());
    assert_eq!(out["preauth"]["result"], "auth");
    assert_eq!(out["preauth"]["devices"][0]["capabilities"][3], "mobile_otp");
    assert_eq!(out["auth"]["result"], "deny");
    assert_eq!(out["auth_status"]["waiting"], false);
    assert_eq!(out["auth_status"]["success"], false);
    assert_eq!(out["auth_status"]["status"], "deny");
    assert_eq!(out["enroll"]["username"], "newbie");
    assert!(out["enroll"]["activation_url"].as_str().unwrap().contains("/invite/"));
    assert_eq!(out["enroll_status"], "waiting");
}

/// The console's "Applications": add (keys shown once), rotate (the old key stops working), delete.
#[tokio::test]
async fn administrators_manage_applications_in_the_console() {
    let app = spawn_app().await;
    let admin = app.other_browser();
    let (grace, _) = admin.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    let page = admin
        .post_form("/admin/applications", &[("name", "Campus VPN"), ("kind", "auth-api")])
        .await
        .text()
        .await
        .unwrap();
    let ikey = crate::helpers::element_text(&page, "integration-key");
    let skey = crate::helpers::element_text(&page, "secret-key");
    assert!(twofold::duo::keys::is_integration_key(&ikey) && skey.len() == 40, "{page}");
    assert!(!app.table_text("applications", &["secret_key"]).await.contains(&skey), "sealed at rest");
    let client = Client { ikey: ikey.clone(), skey: skey.clone() };
    assert_eq!(client.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 200);
    let listed = admin.get_html("/admin/applications").await;
    assert!(listed.contains("Campus VPN") && listed.contains(&ikey) && !listed.contains(&skey));

    let rotated = admin.post_form(&format!("/admin/applications/{ikey}/rotate"), &[]).await.text().await.unwrap();
    let new_skey = crate::helpers::element_text(&rotated, "secret-key");
    assert_ne!(new_skey, skey);
    assert_eq!(client.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 401, "the old key stops working");
    let fresh = Client { ikey: ikey.clone(), skey: new_skey };
    assert_eq!(fresh.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 200);

    let bad = admin.post_form("/admin/applications", &[("name", " "), ("kind", "auth-api")]).await;
    assert_eq!(bad.status(), 422);
    admin.post_form(&format!("/admin/applications/{ikey}/delete"), &[]).await;
    assert_eq!(fresh.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 401, "deleted");

    // Users and the help desk cannot see or change applications.
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/admin/applications").await.status(), 403);
    let ada = crate::helpers::user_id(&app, "ada").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{ada}'")).await;
    assert_eq!(app.post_form("/admin/applications", &[("name", "x"), ("kind", "auth-api")]).await.status(), 403);
}

#[tokio::test]
async fn a_json_body_is_trusted_only_under_a_v5_signature_and_only_auth_api_keys_sign() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    app.add_user("ada").await;
    // v2 signs the query and form parameters only: a JSON body under it would be used unsigned.
    let date = rfc2822(0);
    let body = r#"{"username":"ada","factor":"push","device":"auto"}"#;
    let canonical = [date.as_str(), "POST", "127.0.0.1", "/auth/v2/auth", ""].join("\n");
    let response = reqwest::Client::new()
        .post(app.url("/auth/v2/auth"))
        .header("Date", &date)
        .header("Authorization", client.authorization(&canonical, Sig::V2Sha1))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["stat"], "FAIL", "{v}");
    // A Universal Prompt application's keys open nothing on the Auth API.
    let id = twofold::secrets::new_id();
    let (ikey, skey) = (twofold::duo::keys::new_integration_key(), twofold::duo::keys::new_secret_key());
    let sealed = app.keys.seal(&format!("app-secret:{id}"), skey.as_bytes()).unwrap();
    twofold::store::applications::insert(&app.db, &id, "Wiki", "web", &ikey, &sealed, now()).await.unwrap();
    let web = Client { ikey, skey };
    let (status, v) = web.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await;
    assert_eq!(status, 401, "{v}");
    let (status, _) = client.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await;
    assert_eq!(status, 200, "the Auth API application's own keys still work");
}

//! The Auth API's out-of-band factors as applications use them: preauth's device capabilities,
//! push answered by the authenticator's signed answer (sync and async), calls on the telephony
//! simulator, texted passcodes, `auto`, and the push cap.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::duo::{Client, Sig, add_application};
use crate::helpers::{TestApp, now, spawn_app, spawn_app_with};
use crate::push::{Phone, answer, api, sign, user_with_app};

async fn auth(app: &TestApp, client: &Client, params: &[(&str, &str)]) -> Value {
    let (status, r) = client.call(app, "POST", "/auth/v2/auth", params, Sig::V5, 0).await;
    assert_eq!(status, 200, "{r}");
    r["response"].clone()
}

async fn auth_status(app: &TestApp, client: &Client, txid: &str) -> Value {
    let (status, r) = client.call(app, "GET", "/auth/v2/auth_status", &[("txid", txid)], Sig::V2Sha512, 0).await;
    assert_eq!(status, 200, "{r}");
    r["response"].clone()
}

/// The push waiting for the user, once the application's request created it.
pub(crate) async fn pending_push(app: &TestApp, user_id: &str) -> twofold::store::push_requests::PushRequestRow {
    for _ in 0..100 {
        let pending = twofold::store::push_requests::pending_for_user(&app.db, user_id, now()).await.unwrap();
        if let Some(p) = pending.into_iter().next() {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no push arrived");
}

/// Waits for the push and answers it from the phone (an application's push has no number).
async fn answer_next(app: &TestApp, phone: &Phone, user_id: &str, decision: &str) -> Value {
    let push = pending_push(app, user_id).await;
    let (status, body) = answer(app, phone, &push.id, decision, "").await;
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) async fn ringing_call(app: &TestApp, user_id: &str) -> String {
    for _ in 0..100 {
        let calls = twofold::store::phone_calls::recent_simulated(&app.db, &app.keys, 10).await.unwrap();
        if let Some(c) = calls.into_iter().find(|c| c.user_id == user_id && c.status == "ringing") {
            return c.id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no call rang");
}

#[tokio::test]
async fn preauth_lists_a_mobile_with_the_app_with_push_sms_phone_and_passcodes_and_a_masked_number() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let (_, r) = client.call(&app, "POST", "/auth/v2/preauth", &[("username", "ada")], Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "auth", "{r}");
    let device = &r["response"]["devices"][0];
    assert_eq!(device["device"], phone.device_id.as_str());
    assert_eq!(device["type"], "phone");
    assert_eq!(device["capabilities"], json!(["auto", "push", "sms", "phone", "mobile_otp"]));
    let e164 = twofold::store::phone_devices::for_user(&app.db, &app.keys, &uid).await.unwrap()[0].phone.clone();
    let number = device["number"].as_str().unwrap();
    assert!(!number.is_empty() && number != e164 && number.ends_with(&e164[e164.len() - 2..]), "{number}");
    assert!(device["display_name"].as_str().unwrap().contains(number));
}

#[tokio::test]
async fn a_push_names_the_application_and_is_answered_without_a_number_allow_then_deny() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let params = [
        ("username", "ada"),
        ("factor", "push"),
        ("device", "auto"),
        ("type", "Transfer"),
        ("display_username", "Ada L."),
        ("pushinfo", "from=Paris&amount=10+CHF"),
        ("ipaddr", "192.0.2.7"),
    ];
    let phone_side = async {
        let push = pending_push(&app, &uid).await;
        // What the app shows: the application, type and pushinfo; no number to type.
        let ts = now();
        let sig = sign(&phone.key, &format!("twofold-push-pending\n{}\n{ts}", phone.device_id));
        let (_, pending) =
            api(&app, "/device/v1/pending", json!({ "device_id": phone.device_id, "timestamp": ts, "signature": sig }))
                .await;
        let shown = &pending["requests"][0];
        assert_eq!(shown["application"], "VPN: Transfer request (from: Paris; amount: 10 CHF)");
        assert_eq!(shown["username"], "Ada L.");
        assert_eq!(shown["ip"], "192.0.2.7");
        assert_eq!(shown["number_matching"], false);
        answer(&app, &phone, &push.id, "approve", "").await
    };
    let (r, (code, _)) = tokio::join!(auth(&app, &client, &params), phone_side);
    assert_eq!(code, 200);
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("allow"), Some("allow")), "{r}");

    let (r, _) = tokio::join!(auth(&app, &client, &params[..3]), answer_next(&app, &phone, &uid, "deny"));
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("deny"), Some("deny")), "{r}");
    let events = app.audit_events(&uid).await;
    assert!(events.iter().any(|(e, o)| e == "mfa.push" && o == "success"), "{events:?}");
    assert!(events.iter().any(|(e, o)| e == "mfa.push" && o == "failure"), "the denial is audited: {events:?}");
    // Answered at once, so nothing is kept for `auth_status` (only `async=1` gets a transaction id).
    let stored = app.table_text("auth_requests", &["factor", "result", "status"]).await;
    assert!(!stored.contains("allow") && !stored.contains("deny"), "{stored}");
}

#[tokio::test]
async fn async_push_reports_pushed_then_wakes_auth_status_on_the_phones_fraud_report() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "push"), ("device", "auto"), ("async", "1")]).await;
    let txid = r["txid"].as_str().expect("a txid").to_string();
    let first = twofold::store::applications::by_integration_key(&app.db, &client.ikey).await.unwrap().unwrap();
    let row = twofold::store::applications::request(&app.db, &first.id, &txid, now()).await.unwrap().unwrap();
    assert_eq!((row.result.as_str(), row.status.as_str()), ("waiting", "pushed"));

    let started = Instant::now();
    let phone_side = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        answer_next(&app, &phone, &uid, "fraud").await
    };
    let (r, _) = tokio::join!(auth_status(&app, &client, &txid), phone_side);
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("deny"), Some("fraud")), "{r}");
    assert!(started.elapsed() < Duration::from_secs(4), "woken by the answer: {:?}", started.elapsed());

    // Push is now locked: the next push is refused with the prompt's words.
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "push"), ("device", "auto")]).await;
    assert_eq!(r["result"], "deny");
    assert!(r["status_msg"].as_str().unwrap().contains("reported as fraudulent"), "{r}");
}

#[tokio::test]
async fn an_unanswered_push_times_out_sync_and_async() {
    let app = spawn_app_with(|s| s.push.timeout_seconds = 2).await;
    let client = add_application(&app, "VPN").await;
    user_with_app(&app, "ada").await;
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "push")]).await;
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("deny"), Some("timeout")), "{r}");
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "auto"), ("async", "1")]).await;
    let r = auth_status(&app, &client, r["txid"].as_str().unwrap()).await;
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("deny"), Some("timeout")), "auto pushes: {r}");
}

#[tokio::test]
async fn pushes_over_the_cap_are_refused() {
    let app = spawn_app_with(|s| s.push.cap_per_window = 2).await;
    let client = add_application(&app, "VPN").await;
    let (uid, _) = user_with_app(&app, "ada").await;
    for _ in 0..2 {
        let r = auth(&app, &client, &[("username", "ada"), ("factor", "push"), ("async", "1")]).await;
        assert!(r["txid"].is_string(), "{r}");
    }
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "push")]).await;
    assert_eq!(r["result"], "deny");
    assert!(r["status_msg"].as_str().unwrap().starts_with("Too many pushes"), "{r}");
    assert!(app.audit_events(&uid).await.iter().any(|(e, _)| e == "push.capped"));
}

#[tokio::test]
async fn a_call_answered_on_the_simulator_allows_and_a_declined_one_denies() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let root = crate::phones::admin(&app).await;
    let r =
        auth(&app, &client, &[("username", "ada"), ("factor", "phone"), ("device", &phone.device_id), ("async", "1")])
            .await;
    let txid = r["txid"].as_str().unwrap().to_string();
    let call = ringing_call(&app, &uid).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "1")]).await;
    let r = auth_status(&app, &client, &txid).await;
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("allow"), Some("allow")), "{r}");

    let decline = async {
        let call = ringing_call(&app, &uid).await;
        root.post_form(&format!("/simulator/phone/calls/{call}/decline"), &[]).await;
    };
    let (r, _) = tokio::join!(auth(&app, &client, &[("username", "ada"), ("factor", "phone")]), decline);
    assert_eq!(r["result"], "deny", "{r}");
    assert!(app.audit_events(&uid).await.iter().any(|(e, o)| e == "mfa.phone_call" && o == "success"));
}

#[tokio::test]
async fn sms_sends_passcodes_and_a_texted_one_then_passes_once() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, _) = user_with_app(&app, "ada").await;
    let e164 = twofold::store::phone_devices::for_user(&app.db, &app.keys, &uid).await.unwrap()[0].phone.clone();
    let before = app.texted_codes(&e164).await;
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "sms"), ("device", "auto")]).await;
    assert_eq!(
        (r["result"].as_str(), r["status"].as_str(), r["status_msg"].as_str()),
        (Some("deny"), Some("sent"), Some("New SMS passcodes sent"))
    );
    let code = app.texted_codes(&e164).await.into_iter().find(|c| !before.contains(c)).expect("a new code");
    let params = [("username", "ada"), ("factor", "passcode"), ("passcode", code.as_str())];
    assert_eq!(auth(&app, &client, &params).await["result"], "allow");
    assert_eq!(auth(&app, &client, &params).await["result"], "deny", "single use");
}

#[tokio::test]
async fn auto_pushes_when_it_can_and_devices_that_cannot_are_refused_clearly() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let (r, _) = tokio::join!(
        auth(&app, &client, &[("username", "ada"), ("factor", "auto"), ("device", "auto")]),
        answer_next(&app, &phone, &uid, "approve")
    );
    assert_eq!(r["result"], "allow", "{r}");
    // Bob's mobile has its number but not the app: no push; auto calls it instead.
    let bob = app.other_browser().signed_in_user("bob").await.0;
    let params = [("username", "bob"), ("factor", "push"), ("device", "auto")];
    let (status, r) = client.call(&app, "POST", "/auth/v2/auth", &params, Sig::V2Sha1, 0).await;
    assert_eq!((status, r["code"].as_i64()), (400, Some(40002)), "{r}");
    let r = auth(&app, &client, &[("username", "bob"), ("factor", "auto"), ("async", "1")]).await;
    assert!(r["txid"].is_string(), "{r}");
    ringing_call(&app, &bob.id).await;
}

/// Duo's own Python client: `auth(factor="push", device="auto")` waits until the phone approves.
#[tokio::test]
async fn duos_python_client_sends_a_push_the_phone_approves() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let script = format!(
        r#"
import json, duo_client
auth = duo_client.Auth(ikey="{ikey}", skey="{skey}", host="127.0.0.1", port={port}, ca_certs="HTTP")
out = {{}}
out["preauth"] = auth.preauth(username="ada")
out["auth"] = auth.auth(factor="push", username="ada", device="auto", type="Login", display_username="Ada", pushinfo="from=Paris")
print(json.dumps(out))
"#,
        ikey = client.ikey,
        skey = client.skey,
        port = app.port
    );
    let python =
        tokio::task::spawn_blocking(move || std::process::Command::new("python3").arg("-c").arg(&script).output());
    let body = answer_next(&app, &phone, &uid, "approve").await;
    assert_eq!(body["status"], "approved", "{body}");
    let output = python.await.unwrap().expect("python3 runs");
    assert!(output.status.success(), "duo_client failed: {}", String::from_utf8_lossy(&output.stderr));
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["preauth"]["devices"][0]["capabilities"][1], "push");
    assert_eq!(out["auth"]["result"], "allow", "{out}");
    assert_eq!(out["auth"]["status"], "allow");
}

#[tokio::test]
async fn the_policys_allowed_methods_hold_for_applications_too() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let (uid, _) = user_with_app(&app, "ada").await;
    let e164 = twofold::store::phone_devices::for_user(&app.db, &app.keys, &uid).await.unwrap()[0].phone.clone();
    // Only push for everyone: texts and calls are refused through the API as well.
    twofold::store::policies::save(&app.db, &[("allowed_methods", "push".into())], "test", now()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await; // the policy cache of the running server
    let before = app.texted_codes(&e164).await;
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "sms"), ("device", "auto")]).await;
    assert_eq!(r["result"], "deny", "{r}");
    assert!(r["status_msg"].as_str().unwrap().contains("cannot be used"), "{r}");
    assert_eq!(app.texted_codes(&e164).await, before, "no text was sent");
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "phone"), ("device", "auto")]).await;
    assert_eq!(r["result"], "deny", "{r}");
    let log = app.audit_events(&uid).await;
    assert!(log.iter().filter(|(e, _)| e == "mfa.method_refused").count() >= 2, "{log:?}");
}

//! "Send Me a Push" with the Twofold authenticator: activation, number matching, signed answers,
//! single final state under racing answers, expiry, the cap and fraud reports (T19–T23, T52).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand::RngExt;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, element_text, location, now, spawn_app};

/// The phone: the key the app made and the account it got back.
pub(crate) struct Phone {
    pub(crate) device_id: String,
    pub(crate) key: SigningKey,
    pub totp_secret: String,
}

fn new_key() -> SigningKey {
    loop {
        let bytes: [u8; 32] = rand::rng().random();
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return k;
        }
    }
}

fn public(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes())
}

pub(crate) fn sign(key: &SigningKey, message: &str) -> String {
    let sig: Signature = key.sign(message.as_bytes());
    URL_SAFE_NO_PAD.encode(sig.to_bytes())
}

pub(crate) async fn api(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = app.client.post(app.url(path)).json(&body).send().await.expect("POST");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The activation link's token from the wizard's page.
pub(crate) fn token_in(page: &str) -> String {
    let start = page.find("#activate=").expect("the page holds the activation link") + "#activate=".len();
    page[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

pub(crate) async fn activate(app: &TestApp, token: &str) -> (u16, Value, SigningKey) {
    let key = new_key();
    let (status, body) = api(app, "/device/v1/activate", json!({ "token": token, "public_key": public(&key) })).await;
    (status, body, key)
}

/// Runs the wizard with the Twofold authenticator, activating it as the app does.
pub(crate) async fn enroll_app(app: &TestApp, login_action: &str) -> Phone {
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.verify_mobile_number().await;
    app.post_form("/enroll/platform", &[("platform", "android")]).await;
    assert_eq!(location(&app.post_form("/enroll/install", &[("app", "twofold")]).await), "/enroll/activate");
    let page = app.get_html("/enroll/activate").await;
    assert!(page.contains("Email me an activation link instead"));
    let status: Value = app.get("/enroll/activate/status").await.json().await.unwrap();
    assert_eq!(status["done"], false);
    let (code, body, key) = activate(app, &token_in(&page)).await;
    assert_eq!(code, 200, "{body}");
    let status: Value = app.get("/enroll/activate/status").await.json().await.unwrap();
    assert_eq!(status["done"], true, "the wizard moves on once the app is activated");
    let options = app.get_html("/enroll/options").await;
    assert!(options.contains("Automatically send this device a Push"));
    let r = app.post_form("/enroll/options", &[("name", "Pixel"), ("login_action", login_action)]).await;
    assert_eq!(location(&r), "/enroll/done");
    Phone {
        device_id: body["device_id"].as_str().unwrap().into(),
        key,
        totp_secret: body["totp_secret"].as_str().unwrap().into(),
    }
}

/// A user with the app enrolled, signed in with the password only (at the prompt).
pub(crate) async fn user_with_app(app: &TestApp, name: &str) -> (String, Phone) {
    let user = app.add_user(name).await;
    assert_eq!(location(&app.login(name, PASSWORD).await), "/prompt");
    let phone = enroll_app(app, "ask").await;
    (user.id, phone)
}

/// "Send Me a Push": the request id and the number shown on the page.
pub(crate) async fn send_push(app: &TestApp) -> (String, String) {
    let r = app.post_form("/prompt/push", &[]).await;
    let to = location(&r);
    assert!(to.starts_with("/prompt/push/"), "push sent: {to}");
    let id = to.trim_start_matches("/prompt/push/").to_string();
    let page = app.get_html(&to).await;
    assert!(page.contains("Enter the number shown in the app"));
    (id, element_text(&page, "push-number"))
}

pub(crate) async fn answer(app: &TestApp, phone: &Phone, id: &str, decision: &str, number: &str) -> (u16, Value) {
    let signature = sign(&phone.key, &format!("twofold-push-answer\n{id}\n{decision}\n{number}"));
    let body = json!({ "device_id": phone.device_id, "request_id": id, "decision": decision, "number": number,
                       "signature": signature });
    api(app, "/device/v1/answer", body).await
}

async fn push_status(app: &TestApp, id: &str) -> String {
    let v: Value = app.get(&format!("/prompt/push/{id}/status")).await.json().await.unwrap();
    v["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn approving_with_the_number_shown_signs_the_user_in_once() {
    let app = spawn_app().await;
    let (user_id, phone) = user_with_app(&app, "ada").await;
    assert!(app.get_html("/prompt").await.contains("Send Me a Push"));
    let (id, number) = send_push(&app).await;
    assert_eq!(number.len(), 3);

    let (status, body) = answer(&app, &phone, &id, "approve", &number).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("approved")));
    assert_eq!(push_status(&app, &id).await, "approved");
    let r = app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert_eq!(location(&r), "/prompt/trust", "the session is upgraded like a passcode");

    // T21: the same signed approval again is refused; the approval cannot sign in twice.
    let (status, body) = answer(&app, &phone, &id, "approve", &number).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("already_answered")));
    let events = app.audit_events(&user_id).await;
    assert!(events.iter().any(|(e, o)| e == "mfa.push" && o == "success"), "{events:?}");
}

#[tokio::test]
async fn the_app_lists_pending_requests_only_with_a_fresh_signature_and_never_the_number() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    let ts = now();
    let good = sign(&phone.key, &format!("twofold-push-pending\n{}\n{ts}", phone.device_id));
    let (status, body) =
        api(&app, "/device/v1/pending", json!({ "device_id": phone.device_id, "timestamp": ts, "signature": good }))
            .await;
    assert_eq!(status, 200);
    assert_eq!(body["requests"][0]["id"], id.as_str());
    assert_eq!(body["requests"][0]["username"], "ada");
    assert!(!body.to_string().contains(&format!("\"{number}\"")), "the number is only on the login screen");
    let old = ts - 3600;
    let stale = sign(&phone.key, &format!("twofold-push-pending\n{}\n{old}", phone.device_id));
    let (status, _) =
        api(&app, "/device/v1/pending", json!({ "device_id": phone.device_id, "timestamp": old, "signature": stale }))
            .await;
    assert_eq!(status, 401);
    let (status, _) =
        api(&app, "/device/v1/pending", json!({ "device_id": phone.device_id, "timestamp": ts, "signature": "" }))
            .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_wrong_number_denies_the_push_counts_a_failure_and_is_logged() {
    let app = spawn_app().await;
    let (user_id, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    let wrong = if number == "999" { "998" } else { "999" };
    let (status, body) = answer(&app, &phone, &id, "approve", wrong).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("wrong_number")));
    assert_eq!(push_status(&app, &id).await, "denied");
    // Nor can the right number follow, and the session is not upgraded.
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 409);
    let r = app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert_eq!(location(&r), format!("/prompt/push/{id}"));
    assert!(app.get_html(&format!("/prompt/push/{id}")).await.contains("The push was denied"));
    let user = twofold::store::users::by_id(&app.db, &user_id).await.unwrap().unwrap();
    assert_eq!(user.failed_attempts, 1);
    let events = app.audit_events(&user_id).await;
    assert!(events.iter().any(|(e, o)| e == "push.wrong_number" && o == "failure"), "{events:?}");
}

#[tokio::test]
async fn answers_signed_by_another_key_unsigned_or_from_a_removed_device_are_rejected() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    let impostor = Phone { device_id: phone.device_id.clone(), key: new_key(), totp_secret: String::new() };
    assert_eq!(answer(&app, &impostor, &id, "approve", &number).await.0, 401);
    let body = json!({ "device_id": phone.device_id, "request_id": id, "decision": "approve", "number": number,
                       "signature": "" });
    assert_eq!(api(&app, "/device/v1/answer", body).await.0, 401);
    // Another user's enrolled device, with its own valid key, cannot answer ada's request.
    let other = app.other_browser();
    let (_, bob_phone) = user_with_app(&other, "bob").await;
    assert_eq!(answer(&app, &bob_phone, &id, "approve", &number).await.0, 404);
    app.sql(&format!("UPDATE devices SET removed_at = {} WHERE id = '{}'", now(), phone.device_id)).await;
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 401);
    assert_eq!(push_status(&app, &id).await, "pending");
}

#[tokio::test]
async fn an_approval_after_the_push_timed_out_is_rejected() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    app.sql(&format!("UPDATE push_requests SET expires_at = {} WHERE id = '{id}'", now() - 1)).await;
    let (status, body) = answer(&app, &phone, &id, "approve", &number).await;
    assert_eq!((status, body["error"].as_str()), (410, Some("expired")));
    assert_eq!(push_status(&app, &id).await, "timed_out");
    assert!(app.get_html(&format!("/prompt/push/{id}")).await.contains("The push timed out"));
}

#[tokio::test]
async fn twenty_racing_answers_leave_exactly_one_final_state() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    let answers = (0..20).map(|i| {
        let (app, phone, id, number) = (&app, &phone, &id, &number);
        async move { answer(app, phone, id, if i % 2 == 0 { "approve" } else { "deny" }, number).await }
    });
    let results = futures_util::future::join_all(answers).await;
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(results.iter().filter(|(s, _)| *s == 409).count(), 19);
    assert_eq!(push_status(&app, &id).await, winners[0].1["status"].as_str().unwrap());
}

#[tokio::test]
async fn the_waiting_prompt_wakes_as_soon_as_the_push_is_answered() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    let started = std::time::Instant::now();
    let (status, _) = tokio::join!(push_status(&app, &id), async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        answer(&app, &phone, &id, "approve", &number).await
    });
    assert_eq!(status, "approved");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "woken by the change feed, not a timeout");
}

#[tokio::test]
async fn the_waiting_prompts_answer_follows_its_head_and_a_push_gone_meanwhile_says_so() {
    use std::time::{Duration, Instant};
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    // The head comes at once (the request is freed while the prompt waits); the body is the answer.
    let started = Instant::now();
    let waiting = app.get(&format!("/prompt/push/{id}/status")).await;
    assert_eq!(waiting.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "head after {:?}", started.elapsed());
    let content_type = waiting.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let (body, _) = tokio::join!(waiting.json::<Value>(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        answer(&app, &phone, &id, "approve", &number).await
    });
    assert_eq!(body.unwrap()["status"], "approved");

    // A push that disappears while it is waited on (its user deleted, say) answers "gone", and the
    // page reloads, instead of an error it would retry.
    let (id, _) = send_push(&app).await;
    let waiting = app.get(&format!("/prompt/push/{id}/status")).await;
    app.sql(&format!("DELETE FROM push_requests WHERE id = '{id}'")).await;
    let started = Instant::now();
    let body: Value = waiting.json().await.unwrap();
    assert_eq!(body["status"], "gone");
    assert!(started.elapsed() < Duration::from_secs(8), "re-read within the feed's 5 s slice");
    assert_eq!(app.get(&format!("/prompt/push/{id}/status")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn pushes_are_capped_per_user_and_passcodes_still_work() {
    let app = spawn_app().await;
    let grace = app.add_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    let (user_id, phone) = user_with_app(&app, "ada").await;
    for _ in 0..5 {
        send_push(&app).await;
    }
    let r = app.post_form("/prompt/push", &[]).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().await.unwrap().contains("Too many pushes were sent"));
    assert_eq!(app.post_form("/prompt/push", &[]).await.status().as_u16(), 429);
    let events = app.audit_events(&user_id).await;
    assert_eq!(events.iter().filter(|(e, _)| e == "push.capped").count(), 2, "{events:?}");
    let alerts = twofold::store::outbox::for_recipient(&app.db, "grace@example.edu").await.unwrap();
    assert_eq!(alerts.iter().filter(|m| m.subject == "Push limit reached for ada").count(), 1, "one alert per window");
    let seed = twofold::factors::totp::TotpSeed::from_base32(&phone.totp_secret).unwrap();
    assert_eq!(location(&app.pass_second_factor(&seed).await), "/prompt/trust", "the app's passcode works");
}

#[tokio::test]
async fn it_seems_fraudulent_reports_locks_push_and_tells_admins() {
    let app = spawn_app().await;
    let (user_id, phone) = user_with_app(&app, "ada").await;
    let (id, _) = send_push(&app).await;
    let (status, body) = answer(&app, &phone, &id, "fraud", "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("fraud")));
    let reports = twofold::store::fraud_reports::recent(&app.db, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!((reports[0].method.as_str(), reports[0].user_id.as_str()), ("push", user_id.as_str()));
    // The browser that asked (maybe the attacker's) is signed out and learns nothing more.
    let r = app.get(&format!("/prompt/push/{id}")).await;
    assert_eq!(location(&r), "/login", "the requester's session ended with the report");
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    let prompt = app.get_html("/prompt").await;
    assert!(!prompt.contains("Send Me a Push"), "push is not offered while locked");
    assert!(!prompt.contains("fraudulent"), "{prompt}");
    let r = app.post_form("/prompt/push", &[]).await;
    assert_eq!(r.status().as_u16(), 403, "push is locked until the report is handled");
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(audit.contains("fraud.reported push") && audit.contains("1 session(s) ended"), "{audit}");
    // Clearing the report (the console's "Clear") unlocks push.
    twofold::store::fraud_reports::set_status(&app.db, &reports[0].id, "cleared", "admin", now()).await.unwrap();
    send_push(&app).await;
}

#[tokio::test]
async fn an_activation_link_works_once() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.verify_mobile_number().await;
    app.post_form("/enroll/platform", &[("platform", "android")]).await;
    app.post_form("/enroll/install", &[("app", "twofold")]).await;
    let token = token_in(&app.get_html("/enroll/activate").await);
    let (first, second) = tokio::join!(activate(&app, &token), activate(&app, &token));
    let mut codes = [first.0, second.0];
    codes.sort();
    assert_eq!(codes, [200, 410]);
    assert_eq!(activate(&app, "not-a-token").await.0, 410);
}

#[tokio::test]
async fn another_authenticator_app_keeps_the_standard_qr_code() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.verify_mobile_number().await;
    app.post_form("/enroll/platform", &[("platform", "android")]).await;
    app.post_form("/enroll/install", &[("app", "twofold")]).await;
    assert_eq!(location(&app.post_form("/enroll/activate/other-app", &[]).await), "/enroll/activate");
    let page = app.get_html("/enroll/activate").await;
    assert!(page.contains("otpauth://totp/"), "the otpauth path is shown");
}

#[tokio::test]
async fn the_device_api_refuses_other_content_types_and_large_bodies() {
    let app = spawn_app().await;
    let r = app.client.post(app.url("/device/v1/answer")).body("a=b").header("content-type", "text/plain").send().await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unsupported_media_type");
    let big = format!("{{\"token\":\"{}\"}}", "a".repeat(10 * 1024 * 1024));
    let r = app.client.post(app.url("/device/v1/activate")).header("content-type", "application/json").body(big);
    assert_eq!(r.send().await.unwrap().status().as_u16(), 413);
}

#[tokio::test]
async fn the_authenticator_app_is_served_with_its_manifest_and_service_worker() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/authenticator/", "text/html"),
        ("/authenticator/app.js", "text/javascript"),
        ("/authenticator/sw.js", "text/javascript"),
        ("/authenticator/manifest.webmanifest", "application/manifest+json"),
        ("/authenticator/icon.svg", "image/svg+xml"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        if path == "/authenticator/" {
            assert!(!r.text().await.unwrap().contains("<script>"), "no inline script");
        }
    }
}

async fn pending_status(app: &TestApp, device_id: &str, key: &SigningKey) -> u16 {
    let ts = now();
    let signature = sign(key, &format!("twofold-push-pending\n{device_id}\n{ts}"));
    api(app, "/device/v1/pending", json!({ "device_id": device_id, "timestamp": ts, "signature": signature })).await.0
}

#[tokio::test]
async fn reactivate_issues_a_new_link_for_the_same_device_and_stops_the_old_key() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    answer(&app, &phone, &id, "approve", &number).await;
    assert_eq!(location(&app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await), "/prompt/trust");
    assert!(app.get_html("/settings").await.contains("Reactivate"));
    assert_eq!(pending_status(&app, &phone.device_id, &phone.key).await, 200);

    let path = format!("/settings/devices/{}/reactivate", phone.device_id);
    assert_eq!(location(&app.post_form(&path, &[]).await), path);
    assert_eq!(pending_status(&app, &phone.device_id, &phone.key).await, 401, "the old key stops at once");
    let (status, body, new_key) = activate(&app, &token_in(&app.get_html(&path).await)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["device_id"], phone.device_id.as_str(), "the same device entry");
    assert_ne!(body["totp_secret"], phone.totp_secret.as_str(), "a new seed");
    assert_eq!(pending_status(&app, &phone.device_id, &new_key).await, 200);
    assert_eq!(pending_status(&app, &phone.device_id, &phone.key).await, 401);
}

#[tokio::test]
async fn an_answer_handled_by_another_instance_wakes_the_waiting_prompt() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    // A second instance on the same database and master key (behind the same load balancer).
    let other = twofold::app::Application::build(app.settings.clone()).await.expect("second instance builds");
    let other_address = format!("http://127.0.0.1:{}", other.port());
    tokio::spawn(other.run_until_stopped());
    let (id, number) = send_push(&app).await;
    let signature = sign(&phone.key, &format!("twofold-push-answer\n{id}\napprove\n{number}"));
    let body = json!({ "device_id": phone.device_id, "request_id": id, "decision": "approve", "number": number,
                       "signature": signature });
    let started = std::time::Instant::now();
    let (status, answered) = tokio::join!(push_status(&app, &id), async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let r = app.client.post(format!("{other_address}/device/v1/answer")).json(&body).send().await.unwrap();
        r.status().as_u16()
    });
    assert_eq!((status.as_str(), answered), ("approved", 200));
    // PostgreSQL: LISTEN/NOTIFY wakes the other instance's waiter at once. SQLite serves one
    // instance; a second one still sees the change when its waiter reads the database again.
    let limit = if crate::helpers::backend() == "postgres" { 4 } else { 8 };
    assert!(started.elapsed() < std::time::Duration::from_secs(limit), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_approved_push_signs_in_only_the_session_that_started_it() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let (id, number) = send_push(&app).await;
    // Someone else with the password, at the prompt in another browser, waiting for the approval.
    let other = app.other_browser();
    assert_eq!(location(&other.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 200);
    let token = crate::helpers::csrf_in(&other.get_html("/prompt").await);
    let stolen = other.post_raw(&format!("/prompt/push/{id}/finish"), &[("csrf_token", &token)]).await;
    assert_eq!(location(&stolen), format!("/prompt/push/{id}"), "another session cannot use the approval");
    assert_eq!(location(&other.get("/settings").await), "/prompt");
    let own = app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert_eq!(location(&own), "/prompt/trust", "the session that started it signs in");
}

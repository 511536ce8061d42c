//! Auth API additions for applications: `enroll` and `enroll_status` over enrolment invitations,
//! `auth_status` held open until a request is final, and HTTP 429 over the rate limit.

use std::time::{Duration, Instant};

use crate::duo::{Sig, add_application};
use crate::helpers::{element_text, location, now, spawn_app, spawn_app_with};

#[tokio::test]
async fn enroll_hands_out_an_activation_that_enroll_status_follows() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    app.add_user("newbie").await;
    let (status, r) = client
        .call(&app, "POST", "/auth/v2/enroll", &[("username", "newbie"), ("valid_secs", "600")], Sig::V5, 0)
        .await;
    assert_eq!(status, 200, "{r}");
    let r = &r["response"];
    assert_eq!(r["username"], "newbie");
    let expiration = r["expiration"].as_i64().unwrap();
    assert!((expiration - now() - 600).abs() < 5);
    let user_id = r["user_id"].as_str().unwrap().to_string();
    let code = r["activation_code"].as_str().unwrap().to_string();
    let link = r["activation_url"].as_str().unwrap();
    assert_eq!(link, format!("{}/invite/{code}", app.address));
    let barcode = reqwest::get(r["activation_barcode"].as_str().unwrap()).await.unwrap();
    assert_eq!(barcode.headers()["content-type"], "image/svg+xml");
    assert!(barcode.text().await.unwrap().contains("<svg"));

    let status_of = |code: String| {
        let (client, app, user_id) = (&client, &app, user_id.clone());
        async move {
            let params = [("user_id", user_id.as_str()), ("activation_code", code.as_str())];
            client.call(app, "POST", "/auth/v2/enroll_status", &params, Sig::V2Sha1, 0).await.1["response"].clone()
        }
    };
    assert_eq!(status_of(code.clone()).await, "waiting");
    assert_eq!(status_of("not-a-code".into()).await, "invalid");

    // The user follows the link and enrols an authenticator app in the wizard.
    let phone = app.other_browser();
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    assert!(phone.get_html(&path).await.contains("Set up your sign-in"));
    assert_eq!(location(&phone.post_form(&path, &[]).await), "/enroll/device-type");
    phone.post_form("/enroll/device-type", &[("kind", "tablet")]).await;
    phone.post_form("/enroll/platform", &[("platform", "android")]).await;
    phone.post_form("/enroll/install", &[]).await;
    let page = phone.get_html("/enroll/activate").await;
    let seed = twofold::factors::totp::TotpSeed::from_base32(&element_text(&page, "setup-key")).unwrap();
    let r = phone.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await;
    assert_eq!(location(&r), "/enroll/options");
    assert_eq!(status_of(code.clone()).await, "success");

    // Errors: an enrolled user, an unknown one, no username, a bad lifetime.
    let call = |params: Vec<(&'static str, &'static str)>| {
        let (client, app) = (&client, &app);
        async move {
            let (status, r) = client.call(app, "POST", "/auth/v2/enroll", &params, Sig::V2Sha512, 0).await;
            (status, r["code"].as_i64().unwrap_or(0))
        }
    };
    assert_eq!(call(vec![("username", "newbie")]).await, (400, 40002), "already enrolled");
    assert_eq!(call(vec![("username", "nobody")]).await, (400, 40002));
    assert_eq!(call(vec![]).await, (400, 40001));
    app.add_user("later").await;
    assert_eq!(call(vec![("username", "later"), ("valid_secs", "0")]).await, (400, 40002));
}

/// Inserts an async request that is still waiting (as a push would leave it) and returns its txid.
async fn waiting_request(app: &crate::helpers::TestApp, ikey: &str, user_id: &str) -> String {
    let application = twofold::store::applications::by_integration_key(&app.db, ikey).await.unwrap().unwrap();
    let txid = twofold::secrets::new_id();
    app.sql(&format!(
        "INSERT INTO auth_requests (txid, application_id, user_id, factor, result, status, status_msg, created_at, expires_at) \
         VALUES ('{txid}', '{}', '{user_id}', 'push', 'waiting', 'pushed', 'Pushed a login request to your device...', {}, {})",
        application.id,
        now(),
        now() + 300
    ))
    .await;
    txid
}

#[tokio::test]
async fn auth_status_waits_until_the_request_is_final() {
    let app = spawn_app_with(|s| s.applications.auth_status_wait_seconds = 7).await;
    let client = add_application(&app, "VPN").await;
    let ada = app.add_user("ada").await;
    let txid = waiting_request(&app, &client.ikey, &ada.id).await;
    // Finished from another connection: PostgreSQL's NOTIFY wakes the wait at once; SQLite's
    // in-process feed does not reach this test's connection, so the wait's next read (every 5 s)
    // sees it. tests/api/duo_factors.rs has the server's own wake-up by a phone's answer.
    let finish = {
        let db = app.db.clone();
        let txid = txid.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            twofold::store::applications::finish_request(&db, &txid, "allow", "allow", "Success").await.unwrap();
        })
    };
    let started = Instant::now();
    let (status, r) = client.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V2Sha1, 0).await;
    let waited = started.elapsed();
    finish.await.unwrap();
    assert_eq!((status, r["response"]["result"].as_str()), (200, Some("allow")), "{r}");
    assert!(waited >= Duration::from_millis(1000) && waited < Duration::from_millis(6000), "{waited:?}");

    // Nothing happens: the answer is "waiting" once the wait is over.
    let txid = waiting_request(&app, &client.ikey, &ada.id).await;
    let started = Instant::now();
    let (_, r) = client.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "waiting");
    assert!(started.elapsed() >= Duration::from_millis(6500), "held for the configured wait");
}

#[tokio::test]
async fn an_application_over_its_rate_limit_gets_429_in_duos_envelope() {
    let app = spawn_app_with(|s| s.applications.rate_limit_per_minute = 2).await;
    let busy = add_application(&app, "VPN").await;
    let quiet = add_application(&app, "Wiki").await;
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..6 {
        let (status, body) = busy.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await;
        if status == 429 {
            refusal = Some(body);
        }
        statuses.push(status);
    }
    assert_eq!(statuses[0], 200);
    let body = refusal.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert_eq!(body["stat"], "FAIL");
    assert_eq!(body["code"], 42901);
    assert_eq!(body["message"], "Too Many Requests");
    assert_eq!(quiet.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 200, "budgets are per application");
    // Requests with a bad signature are refused before they count.
    let forged = crate::duo::Client { ikey: quiet.ikey.clone(), skey: "f".repeat(40) };
    for _ in 0..3 {
        assert_eq!(forged.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 401);
    }
    assert_eq!(quiet.call(&app, "GET", "/auth/v2/check", &[], Sig::V5, 0).await.0, 200);
}

#[tokio::test]
async fn expired_transactions_are_purged_and_waiting_ones_kept() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let ada = app.add_user("ada").await;
    let kept = waiting_request(&app, &client.ikey, &ada.id).await;
    let gone = waiting_request(&app, &client.ikey, &ada.id).await;
    app.sql(&format!("UPDATE auth_requests SET expires_at = {} WHERE txid = '{gone}'", now() - 1)).await;
    let purged = twofold::store::applications::purge_expired_requests(&app.db, now()).await.unwrap();
    assert_eq!(purged, 1);
    let left = app.table_text("auth_requests", &["txid"]).await;
    assert!(left.contains(&kept) && !left.contains(&gone), "{left}");
}

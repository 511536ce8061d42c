//! Graceful stop of a real `twofold serve` process on SIGTERM: long-polls are answered at once
//! with "still waiting", in-flight requests finish, new connections are refused, the process exits
//! with status 0, and a new process on the same database finds nothing half-written.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::duo::{Client, Sig, add_application};
use crate::helpers::{TestApp, fresh_database_url, location, test_settings};
use crate::instances::{Instance, spawn, wait_ready};
use crate::push::{answer, send_push, sign, user_with_app};

fn sigterm(instance: &Instance) {
    let status = Command::new("kill").arg("-TERM").arg(instance.child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -TERM");
}

/// Waits for the process to exit; its exit status and how long after `since` it took.
async fn exited(instance: &mut Instance, since: Instant) -> (std::process::ExitStatus, Duration) {
    loop {
        if let Some(status) = instance.child.try_wait().unwrap() {
            return (status, since.elapsed());
        }
        assert!(since.elapsed() < Duration::from_secs(20), "the process did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// After the stop began, new connections are refused (the listener is closed).
async fn refuses_connections(instance: &Instance) -> bool {
    let addr = instance.address.trim_start_matches("http://").to_string();
    for _ in 0..40 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// One process on a fresh database (SQLite or PostgreSQL, as TEST_DB says).
async fn serve() -> (tempfile::TempDir, TestApp, Instance) {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), fresh_database_url().await);
    let instance = spawn(&settings, dir.path());
    wait_ready(&instance).await;
    let app = TestApp::attach(instance.address.clone(), settings).await;
    (dir, app, instance)
}

#[tokio::test]
async fn sigterm_answers_the_waiting_prompt_at_once_finishes_the_phones_answer_and_exits_0() {
    let (dir, app, mut first) = serve().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let browser = app.other_browser();
    assert_eq!(location(&browser.login("ada", crate::helpers::PASSWORD).await), "/prompt");
    let (id, number) = send_push(&browser).await;

    // The phone's answer is in flight: its head and half its body are sent, the rest comes
    // after the signal.
    let decision = "approve";
    let signature = sign(&phone.key, &format!("twofold-push-answer\n{id}\n{decision}\n{number}"));
    let body = json!({ "device_id": phone.device_id, "request_id": id, "decision": decision, "number": number,
                       "signature": signature })
    .to_string();
    let addr = first.address.trim_start_matches("http://").to_string();
    let mut in_flight = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /device/v1/answer HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (start, rest) = body.split_at(body.len() / 2);
    in_flight.write_all(format!("{head}{start}").as_bytes()).await.unwrap();

    // The prompt long-polls (it would wait 25 s).
    let poll = {
        let url = browser.url(&format!("/prompt/push/{id}/status"));
        let client = browser.client.clone();
        tokio::spawn(async move {
            let r = client.get(url).send().await.unwrap();
            let v: Value = r.json().await.unwrap();
            (v["status"].as_str().unwrap_or_default().to_string(), Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    sigterm(&first);

    let (status, answered) = poll.await.unwrap();
    assert_eq!(status, "pending", "the page polls again at once on \"pending\"");
    assert!(answered.duration_since(signalled) < Duration::from_secs(2), "{:?}", answered.duration_since(signalled));
    // The waiting answer's head went out before the signal, so it could not say "close"; the
    // page's next poll must not wait here again: this instance either no longer takes it (the
    // server closed the kept connection, possibly just as the client reused it, and refuses new
    // ones: the proxy sends it to another instance) or answers it at once, closing the connection.
    match browser.client.get(browser.url(&format!("/prompt/push/{id}/status"))).send().await {
        Err(e) => assert!(e.is_connect() || e.is_request(), "{e:?}"),
        Ok(again) => {
            let close = again.headers().get("connection").map(|v| v.to_str().unwrap().to_string());
            let v: Value = again.json().await.unwrap();
            assert_eq!((v["status"].as_str(), close.as_deref()), (Some("pending"), Some("close")));
        }
    }
    assert!(signalled.elapsed() < Duration::from_secs(3), "{:?}", signalled.elapsed());
    assert!(refuses_connections(&first).await, "no new connections once stopping");

    // The in-flight answer completes normally.
    in_flight.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("approved"), "{response}");

    let (exit, took) = exited(&mut first, signalled).await;
    assert_eq!(exit.code(), Some(0), "graceful stop exits 0");
    assert!(took < Duration::from_secs(12), "within the stop timeout: {took:?}");

    // A new process on the same database: the approval was written whole and signs the user in.
    let second = spawn(&app.settings, dir.path());
    wait_ready(&second).await;
    let browser = browser.at(&second.address);
    let v: Value = browser.get(&format!("/prompt/push/{id}/status")).await.json().await.unwrap();
    assert_eq!(v["status"], "approved");
    let r = browser.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert_eq!(location(&r), "/prompt/trust");
}

async fn auth(app: &TestApp, client: &Client, params: &[(&str, &str)]) -> Value {
    let (status, r) = client.call(app, "POST", "/auth/v2/auth", params, Sig::V5, 0).await;
    assert_eq!(status, 200, "{r}");
    r["response"].clone()
}

/// The user's pushes (id, status), read straight from the database.
async fn pushes(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect for SQL");
    let rows = sqlx::query_as("SELECT id, status FROM push_requests WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

async fn push_statuses(app: &TestApp, user_id: &str) -> Vec<String> {
    pushes(app, user_id).await.into_iter().map(|(_, status)| status).collect()
}

#[tokio::test]
async fn sigterm_answers_auth_status_waiting_and_ends_unanswered_pushes_cleanly() {
    let (dir, app, mut first) = serve().await;
    let client = add_application(&app, "VPN").await;
    let (uid, phone) = user_with_app(&app, "ada").await;
    let r = auth(&app, &client, &[("username", "ada"), ("factor", "push"), ("device", "auto"), ("async", "1")]).await;
    let txid = r["txid"].as_str().expect("a txid").to_string();

    // auth_status long-polls (30 s) and a synchronous push waits (60 s) when the signal comes.
    let status_poll = {
        let (app, client, txid) =
            (app.at(&app.address), Client { ikey: client.ikey.clone(), skey: client.skey.clone() }, txid.clone());
        tokio::spawn(async move {
            let r = client.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V2Sha512, 0).await;
            (r, Instant::now())
        })
    };
    let sync_push = {
        let (app, client) = (app.at(&app.address), Client { ikey: client.ikey.clone(), skey: client.skey.clone() });
        tokio::spawn(async move {
            let r = auth(&app, &client, &[("username", "ada"), ("factor", "push"), ("device", "auto")]).await;
            (r, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(push_statuses(&app, &uid).await, ["pending", "pending"]);
    let signalled = Instant::now();
    sigterm(&first);

    let ((code, r), answered) = status_poll.await.unwrap();
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["stat"], "OK");
    let r = &r["response"];
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("waiting"), Some("pushed")), "{r}");
    assert!(answered.duration_since(signalled) < Duration::from_secs(2), "{:?}", answered.duration_since(signalled));

    // The synchronous request is in flight: it is answered before the stop timeout, its push ended.
    let (r, answered) = sync_push.await.unwrap();
    assert_eq!(r["result"], "deny", "{r}");
    assert!(r["status_msg"].as_str().unwrap().contains("restarted"), "{r}");
    assert!(answered.duration_since(signalled) < Duration::from_secs(10));

    let (exit, took) = exited(&mut first, signalled).await;
    assert_eq!(exit.code(), Some(0), "graceful stop exits 0");
    assert!(took < Duration::from_secs(12), "within the stop timeout: {took:?}");

    // A new process on the same database: both pushes were ended (a late approval does nothing)
    // and the async request is final, so the application stops polling.
    assert_eq!(push_statuses(&app, &uid).await, ["cancelled", "cancelled"]);
    let second = spawn(&app.settings, dir.path());
    wait_ready(&second).await;
    let app = app.at(&second.address);
    let started = Instant::now();
    let (code, r) = client.call(&app, "GET", "/auth/v2/auth_status", &[("txid", &txid)], Sig::V2Sha512, 0).await;
    assert_eq!(code, 200, "{r}");
    assert_eq!((r["response"]["result"].as_str(), r["response"]["status"].as_str()), (Some("deny"), Some("deny")));
    assert!(started.elapsed() < Duration::from_secs(2), "final: not held open");
    for (id, _) in pushes(&app, &uid).await {
        let (code, body) = answer(&app, &phone, &id, "approve", "").await;
        assert_ne!(code, 200, "an ended push cannot be approved: {body}");
    }
}

//! Several `twofold serve` processes on one PostgreSQL database, as behind a load balancer: any
//! instance answers any request. Always on PostgreSQL (the set-up for more than one instance),
//! whatever TEST_DB says.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twofold::config::Settings;

use crate::helpers::{PASSWORD, TestApp, element_text, fresh_postgres_url, location, now, test_settings};
use crate::push::{answer, enroll_app};

/// A `twofold serve` process; stopped when dropped (also when the test fails).
pub(crate) struct Instance {
    pub(crate) child: Child,
    pub(crate) address: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn spawn(settings: &Settings, dir: &std::path::Path) -> Instance {
    let port = free_port();
    // With TEST_LOG set (e.g. TEST_LOG=debug), the processes' logs go to the test output.
    let log = std::env::var("TEST_LOG").ok();
    let child = Command::new(env!("CARGO_BIN_EXE_twofold"))
        .arg("serve")
        .env("TWOFOLD_LOG", log.as_deref().unwrap_or("warn"))
        .current_dir(dir)
        .env("TWOFOLD_BIND", format!("127.0.0.1:{port}"))
        .env("TWOFOLD_DATABASE_URL", settings.database_url())
        .env("TWOFOLD_MASTER_KEY", settings.master_key.as_deref().unwrap())
        .env("TWOFOLD_DATA_DIR", dir)
        .env("TWOFOLD_WORKERS", "1")
        .env("TWOFOLD_LOCKOUT__MAX_FAILURES", "4")
        .env("TWOFOLD_INSTITUTION__NAME", "Example University")
        .stdout(Stdio::null())
        .stderr(if log.is_some() { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .expect("twofold serve starts");
    Instance { child, address: format!("http://127.0.0.1:{port}") }
}

pub(crate) async fn wait_ready(instance: &Instance) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", instance.address)).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{} did not become ready", instance.address);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two instances started at the same moment on one new database: both apply migrations (under
/// PostgreSQL's advisory lock) and come up.
async fn two_instances() -> (tempfile::TempDir, Settings, Instance, Instance) {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), Some(fresh_postgres_url().await));
    let (a, b) = (spawn(&settings, dir.path()), spawn(&settings, dir.path()));
    tokio::join!(wait_ready(&a), wait_ready(&b));
    (dir, settings, a, b)
}

#[tokio::test]
async fn an_enrolment_begun_on_one_instance_finishes_on_the_other_and_sessions_and_codes_hold_across_both() {
    let (_dir, settings, a, b) = two_instances().await;
    let on_a = TestApp::attach(a.address.clone(), settings).await;
    on_a.add_user("ada").await;
    assert_eq!(location(&on_a.login("ada", PASSWORD).await), "/prompt");

    // The wizard's first steps on A, the rest on B.
    assert_eq!(location(&on_a.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    on_a.post_form("/enroll/device-type", &[("kind", "tablet")]).await;
    on_a.post_form("/enroll/platform", &[("platform", "android")]).await;
    let on_b = on_a.at(&b.address);
    assert_eq!(location(&on_b.post_form("/enroll/install", &[]).await), "/enroll/activate");
    let page = on_b.get_html("/enroll/activate").await;
    let seed = twofold::factors::totp::TotpSeed::from_base32(&element_text(&page, "setup-key")).unwrap();
    let r = on_b.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await;
    assert_eq!(location(&r), "/enroll/options");
    let r = on_b.post_form("/enroll/options", &[("name", "Tablet"), ("login_action", "ask")]).await;
    assert_eq!(location(&r), "/enroll/done");

    // Another browser signs in on A and passes the prompt on B; the session works on both.
    let second = on_a.other_browser();
    assert_eq!(location(&second.login("ada", PASSWORD).await), "/prompt");
    let code = seed.code_at(now() as u64 + 30);
    let r = second.at(&b.address).post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert!(matches!(location(&r).as_str(), "/prompt/trust" | "/settings"), "{}", location(&r));
    assert_eq!(second.get("/settings").await.status(), 200, "a session made on B is valid on A");

    // The code used on B is spent on A too (one time step, single use across instances).
    let third = on_a.other_browser();
    assert_eq!(location(&third.login("ada", PASSWORD).await), "/prompt");
    let r = third.post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn failed_attempts_on_both_instances_count_towards_one_lockout() {
    let (_dir, settings, a, b) = two_instances().await;
    let on_a = TestApp::attach(a.address.clone(), settings).await;
    let (user, seed) = on_a.signed_in_user("ada").await;
    let attacker = on_a.other_browser();
    assert_eq!(location(&attacker.login("ada", PASSWORD).await), "/prompt");
    // The limit is 4: two wrong codes on each instance lock the account everywhere.
    for instance in [&a, &b, &a, &b] {
        attacker.at(&instance.address).post_form("/prompt/passcode", &[("passcode", "000000")]).await;
    }
    let locked: (Option<i64>,) = sqlx::query_as("SELECT locked_at FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&sqlx::PgPool::connect(&on_a.database_url).await.unwrap())
        .await
        .unwrap();
    assert!(locked.0.is_some(), "locked after four failures spread over two instances");
    let code = seed.code_at(now() as u64 + 60);
    for instance in [&a, &b] {
        let r = attacker.at(&instance.address).post_form("/prompt/passcode", &[("passcode", &code)]).await;
        assert_eq!(location(&r), "/prompt", "no code is examined while locked");
        assert!(attacker.at(&instance.address).get_html("/prompt").await.contains("Your account is locked"));
    }
}

#[tokio::test]
async fn a_push_answered_through_one_instance_wakes_the_prompt_waiting_on_the_other() {
    let (_dir, settings, a, b) = two_instances().await;
    let on_a = TestApp::attach(a.address.clone(), settings).await;
    on_a.add_user("ada").await;
    assert_eq!(location(&on_a.login("ada", PASSWORD).await), "/prompt");
    let phone = enroll_app(&on_a, "ask").await;

    let browser = on_a.other_browser();
    assert_eq!(location(&browser.login("ada", PASSWORD).await), "/prompt");
    let r = browser.post_form("/prompt/push", &[]).await;
    let id = location(&r).trim_start_matches("/prompt/push/").to_string();
    let number = element_text(&browser.get_html(&format!("/prompt/push/{id}")).await, "push-number");

    // The prompt on A long-polls; the phone's answer reaches B.
    let wait = async {
        let v: Value = browser.get(&format!("/prompt/push/{id}/status")).await.json().await.unwrap();
        (v["status"].as_str().unwrap_or_default().to_string(), Instant::now())
    };
    let approve = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (status, body) = answer(&on_a.at(&b.address), &phone, &id, "approve", &number).await;
        assert_eq!(status, 200, "{body}");
        Instant::now()
    };
    let ((status, woken), answered) = tokio::join!(wait, approve);
    assert_eq!(status, "approved");
    // LISTEN/NOTIFY carries the change between processes; without it the waiter would only see
    // it when it next read the database (5 s). How fast it is belongs to BENCHMARKS.md.
    assert!(woken.duration_since(answered) < Duration::from_secs(2), "{:?}", woken.duration_since(answered));
}

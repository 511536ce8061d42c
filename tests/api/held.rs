//! Requests held open: headers sent, body kept back. What the request does must depend on the
//! account and the session as they are when it acts, not when its headers arrived; and a body
//! that trickles in is cut off instead of holding the connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PASSWORD, TestApp, csrf_in, location, now, spawn_app, spawn_app_with};

/// A POST whose headers are sent now and whose body (`body`, form-encoded) waits for `release`.
struct Held {
    stream: TcpStream,
    body: String,
}

async fn hold(app: &TestApp, browser: &TestApp, path: &str, fields: &[(&str, &str)]) -> Held {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        app.port,
        browser.cookie_header(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    Held { stream, body }
}

/// Sends the held body; returns the status and the Location header.
async fn release(mut held: Held) -> (u16, String) {
    held.stream.write_all(held.body.as_bytes()).await.unwrap();
    read_head(&mut held.stream).await
}

async fn read_head(stream: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let location = text
        .lines()
        .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
        .unwrap_or_default()
        .to_string();
    (status, location)
}

#[tokio::test]
async fn requests_held_open_while_the_account_locks_are_not_checked_and_cannot_sign_in() {
    let app = spawn_app().await;
    let (_, seed) = app.signed_in_user("ada").await;
    let attacker = app.other_browser();
    assert_eq!(location(&attacker.login("ada", PASSWORD).await), "/prompt");
    let token = csrf_in(&attacker.get_html("/prompt").await);
    // The right code for the next step, sent by all of them once the account is locked.
    let right = seed.code_at(now() as u64 + 30);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(hold(&app, &attacker, "/prompt/passcode", &[("csrf_token", &token), ("passcode", &right)]).await);
    }
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        attacker.post_raw("/prompt/passcode", &[("csrf_token", &token), ("passcode", wrong)]).await;
    }
    assert!(attacker.get_html("/prompt").await.contains("Your account is locked"));
    for h in held {
        assert_eq!(release(h).await, (303, "/prompt".to_string()), "a held request signed in after the lock");
    }
    let id = crate::helpers::user_id(&app, "ada").await;
    let row = twofold::store::users::by_id(&app.db, &id).await.unwrap().unwrap();
    assert_eq!(row.failed_attempts, 10, "the held guesses were never counted: never checked");
}

#[tokio::test]
async fn a_request_held_open_across_log_out_issues_no_backup_codes() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let token = csrf_in(&app.get_html("/settings").await);
    let held = hold(&app, &app, "/settings/backup-codes", &[("csrf_token", &token)]).await;
    assert_eq!(location(&app.post_raw("/logout", &[("csrf_token", &token)]).await), "/login");
    let (status, to) = release(held).await;
    assert_eq!((status, to.as_str()), (303, "/login"));
    assert_eq!(twofold::store::backup_codes::count_unused(&app.db, &user.id).await.unwrap(), 0);
    // The old session is gone for good: no request brought it back.
    assert_eq!(location(&app.get("/settings").await), "/login");
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_and_the_server_keeps_answering() {
    let app = spawn_app_with(|s| s.http.body_timeout_seconds = 1).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 1000\r\n\r\n",
            app.port
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    let trickle = async {
        // A byte every 300 ms: the whole body would take five minutes.
        for _ in 0..10 {
            for s in slow.iter_mut() {
                let _ = s.write_all(b"x").await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let (_, page) = tokio::join!(trickle, app.get_html("/login"));
    assert!(page.contains("Log in"), "the server answers others meanwhile");
    for mut s in slow {
        let read = tokio::time::timeout(Duration::from_secs(30), read_head(&mut s)).await;
        let (status, _) = read.expect("the server cut the trickling body off");
        assert_eq!(status, 408, "cut off at the deadline");
    }
    assert!(started.elapsed() < Duration::from_secs(60), "well before the body could have arrived");
    // A body larger than any form is refused before it is read.
    let mut big = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 10000000\r\n\r\n",
        app.port
    );
    big.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(read_head(&mut big).await.0, 413);
}

//! What the server writes to its log: requests by route pattern, and never a secret — no setup
//! link token, password, passcode, TOTP key or cookie — even at debug level.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use twofold::factors::totp::TotpSeed;

use crate::helpers::{csrf_in, element_text, fresh_database_url, location, new_client, now};

#[tokio::test]
async fn the_log_names_routes_but_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log_path = dir.path().join("server.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
    cmd.arg("serve")
        .current_dir(dir.path())
        .env("TWOFOLD_BIND", format!("127.0.0.1:{port}"))
        .env("TWOFOLD_LOG", "debug")
        .env("TWOFOLD_WORKERS", "1")
        .env_remove("TWOFOLD_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap());
    if let Some(url) = fresh_database_url().await {
        cmd.env("TWOFOLD_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let link = stdout.lines().map_while(Result::ok).find(|l| l.contains("/setup/")).expect("the setup link is printed");
    let link = link.trim().to_string();
    let setup_token = link.rsplit('/').next().unwrap().to_string();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let (client, jar) = new_client();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Create the administrator, sign in, enrol, pass the prompt, trust the browser.
    let password = "a long admin passphrase";
    let page = client.get(&link).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", csrf_in(&page)),
        ("username", "grace".into()),
        ("display_name", "Grace Hopper".into()),
        ("email", "grace@example.edu".into()),
        ("password", password.into()),
        ("confirm", password.into()),
    ];
    assert_eq!(client.post(&link).form(&form).send().await.unwrap().status(), 200);
    let post = |path: &str, fields: Vec<(&str, String)>| {
        let request = client.post(format!("{base}{path}")).form(&fields);
        async move { request.send().await.unwrap() }
    };
    let token = csrf_in(&client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap());
    let r =
        post("/login", vec![("csrf_token", token), ("username", "grace".into()), ("password", password.into())]).await;
    assert_eq!(location(&r), "/prompt");
    let token = csrf_in(&client.get(format!("{base}/prompt")).send().await.unwrap().text().await.unwrap());
    let t = || ("csrf_token", token.clone());
    post("/enroll/start", vec![t()]).await;
    // A tablet: the app path without a phone number (phones have their own log checks).
    post("/enroll/device-type", vec![t(), ("kind", "tablet".into())]).await;
    post("/enroll/platform", vec![t(), ("platform", "android".into())]).await;
    post("/enroll/install", vec![t()]).await;
    let activate = client.get(format!("{base}/enroll/activate")).send().await.unwrap().text().await.unwrap();
    let key = element_text(&activate, "setup-key");
    let seed = TotpSeed::from_base32(&key).unwrap();
    let enrol_code = seed.code_at(now() as u64);
    assert_eq!(
        location(&post("/enroll/activate", vec![t(), ("passcode", enrol_code.clone())]).await),
        "/enroll/options"
    );
    post("/enroll/options", vec![t(), ("name", "Pixel".into()), ("login_action", "ask".into())]).await;
    let prompt_code = seed.code_at(now() as u64 + 30);
    assert_eq!(
        location(&post("/prompt/passcode", vec![t(), ("passcode", prompt_code.clone())]).await),
        "/prompt/trust"
    );
    let r = post("/prompt/trust", vec![t(), ("choice", "trust".into())]).await;
    assert_eq!(location(&r), "/settings");
    let cookies = {
        use reqwest::cookie::CookieStore;
        jar.cookies(&base.parse().unwrap()).unwrap().to_str().unwrap().to_string()
    };

    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("route=/setup/{token}"), "requests are logged by route pattern");
    assert!(log.contains("route=/prompt/passcode"));
    for code in [&enrol_code, &prompt_code] {
        assert!(!contains_number(&log, code), "the log contains a passcode");
    }
    let mut secrets = vec![setup_token.clone(), password.to_string(), key.replace(' ', ""), key.clone()];
    for cookie in cookies.split("; ") {
        let value = cookie.split_once('=').unwrap().1;
        secrets.push(value.chars().rev().take(24).collect::<String>().chars().rev().collect());
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log contains a secret ({} characters)", secret.len());
    }
}

/// True when `number` appears in `text` as a whole number: not inside a longer one, and not as
/// the fraction of a decimal (every log line's timestamp ends in six digits of microseconds,
/// which match a given 6-digit code now and then).
fn contains_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_some_and(|c| c.is_ascii_digit() || c == '.');
        let after = text[i + number.len()..].chars().next().is_some_and(|c| c.is_ascii_digit());
        !before && !after
    })
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_client_and_the_error_page_shows_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log_path = dir.path().join("server.log");
    let database_url =
        fresh_database_url().await.unwrap_or_else(|| format!("sqlite://{}/twofold.db?mode=rwc", dir.path().display()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_twofold"))
        .arg("serve")
        .current_dir(dir.path())
        .env("TWOFOLD_BIND", format!("127.0.0.1:{port}"))
        .env("TWOFOLD_LOG", "info")
        .env("TWOFOLD_LOG_FORMAT", "json")
        .env("TWOFOLD_INSTITUTION__NAME", "Northfield College")
        .env("TWOFOLD_WORKERS", "1")
        .env("TWOFOLD_DATABASE_URL", &database_url)
        .env_remove("TWOFOLD_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let (client, _) = new_client();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A table the sign-in needs goes missing: the request fails with a support id.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
    sqlx::query("DROP TABLE login_attempts").execute(&pool).await.unwrap();
    pool.close().await;
    let token = csrf_in(&client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap());
    let form = [("csrf_token", token.as_str()), ("username", "ada"), ("password", "whatever it is")];
    let r = client.post(format!("{base}/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let page = r.text().await.unwrap();
    let support_id = element_text(&page, "support-id");
    assert!(page.contains("Northfield College"), "the error page keeps the institution's name: {page}");
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let served = lines
        .iter()
        .find(|l| l["fields"]["message"] == "served" && l["span"]["route"] == "/login")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(served["span"]["client"], "127.0.0.1");
    assert_eq!(served["span"]["id"].as_str().unwrap().len(), 12);
    let failed = lines.iter().find(|l| l["fields"]["message"] == "request failed").unwrap_or_else(|| panic!("{log}"));
    assert_eq!(failed["span"]["id"], support_id.as_str(), "the support id is the request id: {log}");
    assert_eq!(failed["fields"]["support_id"], support_id.as_str());
}

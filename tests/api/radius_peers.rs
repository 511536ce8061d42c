//! RADIUS's protocol rules and its other peers: unknown clients, wrong secrets and the
//! BlastRADIUS rules, Proxy-State, retransmissions, FreeRADIUS's radclient, a PAM client
//! (pam_radius_auth under pamtester), and clients added in the console (also in a real browser).

use std::time::Duration;

use twofold::domain::radius::Mode;

use crate::duo_factors::pending_push;
use crate::helpers::{PASSWORD, TestApp, location};
use crate::push::answer;
use crate::radius::{
    SECRET, ask, ask_with_secret, code, fresh_step, passcode, pushes_of, radius_app, radius_app_with, vpn_user,
};

#[tokio::test]
async fn unknown_clients_wrong_secrets_and_missing_or_bad_message_authenticators_get_no_answer() {
    let app = radius_app(Mode::Append).await;
    let (_, phone) = vpn_user(&app, "ada").await;
    let good = format!("{PASSWORD},{}", passcode(&phone, 30));
    let quick = ["--timeout", "1"];
    let wrong_secret = ask_with_secret(&app, "not the shared secret at all", "ada", &good, &quick).await;
    assert_eq!(wrong_secret["timeout"], true, "{wrong_secret}");
    let no_ma = ask(&app, "ada", &good, &["--timeout", "1", "--no-message-authenticator"]).await;
    assert_eq!(no_ma["timeout"], true, "Message-Authenticator is required: {no_ma}");
    let metrics = app.get_html("/metrics").await;
    assert!(metrics.contains("twofold_radius_dropped_total{reason=\"bad_message_authenticator\"} 1"), "{metrics}");
    assert!(metrics.contains("twofold_radius_dropped_total{reason=\"missing_message_authenticator\"} 1"), "{metrics}");
    // Status-Server answers a client with the right secret (health checks).
    let status = ask(&app, "", "", &["--status"]).await;
    assert_eq!(code(&status), "Access-Accept", "{status}");

    let elsewhere = radius_app_with(|c| c.networks = vec!["10.0.0.0/8".into()], |_| {}).await;
    let unknown = ask(&elsewhere, "ada", &good, &quick).await;
    assert_eq!(unknown["timeout"], true, "{unknown}");
    let metrics = elsewhere.get_html("/metrics").await;
    assert!(metrics.contains("twofold_radius_dropped_total{reason=\"unknown_client\"} 1"), "{metrics}");
}

#[tokio::test]
async fn a_client_that_cannot_sign_may_not_send_proxy_state_without_it_and_proxy_state_is_echoed() {
    let app = radius_app_with(|c| c.require_message_authenticator = false, |_| {}).await;
    let (_, phone) = vpn_user(&app, "ada").await;
    fresh_step().await;
    let good = format!("{PASSWORD},{}", passcode(&phone, 0));
    let proxied =
        ask(&app, "ada", &good, &["--timeout", "1", "--no-message-authenticator", "--proxy-state", "p1"]).await;
    assert_eq!(proxied["timeout"], true, "BlastRADIUS: Proxy-State needs a Message-Authenticator: {proxied}");
    let reply = ask(&app, "ada", &good, &["--no-message-authenticator"]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    assert_eq!(reply["message_authenticator"], true, "every reply carries one: {reply}");
    let good = format!("{PASSWORD},{}", passcode(&phone, 30));
    let echoed = ask(&app, "ada", &good, &["--proxy-state", "first", "--proxy-state", "second"]).await;
    assert_eq!(code(&echoed), "Access-Accept", "{echoed}");
    assert_eq!(echoed["proxy_state"], serde_json::json!(["first", "second"]));
}

#[tokio::test]
async fn a_retransmitted_request_starts_one_push_and_gets_the_same_answer() {
    let app = radius_app(Mode::Append).await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    let other = app.other_browser();
    // pyrad sends the same packet again every second while it waits, as a VPN does.
    let asking = tokio::spawn(async move {
        ask(&other, "ada", &format!("{PASSWORD},push"), &["--timeout", "1", "--retries", "20"]).await
    });
    let push = pending_push(&app, &uid).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    answer(&app, &phone, &push.id, "approve", "").await;
    let reply = asking.await.unwrap();
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    assert_eq!(pushes_of(&app, &uid).await, "1", "one push for all the copies");
    let metrics = app.get_html("/metrics").await;
    let duplicates = metrics
        .lines()
        .find(|l| l.starts_with("twofold_radius_requests_total{client=\"Campus VPN\",result=\"duplicate\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!duplicates.ends_with(" 0"), "{duplicates}");
}

/// radclient (FreeRADIUS) sends `attributes` and returns what it printed.
async fn radclient(app: &TestApp, command: &str, attributes: String) -> String {
    use std::io::Write;
    let target = format!("127.0.0.1:{}", app.radius_port.unwrap());
    let command = command.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new("radclient")
            .args(["-x", "-r", "1", "-t", "5", &target, &command, SECRET])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("radclient runs (apt-get install freeradius-utils)");
        child.stdin.take().unwrap().write_all(attributes.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn freeradius_radclient_signs_in_with_a_passcode_and_sees_the_reply_message() {
    let app = radius_app(Mode::Append).await;
    let (_, phone) = vpn_user(&app, "ada").await;
    let attributes = format!(
        "User-Name = \"ada\"\nUser-Password = \"{PASSWORD},{}\"\nNAS-Identifier = \"asa\"\nMessage-Authenticator = 0x00\n",
        passcode(&phone, 30)
    );
    let out = radclient(&app, "auth", attributes.clone()).await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    assert!(out.contains("Reply-Message = \"Success. Logging you in...\""), "{out}");
    let again = radclient(&app, "auth", attributes).await;
    assert!(again.contains("Received Access-Reject"), "a passcode works once: {again}");
    let status = radclient(&app, "status", "Message-Authenticator = 0x00\n".into()).await;
    assert!(status.contains("Received Access-Accept"), "{status}");
}

#[tokio::test]
async fn administrators_add_a_client_in_the_console_its_secret_is_sealed_and_deleting_it_stops_it() {
    // RADIUS on, with a configuration-file client elsewhere: 127.0.0.1 is not a client yet.
    let app = radius_app_with(|c| c.networks = vec!["10.9.0.0/16".into()], |_| {}).await;
    let admin = crate::policies::admin(&app).await;
    let page = admin.get_html("/admin/radius").await;
    assert!(page.contains("Campus VPN") && page.contains("In the configuration file"), "{page}");
    let (_, phone) = vpn_user(&app, "ada").await;
    fresh_step().await;
    let good = format!("{PASSWORD},{}", passcode(&phone, 0));
    let fields = [
        ("name", "Lab VPN"),
        ("networks", "127.0.0.1"),
        ("secret", "short"),
        ("mode", "append"),
        ("groups", ""),
        ("require_message_authenticator", "on"),
    ];
    let r = admin.post_form("/admin/radius", &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least 16 characters"));
    let mut fields = fields;
    fields[2] = ("secret", "");
    let r = admin.post_form("/admin/radius", &fields).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let secret = crate::helpers::element_text(&page, "shared-secret");
    assert!(secret.len() >= 16, "{secret}");
    let stored = app.table_text("radius_clients", &["name", "secret_sealed"]).await;
    assert!(stored.contains("Lab VPN") && !stored.contains(&secret), "the secret is sealed at rest");
    let reply = ask_with_secret(&app, &secret, "ada", &good, &[]).await;
    assert_eq!(code(&reply), "Access-Accept", "the console's client is used at once: {reply}");
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(audit.contains("radius.client_added Lab VPN: 127.0.0.1/32, mode append"), "{audit}");

    let id = app.table_text("radius_clients", &["id"]).await;
    let r = admin.post_form(&format!("/admin/radius/{id}/delete"), &[]).await;
    assert_eq!(location(&r), "/admin/radius");
    let reply = ask_with_secret(&app, &secret, "ada", &good, &["--timeout", "1"]).await;
    assert_eq!(reply["timeout"], true, "a deleted client is no longer answered: {reply}");
    // Only administrators reach the page.
    let r = app.get("/admin/radius").await;
    assert_ne!(r.status(), 200);
}

/// pamtester runs `authenticate` for `user` through pam_radius_auth (Debian's libpam-radius-auth)
/// pointed at this Twofold, answering PAM's prompts with `answers`, one per line.
async fn pam(app: &TestApp, user: &str, answers: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("pam_radius_auth.conf");
    std::fs::write(&conf, format!("127.0.0.1:{} {SECRET} 30\n", app.radius_port.unwrap())).unwrap();
    // A PAM service of this test's own (pamtester reads services from /etc/pam.d).
    let service = format!("twofold-radius-test-{}", app.radius_port.unwrap());
    let path = format!("/etc/pam.d/{service}");
    std::fs::write(
        &path,
        format!("auth required pam_radius_auth.so conf={}\naccount required pam_permit.so\n", conf.display()),
    )
    .expect("write a PAM service (the suite runs as root)");
    let (user, input) = (user.to_string(), answers.iter().map(|a| format!("{a}\n")).collect::<String>());
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("pamtester")
            .args(["-v", &service, &user, "authenticate"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pamtester runs (apt-get install pamtester libpam-radius-auth)");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn a_pam_client_walks_the_challenge_conversation() {
    // pam_radius_auth 2.0.0 (Debian 12) sends no Message-Authenticator: such a client is marked so.
    let app = radius_app_with(
        |c| {
            c.mode = Mode::Challenge;
            c.require_message_authenticator = false;
        },
        |_| {},
    )
    .await;
    let (_, phone) = vpn_user(&app, "ada").await;
    let (ok, out) = pam(&app, "ada", &[PASSWORD, &passcode(&phone, 30)]).await;
    assert!(ok, "{out}");
    assert!(out.contains("Choose how to verify it's you"), "PAM showed the challenge: {out}");
    let (ok, out) = pam(&app, "ada", &[PASSWORD, "000000"]).await;
    assert!(!ok, "a wrong passcode fails: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_vpn_in_a_real_browser_and_it_answers_with_a_challenge() {
    use crate::browser_steps::{
        Screenshots, choose, click_button, click_link, expect_heading, expect_text, fill, find,
    };
    let driver = crate::webdriver::ChromeDriver::start();
    let app = radius_app_with(|c| c.networks = vec!["10.9.0.0/16".into()], |_| {}).await;
    let shots = Screenshots::from_env();
    let (_, phone) = vpn_user(&app, "ada").await;
    let admin = crate::browser_helpdesk::staff_in_browser(&driver, &app, "admin").await;
    let b = &admin;
    click_link(b, "RADIUS").await;
    expect_heading(b, "RADIUS clients").await;
    expect_text(b, "In the configuration file").await;
    fill(b, "Name", "Lab VPN").await;
    fill(b, "Source addresses or networks", "127.0.0.1").await;
    choose(b, "Password, then a challenge with the user's options").await;
    shots.take(b, "25-radius-clients").await;
    click_button(b, "Add RADIUS client").await;
    expect_heading(b, "Shared secret for Lab VPN").await;
    shots.take(b, "26-radius-shared-secret").await;
    let secret = b.text(&find(b, "//code[@id='shared-secret']").await).await.unwrap();
    let first = ask_with_secret(&app, &secret, "ada", PASSWORD, &[]).await;
    assert_eq!(code(&first), "Access-Challenge", "{first}");
    let state = first["state"].as_str().unwrap().to_string();
    let reply = ask_with_secret(&app, &secret, "ada", &passcode(&phone, 30), &["--state", &state]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    click_link(b, "Done").await;
    expect_text(b, "Lab VPN").await;
    expect_text(b, "Password, then a challenge with the user's options").await;
}

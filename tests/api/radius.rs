//! RADIUS as VPNs use it, driven by real clients: PyPI's pyrad (tests/radius/ask.py), Debian's
//! radclient (freeradius-utils) and a PAM client (pam_radius_auth under pamtester). Append,
//! challenge and second-factor-only modes; BlastRADIUS rules; retransmissions; the lockout shared
//! with the web prompt.

use std::time::Duration;

use serde_json::Value;
use twofold::config::radius::RadiusClientSettings;
use twofold::domain::radius::Mode;

use crate::duo_factors::pending_push;
use crate::helpers::{PASSWORD, TestApp, location, now, spawn_app_with};
use crate::push::{Phone, answer, user_with_app};

pub const SECRET: &str = "shared-secret-of-the-campus-vpn";

fn client(name: &str, networks: &str, mode: Mode) -> RadiusClientSettings {
    RadiusClientSettings {
        name: name.into(),
        networks: vec![networks.into()],
        secret: Some(SECRET.into()),
        secret_file: None,
        mode,
        groups: vec![],
        require_message_authenticator: true,
    }
}

/// Twofold with RADIUS on a free port and one client on 127.0.0.1 in `mode`.
pub async fn radius_app(mode: Mode) -> TestApp {
    radius_app_with(|c| c.mode = mode, |_| {}).await
}

pub async fn radius_app_with(
    edit: impl FnOnce(&mut RadiusClientSettings),
    settings: impl FnOnce(&mut twofold::config::Settings),
) -> TestApp {
    let mut vpn = client("Campus VPN", "127.0.0.1/32", Mode::Append);
    edit(&mut vpn);
    spawn_app_with(move |s| {
        s.radius.bind = "127.0.0.1:0".into();
        s.radius.clients = vec![vpn];
        settings(s);
    })
    .await
}

/// One request with pyrad; `extra` are ask.py's options.
pub async fn ask(app: &TestApp, user: &str, password: &str, extra: &[&str]) -> Value {
    ask_with_secret(app, SECRET, user, password, extra).await
}

async fn ask_with_secret(app: &TestApp, secret: &str, user: &str, password: &str, extra: &[&str]) -> Value {
    let port = app.radius_port.expect("RADIUS is on").to_string();
    let mut args: Vec<String> = vec!["tests/radius/ask.py".into(), port, secret.into(), user.into(), password.into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = tokio::task::spawn_blocking(move || std::process::Command::new("python3").args(&args).output())
        .await
        .unwrap()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "ask.py failed (python3 -m pip install pyrad): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ask.py prints JSON")
}

/// A user with the Twofold app (push) and its offline passcodes.
async fn vpn_user(app: &TestApp, name: &str) -> (String, Phone) {
    user_with_app(app, name).await
}

/// Waits until the time step has a few seconds left, so codes for this step and the next are
/// both accepted while a test uses them (in order: a newer step makes older ones used).
async fn fresh_step() {
    let into = now() % 30;
    if into > 25 {
        tokio::time::sleep(Duration::from_secs((31 - into) as u64)).await;
    }
}

fn passcode(phone: &Phone, offset: i64) -> String {
    let seed = twofold::factors::totp::TotpSeed::from_base32(&phone.totp_secret).unwrap();
    seed.code_at((now() + offset) as u64)
}

async fn pushes_of(app: &TestApp, user_id: &str) -> String {
    app.table_text("push_requests", &["user_id"]).await.lines().filter(|l| l.contains(user_id)).count().to_string()
}

fn code(reply: &Value) -> &str {
    reply["code"].as_str().unwrap_or("timeout")
}

#[tokio::test]
async fn append_mode_push_approved_in_the_app_lets_the_user_in_with_a_valid_signed_reply() {
    let app = radius_app(Mode::Append).await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    let other = app.other_browser();
    let asking =
        tokio::spawn(async move { ask(&other, "ada", &format!("{PASSWORD},push"), &["--timeout", "30"]).await });
    let push = pending_push(&app, &uid).await;
    assert_eq!(push.application, "Campus VPN: Login request");
    assert!(push.number.is_empty(), "append mode has nowhere to show a number");
    let (status, body) = answer(&app, &phone, &push.id, "approve", "").await;
    assert_eq!(status, 200, "{body}");
    let reply = asking.await.unwrap();
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    assert_eq!(reply["message_authenticator"], true, "{reply}");
    assert_eq!(reply["first_attribute"], 80, "Message-Authenticator comes first: {reply}");
    let audit = app.table_text("audit_log", &["event", "outcome", "application", "detail"]).await;
    // The core's entry names the client and the NAS; the door writes no second one.
    assert!(audit.contains("mfa.push success Campus VPN application Campus VPN (RADIUS, NAS 192.0.2.10)"), "{audit}");
    assert!(!audit.contains("radius.access"), "{audit}");
}

#[tokio::test]
async fn append_mode_takes_a_passcode_once_and_refuses_a_wrong_or_replayed_one() {
    let app = radius_app(Mode::Append).await;
    let (_, phone) = vpn_user(&app, "ada").await;
    let code_now = passcode(&phone, 30);
    let reply = ask(&app, "ada", &format!("{PASSWORD},{code_now}"), &[]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    let replayed = ask(&app, "ada", &format!("{PASSWORD},{code_now}"), &[]).await;
    assert_eq!(code(&replayed), "Access-Reject", "{replayed}");
    assert_eq!(replayed["reply_message"], "Incorrect passcode. Please try again.");
    let wrong = ask(&app, "ada", &format!("{PASSWORD},000000"), &[]).await;
    assert_eq!(code(&wrong), "Access-Reject", "{wrong}");
    let bad_password = ask(&app, "ada", &format!("not the password,{}", passcode(&phone, 60)), &[]).await;
    assert_eq!(code(&bad_password), "Access-Reject");
    assert_eq!(bad_password["reply_message"], "Wrong username or password.");
    let unknown = ask(&app, "nobody", &format!("{PASSWORD},123456"), &[]).await;
    assert_eq!(unknown["reply_message"], "Wrong username or password.", "no hint that the user does not exist");
    // The user's own Recent activity shows the VPN sign-in.
    let events = app.audit_events(&twofold_user_id(&app, "ada").await).await;
    assert!(events.contains(&("mfa.passcode".into(), "success".into())), "{events:?}");
}

async fn twofold_user_id(app: &TestApp, name: &str) -> String {
    crate::helpers::user_id(app, name).await
}

#[tokio::test]
async fn challenge_mode_lists_the_options_and_takes_a_passcode_or_a_number_matched_push() {
    let app = radius_app(Mode::Challenge).await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    let first = ask(&app, "ada", PASSWORD, &[]).await;
    assert_eq!(code(&first), "Access-Challenge", "{first}");
    let message = first["reply_message"].as_str().unwrap();
    assert!(message.starts_with("Choose how to verify it's you:\n1. Push to Pixel (+1 •••"), "{message}");
    assert!(message.contains("2. Call +1 "), "{message}");
    assert!(message.contains("3. Text me passcodes at +1 "), "{message}");
    assert!(message.ends_with("Or enter a passcode."), "{message}");
    let state = first["state"].as_str().unwrap().to_string();
    // A passcode answers the challenge.
    let reply = ask(&app, "ada", &passcode(&phone, 30), &["--state", &state]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    // "1": a push with number matching; the number is in the next challenge.
    let first = ask(&app, "ada", PASSWORD, &[]).await;
    let state = first["state"].as_str().unwrap().to_string();
    let pushed = ask(&app, "ada", "1", &["--state", &state]).await;
    assert_eq!(code(&pushed), "Access-Challenge", "{pushed}");
    let push = pending_push(&app, &uid).await;
    assert!(!push.number.is_empty());
    let words = pushed["reply_message"].as_str().unwrap();
    assert!(words.contains(&format!("Enter {} in the app", push.number)), "{words}");
    let (status, body) = answer(&app, &phone, &push.id, "approve", &push.number).await;
    assert_eq!(status, 200, "{body}");
    let state = pushed["state"].as_str().unwrap().to_string();
    let done = ask(&app, "ada", "", &["--state", &state]).await;
    assert_eq!(code(&done), "Access-Accept", "{done}");
    // The State belongs to this user and this client: another user cannot continue it.
    app.add_user("bob").await;
    let stolen = ask(&app, "bob", &passcode(&phone, 60), &["--state", &state]).await;
    assert_eq!(code(&stolen), "Access-Reject", "{stolen}");
    // A forged State is refused.
    let forged = ask(&app, "ada", &passcode(&phone, 60), &["--state", "00112233"]).await;
    assert_eq!(code(&forged), "Access-Reject", "{forged}");
}

#[tokio::test]
async fn challenge_mode_texts_passcodes_and_takes_one_and_sends_the_unenrolled_an_enrolment_link() {
    let app = radius_app(Mode::Challenge).await;
    let (uid, _) = vpn_user(&app, "ada").await;
    let first = ask(&app, "ada", PASSWORD, &[]).await;
    let state = first["state"].as_str().unwrap().to_string();
    let before = texted_codes_of(&app, &uid).await;
    let texted = ask(&app, "ada", "3", &["--state", &state]).await;
    assert_eq!(code(&texted), "Access-Challenge", "{texted}");
    assert_eq!(texted["reply_message"], "We texted you passcodes. Enter one of them:");
    let codes: Vec<String> = texted_codes_of(&app, &uid).await.into_iter().filter(|c| !before.contains(c)).collect();
    let state = texted["state"].as_str().unwrap().to_string();
    let reply = ask(&app, "ada", &codes[0], &["--state", &state]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");

    app.add_user("newcomer").await;
    let reply = ask(&app, "newcomer", PASSWORD, &[]).await;
    assert_eq!(code(&reply), "Access-Reject", "{reply}");
    let words = reply["reply_message"].as_str().unwrap();
    assert!(words.contains("You have not set up two-step sign-in yet"), "{words}");
    let link = words.rsplit(' ').next().unwrap();
    assert!(link.starts_with(&format!("{}/invite/", app.address)), "{link}");
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(!audit.contains(link), "the link is not written to the audit log");
    assert_eq!(app.get(link.trim_start_matches(&app.address)).await.status(), 200, "the link opens the invitation");
}

/// The passcodes texted to the user's phone (the telephony simulator's outbox).
async fn texted_codes_of(app: &TestApp, user_id: &str) -> Vec<String> {
    let numbers = twofold::store::phone_devices::for_user(&app.db, &app.keys, user_id).await.unwrap();
    let e164 = numbers.iter().find(|p| !p.phone.is_empty()).unwrap().phone.clone();
    app.texted_codes(&e164).await
}

#[tokio::test]
async fn second_factor_only_mode_takes_the_factor_as_the_password() {
    let app = radius_app(Mode::SecondFactorOnly).await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    let reply = ask(&app, "ada", &passcode(&phone, 30), &[]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    let other = app.other_browser();
    let asking = tokio::spawn(async move { ask(&other, "ada", "push", &["--timeout", "30"]).await });
    let push = pending_push(&app, &uid).await;
    answer(&app, &phone, &push.id, "deny", "").await;
    let denied = asking.await.unwrap();
    assert_eq!(code(&denied), "Access-Reject", "{denied}");
    assert_eq!(denied["reply_message"], "Login request denied.");
    let reply = ask(&app, "ada", PASSWORD, &[]).await;
    assert_eq!(code(&reply), "Access-Reject", "the password is no factor: {reply}");
}

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

#[tokio::test]
async fn failures_over_radius_and_at_the_web_prompt_share_one_lockout() {
    let app = radius_app(Mode::Append).await;
    let (_, phone) = vpn_user(&app, "ada").await;
    let max = app.settings.lockout.max_failures;
    for _ in 0..max / 2 {
        let r = ask(&app, "ada", &format!("{PASSWORD},000000"), &[]).await;
        assert_eq!(code(&r), "Access-Reject");
    }
    let browser = app.other_browser();
    assert_eq!(location(&browser.login("ada", PASSWORD).await), "/prompt");
    for _ in max / 2..max {
        browser.post_form("/prompt/passcode", &[("passcode", "000000")]).await;
    }
    let locked = ask(&app, "ada", &format!("{PASSWORD},{}", passcode(&phone, 30)), &[]).await;
    assert_eq!(code(&locked), "Access-Reject", "{locked}");
    assert_eq!(locked["reply_message"], "Your account is locked out. Try again later, or contact your help desk.");
}

#[tokio::test]
async fn group_restricted_clients_refuse_other_users_and_groups_get_their_class_and_filter() {
    let app = radius_app_with(
        |c| c.groups = vec!["staff".into()],
        |s| {
            s.radius.group_replies = vec![twofold::config::radius::GroupReply {
                group: "staff".into(),
                class: Some("staff-vpn".into()),
                filter_id: Some("acl-staff".into()),
            }]
        },
    )
    .await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    fresh_step().await;
    let refused =
        ask(&app, "ada", &format!("{PASSWORD},{}", passcode(&phone, 0)), &["--calling-station", "203.0.113.7"]).await;
    assert_eq!(code(&refused), "Access-Reject");
    assert_eq!(refused["reply_message"], "Your account may not sign in to Campus VPN.");
    // A refusal the door decided is audited by the door: client, NAS, the user's address, method.
    let audit = app.table_text("audit_log", &["event", "outcome", "ip", "detail"]).await;
    let expected = "radius.access failure 203.0.113.7 client Campus VPN; NAS 192.0.2.10; from 203.0.113.7; \
                    method passcode; reject: Your account may not sign in to Campus VPN.";
    assert!(audit.contains(expected), "{audit}");
    app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{uid}', 'staff')")).await;
    let reply = ask(&app, "ada", &format!("{PASSWORD},{}", passcode(&phone, 30)), &[]).await;
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    assert_eq!(reply["class"], "staff-vpn");
    assert_eq!(reply["filter_id"], "acl-staff");
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

#[tokio::test]
async fn the_password_alone_starts_the_default_action_a_push_to_the_app_or_a_call_to_a_phone() {
    let app = radius_app(Mode::Append).await;
    let (uid, phone) = vpn_user(&app, "ada").await;
    let other = app.other_browser();
    let asking = tokio::spawn(async move { ask(&other, "ada", PASSWORD, &["--timeout", "30"]).await });
    let push = pending_push(&app, &uid).await;
    answer(&app, &phone, &push.id, "approve", "").await;
    assert_eq!(code(&asking.await.unwrap()), "Access-Accept");

    // A phone without the app: the default action is a call, answered on the simulator.
    let root = crate::phones::admin(&app).await;
    let bob = app.other_browser();
    let (bob_id, _) = crate::phones::mobile_only_user(&bob, "bob", "ask").await;
    let caller = app.other_browser();
    let asking = tokio::spawn(async move { ask(&caller, "bob", PASSWORD, &["--timeout", "30"]).await });
    let call = crate::duo_factors::ringing_call(&app, &bob_id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "1")]).await;
    let reply = asking.await.unwrap();
    assert_eq!(code(&reply), "Access-Accept", "{reply}");
    // ",sms" texts passcodes and asks to sign in again with one.
    let texted = ask(&app, "bob", &format!("{PASSWORD},sms"), &[]).await;
    assert_eq!(code(&texted), "Access-Reject");
    assert_eq!(
        texted["reply_message"],
        "We texted you passcodes. Sign in again with your password followed by one of them: password,1234567."
    );
}

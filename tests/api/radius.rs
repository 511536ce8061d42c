//! RADIUS as VPNs use it, driven by PyPI's pyrad (tests/radius/ask.py): append, challenge and
//! second-factor-only modes, the default action, the lockout shared with the web prompt, group
//! restrictions. The protocol's rules and the other real clients are in `radius_peers`.

use std::time::Duration;

use serde_json::Value;
use twofold::config::radius::RadiusClientSettings;
use twofold::domain::radius::Mode;

use crate::duo_factors::pending_push;
use crate::helpers::{PASSWORD, TestApp, location, now, spawn_app_with};
use crate::push::{Phone, answer, user_with_app};

pub(crate) const SECRET: &str = "shared-secret-of-the-campus-vpn";

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
pub(crate) async fn radius_app(mode: Mode) -> TestApp {
    radius_app_with(|c| c.mode = mode, |_| {}).await
}

pub(crate) async fn radius_app_with(
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
pub(crate) async fn ask(app: &TestApp, user: &str, password: &str, extra: &[&str]) -> Value {
    ask_with_secret(app, SECRET, user, password, extra).await
}

pub(crate) async fn ask_with_secret(app: &TestApp, secret: &str, user: &str, password: &str, extra: &[&str]) -> Value {
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
pub(crate) async fn vpn_user(app: &TestApp, name: &str) -> (String, Phone) {
    user_with_app(app, name).await
}

/// Waits until the time step has a few seconds left, so codes for this step and the next are
/// both accepted while a test uses them (in order: a newer step makes older ones used).
pub(crate) async fn fresh_step() {
    let into = now() % 30;
    if into > 25 {
        tokio::time::sleep(Duration::from_secs((31 - into) as u64)).await;
    }
}

pub(crate) fn passcode(phone: &Phone, offset: i64) -> String {
    let seed = twofold::factors::totp::TotpSeed::from_base32(&phone.totp_secret).unwrap();
    seed.code_at((now() + offset) as u64)
}

pub(crate) async fn pushes_of(app: &TestApp, user_id: &str) -> String {
    app.table_text("push_requests", &["user_id"]).await.lines().filter(|l| l.contains(user_id)).count().to_string()
}

pub(crate) fn code(reply: &Value) -> &str {
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

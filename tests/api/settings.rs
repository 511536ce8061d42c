//! "My Settings & Devices": the step-up window, Device Options, default device, removal with
//! last-method protection, trusted browsers, backup codes and recent activity.

use crate::helpers::{PASSWORD, TestApp, count_to, csrf_in, location, now, spawn_app};

/// Makes the session's last second factor `seconds` old.
async fn age_second_factor(app: &TestApp, seconds: i64) {
    app.edit_sessions(|s| {
        if s.contains_key("mfa_at") {
            s.insert("mfa_at".into(), (now() - seconds).to_string());
        }
    })
    .await;
}

async fn device_ids(app: &TestApp, user_id: &str) -> Vec<String> {
    twofold::store::devices::list_for_user(&app.db, user_id).await.unwrap().into_iter().map(|d| d.id).collect()
}

async fn token(app: &TestApp) -> String {
    csrf_in(&app.get_html("/settings").await)
}

/// Generates backup codes and returns them as shown (digits only).
pub(crate) async fn generate_codes(app: &TestApp) -> Vec<String> {
    let response = app.post_form("/settings/backup-codes", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("Your backup codes"));
    let codes: Vec<String> =
        html.split("<li><code>").skip(1).map(|part| part.split("</code>").next().unwrap().replace(' ', "")).collect();
    assert_eq!(codes.len(), 10);
    codes
}

#[tokio::test]
async fn settings_need_a_recent_second_factor_and_return_afterwards() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/settings").await.status(), 200, "fresh after the prompt");
    let codes = generate_codes(&app).await;
    age_second_factor(&app, 6 * 60).await;
    assert_eq!(location(&app.get("/settings/devices/x").await), "/prompt");
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Confirm it's you"), "{prompt}");
    assert!(!prompt.contains("Trust"), "no trust question when confirming");
    let response = app.post_form("/prompt/passcode", &[("passcode", &codes[0])]).await;
    assert_eq!(location(&response), "/settings/devices/x", "back where the user was going");
    assert_eq!(app.get("/settings").await.status(), 200);
}

#[tokio::test]
async fn a_stale_session_cannot_change_devices() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let id = device_ids(&app, &user.id).await.remove(0);
    let token = token(&app).await;
    age_second_factor(&app, 6 * 60).await;
    for path in [format!("/settings/devices/{id}/remove"), "/settings/backup-codes".into(), "/enroll/start".into()] {
        let r = app.post_raw(&path, &[("csrf_token", &token)]).await;
        assert_eq!(location(&r), "/prompt", "{path}");
    }
    assert_eq!(device_ids(&app, &user.id).await.len(), 1);
    assert_eq!(twofold::store::backup_codes::count_unused(&app.db, &user.id).await.unwrap(), 0);
}

#[tokio::test]
async fn device_options_rename_and_change_when_i_log_in() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let id = device_ids(&app, &user.id).await.remove(0);
    let page = app.get_html(&format!("/settings/devices/{id}")).await;
    assert!(page.contains("Device Options") && page.contains("My iPhone"));
    let r = app
        .post_form(&format!("/settings/devices/{id}"), &[("name", "Work phone"), ("login_action", "passcode")])
        .await;
    assert_eq!(location(&r), "/settings");
    let settings = app.get_html("/settings").await;
    assert!(settings.contains("Work phone"));
    assert!(settings.contains("Automatically ask me for a passcode from this device"));
    let bad = app.post_form(&format!("/settings/devices/{id}"), &[("name", ""), ("login_action", "ask")]).await;
    assert_eq!(bad.status(), 422);
    let bad = app.post_form(&format!("/settings/devices/{id}"), &[("name", "x"), ("login_action", "teleport")]).await;
    assert_eq!(bad.status(), 422);
    assert!(app.audit_events(&user.id).await.iter().any(|(e, _)| e == "device.options"));
}

#[tokio::test]
async fn another_users_device_is_not_found_and_untouched() {
    let app = spawn_app().await;
    let (bob, _) = app.signed_in_user("bob").await;
    let bob_device = device_ids(&app, &bob.id).await.remove(0);
    let ada = app.other_browser();
    ada.signed_in_user("ada").await;
    assert_eq!(ada.get(&format!("/settings/devices/{bob_device}")).await.status(), 404);
    assert_eq!(ada.get(&format!("/settings/devices/{bob_device}/remove")).await.status(), 404);
    let renamed =
        ada.post_form(&format!("/settings/devices/{bob_device}"), &[("name", "pwned"), ("login_action", "ask")]).await;
    assert_eq!(renamed.status(), 404);
    assert_eq!(ada.post_form(&format!("/settings/devices/{bob_device}/default"), &[]).await.status(), 404);
    assert_eq!(ada.post_form(&format!("/settings/devices/{bob_device}/remove"), &[]).await.status(), 404);
    let still = twofold::store::devices::list_for_user(&app.db, &bob.id).await.unwrap();
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].name, "My iPhone");
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_removed() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let id = device_ids(&app, &user.id).await.remove(0);
    let confirm = app.get_html(&format!("/settings/devices/{id}/remove")).await;
    assert!(confirm.contains("Remove My iPhone?") && confirm.contains(">Cancel</a>"));
    let refused = app.post_form(&format!("/settings/devices/{id}/remove"), &[]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("only way to sign in"));
    assert_eq!(device_ids(&app, &user.id).await.len(), 1);
    // With backup codes it may go.
    generate_codes(&app).await;
    assert_eq!(location(&app.post_form(&format!("/settings/devices/{id}/remove"), &[]).await), "/settings");
    assert!(device_ids(&app, &user.id).await.is_empty());
    assert!(app.audit_events(&user.id).await.iter().any(|(e, _)| e == "device.removed"));
}

#[tokio::test]
async fn removal_needs_a_post_with_a_csrf_token() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    generate_codes(&app).await;
    let id = device_ids(&app, &user.id).await.remove(0);
    assert_eq!(app.get(&format!("/settings/devices/{id}/remove")).await.status(), 200, "GET only asks");
    let forged = app.post_raw(&format!("/settings/devices/{id}/remove"), &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status(), 403);
    let none = app.post_raw(&format!("/settings/devices/{id}/remove"), &[]).await;
    assert_eq!(none.status(), 403);
    assert_eq!(device_ids(&app, &user.id).await.len(), 1);
}

#[tokio::test]
async fn a_second_device_can_be_added_and_made_the_default() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    app.enroll_phone().await;
    let done = app.get_html("/enroll/done").await;
    assert!(done.contains(r#"href="/settings""#), "a signed-in user continues to their settings");
    let devices = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.is_default == 1).count(), 1);
    let (first, second) = (&devices[0], &devices[1]);
    assert_eq!(first.is_default, 1, "the first device stays the default");
    assert_eq!(location(&app.post_form(&format!("/settings/devices/{}/default", second.id), &[]).await), "/settings");
    let devices = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    assert_eq!(devices[0].id, second.id, "the default is listed first");
    assert_eq!(devices.iter().filter(|d| d.is_default == 1).count(), 1);
    // Removing the default passes it on.
    assert_eq!(location(&app.post_form(&format!("/settings/devices/{}/remove", second.id), &[]).await), "/settings");
    let devices = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].is_default, 1);
}

#[tokio::test]
async fn two_simultaneous_removals_never_leave_an_account_without_a_device() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    app.enroll_phone().await;
    let ids = device_ids(&app, &user.id).await;
    let token = token(&app).await;
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let request = app
                .client
                .post(app.url(&format!("/settings/devices/{id}/remove")))
                .form(&[("csrf_token", token.clone())]);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![303, 409]);
    assert_eq!(device_ids(&app, &user.id).await.len(), 1);
}

#[tokio::test]
async fn backup_codes_are_shown_once_stored_hashed_and_work_once() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let codes = generate_codes(&app).await;
    assert!(codes.iter().all(|c| c.len() == 10 && c.chars().all(|d| d.is_ascii_digit())));
    let stored = app.table_text("backup_codes", &["salt", "code_hash"]).await;
    for code in &codes {
        assert!(!stored.contains(code.as_str()), "codes are never stored");
    }
    let settings = app.get_html("/settings").await;
    assert!(settings.contains("10 of 10 backup codes unused"));
    assert!(!settings.contains(codes[0].as_str()), "not shown again");

    let other = app.other_browser();
    assert_eq!(location(&other.login("ada", PASSWORD).await), "/prompt");
    let with_space = format!("{} {}", &codes[0][..5], &codes[0][5..]);
    let r = other.post_form("/prompt/passcode", &[("passcode", &with_space)]).await;
    assert_eq!(location(&r), "/prompt/trust");
    let third = app.other_browser();
    third.login("ada", PASSWORD).await;
    let again = third.post_form("/prompt/passcode", &[("passcode", &codes[0])]).await;
    assert_eq!(again.status(), 422, "a backup code works once");
    assert!(app.audit_events(&user.id).await.iter().any(|(e, o)| e == "mfa.backup_code" && o == "success"));

    // A new set replaces the old one.
    generate_codes(&app).await;
    let fourth = app.other_browser();
    fourth.login("ada", PASSWORD).await;
    assert_eq!(fourth.post_form("/prompt/passcode", &[("passcode", &codes[1])]).await.status(), 422);
}

#[tokio::test]
async fn of_twenty_concurrent_uses_of_one_backup_code_exactly_one_succeeds() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let codes = generate_codes(&app).await;
    let results = app.concurrent_passcodes("ada", &codes[3], 20).await;
    assert_eq!(count_to(&results, "/prompt/trust"), 1, "{results:?}");
}

#[tokio::test]
async fn few_remaining_backup_codes_are_warned_about() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    generate_codes(&app).await;
    app.sql(&format!(
        "UPDATE backup_codes SET used_at = 1 WHERE id IN (SELECT id FROM backup_codes WHERE user_id = '{}' LIMIT 7)",
        user.id
    ))
    .await;
    let settings = app.get_html("/settings").await;
    assert!(settings.contains("You have only 3 backup codes left"), "{settings}");
}

#[tokio::test]
async fn a_password_only_session_with_backup_codes_cannot_add_a_device() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    generate_codes(&app).await;
    let id = device_ids(&app, &user.id).await.remove(0);
    app.post_form(&format!("/settings/devices/{id}/remove"), &[]).await;
    // Only backup codes are left; a thief with the password alone gets the prompt, not the wizard.
    let thief = app.other_browser();
    assert_eq!(location(&thief.login("ada", PASSWORD).await), "/prompt");
    assert!(thief.get_html("/prompt").await.contains("Enter one of your backup codes"));
    assert_eq!(location(&thief.post_form("/enroll/start", &[]).await), "/prompt");
}

#[tokio::test]
async fn trusted_browsers_are_listed_and_revoking_takes_effect_at_once() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.post_form("/prompt/trust", &[("choice", "trust")]).await;
    let settings = app.get_html("/settings").await;
    assert!(settings.contains("Trusted browsers") && settings.contains("Revoke all"));
    let revoke_path = settings
        .split("action=\"/settings/trusted-browsers/")
        .skip(1)
        .map(|part| part.split('"').next().unwrap())
        .find(|path| path.ends_with("/revoke"))
        .expect("a Revoke button");
    assert!(revoke_path.ends_with("/revoke"), "{revoke_path}");
    let r = app.post_form(&format!("/settings/trusted-browsers/{revoke_path}"), &[]).await;
    assert_eq!(location(&r), "/settings");
    assert!(app.get_html("/settings").await.contains("No browser skips the second step"));
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn revoke_all_ends_trust_for_every_browser() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    app.post_form("/prompt/trust", &[("choice", "trust")]).await;
    let codes = generate_codes(&app).await;
    let second = app.other_browser();
    second.login("ada", PASSWORD).await;
    second.post_form("/prompt/passcode", &[("passcode", &codes[0])]).await;
    assert_eq!(location(&second.post_form("/prompt/trust", &[("choice", "trust")]).await), "/settings");
    assert_eq!(twofold::store::trusted_browsers::list_for_user(&app.db, &user.id, now()).await.unwrap().len(), 2);
    assert_eq!(location(&app.post_form("/settings/trusted-browsers/revoke-all", &[]).await), "/settings");
    assert!(twofold::store::trusted_browsers::list_for_user(&app.db, &user.id, now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn recent_activity_shows_the_users_own_sign_ins() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let settings = app.get_html("/settings").await;
    assert!(settings.contains("Recent activity"));
    assert!(settings.contains("Signed in with your password"));
    assert!(settings.contains("Verified with a passcode"));
    assert!(settings.contains("127.0.0.1"));
}

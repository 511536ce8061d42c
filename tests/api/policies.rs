//! "Policies": rules changed in the console apply at once, are checked, and are audit-logged.

use crate::helpers::{PASSWORD, TestApp, csrf_in, location, spawn_app};

/// An administrator, fully signed in, in their own browser.
pub(crate) async fn admin(app: &TestApp) -> TestApp {
    let b = app.other_browser();
    let (grace, _) = b.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    b
}

/// The Policies form as the page fills it in (text fields and ticked boxes), without the token.
pub(crate) async fn policy_form(admin: &TestApp) -> Vec<(String, String)> {
    let page = admin.get_html("/admin/policies").await;
    page.split("<input ")
        .skip(1)
        .filter_map(|tag| {
            let tag = format!(" {}", &tag[..tag.find('>').unwrap_or(tag.len())]);
            let attr = |a: &str| tag.split(&format!(" {a}=\"")).nth(1).map(|v| v[..v.find('"').unwrap()].to_string());
            let name = attr("name")?;
            let unticked = attr("type").as_deref() == Some("checkbox") && !tag.contains(" checked");
            (name != "csrf_token" && !unticked).then(|| (name, attr("value").unwrap_or_default()))
        })
        .collect()
}

/// Saves the page's form with the fields in `set` replaced (or added) and those in `unset` removed
/// (an unticked box).
pub(crate) async fn save_policy(admin: &TestApp, set: &[(&str, &str)], unset: &[&str]) -> reqwest::Response {
    let mut form = policy_form(admin).await;
    form.retain(|(k, _)| !unset.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k));
    form.extend(set.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    admin.post_form("/admin/policies", &fields).await
}

/// Saves the policy with `numbers` changed and only the switches listed on.
async fn save(admin: &TestApp, numbers: &[(&str, &str)], switches_on: &[&str]) -> reqwest::Response {
    let mut set: Vec<(&str, &str)> = numbers.to_vec();
    set.extend(switches_on.iter().map(|s| (*s, "on")));
    let unset: Vec<&str> = ALL_ON.iter().filter(|s| !switches_on.contains(s)).copied().collect();
    save_policy(admin, &set, &unset).await
}

const ALL_ON: [&str; 3] = ["self_enrollment", "recovery_enabled", "new_device_notifications"];

#[tokio::test]
async fn a_lower_lockout_threshold_applies_at_once_and_is_audited() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let page = admin.get_html("/admin/policies").await;
    assert!(page.contains("Lockout after failed attempts") && page.contains(r#"value="10""#));
    assert_eq!(location(&save(&admin, &[("lockout_max_failures", "3")], &ALL_ON).await), "/admin/policies?saved=1");
    assert!(admin.get_html("/admin/policies?saved=1").await.contains("Policies saved."));

    app.add_user("ada").await;
    let ada = app.other_browser();
    ada.login("ada", PASSWORD).await;
    ada.enroll_phone().await;
    for _ in 0..3 {
        ada.post_form("/prompt/passcode", &[("passcode", "00000000")]).await;
    }
    assert!(ada.get_html("/prompt").await.contains("Your account is locked"));
    let log = admin.get_html("/admin/audit?event=policy.").await;
    assert!(log.contains("lockout_max_failures: 10 → 3"), "{log}");
}

#[tokio::test]
async fn out_of_range_values_are_refused_and_nothing_is_saved() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let r = save(&admin, &[("lockout_max_failures", "1000"), ("step_up_minutes", "0")], &ALL_ON).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("must be from 1 to 100") && page.contains("must be from 1 to 60"), "{page}");
    assert!(twofold::store::policies::all(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn turning_trust_off_stops_trusted_browsers_skipping_the_prompt() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.post_form("/prompt/trust", &[("choice", "trust")]).await;
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/settings", "trusted");
    app.post_form("/logout", &[]).await;
    let admin = admin(&app).await;
    save(&admin, &[("trusted_browser_days", "0")], &ALL_ON).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt", "trust is off now");
}

#[tokio::test]
async fn without_self_enrolment_only_invitations_open_the_wizard() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    save(&admin, &[], &["recovery_enabled", "new_device_notifications"]).await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Not enrolled yet") && prompt.contains("from the invitation"), "{prompt}");
    assert!(!prompt.contains("Start setup"));
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/prompt");
    // An invitation still works.
    let ada = crate::helpers::user_id(&app, "ada").await;
    admin.post_form(&format!("/admin/users/{ada}/invite"), &[]).await;
    let keys = app.keys.clone();
    let mail = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
    let body = twofold::channels::mail::Mailer::open_body(&keys, &mail.last().unwrap().body).unwrap();
    let link = body[body.find("/invite/").unwrap()..].split_whitespace().next().unwrap().to_string();
    let invited = app.other_browser();
    invited.get(&link).await;
    assert_eq!(location(&invited.post_form(&link, &[]).await), "/enroll/device-type");
    assert_eq!(invited.get("/enroll/device-type").await.status(), 200);
}

#[tokio::test]
async fn recovery_and_notifications_can_be_switched_off() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    save(&admin, &[], &["self_enrollment"]).await;
    assert_eq!(app.get("/recover").await.status(), 404);
    assert!(!app.get_html("/login").await.contains("Lost your device?"));
    app.signed_in_user("ada").await;
    let mail = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
    assert!(mail.iter().all(|m| !m.subject.contains("device was added")), "no device notices");
}

#[tokio::test]
async fn only_administrators_change_policies_and_only_with_a_token() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/admin/policies").await.status(), 403);
    let ada = crate::helpers::user_id(&app, "ada").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{ada}'")).await;
    assert_eq!(save(&app, &[("lockout_max_failures", "3")], &[]).await.status(), 403);
    let admin = admin(&app).await;
    let token = csrf_in(&admin.get_html("/admin/policies").await);
    assert!(!token.is_empty());
    let forged = admin.post_raw("/admin/policies", &[("lockout_max_failures", "3")]).await;
    assert_eq!(forged.status(), 403);
    assert!(twofold::store::policies::all(&app.db).await.unwrap().is_empty());
}

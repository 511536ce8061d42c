//! Policies added for issue 10: allowed methods (global and per group), push rules and phone
//! rules. Each applies at once, is audit-logged with old and new values and is checked.

use crate::helpers::{PASSWORD, TestApp, element_text, location, spawn_app};
use crate::phones::mobile_only_user;
use crate::policies::{admin, save_policy};
use crate::push::{send_push, user_with_app};

/// The device types the wizard offers a user at the password-only stage.
async fn kinds(b: &TestApp) -> String {
    b.post_form("/enroll/start", &[]).await;
    b.get_html("/enroll/device-type").await
}

async fn audit_log(admin: &TestApp) -> String {
    admin.get_html("/admin/audit?event=policy.").await
}

#[tokio::test]
async fn push_rules_from_the_console_apply_at_once_and_are_audited() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    user_with_app(&app, "ada").await;
    let r = save_policy(&admin, &[("push_cap_per_window", "2"), ("push_number_digits", "5")], &[]).await;
    assert_eq!(location(&r), "/admin/policies?saved=1");
    for _ in 0..2 {
        let (_, number) = send_push(&app).await;
        assert_eq!(number.chars().filter(char::is_ascii_digit).count(), 5, "{number}");
    }
    let r = app.post_form("/prompt/push", &[]).await;
    assert_eq!(r.status(), 429, "the console's cap of two, not the configured five");
    assert!(r.text().await.unwrap().contains("Too many pushes were sent in the last 10 minutes"));
    let log = audit_log(&admin).await;
    assert!(log.contains("push_cap_per_window: 5 → 2") && log.contains("push_number_digits: 3 → 5"), "{log}");
}

#[tokio::test]
async fn phone_budgets_and_countries_from_the_console_apply_at_once() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    let r = save_policy(&admin, &[("phone_budget_per_number", "1"), ("allowed_countries", "ch, CA")], &[]).await;
    assert_eq!(location(&r), "/admin/policies?saved=1");
    let sent = app.texted_codes(&number).await.len();
    let r = app.post_form("/prompt/text", &[("device", &device)]).await;
    assert_eq!(r.status(), 429, "the enrolment text spent the console's budget of one");
    assert_eq!(app.texted_codes(&number).await.len(), sent);

    save_policy(&admin, &[("allowed_countries", "CH")], &[]).await;
    let bob = app.other_browser();
    bob.add_user("bob").await;
    bob.login("bob", PASSWORD).await;
    bob.post_form("/enroll/start", &[]).await;
    assert_eq!(location(&bob.post_form("/enroll/device-type", &[("kind", "mobile")]).await), "/enroll/phone");
    let page = bob.get_html("/enroll/phone").await;
    assert!(page.contains("Switzerland") && !page.contains("Canada"), "{page}");
    let r = bob.post_form("/enroll/phone", &[("country", "CA"), ("number", "+1 204 555 0142")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Numbers in Canada cannot be used here"));
    let log = audit_log(&admin).await;
    assert!(log.contains("phone_budget_per_number: 6 → 1") && log.contains("allowed_countries: CH,CA → CH"), "{log}");
}

#[tokio::test]
async fn bad_values_are_refused_with_a_specific_message_and_nothing_is_saved() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let unticked: Vec<String> =
        twofold::domain::policy::Method::ALL.iter().map(|m| format!("method:{}", m.as_str())).collect();
    let unticked: Vec<&str> = unticked.iter().map(String::as_str).collect();
    let set = [("allowed_countries", "CH, XX"), ("push_number_digits", "9"), ("phone_budget_global", "0")];
    let r = save_policy(&admin, &set, &unticked).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    for message in [
        "Allowed phone countries: \"XX\" is not a two-letter ISO 3166 country code such as CH.",
        "Number-matching digits: must be from 2 to 6.",
        "Texts and calls in all per hour: must be from 1 to 1000000.",
        "Allowed methods (everyone): Allow at least one method.",
    ] {
        assert!(page.contains(&message.replace('"', "&#34;")) || page.contains(message), "{message}: {page}");
    }
    assert!(twofold::store::policies::all(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_disallowed_method_is_neither_offered_nor_accepted_at_the_prompt() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    assert!(app.get_html("/prompt").await.contains("Text Me"));
    save_policy(&admin, &[], &["method:sms"]).await;
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("Call Me") && !prompt.contains("Text Me"), "{prompt}");
    let sent = app.texted_codes(&number).await.len();
    let r = app.post_form("/prompt/text", &[("device", &device)]).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Text messages cannot be used to sign in to your account."));
    assert_eq!(app.texted_codes(&number).await.len(), sent, "nothing was texted");
    assert!(app.audit_events(&id).await.iter().any(|(e, o)| e == "mfa.method_refused" && o == "failure"));

    // An app passcode, correct but not allowed, is refused rather than accepted.
    let bob = app.other_browser();
    let bob_id = bob.add_user("bob").await.id;
    bob.login("bob", PASSWORD).await;
    let seed = bob.enroll_phone().await;
    bob.post_form("/logout", &[]).await;
    bob.login("bob", PASSWORD).await;
    save_policy(&admin, &[("method:sms", "on")], &["method:totp", "method:push", "method:hardware_token"]).await;
    let code = seed.code_at(crate::helpers::now() as u64);
    let r = bob.post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Passcodes from an authenticator app cannot be used"));
    let events = app.audit_events(&bob_id).await;
    assert!(!events.iter().any(|(e, o)| e == "mfa.passcode" && o == "success"), "{events:?}");
}

#[tokio::test]
async fn a_group_override_replaces_the_global_default_for_its_members_only() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let ada = app.add_user("ada").await;
    app.add_user("bob").await;
    app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{}', 'staff')", ada.id)).await;
    let others: Vec<String> = twofold::domain::policy::Method::ALL
        .iter()
        .filter(|m| m.as_str() != "totp")
        .map(|m| format!("group_method:staff:{}", m.as_str()))
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let r = save_policy(&admin, &[("override:staff", "on"), ("group_method:staff:totp", "on")], &others).await;
    assert_eq!(location(&r), "/admin/policies?saved=1");
    assert!(audit_log(&admin).await.contains("allowed_methods:group:staff: (global default) → totp"));

    let ada_b = app.other_browser();
    ada_b.login("ada", PASSWORD).await;
    let page = kinds(&ada_b).await;
    assert!(page.contains("Tablet") && !page.contains("Landline") && !page.contains("Hardware token"), "{page}");
    let r = ada_b.post_form("/enroll/device-type", &[("kind", "landline")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("A landline cannot be used for your account."));
    let bob_b = app.other_browser();
    bob_b.login("bob", PASSWORD).await;
    assert!(kinds(&bob_b).await.contains("Landline"), "bob has no group: the global default");

    // Back to the global default: ada is offered a landline again at once.
    save_policy(&admin, &[], &["override:staff"]).await;
    assert!(ada_b.get_html("/enroll/device-type").await.contains("Landline"));
    assert!(audit_log(&admin).await.contains("allowed_methods:group:staff: totp → (global default)"));
}

#[tokio::test]
async fn help_desk_temporary_passcodes_work_whatever_methods_are_allowed() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let ada = app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let push_only = ["method:totp", "method:sms", "method:phone_call", "method:security_key", "method:hardware_token"];
    let mut unset = push_only.to_vec();
    unset.push("method:backup_codes");
    assert_eq!(location(&save_policy(&admin, &[], &unset).await), "/admin/policies?saved=1");
    let fields = [("reason", "Lost phone, ID checked"), ("uses", "1"), ("hours", "1")];
    let r = admin.post_form(&format!("/admin/users/{}/passcode", ada.id), &fields).await;
    let code = element_text(&r.text().await.unwrap(), "temporary-passcode").replace(' ', "");
    let r = app.post_form("/prompt/passcode", &[("passcode", &code)]).await;
    assert_eq!(location(&r), "/enroll/device-type", "recovery is never blocked by the policy");
    let page = app.get_html("/enroll/device-type").await;
    assert!(page.contains("Mobile phone") && page.contains("Tablet"), "{page}");
    assert!(!page.contains("Landline") && !page.contains("Hardware token"), "only push devices: {page}");
}

//! What users are told about the help desk (issue 20): messages name the configured help desk
//! (`institution.help_desk`), the wizard says why it opened after a temporary passcode, and
//! "Disable device" asks for confirmation on a page (no JavaScript needed).

use crate::helpers::{PASSWORD, TestApp, element_text, location, spawn_app, spawn_app_with};

const DESK: &str = "the IT Service Desk (204-555-0100)";

async fn desk_member(app: &TestApp, username: &str) -> TestApp {
    let browser = app.other_browser();
    let (user, _) = browser.signed_in_user(username).await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", user.id)).await;
    browser
}

#[tokio::test]
async fn after_a_temporary_passcode_the_wizard_says_why_and_names_the_help_desk() {
    let app = spawn_app_with(|s| s.institution.help_desk = DESK.into()).await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = desk_member(&app, "grace").await;
    let r = desk
        .post_form(
            &format!("/admin/users/{}/passcode", ada.id),
            &[("reason", "lost phone"), ("uses", "1"), ("hours", "1")],
        )
        .await;
    let code = element_text(&r.text().await.unwrap(), "temporary-passcode").replace(' ', "");
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/enroll/device-type");
    let page = app.get_html("/enroll/device-type").await;
    assert!(
        page.contains("You signed in with a one-time passcode (a temporary passcode from the IT Service Desk (204-555-0100), or a recovery passcode)."),
        "{page}"
    );

    // A wizard opened by "Start setup" says nothing of the kind.
    let bob = app.other_browser();
    bob.add_user("bob").await;
    bob.login("bob", PASSWORD).await;
    bob.post_form("/enroll/start", &[]).await;
    assert!(!bob.get_html("/enroll/device-type").await.contains("one-time passcode"));
}

#[tokio::test]
async fn contact_messages_name_the_configured_help_desk() {
    let app = spawn_app_with(|s| s.institution.help_desk = DESK.into()).await;
    let r = app.get("/invite/not-a-real-invitation-token-0123456789abcdef").await;
    assert_eq!(r.status(), 404);
    let page = r.text().await.unwrap();
    assert!(page.contains("Ask the IT Service Desk (204-555-0100) for a new one"), "{page}");

    // A mobile number taken by another account.
    let ada = app.other_browser();
    ada.add_user("ada").await;
    ada.login("ada", PASSWORD).await;
    ada.enroll_phone().await;
    let number =
        twofold::store::phone_devices::for_user(&app.db, &app.keys, &crate::helpers::user_id(&app, "ada").await)
            .await
            .unwrap()
            .remove(0)
            .phone;
    app.add_user("bob").await;
    app.login("bob", PASSWORD).await;
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    let r = app.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
    let page = r.text().await.unwrap();
    assert!(page.contains("or contact the IT Service Desk (204-555-0100) if it is yours."), "{page}");
}

#[tokio::test]
async fn disable_device_asks_first_and_cancel_changes_nothing() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = desk_member(&app, "grace").await;
    let device = twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap().remove(0);
    let user_page = desk.get_html(&format!("/admin/users/{}", ada.id)).await;
    assert!(
        user_page.contains(&format!(
            "<form method=\"get\" action=\"/admin/users/{}/devices/{}/disable\"",
            ada.id, device.id
        ))
    );

    let confirm = format!("/admin/users/{}/devices/{}/disable?reason=reported+lost", ada.id, device.id);
    let page = desk.get_html(&confirm).await;
    assert!(page.contains("<h1>Disable My iPhone?</h1>"), "{page}");
    assert!(page.contains("reported lost") && page.contains(">Cancel</a>"), "{page}");
    assert_eq!(
        twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap().len(),
        1,
        "asking changes nothing"
    );
    let empty = desk.get(&format!("/admin/users/{}/devices/{}/disable?reason=+", ada.id, device.id)).await;
    assert_eq!(empty.status(), 422, "a reason is needed before the question");

    let r = desk
        .post_form(&format!("/admin/users/{}/devices/{}/disable", ada.id, device.id), &[("reason", "reported lost")])
        .await;
    assert_eq!(location(&r), format!("/admin/users/{}", ada.id));
    assert!(twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap().is_empty());
}

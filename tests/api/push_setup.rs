//! Setting up and choosing push: "Email me an activation link instead", "Automatically send this
//! device a Push" (in the wizard, at the prompt and in "Device Options").

use twofold::channels::mail::Mailer;

use crate::helpers::{PASSWORD, TestApp, location, spawn_app};
use crate::push::{activate, answer, enroll_app, send_push, token_in};

async fn start_twofold_wizard(app: &TestApp) {
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    app.verify_mobile_number().await;
    app.post_form("/enroll/platform", &[("platform", "iphone")]).await;
    assert_eq!(location(&app.post_form("/enroll/install", &[("app", "twofold")]).await), "/enroll/activate");
}

#[tokio::test]
async fn email_me_an_activation_link_instead_mails_the_same_single_use_link() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    start_twofold_wizard(&app).await;
    let on_page = token_in(&app.get_html("/enroll/activate").await);
    let bad = app.post_form("/enroll/activate/email", &[("email", "not an address")]).await;
    assert_eq!(bad.status().as_u16(), 422);
    let sent = app.post_form("/enroll/activate/email", &[("email", "ada.phone@example.edu")]).await;
    assert!(sent.text().await.unwrap().contains("We sent the activation link to"));
    let keys = app.keys.clone();
    let mail = twofold::store::outbox::for_recipient(&app.db, "ada.phone@example.edu").await.unwrap();
    assert_eq!(mail.len(), 1);
    let body = Mailer::open_body(&keys, &mail[0].body).unwrap();
    assert_eq!(token_in(&body), on_page);
    assert_eq!(activate(&app, &on_page).await.0, 200);
    assert_eq!(location(&app.get("/enroll/activate").await), "/enroll/options");
}

#[tokio::test]
async fn automatically_send_this_device_a_push_starts_it_on_arrival_but_not_after_a_denial() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let phone = enroll_app(&app, "push").await;
    let prompt = app.get_html("/prompt").await;
    assert!(prompt.contains("id=\"auto-push\""), "the prompt starts the push by itself");
    assert!(prompt.contains("/static/push.js"));
    assert_eq!(app.get("/static/push.js").await.status().as_u16(), 200);
    let (id, _) = send_push(&app).await;
    assert_eq!(answer(&app, &phone, &id, "deny", "").await.0, 200);
    let after = app.get_html(&format!("/prompt/push/{id}")).await;
    assert!(after.contains("The push was denied"));
    assert!(!app.get_html("/prompt").await.contains("id=\"auto-push\""), "no new push by itself after a denial");
}

#[tokio::test]
async fn device_options_offer_push_only_for_the_twofold_authenticator() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let phone = enroll_app(&app, "ask").await;
    let (id, number) = send_push(&app).await;
    answer(&app, &phone, &id, "approve", &number).await;
    assert_eq!(location(&app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await), "/prompt/trust");
    let options = app.get_html(&format!("/settings/devices/{}", phone.device_id)).await;
    assert!(options.contains("Automatically send this device a Push"));

    let other = spawn_app().await;
    let (_, _) = other.signed_in_user("bob").await;
    let settings = other.get_html("/settings").await;
    assert!(!settings.contains("Reactivate"), "a passcode-only app has nothing to reactivate");
    let devices =
        twofold::store::devices::list_for_user(&other.db, &crate::helpers::user_id(&other, "bob").await).await.unwrap();
    let options = other.get_html(&format!("/settings/devices/{}", devices[0].id)).await;
    assert!(!options.contains("Automatically send this device a Push"));
}

#[tokio::test]
async fn going_back_and_choosing_another_app_stops_the_activation_link() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    start_twofold_wizard(&app).await;
    let token = token_in(&app.get_html("/enroll/activate").await);
    assert_eq!(location(&app.post_form("/enroll/back", &[]).await), "/enroll/install");
    assert_eq!(location(&app.post_form("/enroll/install", &[("app", "other")]).await), "/enroll/activate");
    assert!(app.get_html("/enroll/activate").await.contains("otpauth://totp/"));
    assert_eq!(activate(&app, &token).await.0, 410, "the earlier link no longer works");
}

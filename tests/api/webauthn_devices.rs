//! Security keys as devices: rename and removal in My Settings & Devices, "Confirm it's you" with
//! a key, one key per account, and a ceremony bound to the session that started it.

use crate::helpers::{PASSWORD, location};
use crate::soft_key::SoftKey;
use crate::webauthn::{
    at_prompt, key_app, options, origin, start_key_wizard, submit_assertion, submit_registration, user_with_key,
};

#[tokio::test]
async fn a_key_is_renamed_and_removed_in_my_settings_and_then_no_longer_signs_in() {
    let app = key_app().await;
    let mut first = SoftKey::new(&origin(&app), 1);
    let user_id = user_with_key(&app, "ada", &mut first).await;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &first.assert(&opts)).await), "/prompt/trust");

    // A second key, added while signed in.
    let mut second = SoftKey::new(&origin(&app), 2);
    let opts = start_key_wizard(&b).await;
    assert_eq!(location(&submit_registration(&b, &second.register(&opts)).await), "/enroll/options");
    let page = b.get_html("/enroll/options").await;
    assert!(page.contains("Step 3 of 3") && !page.contains("passcode from this device"), "{page}");
    b.post_form("/enroll/options", &[("name", "Spare key"), ("login_action", "ask")]).await;

    let keys = twofold::store::webauthn::list_for_user(&app.db, &user_id).await.unwrap();
    assert_eq!(keys.len(), 2);
    let first_device = keys.iter().find(|k| k.credential_id == first.id_text()).unwrap().device_id.clone();
    let options_page = b.get_html(&format!("/settings/devices/{first_device}")).await;
    assert!(!options_page.contains("passcode from this device"), "a key offers no passcode");
    let response = b
        .post_form(&format!("/settings/devices/{first_device}"), &[("name", "Blue YubiKey"), ("login_action", "ask")])
        .await;
    assert_eq!(location(&response), "/settings");
    assert!(b.get_html("/settings").await.contains("Blue YubiKey"));
    let response = b.post_form(&format!("/settings/devices/{first_device}/remove"), &[]).await;
    assert_eq!(location(&response), "/settings");

    let c = at_prompt(&app, "ada").await;
    let opts = options(&c, "/prompt/security-key/options").await;
    assert_eq!(opts["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1, "only the spare key");
    let response = submit_assertion(&c, &first.assert(&opts)).await;
    assert!(response.text().await.unwrap().contains("not registered to your account"));
    let opts = options(&c, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&c, &second.assert(&opts)).await), "/prompt/trust");

    // The removed key can be added again.
    let opts = start_key_wizard(&c).await;
    assert_eq!(location(&submit_registration(&c, &first.register(&opts)).await), "/enroll/options");
}

#[tokio::test]
async fn a_key_confirms_it_is_you_before_settings_when_the_second_factor_is_old() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    user_with_key(&app, "ada", &mut key).await;
    let b = at_prompt(&app, "ada").await;
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/prompt/trust");
    b.edit_sessions(|s| {
        if s.contains_key("mfa_at") {
            s.insert("mfa_at".into(), (crate::helpers::now() - 3600).to_string());
        }
    })
    .await;
    assert_eq!(location(&b.get("/settings").await), "/prompt");
    let page = b.get_html("/prompt").await;
    assert!(page.contains("Confirm it") && page.contains("Use a security key"));
    assert!(!page.contains("id=\"passcode\""), "no passcode form for a user with only a key");
    let opts = options(&b, "/prompt/security-key/options").await;
    assert_eq!(location(&submit_assertion(&b, &key.assert(&opts)).await), "/settings", "back to where Ada was going");
}

#[tokio::test]
async fn a_key_registered_to_another_account_cannot_be_registered_again() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    user_with_key(&app, "ada", &mut key).await;
    let bob = app.other_browser();
    bob.add_user("bob").await;
    bob.login("bob", PASSWORD).await;
    let opts = start_key_wizard(&bob).await;
    let response = submit_registration(&bob, &key.register(&opts)).await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.table_text("webauthn_credentials", &["user_id"]).await.lines().count(), 1);
}

#[tokio::test]
async fn a_ceremony_is_finished_only_by_the_session_that_started_it() {
    let app = key_app().await;
    let mut key = SoftKey::new(&origin(&app), 1);
    user_with_key(&app, "ada", &mut key).await;
    let mine = at_prompt(&app, "ada").await;
    let other = at_prompt(&app, "ada").await;
    let opts = options(&mine, "/prompt/security-key/options").await;
    let answer = key.assert(&opts);
    assert_eq!(submit_assertion(&other, &answer).await.status(), 422, "another session (same password) is refused");
    assert_eq!(location(&submit_assertion(&mine, &answer).await), "/prompt/trust", "and took nothing from this one");
}

//! "Last used" on My Settings & Devices follows sign-ins by push, call and text (issue 20), not
//! only app passcodes: the device that approved, answered or was texted is the one marked.

use crate::helpers::{TestApp, location, spawn_app};
use crate::phones::{admin, fresh_codes, mobile_only_user, ringing_call};
use crate::push::{answer, send_push, user_with_app};

async fn last_used(app: &TestApp, device_id: &str) -> String {
    let rows = app.table_text("devices", &["id", "CAST(last_used_at AS TEXT)"]).await;
    rows.lines().find(|l| l.starts_with(device_id)).unwrap_or_default().trim_start_matches(device_id).trim().to_string()
}

#[tokio::test]
async fn a_push_approved_marks_the_device_that_approved_it() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    app.sql(&format!("UPDATE devices SET last_used_at = NULL WHERE id = '{}'", phone.device_id)).await;
    let (id, number) = send_push(&app).await;
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 200);
    assert_eq!(last_used(&app, &phone.device_id).await, "", "an approval alone signs no one in yet");
    assert_eq!(location(&app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await), "/prompt/trust");
    assert!(!last_used(&app, &phone.device_id).await.is_empty(), "used by the sign-in");
    let settings = app.get_html("/settings").await;
    assert!(!settings.contains("Last used: Never"), "{settings}");
}

#[tokio::test]
async fn a_call_answered_and_a_texted_code_mark_the_phone() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let (id, number) = mobile_only_user(&app, "ada", "ask").await;
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;
    app.sql(&format!("UPDATE devices SET last_used_at = NULL WHERE id = '{device}'")).await;
    assert_eq!(location(&app.post_form("/prompt/call", &[("device", &device)]).await), "/prompt/call");
    let call = ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "5")]).await;
    app.post_form("/prompt/call/continue", &[]).await;
    assert!(!last_used(&app, &device).await.is_empty(), "the phone that answered");

    let ada = app.other_browser();
    ada.login("ada", crate::helpers::PASSWORD).await;
    app.sql(&format!("UPDATE devices SET last_used_at = NULL WHERE id = '{device}'")).await;
    let earlier = app.texted_codes(&number).await;
    ada.post_form("/prompt/text", &[("device", &device)]).await;
    let code = fresh_codes(&app, &number, &earlier).await.remove(0);
    assert_eq!(location(&ada.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    assert!(!last_used(&app, &device).await.is_empty(), "the phone the code was texted to");
}

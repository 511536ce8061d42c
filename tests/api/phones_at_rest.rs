//! Phone numbers at rest (issue 16): sealed in every table that holds one, found by keyed hash
//! for the look-ups that need equality, and numbers an older version stored in clear are sealed
//! at start-up.

use crate::helpers::{TestApp, now, spawn_app};
use crate::phones::admin;
use twofold::store::{phone_devices, phone_numbers};

/// Every column that holds a number, as text (raw SQL, as a stolen database would show it).
async fn stored_numbers(app: &TestApp) -> String {
    let mut all = String::new();
    for (table, column) in [
        ("devices", "phone"),
        ("devices", "phone_hash"),
        ("enrollments", "phone"),
        ("phone_calls", "to_number"),
        ("phone_texts", "to_number"),
        ("phone_sends", "to_number"),
        ("audit_log", "detail"),
    ] {
        all.push_str(&app.table_text(table, &[column]).await);
        all.push('\n');
    }
    all
}

#[tokio::test]
async fn a_stolen_database_shows_no_phone_number_yet_the_console_finds_it() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let e164 = phone_devices::for_user(&app.db, &app.keys, &user.id).await.unwrap().remove(0).phone;
    let national = &e164[2..];
    let stored = stored_numbers(&app).await;
    assert!(!stored.contains(national), "no table holds {e164} in clear:\n{stored}");
    assert!(!app.table_text("phone_sends", &["to_number"]).await.is_empty(), "the text budget counted the send");

    // The owner and the prompt still see it: opened with the data key.
    let shown = twofold::domain::PhoneNumber::from_e164(&e164).unwrap().international().to_string();
    let settings = app.get_html("/settings").await;
    assert!(settings.contains(&shown), "the owner sees {shown}: {settings}");

    // The help desk searches by the number, typed as people type it.
    let desk = admin(&app).await;
    let typed = format!("({}) {}-{}", &national[..3], &national[3..6], &national[6..]);
    let found = desk.get_html(&format!("/admin/users?q={}", urlencoding(&typed))).await;
    assert!(found.contains(">ada</a>"), "search by number finds the owner: {found}");

    // "Already registered to another account" still compares numbers, by keyed hash.
    assert!(phone_devices::mobile_taken_by_other(&app.db, &app.keys, &e164, "someone-else").await.unwrap());
    assert!(!phone_devices::mobile_taken_by_other(&app.db, &app.keys, &e164, &user.id).await.unwrap());
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn numbers_an_older_version_stored_in_clear_are_sealed_at_start_up() {
    let app = spawn_app().await;
    let user = app.add_user("ada").await;
    let t = now();
    app.sql(&format!(
        "INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, created_at, phone, is_default) \
         VALUES ('legacy-phone', '{}', 'landline', 'other', 'Office', 'ask', '', {t}, '+41332234567', 1)",
        user.id
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO phone_sends (id, user_id, to_number, prefix, kind, at) VALUES ('legacy-send', '{}', '+41332234567', '+41', 'text', {t})",
        user.id
    ))
    .await;
    assert!(stored_numbers(&app).await.contains("+41332234567"), "the older rows are in clear");
    // The app's own start marked this database done: later starts do not scan the tables again.
    assert_eq!(phone_numbers::seal_stored_once(&app.db, &app.keys).await.unwrap(), 0);

    assert_eq!(phone_numbers::seal_stored(&app.db, &app.keys).await.unwrap(), 2);
    assert!(!stored_numbers(&app).await.contains("332234567"), "sealed and hashed");
    let phones = phone_devices::for_user(&app.db, &app.keys, &user.id).await.unwrap();
    assert_eq!(phones[0].phone, "+41332234567", "opens to the same number");
    let holders = phone_devices::users_with_phone(&app.db, &app.keys, "+41332234567").await.unwrap();
    assert_eq!(holders, vec![user.id.clone()], "found by its keyed hash");
    assert_eq!(phone_numbers::seal_stored(&app.db, &app.keys).await.unwrap(), 0, "once only");
}

#[tokio::test]
async fn a_sealed_number_copied_to_another_account_does_not_open() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let bob = app.add_user("bob").await;
    let t = now();
    app.sql(&format!(
        "INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, created_at, phone, phone_hash, is_default) \
         SELECT 'copied', '{}', kind, platform, name, login_action, '', {t}, phone, phone_hash, 1 FROM devices WHERE user_id = '{}'",
        bob.id, ada.id
    ))
    .await;
    assert!(phone_devices::for_user(&app.db, &app.keys, &bob.id).await.is_err(), "bound to ada's account");
}

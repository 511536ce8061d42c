//! Hardware tokens in the console and on the command line: CSV import (preview, per-line
//! problems, duplicate serials, all or nothing), the inventory for administrators only, and the
//! help desk's assign / unassign / mark lost on a user's page.

use std::process::Command;

use reqwest::multipart::{Form, Part};
use twofold::factors::hotp::HotpSeed;

use crate::helpers::{PASSWORD, TestApp, csrf_in, fresh_database_url, location, now, spawn_app};

/// RFC 4226's secret in hex and base32.
pub const RFC_HEX: &str = "3132333435363738393031323334353637383930";
pub const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
pub const YUBI_KEY: &str = "000102030405060708090a0b0c0d0e0f";
pub const YUBI_UID: &str = "010203040506";

pub fn good_file() -> String {
    format!(
        "\u{feff}serial,type,secret,digits,period,counter,public_id,private_id,aes_key\r\n\
         HOTP-1,hotp,{RFC_HEX},6,,0,,,\r\n\
         TOTP-1,totp,{RFC_B32},8,60,,,,\r\n\
         \r\n\
         5123456,yubico,,,,,cccjgjgkhcbb,{YUBI_UID},{YUBI_KEY}\r\n"
    )
}

async fn staff(app: &TestApp, username: &str, role: &str) -> TestApp {
    let b = app.other_browser();
    let (user, _) = b.signed_in_user(username).await;
    app.sql(&format!("UPDATE users SET role = '{role}' WHERE id = '{}'", user.id)).await;
    b
}

async fn upload(admin: &TestApp, csv: &str) -> (u16, String) {
    let token = csrf_in(&admin.get_html("/admin/tokens").await);
    let form = Form::new()
        .text("csrf_token", token)
        .part("file", Part::bytes(csv.as_bytes().to_vec()).file_name("tokens.csv"));
    let r = admin.client.post(admin.url("/admin/tokens")).multipart(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn token_count(app: &TestApp) -> usize {
    twofold::store::tokens::taken_identifiers(&app.db).await.unwrap().len()
}

#[tokio::test]
async fn an_administrator_previews_then_imports_a_token_file_once_with_seeds_sealed() {
    let app = spawn_app().await;
    let admin = staff(&app, "grace", "admin").await;
    let (status, page) = upload(&admin, &good_file()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The file is valid: 3 tokens. Nothing has changed yet."), "{page}");
    assert!(page.contains("<td>5</td><td>5123456</td>"), "true line numbers after a blank line: {page}");
    assert_eq!(token_count(&app).await, 0, "a preview changes nothing");
    let commit = page.split("action=\"/admin/tokens/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let page = admin.post_form(&format!("/admin/tokens/{commit}"), &[]).await.text().await.unwrap();
    assert!(page.contains("Imported 3 tokens."), "{page}");
    assert!(page.contains("3 available"), "{page}");
    assert_eq!(token_count(&app).await, 3);
    assert_eq!(admin.post_form(&format!("/admin/tokens/{commit}"), &[]).await.status(), 404, "used once");
    let raw = app.table_text("hardware_tokens", &["serial", "secret", "public_id"]).await
        + &app.table_text("pending_token_imports", &["csv"]).await;
    for secret in [RFC_HEX, RFC_B32, YUBI_KEY, YUBI_UID, "12345678901234567890"] {
        assert!(!raw.to_lowercase().contains(&secret.to_lowercase()), "{secret} is sealed at rest");
    }
    let log = admin.get_html("/admin/audit?event=tokens.imported").await;
    assert!(log.contains("3 token(s) imported by grace"), "{log}");
}

#[tokio::test]
async fn malformed_lines_and_duplicate_serials_are_listed_by_line_and_nothing_is_imported() {
    let app = spawn_app().await;
    let admin = staff(&app, "grace", "admin").await;
    let bad = format!(
        "serial,type,secret,digits,period,counter\n\
         A1,hotp,{RFC_HEX},7,,\n\
         A2,hotp,{RFC_HEX},,,\n\
         a2,totp,{RFC_B32},,,\n\
         A3,hotp,not a secret!,,,\n\
         A4,totp,{RFC_HEX},,,\n"
    );
    let (status, page) = upload(&admin, &bad).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Line 2: digits must be 6 or 8."), "{page}");
    assert!(page.contains("Line 4: The serial A2 is already on line 3."), "{page}");
    assert!(page.contains("Line 5: The secret is neither hex nor base32."), "{page}");
    assert!(!page.contains("Line 6"), "{page}");
    assert_eq!(token_count(&app).await, 0);

    // Serials already in the inventory are reported on their own lines, and nothing else goes in.
    let (_, page) = upload(&admin, &good_file()).await;
    let commit = page.split("action=\"/admin/tokens/").nth(1).unwrap().split('"').next().unwrap().to_string();
    admin.post_form(&format!("/admin/tokens/{commit}"), &[]).await;
    let again = format!("serial,type,secret\nNEW-1,totp,{RFC_HEX}\nHOTP-1,hotp,{RFC_HEX}\n");
    let (status, page) = upload(&admin, &again).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Line 3: A token with serial HOTP-1 is already in the inventory."), "{page}");
    assert_eq!(token_count(&app).await, 3, "NEW-1 was not half-imported");
}

#[tokio::test]
async fn only_administrators_open_the_inventory_and_nobody_sees_a_seed() {
    let app = spawn_app().await;
    let admin = staff(&app, "grace", "admin").await;
    let desk = staff(&app, "hedy", "helpdesk").await;
    assert_eq!(desk.get("/admin/tokens").await.status(), 403);
    let (_, page) = upload(&admin, &good_file()).await;
    let commit = page.split("action=\"/admin/tokens/").nth(1).unwrap().split('"').next().unwrap().to_string();
    admin.post_form(&format!("/admin/tokens/{commit}"), &[]).await;
    let ada = app.add_user("ada").await;
    let r = desk.post_form(&format!("/admin/users/{}/tokens", ada.id), &[("serial", "hotp-1")]).await;
    assert_eq!(location(&r), format!("/admin/users/{}", ada.id));
    let inventory = admin.get_html("/admin/tokens").await;
    let user_page = desk.get_html(&format!("/admin/users/{}", ada.id)).await;
    assert!(user_page.contains("HOTP-1"), "{user_page}");
    for page in [inventory, user_page] {
        for secret in [RFC_HEX, RFC_B32, YUBI_KEY, YUBI_UID] {
            assert!(!page.to_lowercase().contains(&secret.to_lowercase()));
        }
    }
}

#[tokio::test]
async fn the_help_desk_assigns_unassigns_and_marks_a_token_lost() {
    let app = spawn_app().await;
    let admin = staff(&app, "grace", "admin").await;
    let (_, page) = upload(&admin, &good_file()).await;
    let commit = page.split("action=\"/admin/tokens/").nth(1).unwrap().split('"').next().unwrap().to_string();
    admin.post_form(&format!("/admin/tokens/{commit}"), &[]).await;
    let desk = staff(&app, "hedy", "helpdesk").await;
    let ada = app.add_user("ada").await;
    let user_path = format!("/admin/users/{}", ada.id);

    let r = desk.post_form(&format!("{user_path}/tokens"), &[("serial", "NOPE")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("No available token has the serial number NOPE."));
    desk.post_form(&format!("{user_path}/tokens"), &[("serial", "HOTP-1")]).await;
    let taken = desk.post_form(&format!("{user_path}/tokens"), &[("serial", "HOTP-1")]).await;
    assert_eq!(taken.status(), 422, "an assigned token cannot be assigned again");

    // Ada signs in with the token (counter 0 is its first code).
    let seed = HotpSeed::new(b"12345678901234567890", 6);
    let browser = app.other_browser();
    assert_eq!(location(&browser.login("ada", PASSWORD).await), "/prompt");
    let r = browser.post_form("/prompt/passcode", &[("passcode", &seed.code_at(0))]).await;
    assert_eq!(location(&r), "/prompt/trust");

    let token_id = twofold::store::tokens::by_serial(&app.db, "HOTP-1").await.unwrap().unwrap().id;
    let r = desk.post_form(&format!("{user_path}/tokens/{token_id}"), &[("action", "unassign")]).await;
    assert_eq!(location(&r), user_path);
    let row = twofold::store::tokens::by_serial(&app.db, "HOTP-1").await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.user_id.as_deref(), row.counter), ("available", None, 1), "counter kept");
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &ada.id).await.unwrap(), 0, "its device went with it");

    desk.post_form(&format!("{user_path}/tokens"), &[("serial", "HOTP-1")]).await;
    let r = desk.post_form(&format!("{user_path}/tokens/{token_id}"), &[("action", "lost")]).await;
    assert_eq!(location(&r), user_path);
    let later = app.other_browser();
    later.login("ada", PASSWORD).await;
    let r = later.post_form("/prompt/passcode", &[("passcode", &seed.code_at(1))]).await;
    assert_ne!(location(&r), "/prompt/trust", "a lost token never verifies");
    let page = desk.get_html(&user_path).await;
    assert!(page.contains("HOTP-1 <span class=\"badge\">lost</span>"), "{page}");
    let unlost = desk.post_form(&format!("{user_path}/tokens/{token_id}"), &[("action", "unassign")]).await;
    assert_eq!(unlost.status(), 404, "lost is for good: it does not go back to the inventory");
    let relost = desk.post_form(&format!("{user_path}/tokens"), &[("serial", "HOTP-1")]).await;
    assert_eq!(relost.status(), 422, "a lost token cannot be handed out again");
    let events: Vec<String> = app.audit_events(&ada.id).await.into_iter().map(|e| e.0).collect();
    for e in ["token.assigned", "token.unassigned", "token.lost", "mfa.token"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
}

fn cli(dir: &std::path::Path, url: &Option<String>, key: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
    cmd.args(args)
        .current_dir(dir)
        .env("TWOFOLD_DATA_DIR", dir.join("data"))
        .env("TWOFOLD_MASTER_KEY", key)
        .env("TWOFOLD_LOG", "warn")
        .env_remove("TWOFOLD_DATABASE_URL");
    if let Some(url) = url {
        cmd.env("TWOFOLD_DATABASE_URL", url);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn the_command_line_imports_tokens_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url().await;
    let key = twofold::secrets::MasterKey::generate().to_base64();
    let run = |args: &[&str]| cli(dir.path(), &url, &key, args);
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    std::fs::write(
        dir.path().join("bad.csv"),
        format!("serial,type,secret\nA,hotp,{RFC_HEX}\nB,hotp,xyz\nA,totp,{RFC_HEX}\n"),
    )
    .unwrap();
    let out = run(&["token", "import", "bad.csv"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("line 3: The secret"), "{}", text(&out));
    assert!(text(&out).contains("line 4: The serial A is already on line 2."), "{}", text(&out));

    std::fs::write(dir.path().join("good.csv"), good_file()).unwrap();
    let dry = run(&["token", "import", "good.csv", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("Would import 3 token(s). Nothing was changed."));
    let real = run(&["token", "import", "good.csv"]);
    assert!(real.status.success(), "{}", text(&real));
    assert!(text(&real).contains("Imported 3 token(s)."));
    let again = run(&["token", "import", "good.csv"]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("line 2: A token with serial HOTP-1 is already in the inventory."),
        "{}",
        text(&again)
    );
    assert!(text(&again).contains("line 5: A token with serial 5123456"), "{}", text(&again));
    let _ = now();
}

#[tokio::test]
async fn the_help_desk_resynchronises_an_hotp_token_with_two_consecutive_codes() {
    let app = spawn_app().await;
    let (db, keys) = twofold::app::open(&app.settings).await.unwrap();
    let rows = twofold::domain::token::parse_csv(&good_file()).unwrap();
    twofold::tokens::import(&db, &keys, &rows, "test", now()).await.unwrap();
    let desk = staff(&app, "hedy", "helpdesk").await;
    let ada = app.add_user("ada").await;
    let user_path = format!("/admin/users/{}", ada.id);
    desk.post_form(&format!("{user_path}/tokens"), &[("serial", "HOTP-1")]).await;
    let token_id = twofold::store::tokens::by_serial(&app.db, "HOTP-1").await.unwrap().unwrap().id;
    let seed = HotpSeed::new(b"12345678901234567890", 6);
    let path = format!("{user_path}/tokens/{token_id}");

    // The button was pressed 60 times in a drawer: code 60 is outside the prompt's window of 10.
    let b = app.other_browser();
    b.login("ada", PASSWORD).await;
    assert_eq!(b.post_form("/prompt/passcode", &[("passcode", &seed.code_at(60))]).await.status(), 422);
    let wrong = [("action", "resync"), ("passcode", &seed.code_at(61)), ("next_passcode", &seed.code_at(63))];
    let r = desk.post_form(&path, &wrong).await;
    assert_eq!(r.status(), 422, "not consecutive");
    assert!(r.text().await.unwrap().contains("Those passcodes do not resynchronise token HOTP-1."));
    let right = [("action", "resync"), ("passcode", &seed.code_at(61)), ("next_passcode", &seed.code_at(62))];
    assert_eq!(location(&desk.post_form(&path, &right).await), user_path);
    assert_eq!(twofold::store::tokens::by_id(&app.db, &token_id).await.unwrap().unwrap().counter, 63);
    assert_eq!(desk.post_form(&path, &right).await.status(), 422, "the same codes cannot move it again");
    let r = b.post_form("/prompt/passcode", &[("passcode", &seed.code_at(63))]).await;
    assert_eq!(location(&r), "/prompt/trust");
    let events: Vec<String> = app.audit_events(&ada.id).await.into_iter().map(|e| e.0).collect();
    assert!(events.iter().any(|e| e == "token.resynchronised"), "{events:?}");
}

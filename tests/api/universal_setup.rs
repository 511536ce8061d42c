//! Setting up web applications for the Universal Prompt (redirect URIs from the command line and
//! the console), and a user without a device who enrols inside the prompt and goes back.

use std::process::Command;

use serde_json::json;

use crate::helpers::{element_text, fresh_database_url, location, now, spawn_app};
use crate::universal::{REDIRECT, add_web_app};

#[tokio::test]
async fn the_command_line_registers_redirect_uris_for_web_applications() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url().await;
    let key = twofold::secrets::MasterKey::generate().to_base64();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
        cmd.args(args)
            .current_dir(dir.path())
            .env("TWOFOLD_DATA_DIR", dir.path().join("data"))
            .env("TWOFOLD_MASTER_KEY", &key)
            .env("TWOFOLD_LOG", "warn")
            .env_remove("TWOFOLD_DATABASE_URL");
        if let Some(url) = &database_url {
            cmd.env("TWOFOLD_DATABASE_URL", url);
        }
        cmd.output().unwrap()
    };
    let refused = run(&["app", "add", "Wiki", "--kind", "web"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--redirect-uri"));
    let refused = run(&["app", "add", "Wiki", "--kind", "web", "--redirect-uri", "http://wiki.example.edu/cb"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("use https"), "plain http only on loopback");

    let added = run(&["app", "add", "Wiki", "--kind", "web", "--redirect-uri", "https://wiki.example.edu/duo"]);
    let out = String::from_utf8_lossy(&added.stdout).to_string();
    assert!(added.status.success(), "{out}{}", String::from_utf8_lossy(&added.stderr));
    let ikey = out.lines().find_map(|l| l.strip_prefix("Integration key: ")).unwrap().to_string();
    let changed = run(&["app", "redirect-uris", &ikey, "https://wiki.example.edu/a", "https://wiki.example.edu/b"]);
    assert!(changed.status.success());
    assert!(String::from_utf8_lossy(&changed.stdout).contains("https://wiki.example.edu/a https://wiki.example.edu/b"));
}

#[tokio::test]
async fn administrators_give_web_applications_their_redirect_uris_in_the_console() {
    let app = spawn_app().await;
    let (grace, _) = app.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    let r = app.post_form("/admin/applications", &[("name", "Wiki"), ("kind", "web"), ("redirect_uris", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("needs at least one redirect URI"));
    let r = app
        .post_form("/admin/applications", &[("name", "Wiki"), ("kind", "web"), ("redirect_uris", "ftp://x.example/cb")])
        .await;
    assert_eq!(r.status(), 422);
    let typed = "https://wiki.example.edu/duo\r\n\r\nhttps://wiki.example.edu/other\r\n";
    let page =
        app.post_form("/admin/applications", &[("name", "Wiki"), ("kind", "web"), ("redirect_uris", typed)]).await;
    let page = page.text().await.unwrap();
    let ikey = element_text(&page, "integration-key");
    let application = twofold::store::applications::by_integration_key(&app.db, &ikey).await.unwrap().unwrap();
    let uris = twofold::store::applications::redirect_uris(&app.db, &application.id).await.unwrap();
    assert_eq!(uris, ["https://wiki.example.edu/duo", "https://wiki.example.edu/other"]);
    let listed = app.get_html("/admin/applications").await;
    assert!(listed.contains("https://wiki.example.edu/other"));

    let path = format!("/admin/applications/{ikey}/redirect-uris");
    let r = app.post_form(&path, &[("redirect_uris", "https://wiki.example.edu/new")]).await;
    assert_eq!(location(&r), "/admin/applications");
    let uris = twofold::store::applications::redirect_uris(&app.db, &application.id).await.unwrap();
    assert_eq!(uris, ["https://wiki.example.edu/new"]);
    assert_eq!(app.post_form(&path, &[("redirect_uris", "")]).await.status(), 422, "never none");
}

/// Never enrolled: the prompt offers "Start setup", the wizard runs inside the application's
/// flow, and the first passcode afterwards sends the user back to the application.
#[tokio::test]
async fn a_user_without_a_device_enrols_inside_the_prompt_and_returns_to_the_application() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    app.add_user("newbie").await;
    let request = crate::universal::hs512(
        &json!({
            "scope": "openid", "redirect_uri": REDIRECT, "client_id": web.ikey, "iss": web.ikey,
            "aud": app.address, "exp": now() + 300, "state": "s".repeat(40), "response_type": "code",
            "duo_uname": "newbie", "use_duo_code_attribute": false,
        }),
        &web.skey,
    );
    let browser = app.other_browser();
    let r =
        browser.get(&format!("/oauth/v1/authorize?response_type=code&client_id={}&request={request}", web.ikey)).await;
    assert_eq!(location(&r), "/prompt");
    assert!(browser.get_html("/prompt").await.contains("Start setup"));
    let seed = browser.enroll_phone().await;
    assert_eq!(browser.get("/settings").await.status(), 303, "enrolling does not open the portal");
    let r = browser.post_form("/prompt/passcode", &[("passcode", &seed.code_at(now() as u64 + 30))]).await;
    let r = browser.get(&location(&r)).await;
    let refresh = r.headers()["refresh"].to_str().unwrap().to_string();
    assert!(refresh.starts_with(&format!("0; url={REDIRECT}?code=")), "plain `code` when asked: {refresh}");
}

/// Even if some factor's code upgraded the session, a session begun by an application never
/// counts as signed in to the portal.
#[tokio::test]
async fn a_session_begun_by_an_application_never_reaches_the_portal() {
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[REDIRECT]).await;
    app.add_user("ada").await;
    let request = crate::universal::hs512(
        &json!({
            "scope": "openid", "redirect_uri": REDIRECT, "client_id": web.ikey, "iss": web.ikey,
            "aud": app.address, "exp": now() + 300, "state": "s".repeat(40), "response_type": "code",
            "duo_uname": "ada",
        }),
        &web.skey,
    );
    let browser = app.other_browser();
    let r =
        browser.get(&format!("/oauth/v1/authorize?response_type=code&client_id={}&request={request}", web.ikey)).await;
    assert_eq!(location(&r), "/prompt");
    app.edit_sessions(|m| {
        m.insert("level".into(), "\"full\"".into());
        m.insert("mfa_at".into(), now().to_string());
    })
    .await;
    assert_eq!(browser.get("/settings").await.status(), 303);
    assert_eq!(browser.get("/prompt/trust").await.status(), 303);
}

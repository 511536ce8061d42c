//! First run: the one-time link creates the first administrator, once.

use crate::helpers::{csrf_in, spawn_app};

fn path_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    url.path().to_string()
}

#[tokio::test]
async fn a_fresh_install_prints_a_setup_link_that_works_once() {
    let app = spawn_app().await;
    let link = app.setup_link.clone().expect("no administrator yet, so a link");
    assert!(link.starts_with(&format!("{}/setup/", app.address)), "{link}");
    let path = path_of(&link);
    let page = app.get_html(&path).await;
    assert!(page.contains("Create the first administrator"));
    let token = csrf_in(&page);
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", "root.admin"),
        ("display_name", "Grace Hopper"),
        ("email", "grace@example.edu"),
        ("password", "a long admin passphrase"),
        ("confirm", "a long admin passphrase"),
    ];
    let response = app.post_raw(&path, &fields).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Administrator created"));
    let again = app.post_raw(&path, &fields).await;
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("already been used or has expired"));
    assert_eq!(app.get(&path).await.status(), 404);
    let admin = twofold::store::users::by_username(&app.db, &twofold::domain::Username::parse("root.admin").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, "admin");
    assert!(twofold::store::users::admin_exists(&app.db).await.unwrap());
    assert_eq!(crate::helpers::location(&app.login("root.admin", "a long admin passphrase").await), "/prompt");
}

#[tokio::test]
async fn a_wrong_setup_link_is_refused() {
    let app = spawn_app().await;
    let response = app.get("/setup/not-the-token").await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn setup_explains_what_is_wrong_with_the_form() {
    let app = spawn_app().await;
    let path = path_of(app.setup_link.as_deref().unwrap());
    let token = csrf_in(&app.get_html(&path).await);
    let base = [
        ("csrf_token", token.as_str()),
        ("username", "grace"),
        ("display_name", "Grace"),
        ("email", "grace@example.edu"),
    ];
    let mismatch = app
        .post_raw(&path, &[&base[..], &[("password", "first passphrase"), ("confirm", "other passphrase")]].concat())
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("not the same"));
    let short = app.post_raw(&path, &[&base[..], &[("password", "short"), ("confirm", "short")]].concat()).await;
    assert!(short.text().await.unwrap().contains("at least 8 characters"));
    // The link is still usable after refused attempts.
    assert_eq!(app.get(&path).await.status(), 200);
}

#[tokio::test]
async fn a_link_expires_after_24_hours() {
    let app = spawn_app().await;
    let path = path_of(app.setup_link.as_deref().unwrap());
    app.sql(&format!("UPDATE setup_tokens SET expires_at = {}", crate::helpers::now() - 1)).await;
    assert_eq!(app.get(&path).await.status(), 404);
}

#[tokio::test]
async fn no_link_is_issued_once_an_administrator_exists() {
    let app = spawn_app().await;
    let admin = app.add_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", admin.id)).await;
    let again = twofold::app::Application::build(app.settings.clone()).await.unwrap();
    assert!(again.setup_link().is_none());
}

#[tokio::test]
async fn the_link_dies_as_soon_as_an_administrator_exists_another_way() {
    let app = spawn_app().await;
    let path = path_of(&app.setup_link.clone().expect("a link"));
    let token = csrf_in(&app.get_html(&path).await);
    // Meanwhile someone made an administrator on the command line (`twofold admin grant`).
    let grace = app.add_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    assert_eq!(app.get(&path).await.status(), 404, "the form is gone");
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", "intruder"),
        ("display_name", "Not an admin"),
        ("email", "x@example.edu"),
        ("password", "a long admin passphrase"),
        ("confirm", "a long admin passphrase"),
    ];
    assert_eq!(app.post_raw(&path, &fields).await.status(), 404);
    let name = twofold::domain::Username::parse("intruder").unwrap();
    assert!(twofold::store::users::by_username(&app.db, &name).await.unwrap().is_none(), "no second administrator");
}

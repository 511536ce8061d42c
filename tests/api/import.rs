//! The console's "Import": a CSV upload, every problem with its line number, a preview that
//! changes nothing, then "Import" — all rows or none, once.

use reqwest::multipart::{Form, Part};

use crate::helpers::{TestApp, csrf_in, spawn_app};

async fn admin(app: &TestApp) -> TestApp {
    let b = app.other_browser();
    let (grace, _) = b.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    b
}

async fn upload(admin: &TestApp, csv: &str) -> (u16, String) {
    let token = csrf_in(&admin.get_html("/admin/import").await);
    let form = Form::new()
        .text("csrf_token", token)
        .part("file", Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv"));
    let r = admin.client.post(admin.url("/admin/import")).multipart(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn user_count(app: &TestApp) -> usize {
    twofold::store::users::list(&app.db).await.unwrap().len()
}

#[tokio::test]
async fn a_valid_file_is_previewed_then_imported_once() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let before = user_count(&app).await;
    let csv = "username,display_name,email,groups,date_of_birth,id_last4\nada,Ada,ada@example.edu,staff,1995-12-10,AB12\ngrace,Grace H.,grace@example.edu,,,\n";
    let (status, page) = upload(&admin, csv).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Importing will create 1 and update 1. Nothing has changed yet."), "{page}");
    assert_eq!(user_count(&app).await, before, "a dry run");
    let commit = page.split("action=\"/admin/import/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = admin.post_form(&format!("/admin/import/{commit}"), &[]).await;
    assert!(r.text().await.unwrap().contains("Imported: 1 user created and 1 updated."));
    assert_eq!(user_count(&app).await, before + 1);
    let again = admin.post_form(&format!("/admin/import/{commit}"), &[]).await;
    assert_eq!(again.status(), 404, "a held import is used once");
    let log = admin.get_html("/admin/audit?event=users.imported").await;
    assert!(log.contains("1 created, 1 updated"));
    assert!(!app.table_text("pending_imports", &["csv"]).await.contains("1995-12-10"), "held files are sealed");
}

#[tokio::test]
async fn every_problem_is_listed_by_line_and_nothing_is_imported() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let before = user_count(&app).await;
    let csv = "username,display_name,email\nada,Ada,not-an-email\nbob,,bob@example.edu\nada,Ada,ada@example.edu\n";
    let (status, page) = upload(&admin, csv).await;
    assert_eq!(status, 422);
    assert!(page.contains("Line 2: Enter an email address"), "{page}");
    assert!(page.contains("Line 3: Enter a name."), "{page}");
    assert_eq!(user_count(&app).await, before);
    let (status, page) = upload(&admin, "").await;
    assert_eq!(status, 422);
    assert!(page.contains("Choose a CSV file"));
}

#[tokio::test]
async fn only_administrators_import_and_only_with_a_token() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/admin/import").await.status(), 403);
    let admin = admin(&app).await;
    let form = Form::new()
        .part("file", Part::bytes(b"username,display_name,email\nx,X,x@example.edu\n".to_vec()).file_name("a.csv"));
    let r = admin.client.post(admin.url("/admin/import")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF token");
}

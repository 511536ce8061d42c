//! In a real browser: an administrator adds a SCIM connector, copies the address and the token,
//! and the identity provider's requests work with them; a user the provider created shows its
//! source on the console's user page.

use serde_json::json;

use crate::browser_helpdesk::staff_in_browser;
use crate::browser_steps::{
    Screenshots, click_button, click_link, csp_violations, expect_heading, expect_text, fill, find,
};
use crate::helpers::spawn_app;
use crate::webdriver::ChromeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_scim_connector_whose_token_then_provisions_a_user() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let shots = Screenshots::from_env();
    let admin = staff_in_browser(&driver, &app, "admin").await;
    let a = &admin;
    click_link(a, "SCIM").await;
    expect_heading(a, "SCIM connectors").await;
    expect_text(a, "No SCIM connectors yet.").await;
    fill(a, "Name", "Entra ID").await;
    click_button(a, "Add SCIM connector").await;
    expect_heading(a, "Token for Entra ID").await;
    let endpoint = a.text(&find(a, "//code[@id='scim-endpoint']").await).await.unwrap();
    let token = a.text(&find(a, "//code[@id='scim-token']").await).await.unwrap();
    assert_eq!(endpoint, app.url("/scim/v2"));
    assert!(token.starts_with("tfscim_"), "{token}");
    shots.take(a, "70-scim-token").await;

    let created = reqwest::Client::new()
        .post(format!("{endpoint}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"userName": "ada@example.edu", "displayName": "Ada Lovelace"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let ada: serde_json::Value = created.json().await.unwrap();

    click_link(a, "Done").await;
    expect_heading(a, "SCIM connectors").await;
    expect_text(a, "Entra ID").await;
    shots.take(a, "71-scim-connectors").await;
    a.goto(&app.url(&format!("/admin/users/{}", ada["id"].as_str().unwrap()))).await;
    expect_text(a, "The name, email and groups of this account come from its source (SCIM)").await;
    assert!(csp_violations(a).await.is_empty());
}

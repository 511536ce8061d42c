//! "Verify the caller" (issue 16): the help desk sends a verification push; approved on the
//! caller's app, the app shows a code the caller reads back and the console shows the agent the
//! same code. It never signs anyone in, and only its agent sees it.

use serde_json::json;

use crate::helpers::{TestApp, element_text, location, now, spawn_app};
use crate::phones::admin;
use crate::push::{Phone, answer, api, sign, user_with_app};

async fn help_desk(app: &TestApp) -> TestApp {
    let browser = app.other_browser();
    let (user, _) = browser.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", user.id)).await;
    browser
}

async fn pending(app: &TestApp, phone: &Phone) -> serde_json::Value {
    let ts = now();
    let signature = sign(&phone.key, &format!("twofold-push-pending\n{}\n{ts}", phone.device_id));
    let (status, body) = api(
        app,
        "/device/v1/pending",
        json!({ "device_id": phone.device_id, "timestamp": ts, "signature": signature }),
    )
    .await;
    assert_eq!(status, 200);
    body
}

/// Sends the verification push as `desk`; returns the request id.
async fn send(desk: &TestApp, user_id: &str) -> String {
    let r = desk.post_form(&format!("/admin/users/{user_id}/verify"), &[]).await;
    let to = location(&r);
    let prefix = format!("/admin/users/{user_id}/verify/");
    assert!(to.starts_with(&prefix), "{to}");
    to.trim_start_matches(&prefix).to_string()
}

#[tokio::test]
async fn an_approved_verification_push_shows_the_same_code_to_the_caller_and_the_agent_only() {
    let app = spawn_app().await;
    let (ada, phone) = user_with_app(&app, "ada").await;
    let desk = help_desk(&app).await;
    assert!(desk.get_html(&format!("/admin/users/{ada}/passcode")).await.contains("Send verification push"));
    let id = send(&desk, &ada).await;

    let waiting = desk.get_html(&format!("/admin/users/{ada}/verify/{id}")).await;
    assert!(waiting.contains("Ask the caller to approve it") && waiting.contains(r#"data-wait-state="pending""#));
    assert!(waiting.contains("/static/wait.js") && waiting.contains("Check again"));
    let listed = pending(&app, &phone).await;
    assert_eq!(listed["requests"][0]["id"], id.as_str());
    assert_eq!(listed["requests"][0]["purpose"], "verify");
    assert_eq!(listed["requests"][0]["number_matching"], false);
    // Nobody but the agent who sent it sees the request, even an administrator.
    let root = admin(&app).await;
    assert_eq!(root.get(&format!("/admin/users/{ada}/verify/{id}")).await.status(), 404);

    let (status, body) = answer(&app, &phone, &id, "approve", "").await;
    assert_eq!(status, 200, "{body}");
    let code = body["verification_code"].as_str().expect("the app gets a code to read back").to_string();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()), "{code}");
    let approved = desk.get_html(&format!("/admin/users/{ada}/verify/{id}")).await;
    assert_eq!(element_text(&approved, "verification-code"), format!("{} {}", &code[..3], &code[3..]));
    assert!(!approved.contains("http-equiv=\"refresh\""));
    assert!(
        !app.table_text("push_requests", &["verification_sealed", "number"]).await.contains(&code),
        "the code is sealed at rest"
    );

    // The approval signs no one in, not even the session at ada's prompt.
    let r = app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert_ne!(location(&r), "/prompt/trust");
    assert_eq!(location(&app.get("/settings").await), "/prompt");
    let events = app.audit_events(&ada).await;
    assert!(events.iter().any(|(e, _)| e == "helpdesk.verification_push_sent"), "{events:?}");
    assert!(!events.iter().any(|(e, o)| e == "mfa.push" && o == "success"), "{events:?}");
}

#[tokio::test]
async fn a_verification_push_reported_as_fraud_warns_the_agent() {
    let app = spawn_app().await;
    let (ada, phone) = user_with_app(&app, "ada").await;
    let desk = help_desk(&app).await;
    let id = send(&desk, &ada).await;
    let (status, body) = answer(&app, &phone, &id, "fraud", "").await;
    assert_eq!((status, body.get("verification_code")), (200, None));
    let page = desk.get_html(&format!("/admin/users/{ada}/verify/{id}")).await;
    assert!(page.contains("reported the verification push as fraudulent"), "{page}");
    assert!(!page.contains("verification-code"));
}

#[tokio::test]
async fn without_a_push_device_or_outside_the_agents_reach_nothing_is_sent() {
    let app = spawn_app().await;
    let (bob, _) = app.signed_in_user("bob").await;
    let desk = help_desk(&app).await;
    let r = desk.post_form(&format!("/admin/users/{}/verify", bob.id), &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("devices receives pushes"));
    // The help desk cannot verify (or reach) an administrator.
    let root = admin(&app).await;
    let root_id = twofold::store::users::by_username(&app.db, &twofold::domain::Username::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(desk.post_form(&format!("/admin/users/{root_id}/verify"), &[]).await.status(), 403);
    // Without the CSRF token, nothing is sent.
    assert_eq!(root.post_raw(&format!("/admin/users/{}/verify", bob.id), &[]).await.status(), 403);
}

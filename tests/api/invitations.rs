//! Enrolment invitations: a single-use emailed link that reaches the wizard and nothing else.

use twofold::channels::mail::Mailer;

use crate::helpers::{PASSWORD, TestApp, element_text, location, now, spawn_app, user_id};

async fn desk(app: &TestApp) -> TestApp {
    let b = app.other_browser();
    let (grace, _) = b.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", grace.id)).await;
    b
}

/// Every invitation link mailed to `to` (several may share a second, so order is not relied on).
async fn invitation_links(app: &TestApp, to: &str) -> Vec<String> {
    let keys = app.keys.clone();
    let mail = twofold::store::outbox::for_recipient(&app.db, to).await.unwrap();
    mail.iter()
        .filter(|m| m.subject.starts_with("Set up your sign-in"))
        .map(|m| {
            let body = Mailer::open_body(&keys, &m.body).unwrap();
            let start = body.find("/invite/").unwrap();
            body[start..].split_whitespace().next().unwrap().to_string()
        })
        .collect()
}

async fn invitation_link(app: &TestApp, to: &str) -> String {
    let links = invitation_links(app, to).await;
    assert_eq!(links.len(), 1, "one invitation");
    links[0].clone()
}

#[tokio::test]
async fn an_invited_user_enrols_from_the_link_and_then_signs_in_with_the_password() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let ada = user_id(&app, "ada").await;
    let staff = desk(&app).await;
    assert!(staff.get_html(&format!("/admin/users/{ada}")).await.contains("Send enrolment invitation"));
    assert_eq!(location(&staff.post_form(&format!("/admin/users/{ada}/invite"), &[]).await), "/admin/invitations");
    let listed = staff.get_html("/admin/invitations").await;
    assert!(listed.contains("ada@example.edu") && listed.contains(">sent<"), "{listed}");
    let link = invitation_link(&app, "ada@example.edu").await;

    let invited = app.other_browser();
    let page = invited.get_html(&link).await;
    assert!(page.contains("Set up your sign-in") && page.contains("Start setup"));
    assert_eq!(location(&invited.post_form(&link, &[]).await), "/enroll/device-type");
    // Only the wizard: the prompt, settings and console are out of reach.
    for path in ["/prompt", "/settings", "/admin/users"] {
        assert_eq!(location(&invited.get(path).await), "/login", "{path}");
    }
    invited.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    invited.verify_mobile_number().await;
    invited.post_form("/enroll/platform", &[("platform", "android")]).await;
    invited.post_form("/enroll/install", &[]).await;
    let activate = invited.get_html("/enroll/activate").await;
    let seed = twofold::factors::totp::TotpSeed::from_base32(&element_text(&activate, "setup-key")).unwrap();
    assert_eq!(
        location(&invited.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await),
        "/enroll/options"
    );
    invited.post_form("/enroll/options", &[("name", "Pixel"), ("login_action", "ask")]).await;
    let done = invited.get_html("/enroll/done").await;
    assert!(done.contains(r#"href="/login""#), "Continue to Login leads to a real sign-in");
    assert!(invited.get_html("/login").await.contains(r#"<label for="password">Password</label>"#));

    // Owning the mailbox was not a factor: the password and a passcode are still needed.
    assert_eq!(location(&invited.login("ada", PASSWORD).await), "/prompt");
    let r = invited.post_form("/prompt/passcode", &[("passcode", &seed.code_at(now() as u64 + 30))]).await;
    assert_eq!(location(&r), "/prompt/trust");
    let events = app.audit_events(&ada).await;
    assert!(events.iter().any(|(e, _)| e == "invitation.sent") && events.iter().any(|(e, _)| e == "invitation.used"));
    assert!(staff.get_html("/admin/invitations").await.contains(">used<"));
}

#[tokio::test]
async fn an_invitation_works_once_and_expires() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let ada = user_id(&app, "ada").await;
    let staff = desk(&app).await;
    staff.post_form(&format!("/admin/users/{ada}/invite"), &[]).await;
    let link = invitation_link(&app, "ada@example.edu").await;
    let first = app.other_browser();
    first.get(&link).await;
    assert_eq!(location(&first.post_form(&link, &[]).await), "/enroll/device-type");
    let second = app.other_browser();
    assert_eq!(second.get(&link).await.status(), 404);

    staff.post_form(&format!("/admin/users/{ada}/invite"), &[]).await;
    let fresh = invitation_links(&app, "ada@example.edu").await.into_iter().find(|l| *l != link).expect("a new link");
    app.sql(&format!("UPDATE invitations SET expires_at = {}", now() - 1)).await;
    assert_eq!(app.other_browser().get(&fresh).await.status(), 404);
    assert!(staff.get_html("/admin/invitations").await.contains(">expired<"));
}

#[tokio::test]
async fn enrolled_users_get_no_invitation() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let staff = desk(&app).await;
    let r = staff.post_form(&format!("/admin/users/{}/invite", ada.id), &[]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("issue a temporary passcode"));
}

#[tokio::test]
async fn ordinary_users_cannot_send_invitations() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.add_user("bob").await;
    let bob = user_id(&app, "bob").await;
    assert_eq!(app.post_form(&format!("/admin/users/{bob}/invite"), &[]).await.status(), 403);
    assert_eq!(app.get("/admin/invitations").await.status(), 403);
}

#[tokio::test]
async fn a_group_is_invited_once_and_only_members_who_never_enrolled_get_a_link() {
    let app = spawn_app().await;
    for name in ["ada", "bob", "carol", "dan"] {
        app.add_user(name).await;
    }
    let ids: Vec<String> = user_ids(&app, &["ada", "bob", "carol", "dan"]).await;
    for id in &ids[..3] {
        app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{id}', 'staff')")).await;
    }
    app.sql(&format!("UPDATE users SET enrolled_at = 1 WHERE id = '{}'", ids[1])).await;
    app.sql(&format!("UPDATE users SET status = 'disabled' WHERE id = '{}'", ids[2])).await;
    let staff = desk(&app).await;
    let page = staff.get_html("/admin/invitations").await;
    assert!(page.contains("Invite a group") && page.contains("staff (3 members)"), "{page}");

    let r = staff.post_form("/admin/invitations/group", &[("group", "staff")]).await;
    assert_eq!(location(&r), "/admin/invitations?group=staff&sent=1&skipped=2");
    let page = staff.get_html(&location(&r)).await;
    assert!(page.contains("Sent 1 invitation to members of staff. 2 members were skipped"), "{page}");
    assert_eq!(invitation_links(&app, "ada@example.edu").await.len(), 1);
    for other in ["bob@example.edu", "carol@example.edu", "dan@example.edu"] {
        assert!(invitation_links(&app, other).await.is_empty(), "{other}");
    }
    // Again: ada's invitation still works, so nobody is mailed twice.
    let r = staff.post_form("/admin/invitations/group", &[("group", "staff")]).await;
    assert_eq!(location(&r), "/admin/invitations?group=staff&sent=0&skipped=3");
    assert_eq!(invitation_links(&app, "ada@example.edu").await.len(), 1);
    let log = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(log.contains("invitation.group_sent") && log.contains("group staff: 1 sent, 2 skipped"), "{log}");

    let r = staff.post_form("/admin/invitations/group", &[("group", "nobody")]).await;
    assert_eq!(r.status(), 422);
    let plain = app.other_browser();
    plain.signed_in_user("erin").await;
    assert_eq!(plain.post_form("/admin/invitations/group", &[("group", "staff")]).await.status(), 403);
}

async fn user_ids(app: &TestApp, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(user_id(app, name).await);
    }
    ids
}

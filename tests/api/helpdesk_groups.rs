//! A help desk limited to some groups (Duo's "administrative units", issue 16): it sees, finds
//! and acts on the users of its groups only, on every console action; administrators set the
//! groups in the console (or with `twofold admin grant --groups`).

use crate::helpers::{TestApp, spawn_app};
use crate::phones::admin;
use twofold::store::{self, phone_devices};

async fn in_group(app: &TestApp, user_id: &str, group: &str) {
    app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{user_id}', '{group}')")).await;
}

/// A help-desk member, signed in, limited to `groups` (by an administrator in the console).
async fn help_desk(app: &TestApp, root: &TestApp, groups: &[&str]) -> (TestApp, String) {
    let browser = app.other_browser();
    let (user, _) = browser.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'helpdesk' WHERE id = '{}'", user.id)).await;
    let fields: Vec<(String, &str)> = groups.iter().map(|g| (format!("group:{g}"), "on")).collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let r = root.post_form(&format!("/admin/users/{}/groups", user.id), &fields).await;
    assert_eq!(r.status(), 303, "the administrator saves the groups");
    (browser, user.id)
}

#[tokio::test]
async fn a_help_desk_limited_to_a_group_acts_only_on_its_members() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let (bob, _) = app.other_browser().signed_in_user("bob").await;
    in_group(&app, &ada.id, "physics").await;
    in_group(&app, &bob.id, "chemistry").await;
    let root = admin(&app).await;
    let (desk, desk_id) = help_desk(&app, &root, &["physics"]).await;
    assert_eq!(store::staff_scopes::groups(&app.db, &desk_id).await.unwrap(), vec!["physics".to_string()]);

    // Lists and searches show only the group's members.
    let list = desk.get_html("/admin/users?q=").await;
    assert!(list.contains(">ada</a>") && !list.contains(">bob</a>"), "{list}");
    assert!(list.contains("covers the users of physics"), "{list}");
    assert!(!desk.get_html("/admin/users?q=bob").await.contains(">bob</a>"));
    let bobs_number = phone_devices::for_user(&app.db, &app.keys, &bob.id).await.unwrap().remove(0).phone;
    let by_number = desk.get_html(&format!("/admin/users?q={}", bobs_number.replace('+', "%2B"))).await;
    assert!(!by_number.contains(">bob</a>"), "not found by number either: {by_number}");

    // Every action on a user outside the groups is refused, and nothing changes.
    let page = desk.get(&format!("/admin/users/{}", bob.id)).await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("not in the groups your help-desk role covers"));
    let bob_device = phone_devices::for_user(&app.db, &app.keys, &bob.id).await.unwrap().remove(0).id;
    let refused = [
        (format!("/admin/users/{}/passcode", bob.id), vec![("reason", "caller"), ("uses", "1"), ("hours", "1")]),
        (format!("/admin/users/{}/unlock", bob.id), vec![]),
        (format!("/admin/users/{}/invite", bob.id), vec![]),
        (format!("/admin/users/{}/phone", bob.id), vec![("kind", "landline"), ("number", "+41332234567")]),
        (format!("/admin/users/{}/devices/{bob_device}/disable", bob.id), vec![("reason", "lost")]),
    ];
    for (path, fields) in &refused {
        assert_eq!(desk.post_form(path, fields).await.status(), 403, "{path}");
    }
    assert_eq!(desk.get(&format!("/admin/users/{}/passcode", bob.id)).await.status(), 403);
    assert!(store::one_time_codes::usable(&app.db, &bob.id, crate::helpers::now()).await.unwrap().is_empty());
    assert_eq!(store::devices::count_for_user(&app.db, &bob.id).await.unwrap(), 1, "bob's device is untouched");

    // Within the group, the help desk works as before.
    let r = desk
        .post_form(&format!("/admin/users/{}/passcode", ada.id), &[("reason", "caller"), ("uses", "1"), ("hours", "1")])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(store::one_time_codes::usable(&app.db, &ada.id, crate::helpers::now()).await.unwrap().len(), 1);

    // A group invitation only for its own groups; the invitations page offers only those.
    let r = desk.post_form("/admin/invitations/group", &[("group", "chemistry")]).await;
    assert_eq!(r.status(), 403);
    let invitations = desk.get_html("/admin/invitations").await;
    assert!(invitations.contains("physics") && !invitations.contains("chemistry"), "{invitations}");

    // With no group ticked, the help desk covers everyone again.
    let r = root.post_form(&format!("/admin/users/{desk_id}/groups"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(desk.get(&format!("/admin/users/{}", bob.id)).await.status(), 200);
    let events: Vec<String> = app.audit_events(&desk_id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(events.iter().filter(|e| *e == "staff.groups_changed").count(), 2, "{events:?}");
}

#[tokio::test]
async fn only_administrators_set_groups_and_only_for_the_help_desk() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    in_group(&app, &ada.id, "physics").await;
    let root = admin(&app).await;
    let (desk, desk_id) = help_desk(&app, &root, &[]).await;
    // The administrator's page of a help-desk member offers the groups.
    let page = root.get_html(&format!("/admin/users/{desk_id}")).await;
    assert!(page.contains("Help-desk groups") && page.contains("group:physics"), "{page}");
    // The help desk cannot widen or narrow anyone's groups, its own included.
    let r = desk.post_form(&format!("/admin/users/{desk_id}/groups"), &[("group:physics", "on")]).await;
    assert_eq!(r.status(), 403);
    // An ordinary user has no groups to be limited to.
    let r = root.post_form(&format!("/admin/users/{}/groups", ada.id), &[("group:physics", "on")]).await;
    assert_eq!(r.status(), 422);
    // Without the CSRF token nothing is saved.
    let r = root.post_raw(&format!("/admin/users/{desk_id}/groups"), &[("group:physics", "on")]).await;
    assert_eq!(r.status(), 403);
    assert!(store::staff_scopes::groups(&app.db, &desk_id).await.unwrap().is_empty());
    // Unknown group names are ignored.
    root.post_form(&format!("/admin/users/{desk_id}/groups"), &[("group:nosuch", "on"), ("group:physics", "on")]).await;
    assert_eq!(store::staff_scopes::groups(&app.db, &desk_id).await.unwrap(), vec!["physics".to_string()]);
}

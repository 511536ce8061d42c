//! The console: role checks on every route, user search and detail, unlock, disabling a lost
//! device, temporary passcodes (T15) used at the prompt to add a new device, and the audit log.

use twofold::channels::mail::Mailer;

use crate::helpers::{PASSWORD, TestApp, count_to, element_text, location, now, spawn_app};

/// A staff member with `role`, fully signed in (in their own browser).
async fn staff(app: &TestApp, username: &str, role: &str) -> TestApp {
    let browser = app.other_browser();
    let (user, _) = browser.signed_in_user(username).await;
    app.sql(&format!("UPDATE users SET role = '{role}' WHERE id = '{}'", user.id)).await;
    browser
}

async fn user_id(app: &TestApp, username: &str) -> String {
    twofold::store::users::by_username(&app.db, &twofold::domain::Username::parse(username).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Issues a temporary passcode as `desk` and returns it (digits only).
async fn issue(desk: &TestApp, user_id: &str, uses: &str, hours: &str) -> String {
    let response = desk
        .post_form(
            &format!("/admin/users/{user_id}/passcode"),
            &[("reason", "Lost phone, ID checked"), ("uses", uses), ("hours", hours)],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    element_text(&response.text().await.unwrap(), "temporary-passcode").replace(' ', "")
}

const ADMIN_GETS: [&str; 4] = ["/admin/users", "/admin/audit", "/admin/audit.csv", "/admin/outbox"];

#[tokio::test]
async fn ordinary_users_are_refused_everywhere_in_the_console() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    for path in ADMIN_GETS
        .iter()
        .map(|p| p.to_string())
        .chain([format!("/admin/users/{}", user.id), format!("/admin/users/{}/passcode", user.id)])
    {
        assert_eq!(app.get(&path).await.status(), 403, "{path}");
    }
    for path in ["unlock", "status", "passcode"] {
        let r = app
            .post_form(
                &format!("/admin/users/{}/{path}", user.id),
                &[("reason", "x"), ("uses", "1"), ("hours", "1"), ("status", "disabled")],
            )
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    assert!(twofold::store::one_time_codes::usable(&app.db, &user.id, now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_console_needs_both_factors_and_a_recent_one() {
    let app = spawn_app().await;
    assert_eq!(location(&app.get("/admin/users").await), "/login");
    let desk = staff(&app, "grace", "helpdesk").await;
    desk.edit_sessions(|s| {
        if s.contains_key("mfa_at") {
            s.insert("mfa_at".into(), (now() - 3600).to_string());
        }
    })
    .await;
    assert_eq!(location(&desk.get("/admin/users").await), "/prompt");
}

#[tokio::test]
async fn the_help_desk_finds_users_but_cannot_see_the_audit_log_outbox_or_change_accounts() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let list = desk.get_html("/admin/users?q=ADA").await;
    assert!(list.contains(">ada</a>") && !list.contains(">grace</a>"), "{list}");
    let ada = user_id(&app, "ada").await;
    let detail = desk.get_html(&format!("/admin/users/{ada}")).await;
    assert!(detail.contains("Issue temporary passcode") && detail.contains("My iPhone"));
    assert!(!detail.contains("Disable account"), "help desk never changes account status");
    for path in ["/admin/audit", "/admin/audit.csv", "/admin/outbox"] {
        assert_eq!(desk.get(path).await.status(), 403, "{path}");
    }
    let r = desk.post_form(&format!("/admin/users/{ada}/status"), &[("status", "disabled")]).await;
    assert_eq!(r.status(), 403);
    assert!(twofold::store::users::by_id(&app.db, &ada).await.unwrap().unwrap().is_active());
}

#[tokio::test]
async fn search_treats_wildcards_literally() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.add_user("bob").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let all = desk.get_html("/admin/users?q=%25").await;
    assert!(!all.contains(">ada</a>"), "a % is a character, not a wildcard");
    let page = desk.get_html("/admin/users").await;
    assert!(page.contains(">ada</a>") && page.contains(">bob</a>") && page.contains("3 users"));
}

#[tokio::test]
async fn a_temporary_passcode_needs_a_reason_and_sane_limits() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    let ada = user_id(&app, "ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let form = desk.get_html(&format!("/admin/users/{ada}/passcode")).await;
    assert!(form.contains("Reason") && form.contains("Number of passcodes") && form.contains(r#"value="1""#));
    for (reason, uses, hours, message) in [
        ("", "1", "1", "Give a reason"),
        ("lost", "0", "1", "Uses must be"),
        ("lost", "11", "1", "Uses must be"),
        ("lost", "1", "100", "Valid for must be"),
    ] {
        let r = desk
            .post_form(&format!("/admin/users/{ada}/passcode"), &[("reason", reason), ("uses", uses), ("hours", hours)])
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains(message), "{message}");
    }
    assert!(twofold::store::one_time_codes::usable(&app.db, &ada, now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_phone_is_replaced_with_a_temporary_passcode_from_the_help_desk() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let device = twofold::store::devices::list_for_user(&app.db, &ada.id).await.unwrap().remove(0);

    // The help desk disables the lost phone (a reason is required) and issues a passcode.
    let refused =
        desk.post_form(&format!("/admin/users/{}/devices/{}/disable", ada.id, device.id), &[("reason", " ")]).await;
    assert_eq!(refused.status(), 422);
    let r = desk
        .post_form(&format!("/admin/users/{}/devices/{}/disable", ada.id, device.id), &[("reason", "reported lost")])
        .await;
    assert_eq!(location(&r), format!("/admin/users/{}", ada.id));
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &ada.id).await.unwrap(), 0);

    // Without a code, the password alone leads nowhere.
    let phone_less = app.other_browser();
    assert_eq!(location(&phone_less.login("ada", PASSWORD).await), "/prompt");
    let prompt = phone_less.get_html("/prompt").await;
    assert!(prompt.contains("No way to sign in"), "{prompt}");
    assert_eq!(
        location(&phone_less.post_form("/enroll/start", &[]).await),
        "/prompt",
        "no self-enrolment after the password alone"
    );

    let code = issue(&desk, &ada.id, "1", "1").await;
    assert_eq!(code.len(), 9);
    assert!(!app.table_text("one_time_codes", &["salt", "code_hash", "reason"]).await.contains(&code), "stored hashed");
    let events = app.audit_events(&ada.id).await;
    assert!(events.iter().any(|(e, _)| e == "bypass.issued"));
    assert!(events.iter().any(|(e, _)| e == "device.disabled"));
    let keys = app.keys.clone();
    let notice = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
    let notice = notice.iter().find(|m| m.subject.contains("temporary passcode")).expect("the user is told");
    assert!(Mailer::open_body(&keys, &notice.body).unwrap().contains("Lost phone, ID checked"));
    assert!(!Mailer::open_body(&keys, &notice.body).unwrap().contains(&code), "the code itself is never mailed");

    // The user signs in with it and goes straight to adding a new phone.
    let prompt = phone_less.get_html("/prompt").await;
    assert!(prompt.contains("9-digit recovery or temporary passcode"));
    let r = phone_less.post_form("/prompt/passcode", &[("passcode", &format!("{} {}", &code[..4], &code[4..]))]).await;
    assert_eq!(location(&r), "/enroll/device-type");
    phone_less.post_form("/enroll/device-type", &[("kind", "mobile")]).await;
    phone_less.verify_mobile_number().await;
    phone_less.post_form("/enroll/platform", &[("platform", "android")]).await;
    phone_less.post_form("/enroll/install", &[]).await;
    let page = phone_less.get_html("/enroll/activate").await;
    let seed = twofold::factors::totp::TotpSeed::from_base32(&element_text(&page, "setup-key")).unwrap();
    assert_eq!(
        location(&phone_less.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await),
        "/enroll/options"
    );
    assert_eq!(
        location(&phone_less.post_form("/enroll/options", &[("name", "New phone"), ("login_action", "ask")]).await),
        "/enroll/done"
    );
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &ada.id).await.unwrap(), 1);

    // The code worked once.
    let again = app.other_browser();
    again.login("ada", PASSWORD).await;
    assert_eq!(again.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
}

#[tokio::test]
async fn an_expired_temporary_passcode_is_refused() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let code = issue(&desk, &ada.id, "3", "1").await;
    app.sql(&format!("UPDATE one_time_codes SET expires_at = {}", now() - 1)).await;
    let b = app.other_browser();
    b.login("ada", PASSWORD).await;
    assert_eq!(b.post_form("/prompt/passcode", &[("passcode", &code)]).await.status(), 422);
}

#[tokio::test]
async fn a_temporary_passcode_works_exactly_as_many_times_as_issued_even_at_once() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let code = issue(&desk, &ada.id, "2", "1").await;
    let results = app.concurrent_passcodes("ada", &code, 20).await;
    assert_eq!(count_to(&results, "/enroll/device-type"), 2, "{results:?}");
}

#[tokio::test]
async fn the_help_desk_unlocks_a_locked_out_user() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    app.sql(&format!("UPDATE users SET locked_at = {}, failed_attempts = 10 WHERE id = '{}'", now(), ada.id)).await;
    let desk = staff(&app, "grace", "helpdesk").await;
    assert!(desk.get_html(&format!("/admin/users/{}", ada.id)).await.contains("locked out"));
    assert_eq!(
        location(&desk.post_form(&format!("/admin/users/{}/unlock", ada.id), &[]).await),
        format!("/admin/users/{}", ada.id)
    );
    let row = twofold::store::users::by_id(&app.db, &ada.id).await.unwrap().unwrap();
    assert!(row.locked_at.is_none() && row.failed_attempts == 0);
    assert!(app.audit_events(&ada.id).await.iter().any(|(e, _)| e == "account.unlocked"));
}

#[tokio::test]
async fn a_device_is_disabled_only_through_its_owner() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let bob = app.other_browser();
    let (bob_user, _) = bob.signed_in_user("bob").await;
    let bob_device = twofold::store::devices::list_for_user(&app.db, &bob_user.id).await.unwrap().remove(0);
    let desk = staff(&app, "grace", "helpdesk").await;
    let r =
        desk.post_form(&format!("/admin/users/{}/devices/{}/disable", ada.id, bob_device.id), &[("reason", "x")]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &bob_user.id).await.unwrap(), 1);
}

#[tokio::test]
async fn administrators_disable_accounts_which_ends_their_sessions() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let admin = staff(&app, "grace", "admin").await;
    assert!(admin.get_html(&format!("/admin/users/{}", ada.id)).await.contains("Disable account"));
    let r = admin.post_form(&format!("/admin/users/{}/status", ada.id), &[("status", "disabled")]).await;
    assert_eq!(location(&r), format!("/admin/users/{}", ada.id));
    assert_eq!(location(&app.get("/settings").await), "/login", "ada's session ended");
    assert_eq!(app.login("ada", PASSWORD).await.status(), 403);
    let grace = user_id(&app, "grace").await;
    assert_eq!(
        admin.post_form(&format!("/admin/users/{grace}/status"), &[("status", "disabled")]).await.status(),
        403,
        "not oneself"
    );
}

#[tokio::test]
async fn the_audit_log_filters_and_exports_csv() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.other_browser().login("ada", "wrong password").await;
    let admin = staff(&app, "grace", "admin").await;
    let page = admin.get_html("/admin/audit?user=ada&event=login.").await;
    assert!(page.contains("login.password") && !page.contains("enroll.start"), "{page}");
    assert!(page.contains("failure"));
    let unknown = admin.get_html("/admin/audit?user=nobody").await;
    assert!(unknown.contains("There is no user named") && unknown.contains("No entries."));
    let csv = admin.get("/admin/audit.csv?user=ada").await;
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("time_utc,unix_time,event,outcome,user,actor,ip,detail\r\n"));
    assert!(body.contains("\"login.password\",\"failure\",\"ada\""));
}

#[tokio::test]
async fn several_temporary_passcodes_can_be_issued_at_once() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let desk = staff(&app, "grace", "helpdesk").await;
    let r = desk
        .post_form(
            &format!("/admin/users/{}/passcode", ada.id),
            &[("reason", "travelling"), ("count", "3"), ("uses", "1"), ("hours", "24")],
        )
        .await;
    let html = r.text().await.unwrap();
    let codes: Vec<String> =
        html.split("<li><code>").skip(1).map(|p| p.split("</code>").next().unwrap().replace(' ', "")).collect();
    assert_eq!(codes.len(), 3, "{html}");
    assert_eq!(twofold::store::one_time_codes::usable(&app.db, &ada.id, now()).await.unwrap().len(), 3);
    let b = app.other_browser();
    b.login("ada", PASSWORD).await;
    assert_eq!(location(&b.post_form("/prompt/passcode", &[("passcode", &codes[2])]).await), "/enroll/device-type");
}

#[tokio::test]
async fn the_dashboard_counts_users_and_charts_enrolments() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await; // one device, no backup codes
    app.add_user("newbie").await; // not enrolled
    let admin = staff(&app, "grace", "admin").await; // enrolled
    let page = admin.get_html("/admin/dashboard").await;
    assert!(page.contains(r#"id="stat-total">3<"#), "{page}");
    assert!(page.contains(r#"id="stat-not-enrolled">1<"#));
    assert!(page.contains(r#"id="stat-single">2<"#), "ada and grace have one device each");
    assert!(page.contains("Devices enrolled</strong>, last 30 days: 2"), "{page}");
    assert!(page.contains("<svg") && !page.contains("<script"));
    let desk = staff(&app, "bob", "helpdesk").await;
    assert_eq!(desk.get("/admin/dashboard").await.status(), 403);
}

#[tokio::test]
async fn the_help_desk_acts_on_users_only_not_on_itself_or_on_staff_of_its_role_or_higher() {
    let app = spawn_app().await;
    let desk = staff(&app, "dora", "helpdesk").await;
    let admin = staff(&app, "grace", "admin").await;
    let other_desk = staff(&app, "hal", "helpdesk").await;
    let (dora, grace, hal) = (user_id(&app, "dora").await, user_id(&app, "grace").await, user_id(&app, "hal").await);
    drop(other_desk);
    let form = [("reason", "Lost phone, ID checked"), ("uses", "1"), ("hours", "1")];
    for target in [&dora, &grace, &hal] {
        // A temporary passcode, a phone of the agent's own, an unlock, an invitation: all refused.
        let passcode = desk.post_form(&format!("/admin/users/{target}/passcode"), &form).await;
        assert_eq!(passcode.status(), 403, "temporary passcode for {target}");
        assert!(passcode.text().await.unwrap().contains("cannot be taken on your own account"));
        let phone = desk
            .post_form(&format!("/admin/users/{target}/phone"), &[("kind", "mobile"), ("number", "+12045550188")])
            .await;
        assert_eq!(phone.status(), 403, "phone for {target}");
        assert_eq!(desk.post_form(&format!("/admin/users/{target}/unlock"), &[]).await.status(), 403);
        assert_eq!(desk.get(&format!("/admin/users/{target}/passcode")).await.status(), 403);
        let page = desk.get_html(&format!("/admin/users/{target}")).await;
        assert!(page.contains("id=\"not-manageable\"") && !page.contains("Issue temporary passcode"), "{target}");
    }
    let devices = twofold::store::devices::list_for_user(&app.db, &grace).await.unwrap();
    let disable =
        desk.post_form(&format!("/admin/users/{grace}/devices/{}/disable", devices[0].id), &[("reason", "lost")]).await;
    assert_eq!(disable.status(), 403);
    assert_eq!(twofold::store::devices::list_for_user(&app.db, &grace).await.unwrap().len(), 1, "still there");
    assert!(twofold::store::one_time_codes::usable(&app.db, &dora, now()).await.unwrap().is_empty());
    // The help desk still helps users, and an administrator helps the help desk.
    app.add_user("ada").await;
    let ada = user_id(&app, "ada").await;
    assert_eq!(issue(&desk, &ada, "1", "1").await.len(), 9);
    assert_eq!(issue(&admin, &hal, "1", "1").await.len(), 9);
    assert_eq!(admin.post_form(&format!("/admin/users/{grace}/passcode"), &form).await.status(), 403, "not for itself");
}

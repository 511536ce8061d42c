//! Admin API applications in the console (permissions ticked, keys shown once, rotated, deleted),
//! the per-application rate limit, and the help desk's verification push sent through the API.

use serde_json::Value;

use crate::admin_api::{ALL, AdminKeys, add_admin_application, python};
use crate::helpers::{element_text, spawn_app, spawn_app_with};
use crate::push::{answer, user_with_app};

const FAILURE: &str = r#"
def failure(call):
    try:
        call()
        return None
    except RuntimeError as e:
        return e.status
"#;

#[tokio::test]
async fn administrators_add_admin_api_applications_with_their_permissions() {
    let app = spawn_app().await;
    let admin = app.other_browser();
    let (grace, _) = admin.signed_in_user("grace").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", grace.id)).await;
    let form = admin.get_html("/admin/applications").await;
    assert!(form.contains(r#"value="admin-api""#) && form.contains("Grant bypass codes"));
    let none = admin.post_form("/admin/applications", &[("name", "SIEM"), ("kind", "admin-api")]).await;
    assert_eq!(none.status(), 422, "an Admin API application needs a permission");

    let fields = [("name", "SIEM"), ("kind", "admin-api"), ("read_log", "1"), ("read_resource", "1")];
    let page = admin.post_form("/admin/applications", &fields).await.text().await.unwrap();
    let keys = AdminKeys { ikey: element_text(&page, "integration-key"), skey: element_text(&page, "secret-key") };
    assert_eq!(keys.skey.len(), 40, "{page}");
    assert!(!app.table_text("applications", &["secret_key"]).await.contains(&keys.skey), "sealed at rest");
    let listed = admin.get_html("/admin/applications").await;
    assert!(listed.contains("Grant read log, Grant read resource") && !listed.contains(&keys.skey));

    let script = format!(
        "{FAILURE}\nprint(json.dumps([failure(lambda: admin.get_users()), failure(lambda: admin.add_user('eve', email='eve@example.edu'))]))"
    );
    let out = python(&app, &keys, &script).await;
    assert_eq!(out, serde_json::json!([null, 403]), "read, but not write");

    let rotated =
        admin.post_form(&format!("/admin/applications/{}/rotate", keys.ikey), &[]).await.text().await.unwrap();
    let fresh = AdminKeys { ikey: keys.ikey.clone(), skey: element_text(&rotated, "secret-key") };
    let check = format!("{FAILURE}\nprint(json.dumps(failure(lambda: admin.get_info_summary())))");
    assert_eq!(python(&app, &keys, &check).await, 401, "the old key stops working");
    assert_eq!(python(&app, &fresh, &check).await, Value::Null);
    admin.post_form(&format!("/admin/applications/{}/delete", keys.ikey), &[]).await;
    assert_eq!(python(&app, &fresh, &check).await, 401, "deleted");
    let added = twofold::store::audit::search(&app.db, None, Some("application.added"), 10, 0).await.unwrap();
    assert!(added.iter().any(|r| r.detail.contains("Admin API permissions: read_log,read_resource")), "{added:?}");
}

#[tokio::test]
async fn the_admin_api_shares_the_applications_rate_limit() {
    let app = spawn_app_with(|s| s.applications.rate_limit_per_minute = 2).await;
    let keys = add_admin_application(&app, "Script", ALL).await;
    // duo_client waits and retries on 429 for up to 32 seconds; the script asks it not to.
    let script = r#"
admin._MAX_BACKOFF_WAIT_SECS = 0
out = []
for _ in range(3):
    try:
        admin.get_info_summary()
        out.append(200)
    except RuntimeError as e:
        out.append([e.status, e.data if isinstance(e.data, dict) else json.loads(e.data)])
print(json.dumps(out))
"#;
    let out = python(&app, &keys, script).await;
    assert_eq!(out[0], 200);
    assert_eq!(out[1], 200);
    assert_eq!(out[2][0], 429);
    assert_eq!(out[2][1]["stat"], "FAIL");
    assert_eq!(out[2][1]["code"], 42901);
}

/// `send_verification_push`: the caller approves on their app; only the application that sent
/// it reads the answer and the code to compare.
#[tokio::test]
async fn a_verification_push_sent_through_the_api_is_answered_on_the_phone() {
    let app = spawn_app().await;
    let (ada, phone) = user_with_app(&app, "ada").await;
    let keys = add_admin_application(&app, "Help desk tool", "read_resource,write_resource").await;
    let other = add_admin_application(&app, "Other tool", "read_resource,write_resource").await;
    let sent = python(
        &app,
        &keys,
        &format!(
            r#"
phones = admin.get_user_phones("{ada}")
print(json.dumps({{"phones": phones, "push": admin.send_verification_push("{ada}", "{device}")}}))
"#,
            device = phone.device_id
        ),
    )
    .await;
    let push_id = sent["push"]["push_id"].as_str().unwrap().to_string();
    let read = format!(
        "{FAILURE}\nr = None\ntry:\n    r = admin.get_verification_push_response(\"{ada}\", \"{push_id}\")\nexcept RuntimeError as e:\n    r = e.status\nprint(json.dumps(r))"
    );
    assert_eq!(python(&app, &keys, &read).await["result"], "waiting");
    let (status, body) = answer(&app, &phone, &push_id, "approve", "").await;
    assert_eq!(status, 200, "{body}");
    let out = python(&app, &keys, &read).await;
    assert_eq!(out["result"], "approve");
    let code = out["confirmation_code"].as_str().unwrap();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()), "{out}");
    assert_eq!(python(&app, &other, &read).await, 404, "another application does not see it");
    let events: Vec<String> = app.audit_events(&ada).await.into_iter().map(|(e, _)| e).collect();
    assert!(events.iter().any(|e| e == "helpdesk.verification_push_sent"));
}

/// `twofold app add --kind admin-api --permission …`: the keys printed once, the permissions kept.
#[tokio::test]
async fn the_command_line_adds_admin_api_applications() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = crate::helpers::fresh_database_url().await;
    let key = twofold::secrets::MasterKey::generate().to_base64();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_twofold"));
        cmd.args(args)
            .env("TWOFOLD_DATA_DIR", dir.path().join("data"))
            .env("TWOFOLD_MASTER_KEY", &key)
            .env("TWOFOLD_LOG", "warn")
            .env_remove("TWOFOLD_DATABASE_URL");
        if let Some(url) = &database_url {
            cmd.env("TWOFOLD_DATABASE_URL", url);
        }
        cmd.output().unwrap()
    };
    let added =
        run(&["app", "add", "SIEM", "--kind", "admin-api", "--permission", "read_log", "--permission", "grant_bypass"]);
    let out = String::from_utf8_lossy(&added.stdout).to_string();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert!(out.contains("(admin-api)") && out.contains("Permissions: read_log,grant_bypass"), "{out}");
    assert!(out.contains("Secret key: "));
    let none = run(&["app", "add", "Bare", "--kind", "admin-api"]);
    assert!(!none.status.success(), "an Admin API application needs a permission");
    let bogus = run(&["app", "add", "Odd", "--kind", "admin-api", "--permission", "everything"]);
    assert!(!bogus.status.success());
    assert!(String::from_utf8_lossy(&bogus.stderr).contains("unknown permission"));
    let misplaced = run(&["app", "add", "VPN", "--kind", "auth-api", "--permission", "read_log"]);
    assert!(!misplaced.status.success(), "only Admin API applications take permissions");
}

//! SCIM 2.0 provisioning (issue 18): scim2-tester (PyPI) run against /scim/v2/, and what an
//! identity provider such as Microsoft Entra ID does: create, find by userName, PATCH as Entra
//! sends it, disable (sessions end), groups and their members, delete; tokens made in the console.

use serde_json::{Value, json};

use crate::helpers::{TestApp, element_text, spawn_app};
use crate::policies::admin;

/// Adds a connector in the console; returns its token.
async fn connector(admin: &TestApp, name: &str) -> String {
    let page = admin.post_form("/admin/scim", &[("name", name)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(element_text(&html, "scim-endpoint").ends_with("/scim/v2"));
    element_text(&html, "scim-token")
}

struct Scim {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Scim {
    fn new(app: &TestApp, token: &str) -> Self {
        Self { base: app.url("/scim/v2"), token: token.to_string(), http: reqwest::Client::new() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.header("content-type", "application/scim+json").body(body.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        if status != 204 {
            assert_eq!(res.headers()["content-type"], "application/scim+json", "{path}");
        }
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, ops: Value) -> (u16, Value) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
}

#[tokio::test]
async fn scim2_tester_passes_every_check() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let token = connector(&admin, "scim2-tester").await;
    // Awaited, not blocking: the server's database tasks run on this test's runtime.
    let base = app.url("/scim/v2");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(["tests/scim/check.py", &base, &token]).output()
    })
    .await
    .unwrap()
    .expect("python3 runs tests/scim/check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "scim2-tester failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[tokio::test]
async fn an_identity_provider_provisions_users_as_entra_id_does() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let scim = Scim::new(&app, &connector(&admin, "Entra ID").await);

    // Entra's first question: is there such a user? An empty list, not an error.
    let (status, list) = scim.get("/Users?filter=userName+eq+%22Ada%40example.edu%22").await;
    assert_eq!((status, list["totalResults"].clone()), (200, json!(0)));

    let (status, ada) = scim
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "ada-object-id",
                "userName": "Ada@example.edu",
                "active": true,
                "displayName": "Ada Lovelace",
                "emails": [{"primary": true, "type": "work", "value": "ada@example.edu"}],
                "phoneNumbers": [{"type": "mobile", "value": "+1 204 474 8600"}],
                "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1815"}
            }),
        )
        .await;
    assert_eq!(status, 201, "{ada}");
    let id = ada["id"].as_str().unwrap().to_string();
    assert_eq!(ada["userName"], "Ada@example.edu", "read back as written");
    assert_eq!(ada["meta"]["location"], format!("{}/Users/{id}", scim.base));
    let account =
        app.table_text("users", &["username", "display_name", "email", "status", "source", "external_id"]).await;
    assert!(account.contains("ada@example.edu Ada Lovelace ada@example.edu active scim ada-object-id"), "{account}");
    let suggested = app.table_text("phone_suggestions", &["user_id", "source"]).await;
    assert!(suggested.contains(&format!("{id} scim")), "the mobile number is suggested: {suggested}");

    // Found by userName (any case) and by externalId.
    let (_, list) = scim.get("/Users?filter=userName%20eq%20%22ADA%40EXAMPLE.EDU%22").await;
    assert_eq!(list["Resources"][0]["id"], json!(id));
    let (_, list) = scim.get("/Users?filter=externalId%20eq%20%22ada-object-id%22").await;
    assert_eq!(list["totalResults"], 1);
    let (status, again) = scim.post("/Users", json!({"userName": "ada@example.edu"})).await;
    assert_eq!((status, again["scimType"].clone()), (409, json!("uniqueness")));

    // Entra's PATCH: capitalised ops, "False", dotted keys, a filtered path that adds.
    let (status, patched) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "value": {"name.givenName": "Augusta", "displayName": "Augusta Ada King"}},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "boss"}
            ]),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"]["givenName"], "Augusta");
    assert_eq!(patched["emails"].as_array().unwrap().len(), 2);
    assert_eq!(patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], "boss");
    let names = app.table_text("users", &["display_name"]).await;
    assert!(names.contains("Augusta Ada King"), "{names}");

    // Disabled by the provider.
    let (status, off) =
        scim.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!((status, off["active"].clone()), (200, json!(false)));
    let state = app.table_text("users", &["status"]).await;
    assert!(state.contains("disabled"), "{state}");

    // Bad input: a clear SCIM error, never a 500.
    let (status, err) = scim.patch(&format!("/Users/{id}"), json!([{"op": "add", "path": "nope", "value": 1}])).await;
    assert_eq!((status, err["scimType"].clone()), (400, json!("invalidPath")));
    let (status, err) = scim.get("/Users?filter=userName%20zz%20%22a%22").await;
    assert_eq!((status, err["scimType"].clone()), (400, json!("invalidFilter")));
    let (status, err) = scim.post("/Users", json!({"userName": "has space"})).await;
    assert_eq!((status, err["scimType"].clone()), (400, json!("invalidValue")));
    assert!(err["detail"].as_str().unwrap().starts_with("userName"), "{err}");

    // Every change is in the audit log under the connector's name.
    let events = app.table_text("audit_log", &["event", "application"]).await;
    for event in [
        "user.created SCIM connector Entra ID",
        "user.updated SCIM connector Entra ID",
        "user.disabled SCIM connector Entra ID",
    ] {
        assert!(events.contains(event), "{event} in {events}");
    }

    // Deleted: gone for SCIM, gone here.
    let (status, _) = scim.send(reqwest::Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 404);
    assert!(app.table_text("audit_log", &["event"]).await.contains("user.deleted"));
}

#[tokio::test]
async fn groups_carry_members_into_twofold_groups() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let scim = Scim::new(&app, &connector(&admin, "Okta").await);
    let mut ids = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let (status, user) =
            scim.post("/Users", json!({"userName": name, "emails": [{"value": format!("{name}@example.edu")}]})).await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    let (status, group) = scim
        .post("/Groups", json!({"displayName": "Physics", "members": [{"value": ids[0]}, {"value": ids[1]}]}))
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    let memberships = app.table_text("user_groups", &["user_id", "group_name"]).await;
    assert!(memberships.contains(&format!("{} Physics", ids[0])), "{memberships}");

    // Entra adds and removes members with a value list, renames with a path-less replace.
    let path = format!("/Groups/{gid}");
    let (status, _) = scim
        .patch(
            &path,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": ids[2]}]},
                {"op": "Remove", "path": "members", "value": [{"value": ids[0]}]},
                {"op": "Replace", "value": {"displayName": "Physics Students"}}
            ]),
        )
        .await;
    assert_eq!(status, 200);
    let memberships = app.table_text("user_groups", &["user_id", "group_name"]).await;
    assert!(!memberships.contains(&ids[0]), "{memberships}");
    assert!(memberships.contains(&format!("{} Physics Students", ids[2])), "{memberships}");
    assert!(!memberships.lines().any(|l| l.ends_with(" Physics")), "{memberships}");

    // A member's groups are read-only on the user.
    let (_, ben) = scim.get(&format!("/Users/{}", ids[1])).await;
    assert_eq!(ben["groups"][0]["display"], "Physics Students");
    // excludedAttributes=members, as Entra asks, and a filter by name.
    let (_, list) =
        scim.get("/Groups?filter=displayName%20eq%20%22Physics%20Students%22&excludedAttributes=members").await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());

    // Members must be accounts SCIM manages: not a staff account, not a made-up id.
    let grace = crate::helpers::user_id(&app, "grace").await;
    let (status, err) = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": grace}]}])).await;
    assert_eq!((status, err["scimType"].clone()), (400, json!("invalidValue")));
    let (status, _) = scim.post("/Groups", json!({"displayName": "Physics Students"})).await;
    assert_eq!(status, 409);

    let (status, _) = scim.send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert!(!app.table_text("user_groups", &["group_name"]).await.contains("Physics"));
    let events = app.table_text("audit_log", &["event"]).await;
    for e in ["scim.group_created", "scim.group_updated", "scim.group_deleted", "scim.connector_added"] {
        assert!(events.contains(e), "{e}");
    }
}

#[tokio::test]
async fn tokens_staff_accounts_and_the_console() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let token = connector(&admin, "Entra ID").await;
    let scim = Scim::new(&app, &token);

    // No token, a wrong token: 401 with a SCIM error, for discovery too.
    for t in ["", "tfscim_wrong"] {
        let (status, err) = Scim::new(&app, t).get("/ServiceProviderConfig").await;
        assert_eq!((status, err["status"].clone()), (401, json!("401")));
    }
    let (status, config) = scim.get("/ServiceProviderConfig").await;
    assert_eq!((status, config["patch"]["supported"].clone()), (200, json!(true)));

    // The administrator's account is out of SCIM's reach: not listed, not taken over.
    let (_, list) = scim.get("/Users").await;
    assert!(!list.to_string().contains("grace"), "{list}");
    let (status, err) = scim.post("/Users", json!({"userName": "grace"})).await;
    assert_eq!(status, 409);
    assert!(err["detail"].as_str().unwrap().contains("may not manage"), "{err}");

    // A local account is adopted when the provider writes it: its source becomes SCIM, and the
    // console then refuses local edits of what SCIM owns.
    let browser = app.other_browser();
    let (local, _) = browser.signed_in_user("dora").await;
    assert_eq!(browser.get("/settings").await.status(), 200);
    let (_, list) = scim.get("/Users?filter=userName%20eq%20%22dora%22").await;
    assert_eq!(list["Resources"][0]["id"], json!(local.id));
    let (status, _) = scim
        .patch(&format!("/Users/{}", local.id), json!([{"op": "replace", "path": "displayName", "value": "Dora E."}]))
        .await;
    assert_eq!(status, 200);
    let page = admin.get_html(&format!("/admin/users/{}", local.id)).await;
    assert!(page.contains("id=\"source-owned\""), "the console says SCIM owns the profile");
    assert!(page.contains("SCIM"));
    // Deactivated by the provider: the signed-in browser is signed out at once.
    let (status, _) =
        scim.patch(&format!("/Users/{}", local.id), json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(status, 200);
    let after = browser.get("/settings").await;
    assert_eq!(after.status(), 303);
    assert!(crate::helpers::location(&after).starts_with("/login"), "{}", crate::helpers::location(&after));

    // The page lists the connector; a new token replaces the old one at once; delete stops it.
    let page = admin.get_html("/admin/scim").await;
    assert!(page.contains("Entra ID"));
    let id = page.split("/admin/scim/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let rotated = admin.post_form(&format!("/admin/scim/{id}/rotate"), &[]).await;
    let new_token = element_text(&rotated.text().await.unwrap(), "scim-token");
    assert_ne!(new_token, token);
    assert_eq!(scim.get("/Users").await.0, 401);
    let fresh = Scim::new(&app, &new_token);
    assert_eq!(fresh.get("/Users").await.0, 200);
    let deleted = admin.post_form(&format!("/admin/scim/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(fresh.get("/Users").await.0, 401);
    let stored = app.table_text("scim_connectors", &["name", "token_hash"]).await;
    assert!(!stored.contains(&new_token), "tokens are not stored");
    let events = app.table_text("audit_log", &["event"]).await;
    assert!(events.contains("scim.connector_rotated") && events.contains("scim.connector_deleted"));
}

/// The source owns the profile: the Admin API may not rename a SCIM account or change its groups
/// (it may still disable it, as the console may).
#[tokio::test]
async fn the_admin_api_refuses_edits_of_what_scim_owns() {
    use crate::admin_api::{ALL, add_admin_application, python};
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let scim = Scim::new(&app, &connector(&admin, "Entra ID").await);
    let (_, ada) = scim.post("/Users", json!({"userName": "ada", "displayName": "Ada Lovelace"})).await;
    let id = ada["id"].as_str().unwrap();
    let keys = add_admin_application(&app, "Scripts", ALL).await;
    let out = python(
        &app,
        &keys,
        &format!(
            r#"
out = {{}}
out["rename"] = status_of(lambda: admin.update_user("{id}", realname="Someone Else"))
out["group"] = status_of(lambda: admin.add_user_group("{id}", "677565737473"))
out["disable"] = status_of(lambda: admin.update_user("{id}", status="disabled"))
print(json.dumps(out))
"#
        ),
    )
    .await;
    assert_eq!(
        (out["rename"].clone(), out["group"].clone(), out["disable"].clone()),
        (json!(400), json!(400), json!(200)),
        "{out}"
    );
    let (_, after) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(after["displayName"], "Ada Lovelace");
    assert_eq!(after["active"], false);
}

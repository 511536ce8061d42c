//! The Duo-compatible Admin API, driven by Duo's own, unmodified Python client (`duo_client.Admin`)
//! as institutions' scripts drive it: users, phones with activation, tokens, groups, bypass codes
//! that then pass the prompt, the logs with paging, permissions and signatures.

use serde_json::Value;

use crate::duo::add_application;
use crate::helpers::{PASSWORD, TestApp, location, next_mobile_number, now, spawn_app};
use twofold::store::{
    self,
    audit::{Event, Outcome},
};

pub(crate) struct AdminKeys {
    pub(crate) ikey: String,
    pub(crate) skey: String,
}

/// An Admin API application holding `permissions` (stored form, e.g. "read_log,read_resource").
pub(crate) async fn add_admin_application(app: &TestApp, name: &str, permissions: &str) -> AdminKeys {
    let id = twofold::secrets::new_id();
    let (ikey, skey) = (twofold::duo::keys::new_integration_key(), twofold::duo::keys::new_secret_key());
    let sealed = app.keys.seal(&format!("app-secret:{id}"), skey.as_bytes()).unwrap();
    store::applications::insert(&app.db, &id, name, "admin-api", &ikey, &sealed, now()).await.unwrap();
    store::applications::set_permissions(&app.db, &id, permissions).await.unwrap();
    AdminKeys { ikey, skey }
}

pub(crate) const ALL: &str = "read_log,read_resource,write_resource,grant_bypass";

/// Runs `body` with `admin` bound to a `duo_client.Admin` for these keys; the script prints JSON.
pub(crate) async fn python(app: &TestApp, keys: &AdminKeys, body: &str) -> Value {
    let script = format!(
        "import json, sys, duo_client\n\
         admin = duo_client.Admin(ikey=\"{ikey}\", skey=\"{skey}\", host=\"127.0.0.1\", port={port}, ca_certs=\"HTTP\")\n\
         def status_of(call):\n    try:\n        call()\n        return 200\n    except RuntimeError as e:\n        return e.status\n\
         {body}\n",
        ikey = keys.ikey,
        skey = keys.skey,
        port = app.port,
    );
    // Off the test's runtime: the server's database pool lives on it and must keep running.
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new("python3").arg("-c").arg(&script).output())
            .await
            .unwrap()
            .expect("python3 runs");
    assert!(output.status.success(), "duo_client failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

/// Users, their phones (with an activation link and one texted), tokens and groups, as a
/// provisioning script manages them; every change is audited under the application's name.
#[tokio::test]
async fn duo_client_manages_users_phones_tokens_and_groups() {
    let app = spawn_app().await;
    let keys = add_admin_application(&app, "Onboarding", ALL).await;
    let number = next_mobile_number();
    let out = python(
        &app,
        &keys,
        &format!(
            r#"
out = {{}}
ada = admin.add_user("ada", realname="Ada Lovelace", email="ada@example.edu")
admin.add_user("bob", email="bob@example.edu")
admin.add_user("cy", email="cy@example.edu", status="disabled")
out["created"] = ada
admin.paging_limit = 2
out["all"] = [u["username"] for u in admin.get_users()]
out["page"] = admin.get_users(limit=1, offset=1)
out["by_name"] = admin.get_users_by_name("ada")
out["by_ids"] = [u["username"] for u in admin.get_users_by_ids([ada["user_id"]])]
out["updated"] = admin.update_user(ada["user_id"], realname="Ada King", status="disabled")
admin.update_user(ada["user_id"], status="active")
phone = admin.add_phone(number="{number}", type="mobile")
out["phone"] = phone
admin.add_user_phone(ada["user_id"], phone["phone_id"])
out["user_phones"] = admin.get_user_phones(ada["user_id"])
out["phone_by_id"] = admin.get_phone_by_id(phone["phone_id"])
out["activation"] = admin.create_activation_url(phone["phone_id"])
out["sms"] = admin.send_sms_activation_to_phone(phone["phone_id"])
token = admin.add_hotp6_token("HOTP-1", "3132333435363738393031323334353637383930")
out["token"] = token
admin.add_user_token(ada["user_id"], token["token_id"])
out["user_tokens"] = admin.get_user_tokens(ada["user_id"])
admin.resync_hotp_token(token["token_id"], "969429", "338314", "254676")
out["bad_resync"] = status_of(lambda: admin.resync_hotp_token(token["token_id"], "969429", "338314", "254676"))
group = admin.create_group("Staff")
admin.add_user_group(ada["user_id"], group["group_id"])
out["user_groups"] = admin.get_user_groups(ada["user_id"])
out["groups"] = admin.get_groups()
out["group_users"] = admin.get_group_users(group["group_id"])
admin.delete_user_group(ada["user_id"], group["group_id"])
out["groups_after"] = admin.get_user_groups(ada["user_id"])
out["webauthn"] = admin.get_user_webauthncredentials(ada["user_id"])
out["user"] = admin.get_user_by_id(ada["user_id"])
out["summary"] = admin.get_info_summary()
bob = admin.get_users_by_name("bob")[0]
admin.delete_user(bob["user_id"])
out["deleted"] = status_of(lambda: admin.get_user_by_id(bob["user_id"]))
out["admin_log"] = admin.get_administrator_log(mintime=0)
out["telephony_log"] = admin.get_telephony_log(mintime=1)
import time
out["telephony_v2"] = admin.get_telephony_log(api_version=2, maxtime=int(time.time() * 1000) + 2000)
print(json.dumps(out))
"#
        ),
    )
    .await;
    assert_eq!(out["created"]["username"], "ada");
    assert_eq!(out["created"]["realname"], "Ada Lovelace");
    assert_eq!(out["created"]["status"], "active");
    assert_eq!(out["all"], serde_json::json!(["ada", "bob", "cy"]), "paged two at a time");
    assert_eq!(out["page"][0]["username"], "bob");
    assert_eq!(out["by_name"][0]["email"], "ada@example.edu");
    assert_eq!(out["by_ids"], serde_json::json!(["ada"]));
    assert_eq!(out["updated"]["realname"], "Ada King");
    assert_eq!(out["updated"]["status"], "disabled");
    assert_eq!(out["phone"]["number"], number.as_str());
    assert_eq!(out["user_phones"][0]["phone_id"], out["phone"]["phone_id"], "the phone keeps its id");
    assert_eq!(out["phone_by_id"]["users"][0]["username"], "ada");
    let link = out["activation"]["activation_url"].as_str().unwrap();
    assert!(link.contains("/authenticator/#activate="), "{link}");
    assert_eq!(out["token"]["type"], "h6");
    assert_eq!(out["user_tokens"][0]["serial"], "HOTP-1");
    assert_eq!(out["bad_resync"], 400, "the same codes do not resync twice");
    assert_eq!(out["user_groups"][0]["name"], "Staff");
    assert_eq!(out["groups"][0]["name"], "Staff");
    assert_eq!(out["group_users"][0]["username"], "ada");
    assert_eq!(out["groups_after"], serde_json::json!([]));
    assert_eq!(out["webauthn"], serde_json::json!([]));
    assert_eq!(out["user"]["realname"], "Ada King");
    assert_eq!(out["user"]["status"], "active");
    assert_eq!(out["user"]["is_enrolled"], true);
    assert_eq!(out["user"]["phones"][0]["number"], number.as_str());
    assert_eq!(out["summary"]["user_count"], 3);
    assert_eq!(out["deleted"], 404);

    // The activation went out as a text, through the telephony simulator.
    let mut texted = Vec::new();
    for t in store::phone_texts::recent(&app.db, &app.keys, 100).await.unwrap() {
        if t.to_number == number {
            texted.push(
                twofold::channels::telephony::simulator::Simulator::open_body(&app.keys, &t.id, &t.body).unwrap(),
            );
        }
    }
    assert_eq!(texted.len(), 1, "{texted:?}");
    assert!(texted[0].contains("/authenticator/#activate="), "{}", texted[0]);
    let tel = out["telephony_log"].as_array().unwrap();
    assert!(tel.iter().any(|e| e["type"] == "sms" && e["eventtype"] == "telephony"), "{tel:?}");
    let v2 = &out["telephony_v2"];
    assert_eq!(v2["items"][0]["type"], "sms", "{v2}");
    assert_eq!(v2["metadata"]["total_objects"]["value"], 1);

    // The same audit entries as the console's, naming the application.
    let ada = crate::helpers::user_id(&app, "ada").await;
    let events: Vec<String> = app.audit_events(&ada).await.into_iter().map(|(e, _)| e).collect();
    for e in [
        "user.created",
        "user.updated",
        "user.disabled",
        "user.enabled",
        "device.phone_added",
        "token.assigned",
        "token.resynchronised",
        "user.groups_changed",
        "push.reactivation",
        "phone.text_sent",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
    let log = out["admin_log"].as_array().unwrap();
    let created =
        log.iter().find(|e| e["action"] == "user_create" && e["object"] == "ada").expect("user_create logged");
    assert_eq!(created["username"], "Onboarding");
    assert!(log.iter().any(|e| e["action"] == "user_delete" && e["object"] == "bob"));
    assert!(log.iter().any(|e| e["action"] == "phone_create"));
}

/// A bypass code from the API is a temporary passcode: it passes the prompt.
#[tokio::test]
async fn a_bypass_code_from_the_api_passes_the_prompt() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let root = app.add_user("root").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", root.id)).await;
    let keys = add_admin_application(&app, "Help desk tool", ALL).await;
    let out = python(
        &app,
        &keys,
        &format!(
            r#"
out = {{}}
out["codes"] = admin.add_user_bypass_codes("{id}", count=2, valid_secs=600)
out["never"] = status_of(lambda: admin.add_user_bypass_codes("{id}", valid_secs=0))
out["unknown"] = status_of(lambda: admin.add_user_bypass_codes("nobody"))
out["staff"] = [status_of(lambda: admin.add_user_bypass_codes("{root}")),
                status_of(lambda: admin.update_user("{root}", status="disabled")),
                status_of(lambda: admin.delete_user("{root}"))]
# Older scripts sign with v2 (form bodies): the same answers.
v2 = duo_client.Admin(ikey=admin.ikey, skey=admin.skey, host="127.0.0.1", port={port}, ca_certs="HTTP", sig_version=2)
out["v2"] = v2.add_user("dora", email="dora@example.edu", realname="Dora V2")
out["v2_get"] = v2.get_users_by_name("dora")
print(json.dumps(out))
"#,
            id = ada.id,
            root = root.id,
            port = app.port
        ),
    )
    .await;
    assert_eq!(out["staff"], serde_json::json!([403, 403, 403]), "staff accounts are the console's");
    assert_eq!(out["v2"]["realname"], "Dora V2");
    assert_eq!(out["v2_get"][0]["user_id"], out["v2"]["user_id"]);
    let root_row = store::users::by_id(&app.db, &root.id).await.unwrap().expect("still there");
    assert!(root_row.is_active());
    let codes: Vec<String> = serde_json::from_value(out["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 2);
    assert!(codes.iter().all(|c| c.len() == 9 && c.chars().all(|d| d.is_ascii_digit())));
    assert_eq!(out["never"], 400);
    assert_eq!(out["unknown"], 404);

    let browser = app.other_browser();
    assert_eq!(location(&browser.login("ada", PASSWORD).await), "/prompt");
    let r = browser.post_form("/prompt/passcode", &[("passcode", &codes[0])]).await;
    // As with the console's temporary passcodes: signed in, and straight on to add a new device.
    assert_eq!(location(&r), "/enroll/device-type", "the bypass code signs ada in");
    let events = app.audit_events(&ada.id).await;
    assert!(events.iter().any(|(e, _)| e == "bypass.issued"));
    assert!(events.iter().any(|(e, o)| e == "mfa.temporary_passcode" && o == "success"));
}

/// 1,000 authentications, read with `get_authentication_log` (v2) a page at a time through
/// `next_offset`: every entry exactly once, newest first.
#[tokio::test]
async fn the_authentication_log_pages_through_a_thousand_entries() {
    let app = spawn_app().await;
    let ada = app.add_user("ada").await;
    let start = now() - 500;
    for i in 0..1000 {
        let outcome = if i % 10 == 0 { Outcome::Failure } else { Outcome::Success };
        let e =
            Event::new(twofold::domain::AuditEvent::MfaPasscode, outcome).user(&ada.id, "ada").ip(Some("192.0.2.7"));
        store::audit::record(&app.db, e, start + i / 2).await.unwrap();
    }
    // Not an authentication: left out.
    let other = Event::new(twofold::domain::AuditEvent::Logout, Outcome::Info).user(&ada.id, "ada");
    store::audit::record(&app.db, other, start).await.unwrap();
    let keys = add_admin_application(&app, "SIEM", "read_log").await;
    let out = python(
        &app,
        &keys,
        &format!(
            r#"
seen, pages, offset = [], 0, None
while True:
    # duo_client sends `limit` as given: a string, as Duo's documentation shows it.
    kw = dict(api_version=2, mintime={min}, maxtime={max}, limit="300")
    if offset:
        kw["next_offset"] = offset
    r = admin.get_authentication_log(**kw)
    pages += 1
    seen += [(e["txid"], e["timestamp"], e["result"], e["factor"], e["user"]["name"], e["access_device"]["ip"]) for e in r["authlogs"]]
    offset = r["metadata"]["next_offset"]
    total = r["metadata"]["total_objects"]
    if not offset:
        break
print(json.dumps({{"seen": seen, "pages": pages, "total": total}}))
"#,
            min = (start - 1) * 1000,
            max = (now() + 1) * 1000
        ),
    )
    .await;
    let seen = out["seen"].as_array().unwrap();
    assert_eq!(out["total"], 1000);
    assert_eq!(seen.len(), 1000);
    assert!(out["pages"].as_i64().unwrap() >= 4);
    let mut txids: Vec<&str> = seen.iter().map(|e| e[0].as_str().unwrap()).collect();
    txids.sort();
    txids.dedup();
    assert_eq!(txids.len(), 1000, "no entry twice");
    let times: Vec<i64> = seen.iter().map(|e| e[1].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(seen.iter().filter(|e| e[2] == "denied").count(), 100);
    assert!(seen.iter().all(|e| e[3] == "duo_mobile_passcode" && e[4] == "ada" && e[5] == "192.0.2.7"));
}

/// Each endpoint needs its permission (403, Duo's 40301); a bad signature is 401; the keys of an
/// Auth API application sign nothing on /admin, nor Admin API keys on /auth.
#[tokio::test]
async fn permissions_signatures_and_kinds_of_keys_are_enforced() {
    let app = spawn_app().await;
    let ada = app.add_user("ada").await;
    let logs_only = add_admin_application(&app, "SIEM", "read_log").await;
    let out = python(
        &app,
        &logs_only,
        &format!(
            r#"
def failure(call):
    try:
        call()
        return None
    except RuntimeError as e:
        return [e.status, e.data if isinstance(e.data, dict) else json.loads(e.data)]
out = {{}}
out["users"] = failure(lambda: admin.get_users())
out["create"] = failure(lambda: admin.add_user("eve", email="eve@example.edu"))
out["bypass"] = failure(lambda: admin.add_user_bypass_codes("{id}"))
out["log"] = failure(lambda: admin.get_administrator_log())
out["unserved"] = failure(lambda: admin.get_endpoints())
bad = duo_client.Admin(ikey=admin.ikey, skey="x" * 40, host="127.0.0.1", port={port}, ca_certs="HTTP")
out["bad_signature"] = failure(lambda: bad.get_administrator_log())
out["as_auth"] = failure(lambda: duo_client.Auth(ikey=admin.ikey, skey=admin.skey, host="127.0.0.1", port={port}, ca_certs="HTTP").check())
print(json.dumps(out))
"#,
            id = ada.id,
            port = app.port
        ),
    )
    .await;
    for call in ["users", "create", "bypass"] {
        assert_eq!(out[call][0], 403, "{call}: {}", out[call]);
        assert_eq!(out[call][1]["stat"], "FAIL");
        assert_eq!(out[call][1]["code"], 40301);
        assert_eq!(out[call][1]["message"], "Access forbidden");
    }
    assert_eq!(out["log"], Value::Null, "read_log is held");
    assert_eq!(out["unserved"][0], 404, "an endpoint Twofold does not serve");
    assert_eq!(out["unserved"][1]["code"], 40401);
    assert_eq!(out["bad_signature"][0], 401);
    assert_eq!(out["bad_signature"][1]["stat"], "FAIL");
    assert_eq!(out["as_auth"][0], 401, "Admin API keys do not sign Auth API requests");
    assert!(
        store::users::by_username(&app.db, &twofold::domain::Username::parse("eve").unwrap()).await.unwrap().is_none()
    );

    let auth = add_application(&app, "VPN").await;
    let auth_keys = AdminKeys { ikey: auth.ikey, skey: auth.skey };
    let out = python(
        &app,
        &auth_keys,
        r#"
try:
    admin.get_users()
    print(json.dumps(None))
except RuntimeError as e:
    print(json.dumps([e.status, e.data if isinstance(e.data, dict) else json.loads(e.data)]))
"#,
    )
    .await;
    assert_eq!(out[0], 401, "Auth API keys do not sign Admin API requests: {out}");
    assert_eq!(out[1]["stat"], "FAIL");

    // A verification push needs a device that receives pushes: refused in Duo's envelope.
    let writer = add_admin_application(&app, "Help desk tool", "write_resource,read_resource").await;
    let out = python(
        &app,
        &writer,
        &format!(
            r#"
try:
    admin.send_verification_push("{id}", "no-such-phone")
    print(json.dumps(None))
except RuntimeError as e:
    print(json.dumps(e.status))
"#,
            id = ada.id
        ),
    )
    .await;
    assert_eq!(out, 404);
}

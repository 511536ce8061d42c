//! Twofold's records in the shapes of Duo's Admin API objects (user, phone, token, group,
//! WebAuthn credential). Fields Twofold has no value for are present with Duo's "nothing"
//! (null, "" or []), so clients that index them do not fail; docs/admin-api.md lists them.

use serde_json::{Value, json};

use super::super::Fail;
use crate::domain::{DeviceKind, Platform};
use crate::store::{
    self, admin_phones::LoosePhone, devices::DeviceRow, phone_devices::PhoneDevice, tokens::TokenRow, users::UserRow,
    webauthn::CredentialRow,
};
use crate::web::state::AppState;

/// Duo's status words: "active", "disabled", "locked out".
pub fn status(user: &UserRow) -> &'static str {
    if !user.is_active() {
        "disabled"
    } else if user.locked_at.is_some() {
        "locked out"
    } else {
        "active"
    }
}

/// A group's id: its name in hex, so any name is safe in a path (Duo clients do not quote it).
pub fn group_id(name: &str) -> String {
    hex::encode(name.as_bytes())
}

/// The group name a `group_id` stands for.
pub fn group_name(id: &str) -> Option<String> {
    let bytes = hex::decode(id).ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|n| !n.trim().is_empty() && n.chars().count() <= 100 && !n.chars().any(char::is_control))
}

pub fn group(name: &str) -> Value {
    json!({
        "group_id": group_id(name),
        "name": name,
        "desc": "",
        "status": "Active",
        "push_enabled": true,
        "sms_enabled": true,
        "voice_enabled": true,
        "mobile_otp_enabled": true,
    })
}

fn platform(d: &DeviceRow) -> &'static str {
    match d.platform {
        Platform::Iphone | Platform::Ipad => "Apple iOS",
        Platform::Android => "Google Android",
        Platform::Other => "Unknown",
    }
}

/// A user's device with a number, as Duo's phone; `activated`: the Twofold authenticator has a key.
pub fn phone(d: &DeviceRow, p: &PhoneDevice, activated: bool, users: Vec<Value>) -> Value {
    let mobile = p.kind == DeviceKind::MobilePhone;
    let mut capabilities = Vec::new();
    if activated {
        capabilities.extend(["auto", "push"]);
    }
    if mobile {
        capabilities.push("sms");
    }
    capabilities.push("phone");
    if activated {
        capabilities.push("mobile_otp");
    }
    json!({
        "phone_id": p.id,
        "number": p.phone,
        "extension": p.phone_extension.clone().unwrap_or_default(),
        "name": p.name,
        "type": if mobile { "Mobile" } else { "Landline" },
        "platform": platform(d),
        "activated": activated,
        "capabilities": capabilities,
        "sms_passcodes_sent": false,
        "predelay": null,
        "postdelay": null,
        "model": "Unknown",
        "last_seen": "",
        "encrypted": "",
        "fingerprint": "",
        "screenlock": "",
        "tampered": "",
        "users": users,
    })
}

/// A phone nobody holds yet.
pub fn loose_phone(p: &LoosePhone) -> Value {
    let mobile = p.kind == DeviceKind::MobilePhone;
    json!({
        "phone_id": p.id,
        "number": p.phone,
        "extension": p.extension.clone().unwrap_or_default(),
        "name": p.name,
        "type": if mobile { "Mobile" } else { "Landline" },
        "platform": "Unknown",
        "activated": false,
        "capabilities": if mobile { vec!["sms", "phone"] } else { vec!["phone"] },
        "sms_passcodes_sent": false,
        "predelay": null,
        "postdelay": null,
        "model": "Unknown",
        "last_seen": "",
        "users": [],
    })
}

/// Duo's token type: h6/h8 (HOTP), t6/t8 (TOTP), yk (YubiKey AES).
pub fn token_type(t: &TokenRow) -> String {
    match t.kind.as_str() {
        "hotp" => format!("h{}", t.digits),
        "totp" => format!("t{}", t.digits),
        _ => "yk".into(),
    }
}

pub fn token(t: &TokenRow, users: Vec<Value>) -> Value {
    json!({
        "token_id": t.id,
        "serial": t.serial,
        "type": token_type(t),
        "totp_step": if t.kind == "totp" { json!(t.period) } else { Value::Null },
        "admins": [],
        "users": users,
    })
}

pub fn webauthn(c: &CredentialRow, name: &str) -> Value {
    json!({
        "webauthnkey": c.id,
        "credential_name": name,
        "date_added": c.created_at,
        "label": "Security Key",
    })
}

/// A user in the short form nested in phones and tokens.
pub fn user_brief(u: &UserRow) -> Value {
    json!({
        "user_id": u.id,
        "username": u.username,
        "realname": u.display_name,
        "email": u.email,
        "status": status(u),
        "last_login": u.last_login_at,
    })
}

/// The user's phones (as Duo phones) and other devices, read once.
pub async fn phones_of(state: &AppState, user: &UserRow) -> Result<Vec<Value>, Fail> {
    let devices = store::devices::list_for_user(&state.db, &user.id).await?;
    let phones = store::phone_devices::among(&state.keys, &devices)?;
    let mut out = Vec::with_capacity(phones.len());
    for p in &phones {
        let Some(d) = devices.iter().find(|d| d.id == p.id) else { continue };
        let activated = store::push_devices::key(&state.db, &d.id).await?.is_some();
        out.push(phone(d, p, activated, Vec::new()));
    }
    Ok(out)
}

pub async fn tokens_of(state: &AppState, user: &UserRow) -> Result<Vec<Value>, Fail> {
    Ok(store::tokens::of_user(&state.db, &user.id)
        .await?
        .iter()
        .filter(|t| t.status == "assigned")
        .map(|t| token(t, Vec::new()))
        .collect())
}

pub async fn webauthn_of(state: &AppState, user: &UserRow) -> Result<Vec<Value>, Fail> {
    let devices = store::devices::list_for_user(&state.db, &user.id).await?;
    Ok(store::webauthn::list_for_user(&state.db, &user.id)
        .await?
        .iter()
        .map(|c| {
            let name = devices.iter().find(|d| d.id == c.device_id).map(|d| d.name.as_str()).unwrap_or("Security key");
            webauthn(c, name)
        })
        .collect())
}

pub async fn groups_of(state: &AppState, user: &UserRow) -> Result<Vec<Value>, Fail> {
    Ok(store::import::groups_of(&state.db, &user.id).await?.iter().map(|g| group(g)).collect())
}

/// The full user object of `users` and `users/{id}`.
pub async fn user(state: &AppState, u: &UserRow) -> Result<Value, Fail> {
    let enrolled = u.enrolled_at.is_some() || store::devices::count_for_user(&state.db, &u.id).await? > 0;
    Ok(json!({
        "user_id": u.id,
        "username": u.username,
        "realname": u.display_name,
        "firstname": "",
        "lastname": "",
        "email": u.email,
        "status": status(u),
        "notes": "",
        "created": u.created_at,
        "last_login": u.last_login_at,
        "last_directory_sync": null,
        "is_enrolled": enrolled,
        "alias1": null,
        "alias2": null,
        "alias3": null,
        "alias4": null,
        "aliases": {},
        "phones": phones_of(state, u).await?,
        "tokens": tokens_of(state, u).await?,
        "groups": groups_of(state, u).await?,
        "webauthncredentials": webauthn_of(state, u).await?,
        "u2ftokens": [],
        "desktoptokens": [],
    }))
}

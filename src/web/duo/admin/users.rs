//! `users`: list (paged, or by username or email), get, create, update, delete, `users/enroll`
//! (create and email an enrolment invitation), and the help desk's verification push.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{ApiResult, Fail, ok};
use super::{
    MAX_LIMIT, answer, audit, authorized, by, managed_user_at, not_staff, objects, page, paging, required, user_at,
};
use crate::clock::now;
use crate::domain::{AdminPermission, AuditEvent, DisplayName, Email, Role, Username};
use crate::factors::push::PushStatus;
use crate::signin::verification::{Requester, VerifyStart};
use crate::store::{self, StoreError, users::NewUser, users::UserRow};
use crate::web::state::AppState;
use crate::web::{client_ip, invite};

use super::super::signed::Signed;

fn bad(e: impl std::fmt::Display) -> Fail {
    Fail::invalid(&e.to_string())
}

/// `user_id_list` / `username_list`: a JSON list of strings, as duo_client sends them (at most 100).
fn json_list(text: &str) -> Result<Vec<String>, Fail> {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(list) if list.len() <= 100 => Ok(list),
        _ => Err(Fail::invalid("a list of at most 100 strings, as JSON")),
    }
}

pub async fn list_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(list(&req, &body, &state).await)
}

async fn list(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::ReadResource).await?;
    // By username or email: a list of 0 or 1 users (Duo's `get_users_by_name`, `get_user_by_email`).
    let found: Option<Vec<UserRow>> = if let Some(list) = signed.param("user_id_list") {
        let mut users = Vec::new();
        for id in json_list(list)? {
            users.extend(store::users::by_id(&state.db, &id).await?);
        }
        Some(users)
    } else if let Some(list) = signed.param("username_list") {
        let mut users = Vec::new();
        for name in json_list(list)? {
            if let Ok(u) = Username::parse(&name) {
                users.extend(store::users::by_username(&state.db, &u).await?);
            }
        }
        Some(users)
    } else if let Some(name) = signed.param("username") {
        Some(match Username::parse(name) {
            Ok(u) => store::users::by_username(&state.db, &u).await?.into_iter().collect(),
            Err(_) => Vec::new(),
        })
    } else if let Some(email) = signed.param("email") {
        Some(match Email::parse(email) {
            Ok(e) => store::users::by_email(&state.db, &e).await?,
            Err(_) => Vec::new(),
        })
    } else {
        None
    };
    if let Some(users) = found {
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            out.push(objects::user(state, u).await?);
        }
        let total = out.len() as i64;
        return Ok(page(out, (total.max(1), 0), total));
    }
    let (limit, offset) = paging(&signed, MAX_LIMIT)?;
    let (rows, total) = store::users::page(&state.db, limit, offset).await?;
    let mut out = Vec::with_capacity(rows.len());
    for u in &rows {
        out.push(objects::user(state, u).await?);
    }
    Ok(page(out, (limit, offset), total))
}

pub async fn get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            Ok(ok(objects::user(&state, &user).await?))
        }
        .await,
    )
}

/// `status`: "active" or "disabled" (Duo's "bypass" has no equivalent: see docs/admin-api.md).
fn parse_status(value: &str) -> Result<&'static str, Fail> {
    match value {
        "active" => Ok("active"),
        "disabled" => Ok("disabled"),
        "bypass" => Err(Fail::invalid("status bypass is not supported; issue bypass codes instead")),
        _ => Err(Fail::invalid("status must be active or disabled")),
    }
}

pub async fn create_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(create(&req, &body, &state).await)
}

/// A new account from `username`, `email` (or a username that is an address) and `realname`.
async fn new_user(state: &AppState, signed: &Signed) -> Result<UserRow, Fail> {
    let username = Username::parse(required(signed, "username")?).map_err(bad)?;
    let email = match signed.param("email") {
        Some(e) => Email::parse(e).map_err(bad)?,
        None => Email::parse(username.as_str())
            .map_err(|_| Fail::missing("email (Twofold mails users their enrolment links)"))?,
    };
    let display = DisplayName::parse(signed.param("realname").unwrap_or(username.as_str())).map_err(bad)?;
    let new = NewUser {
        username: &username,
        email: &email,
        display_name: &display,
        password_hash: None,
        role: Role::User,
        source: store::users::Source::Local,
    };
    match store::users::insert(&state.db, new, now()).await {
        Ok(u) => Ok(u),
        Err(StoreError::Conflict) => Err(Fail::invalid("a user with this username already exists")),
        Err(e) => Err(e.into()),
    }
}

async fn create(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::WriteResource).await?;
    let status = signed.param("status").map(parse_status).transpose()?;
    let mut user = new_user(state, &signed).await?;
    audit(state, req, &signed, Some(&user), AuditEvent::UserCreated, "created").await?;
    if status == Some("disabled") {
        store::users::set_status(&state.db, &user.id, "disabled").await?;
        audit(state, req, &signed, Some(&user), AuditEvent::UserDisabled, "disabled").await?;
        user = user_at(state, &user.id).await?;
    }
    Ok(ok(objects::user(state, &user).await?))
}

pub async fn update_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(update(&req, &body, &state, &id).await)
}

async fn update(req: &HttpRequest, body: &[u8], state: &AppState, id: &str) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::WriteResource).await?;
    let user = managed_user_at(state, id).await?;
    let status = signed.param("status").map(parse_status).transpose()?;
    let username = Username::parse(signed.param("username").unwrap_or(&user.username)).map_err(bad)?;
    // An account may have no email (directory and SCIM accounts): only a given one is checked.
    let email = match signed.param("email") {
        Some(e) => Email::parse(e).map_err(bad)?.as_str().to_string(),
        None => user.email.clone(),
    };
    let display = DisplayName::parse(signed.param("realname").unwrap_or(&user.display_name)).map_err(bad)?;
    let changed = username.as_str() != user.username || email != user.email || display.as_str() != user.display_name;
    if changed && user.source().owns_profile() {
        return Err(Fail::invalid(&user.source().refusal(&user.username)));
    }
    if changed {
        match store::users::update_profile(&state.db, &user.id, &username, &email, &display).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => return Err(Fail::invalid("a user with this username already exists")),
            Err(e) => return Err(e.into()),
        }
        let detail = format!("username {}, email {}, name {}", username.as_str(), email.as_str(), display.as_str());
        audit(state, req, &signed, Some(&user), AuditEvent::UserUpdated, &detail).await?;
    }
    if let Some(status) = status.filter(|s| *s != user.status) {
        store::users::set_status(&state.db, &user.id, status).await?;
        let event = if status == "disabled" {
            // As in the console: disabling ends the account's sessions at once.
            store::sessions::delete_for_user(&state.db, &user.id).await?;
            AuditEvent::UserDisabled
        } else {
            AuditEvent::UserEnabled
        };
        audit(state, req, &signed, Some(&user), event, status).await?;
    }
    let user = user_at(state, &user.id).await?;
    Ok(ok(objects::user(state, &user).await?))
}

pub async fn delete(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            // Duo: deleting a user that is already gone does nothing.
            if let Some(user) = store::users::by_id(&state.db, &id).await? {
                not_staff(&user)?;
                store::sessions::delete_for_user(&state.db, &user.id).await?;
                store::users::delete(&state.db, &user.id).await?;
                audit(&state, &req, &signed, Some(&user), AuditEvent::UserDeleted, "deleted").await?;
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}

/// `users/enroll`: the user (created when new) is emailed an enrolment invitation.
pub async fn enroll_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            required(&signed, "email")?;
            let username = Username::parse(required(&signed, "username")?).map_err(bad)?;
            let user = match store::users::by_username(&state.db, &username).await? {
                Some(u) => {
                    not_staff(&u)?;
                    u
                }
                None => {
                    let u = new_user(&state, &signed).await?;
                    audit(&state, &req, &signed, Some(&u), AuditEvent::UserCreated, "created").await?;
                    u
                }
            };
            invite::send(&state, &user, None).await.map_err(|e| {
                tracing::error!(error = %e, "Admin API enrolment invitation failed");
                Fail::internal()
            })?;
            let detail = format!("to {}", user.email);
            audit(&state, &req, &signed, Some(&user), AuditEvent::InvitationSent, &detail).await?;
            Ok(ok(json!("")))
        }
        .await,
    )
}

/// Who may read a verification push's answer: the application that sent it.
fn requester_id(signed: &Signed) -> String {
    format!("app:{}", signed.app.id)
}

pub async fn verification_push_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let user = user_at(&state, &id).await?;
            let phone_id = required(&signed, "phone_id")?;
            if store::devices::for_user(&state.db, &user.id, phone_id).await?.is_none() {
                return Err(Fail::not_found("Resource not found"));
            }
            let (rid, name) = (requester_id(&signed), by(&signed));
            let requester = Requester { id: &rid, name: &name, staff: false, application: Some(&signed.app.name) };
            let ip = client_ip(&req);
            match state.send_verification_push_by(&user, &requester, ip.as_deref()).await.map_err(Fail::from_core)? {
                VerifyStart::Sent { id } => Ok(ok(json!({ "push_id": id }))),
                VerifyStart::NoDevice => Err(Fail::invalid("none of this user's devices receives pushes")),
                VerifyStart::FraudLock => {
                    Err(Fail::invalid("this user reported a push as fraudulent; review it first"))
                }
                VerifyStart::Disabled => Err(Fail::invalid("this account is disabled")),
            }
        }
        .await,
    )
}

/// Duo's words for a verification push's state.
fn result_word(status: PushStatus) -> &'static str {
    match status {
        PushStatus::Pending => "waiting",
        PushStatus::Approved => "approve",
        PushStatus::Denied | PushStatus::Cancelled => "deny",
        PushStatus::Fraud => "fraud",
        PushStatus::TimedOut => "timeout",
    }
}

pub async fn verification_push_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            let push_id = required(&signed, "push_id")?;
            let v = state
                .verification(&requester_id(&signed), &user.id, push_id)
                .await
                .map_err(Fail::from_core)?
                .ok_or_else(|| Fail::not_found("Resource not found"))?;
            let mut out: Value = json!({ "push_id": push_id, "result": result_word(v.status) });
            if let Some(code) = v.code {
                out["confirmation_code"] = json!(code);
            }
            Ok(ok(out))
        }
        .await,
    )
}

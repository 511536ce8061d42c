//! The Duo-compatible Admin API (`/admin/v1/…`, `/admin/v2/…`): what institutions script with
//! Duo's own client (`duo_client.Admin`). Requests are signed like the Auth API's (v2, v5) but
//! with the keys of an "Admin API" application, counted against the same per-application rate
//! limit, and each endpoint needs one of the application's permissions. Handlers are thin: the
//! same store and core as the console, with the same audit entries (the application is named
//! where the console names the staff member). docs/admin-api.md lists what is supported.

mod bypass;
mod groups;
mod info;
mod logs;
mod objects;
mod phones;
mod tokens;
mod user_devices;
mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::signed::{self, ADMIN_API, Signed};
use super::{ApiResult, Fail};
use crate::clock::now;
use crate::domain::{AdminPermission, AdminPermissions, AuditEvent, Role};
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::client_ip;
use crate::web::state::AppState;

/// Duo's default page and largest page for resource lists.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 300;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = crate::web::http::get;
    cfg.route("/admin/v1/users", get().to(users::list_get))
        .route("/admin/v1/users", web::post().to(users::create_post))
        .route("/admin/v1/users/enroll", web::post().to(users::enroll_post))
        .route("/admin/v1/users/{id}", get().to(users::get))
        .route("/admin/v1/users/{id}", web::post().to(users::update_post))
        .route("/admin/v1/users/{id}", web::delete().to(users::delete))
        .route("/admin/v1/users/{id}/phones", get().to(user_devices::phones_get))
        .route("/admin/v1/users/{id}/phones", web::post().to(user_devices::phone_post))
        .route("/admin/v1/users/{id}/phones/{phone}", web::delete().to(user_devices::phone_delete))
        .route("/admin/v1/users/{id}/tokens", get().to(user_devices::tokens_get))
        .route("/admin/v1/users/{id}/tokens", web::post().to(user_devices::token_post))
        .route("/admin/v1/users/{id}/tokens/{token}", web::delete().to(user_devices::token_delete))
        .route("/admin/v1/users/{id}/webauthncredentials", get().to(user_devices::webauthn_get))
        .route("/admin/v1/users/{id}/groups", get().to(groups::user_groups_get))
        .route("/admin/v1/users/{id}/groups", web::post().to(groups::user_group_post))
        .route("/admin/v1/users/{id}/groups/{group}", web::delete().to(groups::user_group_delete))
        .route("/admin/v1/users/{id}/bypass_codes", web::post().to(bypass::create_post))
        .route("/admin/v1/users/{id}/bypass_codes", get().to(bypass::list_get))
        .route("/admin/v1/users/{id}/send_verification_push", web::post().to(users::verification_push_post))
        .route("/admin/v1/users/{id}/verification_push_response", get().to(users::verification_push_get))
        .route("/admin/v1/phones", get().to(phones::list_get))
        .route("/admin/v1/phones", web::post().to(phones::create_post))
        .route("/admin/v1/phones/{id}", get().to(phones::get))
        .route("/admin/v1/phones/{id}", web::delete().to(phones::delete))
        .route("/admin/v1/phones/{id}/activation_url", web::post().to(phones::activation_url_post))
        .route("/admin/v1/phones/{id}/send_sms_activation", web::post().to(phones::send_sms_activation_post))
        .route("/admin/v1/tokens", get().to(tokens::list_get))
        .route("/admin/v1/tokens", web::post().to(tokens::create_post))
        .route("/admin/v1/tokens/{id}", get().to(tokens::get))
        .route("/admin/v1/tokens/{id}/resync", web::post().to(tokens::resync_post))
        .route("/admin/v1/groups", get().to(groups::list_get))
        .route("/admin/v1/groups", web::post().to(groups::create_post))
        .route("/admin/v1/groups/{id}", get().to(groups::get))
        .route("/admin/v2/groups/{id}", get().to(groups::get))
        .route("/admin/v2/groups/{id}/users", get().to(groups::users_get))
        .route("/admin/v1/logs/authentication", get().to(logs::authentication_v1_get))
        .route("/admin/v2/logs/authentication", get().to(logs::authentication_v2_get))
        .route("/admin/v1/logs/administrator", get().to(logs::administrator_get))
        .route("/admin/v1/logs/telephony", get().to(logs::telephony_get))
        .route("/admin/v2/logs/telephony", get().to(logs::telephony_v2_get))
        .route("/admin/v1/info/summary", get().to(info::summary_get))
        // Anything else under the API's prefixes: Duo's 404 envelope, not the console's page.
        .route("/admin/v1/{rest:.*}", web::route().to(unknown))
        .route("/admin/v2/{rest:.*}", web::route().to(unknown));
}

/// An endpoint Twofold does not serve (docs/admin-api.md lists what it does).
async fn unknown() -> HttpResponse {
    Fail::not_found("Resource not found").response()
}

/// A request signed by an Admin API application that holds `needed`: 401 for a bad signature
/// or another kind of key, 429 over the rate limit, 403 without the permission.
pub(super) async fn authorized(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    needed: AdminPermission,
) -> Result<Signed, Fail> {
    let signed = signed::verify_for(req, body, state, ADMIN_API).await?;
    if !AdminPermissions::parse(&signed.app.permissions).has(needed) {
        return Err(Fail::forbidden(needed));
    }
    Ok(signed)
}

impl Fail {
    /// Duo's 40301: the application lacks the permission (named in the detail).
    pub fn forbidden(needed: AdminPermission) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: 40301,
            message: "Access forbidden",
            detail: Some(format!("this application needs the permission \"{}\"", needed.label())),
        }
    }
}

/// Everything an Admin API handler answers goes through here: Duo's envelope, never a page.
pub(super) fn answer(result: ApiResult) -> HttpResponse {
    super::respond(result)
}

/// `{"stat":"OK","response":[…],"metadata":{…}}`: one page of a list, with where the next starts.
pub(super) fn page(items: Vec<Value>, (limit, offset): (i64, i64), total: i64) -> HttpResponse {
    let mut metadata = json!({ "total_objects": total });
    let end = offset + items.len() as i64;
    if end < total && !items.is_empty() {
        metadata["next_offset"] = json!(end);
    }
    if offset > 0 {
        metadata["prev_offset"] = json!((offset - limit).max(0));
    }
    HttpResponse::Ok().json(json!({ "stat": "OK", "response": items, "metadata": metadata }))
}

/// `limit` (default 100, at most `max`) and `offset` (default 0) as Duo's paging sends them.
pub(super) fn paging(signed: &Signed, max: i64) -> Result<(i64, i64), Fail> {
    let number = |name: &str, default: i64| -> Result<i64, Fail> {
        match signed.param(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Fail::invalid(&format!("{name} must be a whole number"))),
        }
    };
    let limit = number("limit", DEFAULT_LIMIT)?;
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit.min(max) };
    Ok((limit, number("offset", 0)?))
}

/// Slices an in-memory list by the request's paging (lists that are small by nature).
pub(super) fn page_of(signed: &Signed, items: Vec<Value>) -> ApiResult {
    let (limit, offset) = paging(signed, MAX_LIMIT)?;
    let total = items.len() as i64;
    let items = items.into_iter().skip(offset as usize).take(limit as usize).collect();
    Ok(page(items, (limit, offset), total))
}

/// The user a path names (`users/{id}`): 404 in Duo's envelope when there is none.
pub(super) async fn user_at(state: &AppState, id: &str) -> Result<UserRow, Fail> {
    store::users::by_id(&state.db, id).await?.ok_or_else(|| Fail::not_found("Resource not found"))
}

/// A user the Admin API may change: not staff. Administrators and the help desk are managed in the
/// console, where staff act only below their own role; an application acting on them (a bypass
/// code, a new phone, disabling) would be a way into the console around that rule.
pub(super) async fn managed_user_at(state: &AppState, id: &str) -> Result<UserRow, Fail> {
    let user = user_at(state, id).await?;
    not_staff(&user)?;
    Ok(user)
}

pub(super) fn not_staff(user: &UserRow) -> Result<(), Fail> {
    if user.role() == Role::User {
        return Ok(());
    }
    Err(Fail {
        status: StatusCode::FORBIDDEN,
        code: 40301,
        message: "Access forbidden",
        detail: Some("staff accounts (administrators, help desk) are managed in the console".into()),
    })
}

/// "application <name> (<ikey>)": where the console writes the staff member's username.
pub(super) fn by(signed: &Signed) -> String {
    format!("application {} ({})", signed.app.name, signed.app.integration_key)
}

/// Records what an Admin API request did, as the console records the same action.
pub(super) async fn audit(
    state: &AppState,
    req: &HttpRequest,
    signed: &Signed,
    user: Option<&UserRow>,
    event: AuditEvent,
    detail: &str,
) -> Result<(), Fail> {
    let ip = client_ip(req);
    let detail = format!("{detail} by {}", by(signed));
    let mut e = Event::new(event, Outcome::Info).ip(ip.as_deref()).detail(&detail).application(&signed.app.name);
    if let Some(u) = user {
        e = e.user(&u.id, &u.username);
    }
    Ok(store::audit::record(&state.db, e, now()).await?)
}

/// A required parameter.
pub(super) fn required<'a>(signed: &'a Signed, name: &str) -> Result<&'a str, Fail> {
    signed.param(name).ok_or_else(|| Fail::missing(name))
}

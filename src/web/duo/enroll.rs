//! Auth API `enroll` and `enroll_status`: an application starts enrolment for an existing user
//! who has no device yet. The activation is an enrolment invitation (single-use link to the wizard).

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::signed::{self, Signed};
use super::{ApiResult, Fail, ok, respond};
use crate::clock::now;
use crate::domain::Username;
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::state::AppState;
use crate::web::{client_ip, invite};

/// Without `valid_secs`, an activation works for a day; at most 30 days.
const DEFAULT_VALID_SECS: i64 = 86_400;
const MAX_VALID_SECS: i64 = 30 * 86_400;

pub async fn enroll_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(enroll(&req, &body, &state).await)
}

async fn user_to_enroll(state: &AppState, signed: &Signed) -> Result<UserRow, Fail> {
    // Twofold's accounts come from the directory or the console: an application cannot create one.
    let name = signed.param("username").ok_or_else(|| Fail::missing("username"))?;
    let user = match Username::parse(name) {
        Ok(u) => store::users::by_username(&state.db, &u).await?,
        Err(_) => None,
    };
    let user = user.ok_or_else(|| Fail::invalid("username: no such user"))?;
    if !user.is_active() {
        return Err(Fail::invalid("username: the account is disabled"));
    }
    if user.enrolled_at.is_some() {
        return Err(Fail::invalid("username: the user has enrolled already"));
    }
    Ok(user)
}

async fn enroll(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = signed::verify(req, body, state).await?;
    let valid = match signed.param("valid_secs") {
        None => DEFAULT_VALID_SECS,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|s| (1..=MAX_VALID_SECS).contains(s))
            .ok_or_else(|| Fail::invalid("valid_secs"))?,
    };
    let user = user_to_enroll(state, &signed).await?;
    let link = invite::create_link(state, &user, None, valid).await.map_err(|_| Fail::internal())?;
    let code = link.rsplit('/').next().unwrap_or_default().to_string();
    let ip = client_ip(req);
    let detail = format!("application {} ({}); enrolment link", signed.app.name, signed.app.integration_key);
    let e = Event::new(AuditEvent::ApiEnroll, Outcome::Info)
        .user(&user.id, &user.username)
        .ip(ip.as_deref())
        .detail(&detail)
        .application(&signed.app.name);
    store::audit::record(&state.db, e, now()).await?;
    Ok(ok(json!({
        "activation_barcode": format!("{}/auth/v2/enroll/qr/{code}", state.public_origin()),
        "activation_code": code,
        "activation_url": link,
        "expiration": now() + valid,
        "valid_secs": valid,
        "user_id": user.id,
        "username": user.username,
    })))
}

pub async fn enroll_status_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(
        async {
            let signed = signed::verify(&req, &body, &state).await?;
            status(&state, &signed).await
        }
        .await,
    )
}

/// `"success"` once the user used the link and stored a device, `"waiting"` before, `"invalid"`
/// for an unknown code, another user's, or an unused one that expired.
pub(super) async fn status(state: &AppState, signed: &Signed) -> ApiResult {
    let user_id = signed.param("user_id").ok_or_else(|| Fail::missing("user_id"))?;
    let code = signed.param("activation_code").ok_or_else(|| Fail::missing("activation_code"))?;
    let found = store::invitations::status(&state.db, &state.keys.hash_token(code), user_id).await?;
    let enrolled = store::users::by_id(&state.db, user_id).await?.is_some_and(|u| u.enrolled_at.is_some());
    let answer = match found {
        Some((Some(_), _)) if enrolled => "success",
        Some((None, expires_at)) if expires_at <= now() => "invalid",
        Some(_) => "waiting",
        None => "invalid",
    };
    Ok(ok(json!(answer)))
}

/// The activation link as a QR code (`activation_barcode`), while the invitation can be used.
pub async fn qr_get(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let usable = store::invitations::usable_user(&state.db, &state.keys.hash_token(&token), now()).await;
    if !matches!(usable, Ok(Some(_))) {
        return Fail::not_found("No such activation").response();
    }
    let mut link = state.public_url.clone();
    link.set_path(&format!("/invite/{token}"));
    match qrcode::QrCode::with_error_correction_level(link.as_str().as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).quiet_zone(true).build();
            HttpResponse::build(StatusCode::OK).content_type("image/svg+xml").body(svg)
        }
        Err(_) => Fail::internal().response(),
    }
}

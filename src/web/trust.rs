//! "Trust this browser?": an opaque 256-bit cookie whose keyed hash is stored server-side, bound
//! to one user, expiring after the policy's days, revocable; it never stands in for MFA longer.

use crate::domain::AuditEvent;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::chrome::Chrome;
use super::client_ip;
use super::csrf::CsrfForm;
use super::session::{FullyAuthed, UserSession};
use super::state::AppState;
use crate::clock::now;
use crate::csrf_form;
use crate::secrets::random_token;
use crate::signin::{Caller, Verdict};
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::error::{AppError, see_other};

pub(crate) fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies() { "__Host-twofold-trust" } else { "twofold_trust" }
}

/// After the first factor: signs in with this browser's trust cookie when it is still trusted
/// (the core refuses it for a locked account). True when the prompt is skipped.
pub(crate) async fn sign_in_trusted(
    req: &HttpRequest,
    state: &AppState,
    user: &UserRow,
    session: &UserSession,
) -> Result<bool, AppError> {
    let Some(cookie) = req.cookie(cookie_name(state)) else { return Ok(false) };
    let ip = client_ip(req);
    let caller = Caller::new(user, ip.as_deref());
    if let Some(Verdict::Accepted(_)) = state.trusted_browser(&caller, cookie.value()).await? {
        session.complete_by_trusted_browser()?;
        return Ok(true);
    }
    Ok(false)
}

#[derive(Template, WebTemplate)]
#[template(path = "prompt/trust.html")]
pub struct TrustPage {
    chrome: Chrome,
    days: u32,
}

pub async fn trust_get(auth: FullyAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let days = state.policy().await?.trusted_browser_days;
    if days == 0 {
        return Ok(see_other("/settings"));
    }
    let page = TrustPage { chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf), days };
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page.render()?))
}

csrf_form!(TrustForm { choice: String });

pub async fn trust_post(
    req: HttpRequest,
    auth: FullyAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<TrustForm>,
) -> Result<HttpResponse, AppError> {
    let days = state.policy().await?.trusted_browser_days;
    let onward = auth.session.take_return_to();
    let onward = onward.as_ref().map(|p| p.as_str()).unwrap_or("/settings");
    if form.0.choice != "trust" || days == 0 {
        return Ok(see_other(onward));
    }
    let t = now();
    let token = random_token();
    let user_agent: String = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unknown browser")
        .chars()
        .take(200)
        .collect();
    let expires = t + i64::from(days) * 86_400;
    store::trusted_browsers::insert(&state.db, &state.keys.hash_token(&token), &auth.user.id, &user_agent, t, expires)
        .await?;
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::TrustedBrowserAdd, Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(&req).as_deref()),
        t,
    )
    .await?;
    let cookie = Cookie::build(cookie_name(&state), token)
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(Duration::days(i64::from(days)))
        .finish();
    let mut response = see_other(onward);
    response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/prompt/trust", super::get().to(trust_get)).route("/prompt/trust", web::post().to(trust_post));
}

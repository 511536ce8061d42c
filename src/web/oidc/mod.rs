//! "Sign in with <institution>": starting a sign-in at an OpenID Connect provider and its callback,
//! which ends in a half-authenticated session exactly like a password (the prompt follows).

mod account;
mod problem;

use crate::domain::AuditEvent;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use self::account::{Refusal, Resolution};
use self::problem::{Problem, problem_page};
use super::session::{AuthLevel, UserSession};
use super::state::AppState;
use super::{client_ip, get, trust};
use crate::clock::now;
use crate::oidc::{OidcError, Pending};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::error::{AppError, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/oidc/{id}", get().to(start_get)).route("/login/oidc/{id}/callback", get().to(callback_get));
}

/// Where a signed-in session belongs instead of a new sign-in.
fn already_signed_in(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    match UserSession::from_request(req).level(state, now()) {
        AuthLevel::Anonymous | AuthLevel::Invited { .. } => None,
        AuthLevel::Password { .. } => Some(see_other("/prompt")),
        AuthLevel::Full { .. } => Some(see_other("/settings")),
    }
}

/// A link, not a form: the CSP's `form-action 'self'` would stop a form redirecting to the
/// provider. It writes only this session's pending sign-in (state, nonce, PKCE verifier).
pub async fn start_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if let Some(done) = already_signed_in(&req, &state) {
        return Ok(done);
    }
    let id = path.into_inner();
    let Some(provider) = state.oidc.config(&id).cloned() else { return Err(AppError::NotFound) };
    match state.oidc.begin(&id, now()).await {
        Ok((url, pending)) => {
            UserSession::from_request(&req).set_oidc_pending(&pending)?;
            Ok(see_other(url.as_str()))
        }
        Err(e) => fail(&req, &state, &provider.name, &e.to_string(), Problem::Unreachable).await,
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// RFC 9207: the issuer that answered, when the provider says (mix-up defence).
    iss: Option<String>,
}

pub async fn callback_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let Some(provider) = state.oidc.config(&id).cloned() else { return Err(AppError::NotFound) };
    let name = provider.name.clone();
    // Taken out first: a callback, good or bad, ends the pending sign-in.
    let pending = UserSession::from_request(&req).take_oidc_pending();
    if let Some(error) = &query.error {
        let (detail, problem) = match error.as_str() {
            "access_denied" => ("the user did not consent (access_denied)".to_string(), Problem::Denied),
            // OAuth error codes are short ASCII words; keep nothing else from the address bar.
            other => {
                let code: String = other.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
                (format!("the provider returned error {code}"), Problem::ProviderError)
            }
        };
        return fail(&req, &state, &name, &detail, problem).await;
    }
    let pending = match check_state(&state, pending, &id, query.state.as_deref()).await? {
        Ok(p) => p,
        Err(detail) => return fail(&req, &state, &name, detail, Problem::Expired).await,
    };
    if let Some(iss) = &query.iss
        && iss.trim_end_matches('/') != provider.issuer.trim_end_matches('/')
    {
        return fail(&req, &state, &name, "the callback names another issuer", Problem::BadToken).await;
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return fail(&req, &state, &name, "no code in the callback", Problem::ProviderError).await;
    };
    let identity = match state.oidc.finish(&pending, code).await {
        Ok(identity) => identity,
        Err(e) => {
            let problem = match &e {
                OidcError::CodeRefused(_) => Problem::Expired,
                OidcError::BadToken(_) => Problem::BadToken,
                OidcError::Unreachable(_) | OidcError::UnknownProvider => Problem::Unreachable,
            };
            return fail(&req, &state, &name, &e.to_string(), problem).await;
        }
    };
    let t = now();
    match account::resolve(&state.db, &provider, &identity, t).await? {
        Resolution::SignIn { user, provisioned, linked } => {
            if provisioned {
                let e = Event::new(AuditEvent::UserProvisioned, Outcome::Success).user(&user.id, &user.username);
                store::audit::record(&state.db, e.detail(&format!("created at first sign-in with {id}")), t).await?;
            }
            if linked {
                let e = Event::new(AuditEvent::OidcLinked, Outcome::Info).user(&user.id, &user.username);
                store::audit::record(&state.db, e.detail(&format!("linked to {id} subject")), t).await?;
            }
            store::oidc::touch(&state.db, &id, &identity.subject, t).await?;
            sign_in(&req, &state, &id, &name, user, t).await
        }
        Resolution::Refused(refusal) => refused(&req, &state, &name, refusal).await,
    }
}

/// The callback's state must be this session's pending sign-in for this provider, recent, and
/// never used before (the database decides that last part, so two racing callbacks cannot both
/// pass). Returns the reason for the audit log when it is not.
async fn check_state(
    state: &AppState,
    pending: Option<Pending>,
    id: &str,
    returned: Option<&str>,
) -> Result<Result<Pending, &'static str>, AppError> {
    let Some(pending) = pending else { return Ok(Err("no sign-in was started in this browser")) };
    let Some(returned) = returned else { return Ok(Err("the callback has no state")) };
    if pending.provider != id || !crate::secrets::constant_time_eq(&pending.state, returned) {
        return Ok(Err("the state does not match this browser's sign-in"));
    }
    let t = now();
    if t - pending.started > i64::from(state.settings.oidc.login_timeout_minutes) * 60 {
        return Ok(Err("the sign-in took too long"));
    }
    let hash = state.keys.hash_token(&format!("oidc-state:{}", pending.state));
    if !store::oidc::use_state(&state.db, &hash, t).await? {
        return Ok(Err("the state was used already (replay)"));
    }
    Ok(Ok(pending))
}

/// Signs the user in at password level (the prompt follows), like the password form does:
/// disabled accounts are refused, a trusted browser skips the prompt.
async fn sign_in(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    name: &str,
    user: store::users::UserRow,
    t: i64,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(req);
    if !user.is_active() {
        let e = Event::new(AuditEvent::LoginOidc, Outcome::Failure).user(&user.id, &user.username).ip(ip.as_deref());
        store::audit::record(&state.db, e.detail("account disabled"), t).await?;
        return problem_page(req, state, name, Problem::Disabled);
    }
    crate::web::login::portal_access(state, &user, ip.as_deref()).await?;
    let session = UserSession::from_request(req);
    session.begin_oidc(&user.id, id, t)?;
    let e = Event::new(AuditEvent::LoginOidc, Outcome::Success).user(&user.id, &user.username).ip(ip.as_deref());
    store::audit::record(&state.db, e.detail(&format!("signed in with {id}")), t).await?;
    if trust::sign_in_trusted(req, state, &user, &session).await? {
        return Ok(see_other("/settings"));
    }
    Ok(see_other("/prompt"))
}

async fn refused(req: &HttpRequest, state: &AppState, name: &str, refusal: Refusal) -> Result<HttpResponse, AppError> {
    let ip = client_ip(req);
    let t = now();
    let (event, problem) = match &refusal {
        Refusal::Claims(crate::oidc::ClaimsProblem::NoUsername) => {
            (Event::new(AuditEvent::LoginOidc, Outcome::Failure).detail("no usable username claim"), Problem::NotSetUp)
        }
        Refusal::Claims(crate::oidc::ClaimsProblem::NotInAllowedGroup) => {
            (Event::new(AuditEvent::LoginOidc, Outcome::Failure).detail("not in an allowed group"), Problem::NotAllowed)
        }
        Refusal::NotSetUp { username } | Refusal::NoEmail { username } => {
            let mut e =
                Event::new(AuditEvent::LoginOidc, Outcome::Failure).detail("no Twofold account for this username");
            e.username = Some(username);
            if matches!(refusal, Refusal::NoEmail { .. }) {
                e = e.detail("no email claim to create the account with");
            }
            (e, Problem::NotSetUp)
        }
        Refusal::Mismatch { user } => (
            Event::new(AuditEvent::LoginOidc, Outcome::Failure)
                .user(&user.id, &user.username)
                .detail("username claim names an account linked to another subject"),
            Problem::Mismatch,
        ),
    };
    store::audit::record(&state.db, event.ip(ip.as_deref()), t).await?;
    problem_page(req, state, name, problem)
}

/// Records a failed sign-in and shows the page that explains it.
async fn fail(
    req: &HttpRequest,
    state: &AppState,
    name: &str,
    detail: &str,
    problem: Problem,
) -> Result<HttpResponse, AppError> {
    tracing::info!(provider = ?name, reason = ?detail, "OpenID Connect sign-in failed");
    let ip = client_ip(req);
    let event = Event::new(AuditEvent::LoginOidc, Outcome::Failure).ip(ip.as_deref()).detail(detail);
    store::audit::record(&state.db, event, now()).await?;
    problem_page(req, state, name, problem)
}

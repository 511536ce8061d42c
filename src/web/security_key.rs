//! Security keys in the browser: the routes of both ceremonies (wizard and prompt), the script
//! that drives them, and the pieces both share: relying party, ceremony state, JSON answers.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{Credential, Webauthn};

use crate::clock::now;
use crate::factors::webauthn::relying_party;
use crate::store::{self, webauthn::CredentialRow};
use crate::web::enroll::security_key as enroll;
use crate::web::error::AppError;
use crate::web::prompt::security_key as prompt;
use crate::web::session::UserSession;
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = || web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()));
    cfg.route("/enroll/security-key", get().to(enroll::page_get))
        .route("/enroll/security-key", web::post().to(enroll::finish_post))
        .route("/enroll/security-key/options", web::post().to(enroll::options_post))
        .route("/prompt/security-key", get().to(|| async { crate::web::error::see_other("/prompt") }))
        .route("/prompt/security-key", web::post().to(prompt::finish_post))
        .route("/prompt/security-key/options", web::post().to(prompt::options_post))
        .route("/static/webauthn.js", get().to(script));
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/webauthn.js"))
}

/// The relying party for this server, or None when `public_url` is not a domain name.
pub fn rp(state: &AppState) -> Option<Webauthn> {
    relying_party(&state.public_url, &state.settings.webauthn, &state.settings.institution.name)
}

/// Ceremony purposes (one ceremony of each kind per user at a time).
pub const REGISTER: &str = "register";
pub const AUTHENTICATE: &str = "authenticate";

fn state_context(user_id: &str, purpose: &str) -> String {
    format!("webauthn-state:{user_id}:{purpose}")
}

/// The context a credential is sealed under: a sealed credential copied to another row does not open.
pub fn credential_context(user_id: &str, credential_id: &str) -> String {
    format!("webauthn-credential:{user_id}:{credential_id}")
}

/// Stores a new ceremony (replacing the user's earlier one for the same purpose), sealed, and
/// remembers it in this session: only this session can finish it.
pub async fn begin<T: Serialize>(
    state: &AppState,
    session: &UserSession,
    (user_id, purpose): (&str, &str),
    value: &T,
) -> Result<(), AppError> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.into()))?;
    let sealed = state.keys.seal(&state_context(user_id, purpose), &json)?;
    let t = now();
    let expires = t + i64::from(state.settings.webauthn.timeout_seconds) + 30;
    let id = store::webauthn::put_ceremony(&state.db, user_id, purpose, &sealed, t, expires).await?;
    session.set_webauthn_ceremony(purpose, &id)
}

/// Takes the user's ceremony: consumed before anything is verified, so it answers once.
pub async fn take<T: DeserializeOwned>(
    state: &AppState,
    session: &UserSession,
    (user_id, purpose): (&str, &str),
) -> Result<Option<T>, AppError> {
    let Some(id) = session.take_webauthn_ceremony(purpose) else { return Ok(None) };
    let Some(sealed) = store::webauthn::take_ceremony(&state.db, (user_id, purpose, &id), now()).await? else {
        return Ok(None);
    };
    let json = state.keys.open(&state_context(user_id, purpose), &sealed)?;
    Ok(serde_json::from_slice(&json).ok())
}

/// A stored credential, opened.
pub fn open_credential(state: &AppState, row: &CredentialRow) -> Result<Credential, AppError> {
    let json = state.keys.open(&credential_context(&row.user_id, &row.credential_id), &row.sealed_credential)?;
    serde_json::from_slice(&json).map_err(|e| AppError::Internal(anyhow::anyhow!("stored credential: {e}")))
}

pub fn seal_credential(state: &AppState, user_id: &str, credential: &Credential) -> Result<(String, String), AppError> {
    let id = URL_SAFE_NO_PAD.encode(&credential.cred_id);
    let json = serde_json::to_vec(credential).map_err(|e| AppError::Internal(e.into()))?;
    Ok((id.clone(), state.keys.seal(&credential_context(user_id, &id), &json)?))
}

/// Options for the browser, as JSON.
pub fn json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// A JSON error the script turns into the page's message for `code`.
pub fn json_error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code }))
}

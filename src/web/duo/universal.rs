//! The Universal Prompt's back channel: `health_check` and `token`, both authenticated by an HS512
//! client assertion signed with the application's secret key. Codes are exchanged exactly once.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{Fail, limits, ok, respond};
use crate::clock::now;
use crate::duo::jwt;
use crate::duo::universal::{self as rules, CLIENT_ASSERTION_TYPE, Outcome};
use crate::secrets::random_token;
use crate::store::{
    self,
    applications::ApplicationRow,
    audit::{Event, Outcome as AuditOutcome},
};
use crate::web::state::AppState;

pub const HEALTH_CHECK_PATH: &str = "/oauth/v1/health_check";
pub const TOKEN_PATH: &str = "/oauth/v1/token";

/// The URLs a client may name as audience for `path`: under the public URL (as browsers reach
/// us) and under `https://<API hostname>` (as Duo's clients build them).
pub fn audiences(state: &AppState, path: &str) -> Vec<String> {
    let mut list = vec![format!("{}{path}", state.public_origin()), format!("https://{}{path}", state.api_hostname())];
    list.dedup();
    list
}

/// A web application (Universal Prompt) by client id, with its secret key opened.
pub async fn web_app(state: &AppState, client_id: &str) -> Result<Option<(ApplicationRow, String)>, Fail> {
    let Some(app) = store::applications::by_integration_key(&state.db, client_id).await? else { return Ok(None) };
    if app.kind != "web" {
        return Ok(None);
    }
    let secret = state.keys.open(&format!("app-secret:{}", app.id), &app.secret_key).map_err(|_| Fail::internal())?;
    let secret = String::from_utf8(secret.to_vec()).map_err(|_| Fail::internal())?;
    Ok(Some((app, secret)))
}

/// Query and form parameters together (Duo's client sends the token request in the query).
fn params(req: &HttpRequest, body: &[u8]) -> Vec<(String, String)> {
    let query = url::form_urlencoded::parse(req.query_string().as_bytes());
    query.into_owned().chain(url::form_urlencoded::parse(body).into_owned()).collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The application and the audience it signed, once its client assertion checks out; otherwise
/// the reason, with the application when the client id names one.
async fn authenticate(
    state: &AppState,
    client_id: &str,
    assertion: &str,
    path: &str,
) -> Result<(ApplicationRow, String, String), (Option<ApplicationRow>, &'static str)> {
    let (app, secret) =
        web_app(state, client_id).await.map_err(|_| (None, "internal error"))?.ok_or((None, "unknown client_id"))?;
    let Ok(claims) = jwt::verify(assertion, &secret) else {
        return Err((Some(app), "the client assertion is not signed with the client secret"));
    };
    let aud = audiences(state, path);
    if let Err(why) = rules::check_assertion(&claims, client_id, &aud, now()) {
        return Err((Some(app), why));
    }
    let Some(issuer) = rules::audience(&claims, &aud) else { return Err((Some(app), "aud is not this endpoint")) };
    // Single use: the same assertion (its jti) is refused until it expires.
    let jti = claims.get("jti").and_then(|v| v.as_str()).unwrap_or_default();
    // Kept past the assertion's own expiry plus any leeway it is accepted with.
    let exp = claims.get("exp").and_then(|v| v.as_f64()).map(|e| e as i64).unwrap_or_else(now);
    let expires = exp + 600;
    let hash = state.keys.hash_token(&format!("client-assertion:{}:{jti}", app.id));
    match store::used_assertions::first_use(&state.db, &hash, expires).await {
        Ok(true) => Ok((app, secret, issuer)),
        Ok(false) => Err((Some(app), "the client assertion was already used (jti)")),
        Err(_) => Err((None, "internal error")),
    }
}

pub async fn health_check_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let p = params(&req, &body);
    respond(
        async {
            let client_id = param(&p, "client_id").ok_or_else(|| Fail::missing("client_id"))?;
            let assertion = param(&p, "client_assertion").ok_or_else(|| Fail::missing("client_assertion"))?;
            let (app, _, _) = authenticate(&state, client_id, assertion, HEALTH_CHECK_PATH)
                .await
                .map_err(|_| Fail::unauthorized("Invalid client assertion"))?;
            limits::count(&state, &app).await?;
            Ok(ok(json!({ "timestamp": now() })))
        }
        .await,
    )
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": error, "error_description": description }))
}

pub async fn token_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    token(&params(&req, &body), &state).await.unwrap_or_else(|e| e)
}

async fn token(p: &[(String, String)], state: &AppState) -> Result<HttpResponse, HttpResponse> {
    let bad = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    if param(p, "grant_type") != Some("authorization_code") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        ));
    }
    if param(p, "client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
        return Err(bad("client_assertion_type must be jwt-bearer"));
    }
    let (Some(client_id), Some(code), Some(redirect_uri), Some(assertion)) =
        (param(p, "client_id"), param(p, "code"), param(p, "redirect_uri"), param(p, "client_assertion"))
    else {
        return Err(bad("client_id, code, redirect_uri and client_assertion are required"));
    };
    let (app, secret, issuer) = match authenticate(state, client_id, assertion, TOKEN_PATH).await {
        Ok(found) => found,
        Err((app, why)) => {
            if let Some(app) = app {
                audit(state, &app, None, AuditOutcome::Failure, &format!("invalid_client: {why}")).await?;
            }
            return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why));
        }
    };
    limits::count(state, &app).await.map_err(|f| f.response())?;
    let t = now();
    let invalid_grant =
        || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code is unknown, expired or used");
    // Consumed before anything else is believed: single use under concurrency.
    let row = store::universal_codes::consume(&state.db, &state.keys.hash_token(code), &app.id, t)
        .await
        .map_err(|_| Fail::internal().response())?;
    let Some(row) = row.filter(|r| r.redirect_uri == redirect_uri) else {
        audit(
            state,
            &app,
            None,
            AuditOutcome::Failure,
            "token refused: code unknown, expired, used or for another redirect_uri",
        )
        .await?;
        return Err(invalid_grant());
    };
    let claims = rules::id_token_claims(
        &Outcome {
            issuer: &issuer,
            client_id: &app.integration_key,
            application: &app.name,
            username: &row.username,
            user_id: &row.user_id,
            nonce: row.nonce.as_deref(),
            factor: &row.factor,
            auth_time: row.created_at,
            txid: &crate::secrets::new_id(),
            ip: row.ip.as_deref(),
        },
        t,
    );
    let id_token = jwt::sign(&claims, &secret).ok_or_else(|| Fail::internal().response())?;
    audit(state, &app, Some((&row.user_id, &row.username)), AuditOutcome::Success, "id_token issued").await?;
    Ok(HttpResponse::Ok().json(json!({
        "id_token": id_token,
        "access_token": random_token(),
        "token_type": "Bearer",
        "expires_in": rules::ID_TOKEN_SECONDS,
    })))
}

async fn audit(
    state: &AppState,
    app: &ApplicationRow,
    user: Option<(&str, &str)>,
    outcome: AuditOutcome,
    detail: &str,
) -> Result<(), HttpResponse> {
    let detail = format!("application {} ({}); {detail}", app.name, app.integration_key);
    let mut e = Event::new(AuditEvent::UniversalToken, outcome).detail(&detail).application(&app.name);
    if let Some((id, name)) = user {
        e = e.user(id, name);
    }
    store::audit::record(&state.db, e, now()).await.map_err(|_| Fail::internal().response())
}

//! The token endpoint (a code, once, for its client, its redirect URI and its PKCE verifier: an
//! ID token and an access token) and userinfo (the access token's user, as far as its scope says).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{audit, client};
use crate::clock::now;
use crate::domain::AuditEvent;
use crate::openid::claims::{IdToken, id_token};
use crate::secrets::{constant_time_eq, random_token};
use crate::store::{self, applications::ApplicationRow, audit::Outcome, users::UserRow};
use crate::web::error::AppError;
use crate::web::state::AppState;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        r.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"twofold\""));
    }
    r.json(json!({ "error": error, "error_description": description }))
}

/// `client_secret_basic` (RFC 6749 §2.3.1: both parts form-urlencoded) or `client_secret_post`.
fn credentials(req: &HttpRequest, p: &[(String, String)]) -> Option<(String, String)> {
    let basic =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    if let Some(encoded) = basic {
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    let get = |name: &str| p.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Some((get("client_id")?, get("client_secret")?))
}

/// The client, once its secret checks out.
async fn authenticated(state: &AppState, id: &str, secret: &str) -> Result<Option<ApplicationRow>, AppError> {
    let Some(app) = client(state, id).await?.filter(|a| a.kind == "oidc") else { return Ok(None) };
    let stored = state.keys.open(&format!("app-secret:{}", app.id), &app.secret_key)?;
    let stored = String::from_utf8_lossy(&stored).into_owned();
    Ok(constant_time_eq(&stored, secret).then_some(app))
}

pub async fn token_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let bad = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    if get("grant_type") != Some("authorization_code") {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        ));
    }
    let Some((client_id, secret)) = credentials(&req, &p) else {
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is required"));
    };
    let Some(app) = authenticated(&state, &client_id, &secret).await? else {
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"));
    };
    if crate::web::duo::limits::count(&state, &app).await.is_err() {
        return Ok(oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many requests"));
    }
    let (Some(code), Some(redirect_uri), Some(verifier)) = (get("code"), get("redirect_uri"), get("code_verifier"))
    else {
        return Ok(bad("code, redirect_uri and code_verifier are required"));
    };
    let t = now();
    let invalid_grant =
        || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code is unknown, expired or used");
    // Consumed before anything else is believed: single use under concurrency.
    let row = store::universal_codes::consume(&state.db, &state.keys.hash_token(code), &app.id, t).await?;
    let Some(row) = row.filter(|r| r.redirect_uri == redirect_uri) else {
        audit(
            &state,
            &req,
            AuditEvent::OpenidToken,
            &app,
            None,
            Outcome::Failure,
            "code unknown, used or for another redirect_uri",
        )
        .await?;
        return Ok(invalid_grant());
    };
    let expected = row.code_challenge.as_deref().unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(&URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), expected)
    {
        audit(&state, &req, AuditEvent::OpenidToken, &app, None, Outcome::Failure, "PKCE verifier does not match")
            .await?;
        return Ok(invalid_grant());
    }
    let Some(user) = store::users::by_id(&state.db, &row.user_id).await?.filter(UserRow::is_active) else {
        return Ok(invalid_grant());
    };
    let scope = row.scope.clone().unwrap_or_else(|| "openid".into());
    let lifetime = i64::from(state.settings.openid.token_seconds);
    let access_token = random_token();
    let new = store::openid::NewToken {
        token_hash: &state.keys.hash_token(&access_token),
        application_id: &app.id,
        user_id: &user.id,
        scope: &scope,
        expires_at: t + lifetime,
    };
    store::openid::insert_token(&state.db, new).await?;
    let issuer = state.public_origin();
    let claims = IdToken {
        issuer: &issuer,
        audience: &app.integration_key,
        subject: &user.id,
        nonce: row.nonce.as_deref(),
        auth_time: row.created_at,
        now: t,
        lifetime,
    };
    let claims = id_token(&claims, &row.factor, Some(profile(&user, &scope)));
    let key = crate::openid::keys::current(&state.db, &state.keys, t, state.settings.openid.key_rotation_days).await?;
    let signed = key.sign(&claims)?;
    audit(&state, &req, AuditEvent::OpenidToken, &app, Some(&user), Outcome::Success, "tokens issued").await?;
    Ok(HttpResponse::Ok().insert_header((header::PRAGMA, "no-cache")).json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "id_token": signed,
        "scope": scope,
    })))
}

/// The claims a scope lets the application read (besides `sub`).
fn profile(user: &UserRow, scope: &str) -> Value {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut claims = json!({ "preferred_username": user.username });
    if scopes.contains(&"profile") {
        claims["name"] = json!(user.display_name);
    }
    if scopes.contains(&"email") {
        claims["email"] = json!(user.email);
    }
    claims
}

pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let refuse = || {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .json(json!({ "error": "invalid_token" }))
    };
    let Some(token) = token else { return Ok(refuse()) };
    let Some((user_id, scope)) = store::openid::token(&state.db, &state.keys.hash_token(token), now()).await? else {
        return Ok(refuse());
    };
    let Some(user) = store::users::by_id(&state.db, &user_id).await?.filter(UserRow::is_active) else {
        return Ok(refuse());
    };
    let mut claims = profile(&user, &scope);
    claims["sub"] = json!(user.id);
    Ok(HttpResponse::Ok().json(claims))
}

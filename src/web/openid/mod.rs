//! The OpenID provider's door (docs/openid.md, docs/entra.md): discovery, the key set, authorize
//! (the code flow with PKCE for ordinary applications; `id_token` by form post for Microsoft
//! Entra ID's External Authentication Methods), token and userinfo. The sign-in itself is the
//! prompt's, through `web::app_flow`; keys, claims and Entra's hint are `crate::openid`'s.

mod authorize;
mod token;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::clock::now;
use crate::domain::AuditEvent;
use crate::store::{
    self,
    applications::ApplicationRow,
    audit::{Event, Outcome},
};
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::{client_ip, get};

pub const AUTHORIZE_PATH: &str = "/oidc/authorize";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/openid-configuration", get().to(discovery))
        .route("/oidc/jwks", get().to(jwks))
        .route(AUTHORIZE_PATH, get().to(authorize::authorize_get))
        .route(AUTHORIZE_PATH, web::post().to(authorize::authorize_post))
        .route("/oidc/token", web::post().to(token::token_post))
        .route("/oidc/userinfo", get().to(token::userinfo))
        .route("/oidc/userinfo", web::post().to(token::userinfo));
}

/// The kinds of application the provider serves.
pub const KINDS: [&str; 2] = ["oidc", "entra"];

/// A registered client of the provider, by client id.
async fn client(state: &AppState, client_id: &str) -> Result<Option<ApplicationRow>, AppError> {
    Ok(store::applications::by_integration_key(&state.db, client_id)
        .await?
        .filter(|a| KINDS.contains(&a.kind.as_str())))
}

async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.public_origin();
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=3600")).json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}/oidc/token"),
        "userinfo_endpoint": format!("{issuer}/oidc/userinfo"),
        "jwks_uri": format!("{issuer}/oidc/jwks"),
        "response_types_supported": ["code", "id_token"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [crate::openid::keys::ALG],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr",
                             "preferred_username", "name", "email"],
        "acr_values_supported": [crate::openid::claims::ENTRA_ACR],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
    }))
}

async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let rotation = state.settings.openid.key_rotation_days;
    let set = crate::openid::keys::published(&state.db, &state.keys, now(), rotation).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=3600")).json(set))
}

/// An `openid.*` audit entry naming the application (and the user, once known).
async fn audit(
    state: &AppState,
    req: &HttpRequest,
    event: AuditEvent,
    app: &ApplicationRow,
    user: Option<&store::users::UserRow>,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    let detail = format!("application {} ({}); {detail}", app.name, app.integration_key);
    let ip = client_ip(req);
    let mut e = Event::new(event, outcome).ip(ip.as_deref()).detail(&detail).application(&app.name);
    if let Some(u) = user {
        e = e.user(&u.id, &u.username);
    }
    Ok(store::audit::record(&state.db, e, now()).await?)
}

//! The authorization endpoint. Until the client and its redirect URI are known to be registered,
//! problems are a page of ours; after that they go back to the application as OAuth errors
//! (RFC 6749 §4.1.2.1), in the response mode it asked for.
//!
//! - `response_type=code` (ordinary applications): PKCE with S256 is required; the request waits
//!   in the session for "Log in" (password, then the prompt), and a code comes back.
//! - `response_type=id_token` with `response_mode=form_post` (Microsoft Entra ID, EAM): Entra's
//!   `id_token_hint` names the user; the prompt follows at once, and an ID token about the hint's
//!   subject is posted back.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{audit, client};
use crate::clock::now;
use crate::domain::access::{Decision, Door};
use crate::domain::{AuditEvent, Username};
use crate::duo::universal::AuthorizeRequest;
use crate::openid::hint::{self, Expect};
use crate::signin::access::registered_scope;
use crate::signin::readiness::Readiness;
use crate::signin::{Application, Caller};
use crate::store::{self, applications::ApplicationRow, audit::Outcome};
use crate::web::app_flow::{self, OpenidBack, Waiting};
use crate::web::client_ip;
use crate::web::error::{AppError, see_other};
use crate::web::session::UserSession;
use crate::web::state::AppState;

fn refused(message: &str) -> AppError {
    AppError::Explained {
        status: StatusCode::BAD_REQUEST,
        title: "This sign-in request cannot be used",
        message: format!("{message}. Go back to the application and sign in again."),
    }
}

type Params = Vec<(String, String)>;

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

pub async fn authorize_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let p: Params = url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    authorize(&req, &state, p).await
}

/// Entra may post the request (a cross-site form post: exempt from the same-origin check, since
/// it changes nothing until the prompt).
pub async fn authorize_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p: Params = url::form_urlencoded::parse(&body).into_owned().collect();
    authorize(&req, &state, p).await
}

/// Where errors go once the redirect URI is trusted.
struct Back<'a> {
    redirect_uri: &'a str,
    state: &'a str,
    form_post: bool,
    application: &'a str,
}

impl Back<'_> {
    fn error(&self, error: &str, description: &str) -> Result<HttpResponse, AppError> {
        if self.form_post {
            let fields = [
                ("error", error.to_string()),
                ("error_description", description.to_string()),
                ("state", self.state.to_string()),
            ];
            return app_flow::form_post(self.redirect_uri, &fields, self.application);
        }
        let mut url =
            url::Url::parse(self.redirect_uri).map_err(|_| refused("The application's address is not valid"))?;
        url.query_pairs_mut().append_pair("error", error).append_pair("error_description", description);
        if !self.state.is_empty() {
            url.query_pairs_mut().append_pair("state", self.state);
        }
        Ok(HttpResponse::SeeOther().insert_header(("Location", url.to_string())).finish())
    }
}

async fn authorize(req: &HttpRequest, state: &AppState, p: Params) -> Result<HttpResponse, AppError> {
    let client_id = param(&p, "client_id").ok_or_else(|| refused("The request names no application (client_id)"))?;
    let app = client(state, client_id).await?.ok_or_else(|| refused("No application has this client id"))?;
    let redirect_uri = param(&p, "redirect_uri").ok_or_else(|| refused("The request has no redirect_uri"))?;
    if !store::applications::redirect_uris(&state.db, &app.id).await?.iter().any(|u| u == redirect_uri) {
        audit(state, req, AuditEvent::OpenidAuthorize, &app, None, Outcome::Failure, "unregistered redirect_uri")
            .await?;
        return Err(refused("The application asked to return to an address it has not registered"));
    }
    let back = Back {
        redirect_uri,
        state: param(&p, "state").unwrap_or(""),
        form_post: param(&p, "response_mode") == Some("form_post"),
        application: &app.name,
    };
    if !param(&p, "scope").unwrap_or("").split(' ').any(|s| s == "openid") {
        return back.error("invalid_scope", "The scope must include openid.");
    }
    match (app.kind.as_str(), param(&p, "response_type")) {
        ("oidc", Some("code")) => code_flow(req, state, &app, &p, &back).await,
        ("entra", Some("id_token")) if back.form_post => entra(req, state, &app, &p, &back).await,
        ("entra", Some("id_token")) => back.error("invalid_request", "Entra's requests use response_mode=form_post."),
        _ => back.error("unsupported_response_type", "This application may not use this response_type."),
    }
}

fn request(back: &Back<'_>, username: &str, nonce: Option<&str>) -> AuthorizeRequest {
    AuthorizeRequest {
        redirect_uri: back.redirect_uri.into(),
        state: back.state.into(),
        username: username.into(),
        nonce: nonce.map(str::to_string),
        use_duo_code: false,
    }
}

async fn code_flow(
    req: &HttpRequest,
    state: &AppState,
    app: &ApplicationRow,
    p: &Params,
    back: &Back<'_>,
) -> Result<HttpResponse, AppError> {
    let challenge = param(p, "code_challenge").filter(|c| (43..=128).contains(&c.len()));
    let (Some(challenge), Some("S256")) = (challenge, param(p, "code_challenge_method")) else {
        return back.error("invalid_request", "PKCE with code_challenge_method=S256 is required.");
    };
    let scope: Vec<&str> = param(p, "scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    let waiting = Waiting {
        application_id: app.id.clone(),
        request: request(back, param(p, "login_hint").unwrap_or(""), param(p, "nonce")),
        back: OpenidBack::Code { code_challenge: challenge.to_string(), scope: scope.join(" ") },
    };
    // A sign-in for an application starts afresh: the password, then the second factor.
    let session = UserSession::from_request(req);
    session.restart();
    app_flow::wait(&session, &waiting)?;
    audit(state, req, AuditEvent::OpenidAuthorize, app, None, Outcome::Info, "code flow: sign-in started").await?;
    Ok(see_other("/login"))
}

async fn entra(
    req: &HttpRequest,
    state: &AppState,
    app: &ApplicationRow,
    p: &Params,
    back: &Back<'_>,
) -> Result<HttpResponse, AppError> {
    let settings = &state.settings.openid.entra;
    let (Some(issuer), Some(keys_url)) = (settings.issuer(), settings.keys_url()) else {
        audit(
            state,
            req,
            AuditEvent::OpenidAuthorize,
            app,
            None,
            Outcome::Failure,
            "openid.entra.tenant_id is not set",
        )
        .await?;
        return back.error("server_error", "Microsoft Entra ID is not configured at this provider.");
    };
    let Some(nonce) = param(p, "nonce") else { return back.error("invalid_request", "The request has no nonce.") };
    let Some(token) = param(p, "id_token_hint") else {
        return back.error("invalid_request", "The request has no id_token_hint.");
    };
    let checked = match hint::key_id(token) {
        Ok(kid) => match state.entra_keys.for_key(&keys_url, &kid).await {
            Ok(keys) => {
                let expect = Expect {
                    issuer: &issuer,
                    audience: &app.integration_key,
                    now: now(),
                    leeway: settings.hint_leeway(),
                };
                hint::verify(token, &keys, &expect)
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let claims = match checked {
        Ok(claims) => claims,
        Err(why) => {
            let detail = format!("hint refused: {why}");
            audit(state, req, AuditEvent::OpenidAuthorize, app, None, Outcome::Failure, &detail).await?;
            return back.error("invalid_request", &format!("{why}."));
        }
    };
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(subject), Some(named)) = (text("sub"), text(settings.user_claim())) else {
        return back.error("invalid_request", "The id_token_hint names no user.");
    };
    let named = match &settings.strip_domain {
        Some(domain) => named.strip_suffix(&format!("@{domain}")).map(str::to_string).unwrap_or(named),
        None => named,
    };
    let user = match Username::parse(&named) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    let Some(user) = user.filter(store::users::UserRow::is_active) else {
        let detail = format!("unknown or disabled user {named}");
        audit(state, req, AuditEvent::OpenidAuthorize, app, None, Outcome::Failure, &detail).await?;
        return back.error("access_denied", "This user cannot sign in with Twofold.");
    };
    if matches!(state.readiness(&user).await?, Readiness::MustEnroll) && !state.policy().await?.self_enrollment {
        audit(state, req, AuditEvent::OpenidAuthorize, app, Some(&user), Outcome::Failure, "not enrolled").await?;
        return back.error("access_denied", "This user has not set up two-step verification yet.");
    }
    let application = Application {
        name: app.name.clone(),
        integration_key: app.integration_key.clone(),
        scope: registered_scope(&app.id),
    };
    let ip = client_ip(req);
    let caller = Caller::new(&user, ip.as_deref()).for_application(Some(&application));
    // Entra is told a second factor was given, so nothing here lets the sign-in through without one.
    if let Decision::Deny(reason) = state.access(&caller, Door::Application).await?.decision {
        return back.error("access_denied", &crate::words::access_denied(state, &reason));
    }
    let session = UserSession::from_request(req);
    session.begin_password(&user.id, now())?;
    app_flow::begin_openid(
        &session,
        &app.id,
        &user.id,
        request(back, &user.username, Some(nonce)),
        OpenidBack::Entra { subject },
    )?;
    audit(state, req, AuditEvent::OpenidAuthorize, app, Some(&user), Outcome::Info, "Entra: prompt started").await?;
    Ok(see_other("/prompt"))
}

//! A sign-in an application began (the Universal Prompt, or a client of the OpenID provider): the
//! session it started reaches only the prompt (and enrolment when needed), and ends when the second
//! factor is given, with an answer for the application instead of a portal session: a code (the
//! Universal Prompt, the OpenID code flow) or an ID token posted back (Microsoft Entra ID's External
//! Authentication Methods). The front channels begin it; the prompt finishes it. Kept in the
//! server-side session.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::duo::universal::{AuthorizeRequest, CODE_SECONDS};
use crate::secrets::random_token;
use crate::signin::Application;
use crate::store::{self, universal_codes::NewCode, users::UserRow};
use crate::web::error::{AppError, see_other};
use crate::web::session::{APPLICATION_FLOW, UserSession};
use crate::web::state::AppState;

/// The application flow a session was begun for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    application_id: String,
    user_id: String,
    request: AuthorizeRequest,
    /// A client of the OpenID provider (absent: the Universal Prompt).
    #[serde(default)]
    openid: Option<OpenidBack>,
}

/// How a client of the OpenID provider gets its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum OpenidBack {
    /// The code flow: a code for the token endpoint, bound to PKCE's S256 challenge.
    Code { code_challenge: String, scope: String },
    /// Microsoft Entra ID (EAM): an ID token about the hint's subject, posted back.
    Entra { subject: String },
}

/// Remembers in a session just begun (at the password level) that it is for an application.
pub fn begin(
    session: &UserSession,
    application_id: &str,
    user_id: &str,
    request: AuthorizeRequest,
) -> Result<(), AppError> {
    let flow = Flow { application_id: application_id.into(), user_id: user_id.into(), request, openid: None };
    session.set_application_flow(&flow)
}

/// As `begin`, for a client of the OpenID provider.
pub fn begin_openid(
    session: &UserSession,
    application_id: &str,
    user_id: &str,
    request: AuthorizeRequest,
    back: OpenidBack,
) -> Result<(), AppError> {
    let flow = Flow { application_id: application_id.into(), user_id: user_id.into(), request, openid: Some(back) };
    session.set_application_flow(&flow)
}

/// A code-flow request that arrived before the user signed in: kept until the password is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waiting {
    pub application_id: String,
    pub request: AuthorizeRequest,
    pub back: OpenidBack,
}

/// Keeps a code-flow request for after "Log in".
pub fn wait(session: &UserSession, waiting: &Waiting) -> Result<(), AppError> {
    session.set_waiting_flow(waiting)
}

/// After the password: the request that was waiting, if any (taken, so it is used once).
pub fn take_waiting(session: &UserSession) -> Option<Waiting> {
    session.take_waiting_flow::<Waiting>()
}

/// Continues a waiting code-flow request once `user` gave the password (the session just begun):
/// the application's access rules, then the prompt, or the code at once when the rules let the
/// sign-in through without a second factor.
pub async fn resume(
    req: &HttpRequest,
    state: &AppState,
    session: &UserSession,
    user: &UserRow,
    waiting: Waiting,
    ip: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let Some(app) = store::applications::by_id(&state.db, &waiting.application_id).await? else {
        return Err(AppError::Explained {
            status: StatusCode::BAD_REQUEST,
            title: "This sign-in request cannot be used",
            message: "The application is no longer registered. Go back to the application and sign in again.".into(),
        });
    };
    let application = Application {
        name: app.name.clone(),
        integration_key: app.integration_key.clone(),
        scope: crate::signin::access::registered_scope(&app.id),
    };
    let caller = crate::signin::Caller::new(user, ip).for_application(Some(&application));
    let decision = state.access(&caller, crate::domain::access::Door::Application).await?.decision;
    if let crate::domain::access::Decision::Deny(reason) = &decision {
        session.logout();
        return Err(AppError::Explained {
            status: StatusCode::FORBIDDEN,
            title: "Access denied",
            message: crate::words::access_denied(state, reason),
        });
    }
    let mut request = waiting.request;
    request.username = user.username.clone();
    begin_openid(session, &app.id, &user.id, request, waiting.back)?;
    if matches!(decision, crate::domain::access::Decision::AllowWithoutMfa(_)) {
        let factor = crate::domain::AuditEvent::AccessWithoutMfa.as_str();
        if let Some(back) = finish(req, state, user, factor, ip, crate::clock::now()).await? {
            return Ok(back);
        }
    }
    Ok(see_other("/prompt"))
}

/// The application a session's sign-in continues to, if an application began it.
pub async fn application(state: &AppState, session: &UserSession) -> Result<Option<Application>, AppError> {
    let Some(flow) = session.application_flow::<Flow>() else { return Ok(None) };
    Ok(store::applications::by_id(&state.db, &flow.application_id).await?.map(|a| Application {
        scope: crate::signin::access::registered_scope(&a.id),
        name: a.name,
        integration_key: a.integration_key,
    }))
}

/// Called once a second factor is accepted (`factor`: its audit event's name), or the access rules
/// let the sign-in through without one, *before* the session is upgraded. For a session an
/// application began it issues the code, ends the session (it never becomes a portal session)
/// and returns where the browser goes next; otherwise `None`.
pub async fn finish(
    req: &HttpRequest,
    state: &AppState,
    user: &UserRow,
    factor: &str,
    ip: Option<&str>,
    t: i64,
) -> Result<Option<HttpResponse>, AppError> {
    let session = req.get_session();
    let Ok(Some(flow)) = session.get::<Flow>(APPLICATION_FLOW) else { return Ok(None) };
    session.purge();
    let app = store::applications::by_id(&state.db, &flow.application_id).await?;
    let (Some(app), true) = (app, flow.user_id == user.id) else {
        return Err(AppError::Explained {
            status: StatusCode::BAD_REQUEST,
            title: "This sign-in request cannot be used",
            message: "The application is no longer registered. Go back to the application and sign in again.".into(),
        });
    };
    if let Some(OpenidBack::Entra { subject }) = &flow.openid {
        return entra_answer(state, &app, subject, &flow.request, factor, t).await.map(Some);
    }
    let (code_challenge, scope) = match &flow.openid {
        Some(OpenidBack::Code { code_challenge, scope }) => (Some(code_challenge.as_str()), Some(scope.as_str())),
        _ => (None, None),
    };
    let code = random_token();
    let r = &flow.request;
    let new = NewCode {
        code_hash: &state.keys.hash_token(&code),
        application_id: &app.id,
        user_id: &user.id,
        username: &user.username,
        redirect_uri: &r.redirect_uri,
        state: &r.state,
        nonce: r.nonce.as_deref(),
        use_duo_code: r.use_duo_code,
        factor,
        ip,
        code_challenge,
        scope,
    };
    store::universal_codes::insert(&state.db, new, t, t + CODE_SECONDS).await?;
    // Through a page of ours: the prompt's form may only lead to us (CSP form-action 'self'
    // covers every redirect after a form post).
    Ok(Some(see_other(&format!("/oauth/v1/continue?code={code}"))))
}

/// The ID token Entra receives, posted back by the browser (`response_mode=form_post`). Only a
/// second factor given now satisfies Entra: anything else is refused back as `access_denied`.
async fn entra_answer(
    state: &AppState,
    app: &store::applications::ApplicationRow,
    subject: &str,
    request: &AuthorizeRequest,
    factor: &str,
    t: i64,
) -> Result<HttpResponse, AppError> {
    if !crate::openid::claims::is_second_factor(factor) {
        let fields = [
            ("error", "access_denied".to_string()),
            ("error_description", "No second factor was given.".into()),
            ("state", request.state.clone()),
        ];
        return form_post(&request.redirect_uri, &fields, &app.name);
    }
    let issuer = state.public_origin();
    let token = crate::openid::claims::IdToken {
        issuer: &issuer,
        audience: &app.integration_key,
        subject,
        nonce: request.nonce.as_deref(),
        auth_time: t,
        now: t,
        lifetime: i64::from(state.settings.openid.token_seconds),
    };
    let claims = crate::openid::claims::entra_id_token(&token, factor);
    let key = crate::openid::keys::current(&state.db, &state.keys, t, state.settings.openid.key_rotation_days).await?;
    let fields = [("id_token", key.sign(&claims)?), ("state", request.state.clone())];
    form_post(&request.redirect_uri, &fields, &app.name)
}

#[derive(askama::Template)]
#[template(path = "openid/form_post.html")]
struct FormPostPage {
    chrome: crate::web::chrome::Chrome,
    application: String,
    action: String,
    fields: Vec<(&'static str, String)>,
}

/// A page whose form posts `fields` to `action` (OAuth 2.0 Form Post Response Mode): submitted by
/// a script at once, or by the button without JavaScript. Its Content-Security-Policy lets this
/// one form go to the application's origin.
pub fn form_post(action: &str, fields: &[(&'static str, String)], application: &str) -> Result<HttpResponse, AppError> {
    use askama::Template;
    let origin = url::Url::parse(action).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let page = FormPostPage {
        chrome: crate::web::chrome::Chrome::for_error(),
        application: application.into(),
        action: action.into(),
        fields: fields.to_vec(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action {origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CONTENT_SECURITY_POLICY, csp))
        .body(page.render()?))
}

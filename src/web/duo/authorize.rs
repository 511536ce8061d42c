//! The Universal Prompt's front channel: `/oauth/v1/authorize` checks the application's signed
//! request and starts a session bound to `duo_uname` that reaches only the prompt (and enrolment
//! when needed); after the second factor `finish` ends that session and sends the browser back.

use crate::domain::AuditEvent;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::limits;
use super::universal::web_app;
use crate::clock::now;
use crate::domain::Username;
use crate::domain::access::{Decision, Door};
use crate::duo::jwt;
use crate::duo::universal::{self as rules, AuthorizeRequest};
use crate::signin::access::registered_scope;
use crate::signin::{Application, Caller, Verdict};
use crate::store::{
    self,
    applications::ApplicationRow,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::chrome::Chrome;
use crate::web::error::{AppError, see_other};
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{app_flow, client_ip, trust};
use crate::words;

fn refused(message: &str) -> AppError {
    AppError::Explained {
        status: StatusCode::BAD_REQUEST,
        title: "This sign-in request cannot be used",
        message: format!("{message}. Go back to the application and sign in again."),
    }
}

fn external(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

async fn audit(
    state: &AppState,
    req: &HttpRequest,
    app: &ApplicationRow,
    user: Option<&UserRow>,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    let detail = format!("application {} ({}); {detail}", app.name, app.integration_key);
    let ip = client_ip(req);
    let mut e =
        Event::new(AuditEvent::UniversalAuthorize, outcome).ip(ip.as_deref()).detail(&detail).application(&app.name);
    if let Some(u) = user {
        e = e.user(&u.id, &u.username);
    }
    Ok(store::audit::record(&state.db, e, now()).await?)
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The web application named by `client_id`, with its secret key.
async fn named_app(state: &AppState, query: &[(String, String)]) -> Result<(ApplicationRow, String), AppError> {
    if param(query, "response_type") != Some("code") {
        return Err(refused("The request must ask for a code (response_type=code)"));
    }
    let client_id = param(query, "client_id").ok_or_else(|| refused("The request names no application (client_id)"))?;
    web_app(state, client_id)
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("application lookup failed")))?
        .ok_or_else(|| refused("No web application has this client id"))
}

/// What the application asks for, once the request JWT and its redirect URI check out; otherwise
/// the reason (shown, and audited with the application).
async fn requested(
    state: &AppState,
    query: &[(String, String)],
    app: &ApplicationRow,
    secret: &str,
) -> Result<Result<AuthorizeRequest, String>, AppError> {
    let Some(token) = param(query, "request") else {
        return Ok(Err("The request has no signed request parameter".into()));
    };
    let Ok(claims) = jwt::verify(token, secret) else {
        return Ok(Err("The request is not signed by the application".into()));
    };
    let aud = super::universal::audiences(state, "");
    let request = match rules::check_request(&claims, &app.integration_key, &aud, param(query, "nonce"), now()) {
        Ok(r) => r,
        Err(why) => {
            let mut m = why.to_string();
            m[..1].make_ascii_uppercase();
            return Ok(Err(m));
        }
    };
    let registered = store::applications::redirect_uris(&state.db, &app.id).await?;
    if !registered.contains(&request.redirect_uri) {
        return Ok(Err("The application asked to return to an address it has not registered".into()));
    }
    Ok(Ok(request))
}

pub async fn authorize_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let (app, secret) = named_app(&state, &query).await?;
    let request = match requested(&state, &query, &app, &secret).await? {
        Ok(r) => r,
        Err(why) => {
            audit(&state, &req, &app, None, Outcome::Failure, &format!("refused: {why}")).await?;
            return Err(refused(&why));
        }
    };
    if let Err(fail) = limits::count(&state, &app).await {
        return Ok(fail.response());
    }
    let user = match Username::parse(&request.username) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    let Some(user) = user.filter(UserRow::is_active) else {
        audit(&state, &req, &app, None, Outcome::Failure, "unknown or disabled user").await?;
        let back = rules::redirect_back(
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "This user cannot sign in with Twofold."),
                ("state", &request.state),
            ],
        );
        return Ok(external(&back.unwrap_or_else(|| "/".into())));
    };
    // The access rules first (networks, locations, new users): the core audits a denial and a
    // sign-in let through.
    let application = Application {
        name: app.name.clone(),
        integration_key: app.integration_key.clone(),
        scope: registered_scope(&app.id),
    };
    let ip = client_ip(&req);
    let caller = Caller::new(&user, ip.as_deref()).for_application(Some(&application));
    let decision = state.access(&caller, Door::Application).await?.decision;
    if let Decision::Deny(reason) = &decision {
        return Err(AppError::Explained {
            status: StatusCode::FORBIDDEN,
            title: "Access denied",
            message: words::access_denied(&state, reason),
        });
    }
    // The application checked the password (Duo's model): the session starts at the password
    // level for this user only, and remembers the flow so the prompt ends by going back.
    let t = now();
    let session = UserSession::from_request(&req);
    session.begin_password(&user.id, t)?;
    app_flow::begin(&session, &app.id, &user.id, request)?;
    // Through without the prompt when the rules say so, or when this browser is trusted for as
    // long as the application's rules allow (the core audits both).
    let mut through = matches!(decision, Decision::AllowWithoutMfa(_)).then(|| AuditEvent::AccessWithoutMfa.as_str());
    if through.is_none()
        && let Some(cookie) = req.cookie(trust::cookie_name(&state))
        && let Some(Verdict::Accepted(accepted)) = state.trusted_browser(&caller, cookie.value()).await?
    {
        through = Some(accepted.factor.event().as_str());
    }
    if let Some(factor) = through
        && let Some(back) = app_flow::finish(&req, &state, &user, factor, ip.as_deref(), t).await?
    {
        return Ok(back);
    }
    audit(&state, &req, &app, Some(&user), Outcome::Info, "prompt started").await?;
    Ok(see_other("/prompt"))
}

/// Sends the browser back to the application with the code and state. Reads only; the code is
/// exchanged (once) at `token`.
pub async fn continue_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let code = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let row = store::universal_codes::pending(&state.db, &state.keys.hash_token(&code), now())
        .await?
        .ok_or_else(|| refused("This sign-in has expired"))?;
    let name = if row.use_duo_code == 1 { "duo_code" } else { "code" };
    let target = rules::redirect_back(&row.redirect_uri, &[(name, &code), ("state", &row.state)])
        .ok_or_else(|| refused("The application's address is not valid"))?;
    let application = store::applications::by_id(&state.db, &row.application_id)
        .await?
        .map(|a| a.name)
        .ok_or_else(|| refused("The application is no longer registered"))?;
    // A page, not a redirect: the browser is still in the prompt form's navigation, which the
    // Content-Security-Policy (form-action 'self') keeps on our origin. `Refresh` moves on at
    // once; the link is there for browsers that ignore it.
    let page = ContinuePage { chrome: Chrome::new(&state, None, ""), application, target: target.clone() };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Refresh", format!("0; url={target}")))
        .body(page.render()?))
}

#[derive(Template)]
#[template(path = "universal/continue.html")]
struct ContinuePage {
    chrome: Chrome,
    application: String,
    target: String,
}

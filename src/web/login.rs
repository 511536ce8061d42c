//! "Log in" with username and password (first factor), and "Log out".
//! The answer and its timing are the same for unknown users and wrong passwords.

use crate::domain::AuditEvent;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::chrome::Chrome;
use super::csrf::CsrfForm;
use super::session::{AuthLevel, UserSession};
use super::state::AppState;
use super::{app_flow, client_ip, trust};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::access::{Decision, Door};
use crate::signin::Caller;
use crate::signin::password::PasswordVerdict;
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::error::{AppError, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "login/login.html")]
pub struct LoginPage {
    chrome: Chrome,
    username: String,
    error: Option<String>,
    recovery: bool,
    /// (id, name) of each OpenID Connect provider: "Sign in with <name>".
    providers: Vec<(String, String)>,
    /// The username and password form (off when local passwords are, unless asked for with `?local`).
    password_form: bool,
}

csrf_form!(LoginForm { username: String, password: String });

pub async fn root_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match UserSession::from_request(&req).level(&state, now()) {
        AuthLevel::Anonymous => see_other("/login"),
        AuthLevel::Invited { .. } => see_other("/enroll"),
        AuthLevel::Password { .. } => see_other("/prompt"),
        AuthLevel::Full { .. } => see_other("/settings"),
    }
}

pub async fn login_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let session = UserSession::from_request(&req);
    match session.level(&state, now()) {
        // After an invitation's wizard, "Continue to Login" comes here: a normal sign-in follows.
        AuthLevel::Anonymous | AuthLevel::Invited { .. } => {}
        AuthLevel::Password { .. } => return Ok(see_other("/prompt")),
        AuthLevel::Full { .. } => return Ok(see_other("/settings")),
    }
    // With local passwords off the form is still there for administrators (break-glass) at `?local`.
    let asked = url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "local");
    let page = LoginPage {
        chrome: Chrome::new(&state, None, ""),
        username: String::new(),
        error: None,
        recovery: state.policy().await?.recovery_enabled,
        providers: state.oidc.buttons(),
        password_form: state.settings.login.local_passwords || asked,
    };
    let csrf = session.csrf_token()?;
    Ok(render_login(page, &csrf, actix_web::http::StatusCode::OK))
}

fn render_login(mut page: LoginPage, csrf: &str, status: actix_web::http::StatusCode) -> HttpResponse {
    page.chrome.csrf = csrf.to_string();
    match page.render() {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => actix_web::ResponseError::error_response(&AppError::from(e)),
    }
}

pub async fn login_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let t = now();
    let ip = client_ip(&req);
    let session = UserSession::from_request(&req);
    let recovery = state.policy().await?.recovery_enabled;
    let retry_page = |error: String| LoginPage {
        chrome: Chrome::new(&state, None, ""),
        username: form.username.chars().take(64).collect(),
        error: Some(error),
        recovery,
        providers: state.oidc.buttons(),
        password_form: true,
    };
    let cookie = req.cookie(trust::cookie_name(&state));
    let trust_cookie = cookie.as_ref().map(|c| c.value());
    let user = match state.password(&form.username, form.password.clone(), ip.as_deref(), trust_cookie).await? {
        PasswordVerdict::Accepted(user) => user,
        PasswordVerdict::Throttled => {
            let page = retry_page(format!(
                "Too many sign-in attempts. Wait {} minutes, then try again.",
                state.settings.login.window_minutes
            ));
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::TOO_MANY_REQUESTS));
        }
        PasswordVerdict::Wrong => {
            let page = retry_page("Incorrect username or password. Check them and try again.".into());
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::UNAUTHORIZED));
        }
        PasswordVerdict::Disabled(user) => {
            let mut page = retry_page(format!(
                "Your account is disabled. Contact {} for help.",
                state.settings.institution.help_desk
            ));
            page.username = user.username.clone();
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::FORBIDDEN));
        }
        PasswordVerdict::DirectoryRefused(user, refusal) => {
            let mut page = retry_page(crate::words::directory_refusal(&state.signin, refusal));
            page.username = user.username.clone();
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::FORBIDDEN));
        }
        PasswordVerdict::DirectoryUnavailable => {
            let page = retry_page(crate::words::DIRECTORY_UNAVAILABLE.into());
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::SERVICE_UNAVAILABLE));
        }
    };
    // A sign-in an OpenID application asked for continues to it (its rules, then the prompt).
    if let Some(waiting) = app_flow::take_waiting(&session) {
        session.begin_password(&user.id, t)?;
        return app_flow::resume(&req, &state, &session, &user, waiting, ip.as_deref()).await;
    }
    portal_access(&state, &user, ip.as_deref()).await?;
    session.begin_password(&user.id, t)?;

    if trust::sign_in_trusted(&req, &state, &user, &session).await? {
        return Ok(see_other("/settings"));
    }
    Ok(see_other("/prompt"))
}

/// The access rules' denials (networks, locations) apply to the portal too, after the first
/// factor (password or the institution's provider); nothing lets a sign-in to the portal through
/// without a second factor, since it manages them. The core audits a denial.
pub(crate) async fn portal_access(state: &AppState, user: &UserRow, ip: Option<&str>) -> Result<(), AppError> {
    if let Decision::Deny(reason) = state.access(&Caller::new(user, ip), Door::Portal).await?.decision {
        return Err(AppError::Explained {
            status: actix_web::http::StatusCode::FORBIDDEN,
            title: "Access denied",
            message: crate::words::access_denied(state, &reason),
        });
    }
    Ok(())
}

csrf_form!(LogoutForm {});

pub async fn logout_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    _form: CsrfForm<LogoutForm>,
) -> Result<HttpResponse, AppError> {
    let session = UserSession::from_request(&req);
    if let AuthLevel::Password { user_id } | AuthLevel::Full { user_id } | AuthLevel::Invited { user_id } =
        session.level(&state, now())
        && let Some(user) = store::users::by_id(&state.db, &user_id).await?
    {
        store::audit::record(
            &state.db,
            Event::new(AuditEvent::Logout, Outcome::Info).user(&user.id, &user.username).ip(client_ip(&req).as_deref()),
            now(),
        )
        .await?;
    }
    session.logout();
    Ok(see_other("/login"))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", super::get().to(root_get))
        .route("/login", super::get().to(login_get))
        .route("/login", web::post().to(login_post))
        .route("/logout", web::post().to(logout_post));
}

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
use super::{client_ip, trust};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::Username;
use crate::passwords;
use crate::store::{
    self,
    audit::{Event, Outcome},
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

/// Keyed subjects for the password throttle: the typed username (normalised) and the address.
fn throttle_subjects(state: &AppState, typed: &str, ip: Option<&str>) -> (String, String) {
    let account =
        Username::parse(typed).map(|u| u.as_str().to_string()).unwrap_or_else(|_| typed.trim().to_lowercase());
    let account = state.keys.hash_token(&format!("login-account:{account}"));
    let address = state.keys.hash_token(&format!("login-address:{}", ip.unwrap_or("unknown")));
    (account, address)
}

/// True when this username or this address has had too many wrong passwords recently. The same
/// for existing and unknown usernames, so it reveals nothing about which exist.
async fn throttled(state: &AppState, account: &str, address: &str, t: i64) -> Result<bool, AppError> {
    let limits = &state.settings.login;
    let since = t - i64::from(limits.window_minutes) * 60;
    Ok(store::login_failures::count_since(&state.db, account, since).await?
        >= i64::from(limits.max_failures_per_account)
        || store::login_failures::count_since(&state.db, address, since).await?
            >= i64::from(limits.max_failures_per_address))
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
    let (account, address) = throttle_subjects(&state, &form.username, ip.as_deref());
    if throttled(&state, &account, &address, t).await? {
        let page = retry_page(format!(
            "Too many sign-in attempts. Wait {} minutes, then try again.",
            state.settings.login.window_minutes
        ));
        return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::TOO_MANY_REQUESTS));
    }
    let user = match Username::parse(&form.username) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    // Always one argon2 verification, whether or not the user exists, off the async workers.
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let candidate = form.password.clone();
    let password_ok = passwords::verify_blocking(candidate, stored).await.map_err(|e| AppError::Internal(e.into()))?;
    // Local passwords off: only administrators may still use one (break-glass); everyone else
    // gets the answer a wrong password gets, so the setting reveals nothing about accounts.
    let allowed =
        |u: &store::users::UserRow| state.settings.login.local_passwords || u.role() == crate::domain::Role::Admin;
    let user = match user {
        Some(u) if password_ok && allowed(&u) => u,
        _ => {
            store::login_failures::record(&state.db, &[&account, &address], t).await?;
            let mut e = Event::new(AuditEvent::LoginPassword, Outcome::Failure).ip(ip.as_deref());
            if let Some(u) = &user {
                e = e.user(&u.id, &u.username);
            }
            store::audit::record(&state.db, e.detail("wrong username or password"), t).await?;
            let page = retry_page("Incorrect username or password. Check them and try again.".into());
            return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::UNAUTHORIZED));
        }
    };
    store::login_failures::clear(&state.db, &account).await?;
    if !user.is_active() {
        store::audit::record(
            &state.db,
            Event::new(AuditEvent::LoginPassword, Outcome::Failure)
                .user(&user.id, &user.username)
                .ip(ip.as_deref())
                .detail("account disabled"),
            t,
        )
        .await?;
        let page = LoginPage {
            chrome: Chrome::new(&state, None, ""),
            username: user.username.clone(),
            recovery,
            providers: state.oidc.buttons(),
            password_form: true,
            error: Some(format!(
                "Your account is disabled. Contact {} for help.",
                state.settings.institution.help_desk
            )),
        };
        return Ok(render_login(page, &session.csrf_token()?, actix_web::http::StatusCode::FORBIDDEN));
    }
    session.begin_password(&user.id, t)?;
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::LoginPassword, Outcome::Success).user(&user.id, &user.username).ip(ip.as_deref()),
        t,
    )
    .await?;

    if trust::sign_in_trusted(&req, &state, &user, &session, t).await? {
        return Ok(see_other("/settings"));
    }
    Ok(see_other("/prompt"))
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

//! First run: the one-time link printed by `twofold serve` creates the first administrator.
//! The link is single use, expires in 24 hours and is stored only as a keyed hash.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::chrome::Chrome;
use super::csrf::CsrfForm;
use super::session::UserSession;
use super::state::AppState;
use super::{client_ip, html};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::{DisplayName, Email, InputError, Password, Role, Username};
use crate::passwords;
use crate::store::{
    self, StoreError,
    audit::{Event, Outcome},
    users::NewUser,
};
use crate::web::error::AppError;

pub const SETUP_LINK_HOURS: i64 = 24;

#[derive(Template)]
#[template(path = "setup/admin.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    username: String,
    display_name: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "setup/done.html")]
struct SetupDonePage {
    chrome: Chrome,
    username: String,
}

fn link_invalid() -> AppError {
    AppError::Explained {
        status: StatusCode::NOT_FOUND,
        title: "This setup link cannot be used",
        message: "The link has already been used or has expired. If no administrator exists yet, restart \
                  twofold serve to print a new link."
            .into(),
    }
}

/// Issues a new setup link (replacing unused ones) and returns it.
pub async fn issue_link(state: &AppState) -> Result<String, StoreError> {
    let token = crate::secrets::random_token();
    let t = now();
    store::setup_tokens::replace(&state.db, &state.keys.hash_token(&token), t, t + SETUP_LINK_HOURS * 3600).await?;
    let mut url = state.public_url.clone();
    url.set_path(&format!("/setup/{token}"));
    Ok(url.to_string())
}

pub async fn setup_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !store::setup_tokens::is_valid(&state.db, &state.keys.hash_token(&token), now()).await? {
        return Err(link_invalid());
    }
    let csrf = UserSession::from_request(&req).csrf_token()?;
    let page = SetupPage {
        chrome: Chrome::new(&state, None, &csrf),
        token: token.into_inner(),
        username: String::new(),
        display_name: String::new(),
        email: String::new(),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(SetupForm { username: String, display_name: String, email: String, password: String, confirm: String });

fn parse(form: &SetupForm) -> Result<(Username, DisplayName, Email, Password), InputError> {
    let username = Username::parse(&form.username)?;
    let display_name = DisplayName::parse(&form.display_name)?;
    let email = Email::parse(&form.email)?;
    let password = Password::parse(&form.password)?;
    if form.password != form.confirm {
        return Err(InputError::new("The two passwords are not the same. Type the same password twice."));
    }
    Ok((username, display_name, email, password))
}

pub async fn setup_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: CsrfForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let csrf = UserSession::from_request(&req).csrf_token()?;
    let retry = |error: String| {
        let page = SetupPage {
            chrome: Chrome::new(&state, None, &csrf),
            token: token.to_string(),
            username: form.username.chars().take(64).collect(),
            display_name: form.display_name.chars().take(100).collect(),
            email: form.email.chars().take(254).collect(),
            error: Some(error),
        };
        html(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let (username, display_name, email, password) = match parse(&form) {
        Ok(v) => v,
        Err(e) => return retry(e.0),
    };
    let hash = passwords::hash_blocking(password).await.map_err(|e| AppError::Internal(e.into()))?;
    let admin = NewUser {
        username: &username,
        email: &email,
        display_name: &display_name,
        password_hash: Some(hash),
        role: Role::Admin,
        source: store::users::Source::Local,
    };
    let t = now();
    let id = match store::setup_tokens::create_first_admin(&state.db, &state.keys.hash_token(&token), admin, t).await {
        Ok(Some(id)) => id,
        Ok(None) => return Err(link_invalid()),
        Err(StoreError::Conflict) => return retry("That username is taken. Choose another.".into()),
        Err(e) => return Err(e.into()),
    };
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::SetupAdminCreated, Outcome::Success)
            .user(&id, username.as_str())
            .ip(client_ip(&req).as_deref()),
        t,
    )
    .await?;
    html(
        StatusCode::OK,
        &SetupDonePage { chrome: Chrome::new(&state, None, ""), username: username.as_str().to_string() },
    )
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup/{token}", super::get().to(setup_get)).route("/setup/{token}", web::post().to(setup_post));
}

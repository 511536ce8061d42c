//! Enrolment invitations: "Set up your sign-in" from an emailed single-use link. Opening the link
//! only asks; "Start setup" uses it and opens the wizard, which is all an invitation reaches.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::channels::mail::Mail;
use crate::clock::now;
use crate::csrf_form;
use crate::domain::EnrollStep;
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "invite/start.html")]
struct StartPage {
    chrome: Chrome,
    token: String,
    name: String,
}

fn unusable(state: &AppState) -> AppError {
    AppError::Explained {
        status: StatusCode::NOT_FOUND,
        title: "This invitation cannot be used",
        message: format!(
            "It has expired or was already used. Ask {} for a new one, or log in if you have set up your device already.",
            state.settings.institution.help_desk
        ),
    }
}

/// Makes an invitation link for `user`, valid for `seconds`.
pub async fn create_link(
    state: &AppState,
    user: &UserRow,
    created_by: Option<&str>,
    seconds: i64,
) -> Result<String, AppError> {
    Ok(state.invitation_link(user, created_by, seconds).await?)
}

/// Emails an invitation (console "Send enrolment invitation").
pub async fn send(state: &AppState, user: &UserRow, created_by: Option<&str>) -> Result<(), AppError> {
    let days = i64::from(state.settings.enrollment.invitation_days);
    let link = create_link(state, user, created_by, days * 86_400).await?;
    let t = now();
    let inst = &state.settings.institution;
    let subject = format!("Set up your sign-in for {}", inst.name);
    let body = format!(
        "Hello {name},\n\n{inst} asks for a second step when you sign in, so a stolen password is not enough to get \
         into your account. Set up your phone or tablet now; it takes about two minutes.\n\n{link}\n\nThe link works \
         once, until {until}.\n\n— {product} for {inst}\n",
        name = user.display_name,
        inst = inst.name,
        until = crate::clock::format(t + days * 86_400),
        product = inst.product_name,
    );
    let mail = Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) };
    Ok(state.mailer.queue(&state.db, &state.keys, mail, t).await?)
}

pub async fn start_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = store::invitations::usable_user(&state.db, &state.keys.hash_token(&token), now())
        .await?
        .ok_or_else(|| unusable(&state))?;
    let user =
        store::users::by_id(&state.db, &user_id).await?.filter(|u| u.is_active()).ok_or_else(|| unusable(&state))?;
    let csrf = UserSession::from_request(&req).csrf_token()?;
    let page =
        StartPage { chrome: Chrome::new(&state, None, &csrf), token: token.into_inner(), name: user.display_name };
    html(StatusCode::OK, &page)
}

csrf_form!(StartForm {});

pub async fn start_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    _f: CsrfForm<StartForm>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let hash = state.keys.hash_token(&token);
    let user_id = store::invitations::usable_user(&state.db, &hash, t).await?.ok_or_else(|| unusable(&state))?;
    let user =
        store::users::by_id(&state.db, &user_id).await?.filter(|u| u.is_active()).ok_or_else(|| unusable(&state))?;
    // Single use, decided by one conditional update.
    if !store::invitations::consume(&state.db, &hash, t).await? {
        return Err(unusable(&state));
    }
    let session = UserSession::from_request(&req);
    session.begin_invited(&user.id, t)?;
    let ip = client_ip(&req);
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::InvitationUsed, Outcome::Success).user(&user.id, &user.username).ip(ip.as_deref()),
        t,
    )
    .await?;
    // Someone who already has a device gets no wizard from an invitation (the wizard refuses too).
    if user.enrolled_at.is_some() {
        return Ok(see_other("/login"));
    }
    let expires = t + i64::from(state.settings.enrollment.wizard_expiry_minutes) * 60;
    let wizard = store::enrollments::start(&state.db, &user.id, t, expires).await?;
    session.set_wizard(&wizard.id)?;
    Ok(see_other(EnrollStep::FIRST.path()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invite/{token}", crate::web::get().to(start_get)).route("/invite/{token}", web::post().to(start_post));
}

//! The Twofold authenticator in the wizard: a single-use activation link (QR code or email) that
//! the app opens; the page moves on by itself once the app has activated (or "Continue" without JS).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::channels::mail::Mail;
use crate::clock::now;
use crate::csrf_form;
use crate::domain::{Email, EnrollStep};
use crate::factors::totp::qr_svg_data_uri;
use crate::store::{self, enrollments::EnrollmentRow};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

use super::{at_step, chrome};
use crate::domain::enroll_path::{Progress, WizardPage};

#[derive(Template)]
#[template(path = "enroll/activate_app.html")]
struct ActivateAppPage {
    chrome: Chrome,
    progress: Progress,
    qr: String,
    link: String,
    email: String,
    sent_to: Option<String>,
    error: Option<String>,
    /// "Continue" was pressed before the app was activated.
    not_yet: bool,
}

/// The activate step's page when the Twofold authenticator was chosen; None for another app.
pub(super) async fn page(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    sent_to: Option<String>,
    error: Option<String>,
) -> Result<Option<HttpResponse>, AppError> {
    page_with(state, auth, row, sent_to, error, false).await
}

async fn page_with(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    sent_to: Option<String>,
    error: Option<String>,
    not_yet: bool,
) -> Result<Option<HttpResponse>, AppError> {
    let Some(activation) = store::push_devices::open_for_enrollment(&state.db, &row.id, now()).await? else {
        return Ok(None);
    };
    let link = state.activation_link(&auth.user.id, &activation.token_sealed)?;
    let page = ActivateAppPage {
        chrome: chrome(state, auth),
        progress: super::progress(row, WizardPage::Step(EnrollStep::Activate)),
        qr: qr_svg_data_uri(&link).map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?,
        link,
        email: auth.user.email.clone(),
        sent_to,
        error: error.clone(),
        not_yet,
    };
    let status = if error.is_some() || not_yet { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(Some(html(status, &page)?))
}

/// For the page's script: has the app activated yet (the wizard moved on)?
pub async fn status_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let wizard = store::enrollments::current(&state.db, &auth.user.id, now()).await?;
    super::check_access(&state, &auth, wizard.as_ref()).await?;
    let done = wizard.is_some_and(|w| w.step != EnrollStep::Activate);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "done": done })))
}

/// "Continue" without the page's script: on to the next step once the app is activated, else
/// this page again saying so (not a silent reload).
pub async fn continue_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    match page_with(&state, &auth, &row, None, None, true).await? {
        Some(page) => Ok(page),
        // Another authenticator app: its page asks for the passcode instead.
        None => Ok(see_other(EnrollStep::Activate.path())),
    }
}

csrf_form!(OtherAppForm {});

/// "Use another authenticator app": the link stops working; the standard QR code is shown.
pub async fn other_app_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<OtherAppForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    store::push_devices::cancel_for_enrollment(&state.db, &row.id, now()).await?;
    Ok(see_other(EnrollStep::Activate.path()))
}

csrf_form!(EmailLinkForm { email: String });

/// "Email me an activation link instead".
pub async fn email_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<EmailLinkForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    let email = match Email::parse(&form.0.email) {
        Ok(e) => e,
        Err(e) => return page(&state, &auth, &row, None, Some(e.0)).await?.ok_or(AppError::NotFound),
    };
    let Some(activation) = store::push_devices::open_for_enrollment(&state.db, &row.id, now()).await? else {
        return Ok(see_other(EnrollStep::Activate.path()));
    };
    let link = state.activation_link(&auth.user.id, &activation.token_sealed)?;
    let body = format!(
        "Open this link on the phone or tablet you are adding to activate the Twofold authenticator for {}:\n\n{link}\n\n\
         The link works once, for {} hours. If you did not ask for it, ignore this message.\n",
        state.settings.institution.name, state.settings.push.activation_hours
    );
    let subject = format!("Activate the Twofold authenticator for {}", state.settings.institution.name);
    let mail = Mail { to: email.as_str(), subject: &subject, body: &body, user_id: Some(&auth.user.id) };
    let budget = (state.settings.mail.requested_per_user_per_hour, state.settings.mail.requested_per_address_per_hour);
    let queued = state.mailer.queue_requested(&state.db, &state.keys, mail, "activation-link", budget, now()).await?;
    if !queued {
        let message = "Too many activation emails were sent in the last hour. Scan the QR code on this page instead, or try again later.";
        return page(&state, &auth, &row, None, Some(message.into())).await?.ok_or(AppError::NotFound);
    }
    page(&state, &auth, &row, Some(email.as_str().to_string()), None).await?.ok_or(AppError::NotFound)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/enroll/activate/status", web::get().to(status_get))
        .route("/enroll/activate/continue", web::get().to(continue_get))
        .route("/enroll/activate/other-app", web::post().to(other_app_post))
        .route("/enroll/activate/email", web::post().to(email_post))
        .route("/static/enroll-app.js", web::get().to(script));
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/enroll-app.js"))
}

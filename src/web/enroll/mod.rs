//! The enrolment wizard ("Start setup"): device type → operating system → install the app →
//! scan the QR code and verify a passcode → device options → "Continue to Login".
//! The wizard's state is a database row; each page checks it is the current step.

pub(crate) mod app;
mod choose;
pub(crate) mod phone;
pub(crate) mod security_key;
mod simulated;
pub(crate) mod token;
mod verify;

pub use choose::{device_type_get, device_type_post, install_get, install_post, platform_get, platform_post};
pub use token::{token_get, token_post};
pub use verify::{activate_get, activate_post, done_get, options_get, options_post};

use crate::domain::AuditEvent;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::clock::now;
use crate::csrf_form;
use crate::domain::enroll_path::{self, Progress, WizardPage};
use crate::domain::{DeviceKind, EnrollEvent, EnrollStep, Move, Platform};
use crate::store::{
    self,
    audit::{Event, Outcome},
    enrollments::{EnrollmentRow, StepChange},
};
use crate::web::chrome::Chrome;
use crate::web::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

pub use crate::web::chrome::Choice;

/// Who may use the wizard. A signed-in user adding another device needs a recent second factor,
/// like every device change. After the password alone: a user who has never had a device (and
/// has no backup code), or whose only device is the one created by the wizard this same session
/// started. Anyone else must pass the prompt first, so a stolen password cannot add a device to
/// an enrolled account, even one whose devices were all removed.
async fn check_access(state: &AppState, auth: &PasswordAuthed, wizard: Option<&EnrollmentRow>) -> Result<(), AppError> {
    if auth.full {
        let window = i64::from(state.policy().await?.step_up_minutes) * 60;
        if auth.session.recently_verified(now(), window) {
            return Ok(());
        }
        auth.session.set_return_to("/enroll")?;
        return Err(AppError::SecondFactorRequired);
    }
    // The one exception after the password alone: the wizard this session started, which has
    // stored this session's first device and is now naming it.
    let started_here = wizard.filter(|w| auth.session.wizard().as_deref() == Some(w.id.as_str()));
    if let Some(own) = started_here.and_then(|w| w.device_id.as_deref()) {
        let devices = store::devices::list_for_user(&state.db, &auth.user.id).await?;
        if devices.iter().all(|d| d.id == own) {
            return Ok(());
        }
        return Err(AppError::SecondFactorRequired);
    }
    // Otherwise only someone who has never had a device, and has no other way to sign in.
    // An invitation is the way in when self-enrolment is off.
    if !auth.invited && !state.policy().await?.self_enrollment {
        return Err(AppError::SecondFactorRequired);
    }
    let never_enrolled = auth.user.enrolled_at.is_none()
        && store::devices::count_for_user(&state.db, &auth.user.id).await? == 0
        && store::backup_codes::count_unused(&state.db, &auth.user.id).await? == 0;
    if never_enrolled { Ok(()) } else { Err(AppError::SecondFactorRequired) }
}

/// Loads the wizard and insists it is at `expected`; otherwise sends the user to where it is.
async fn at_step(state: &AppState, auth: &PasswordAuthed, expected: EnrollStep) -> Result<EnrollmentRow, AppError> {
    let wizard = store::enrollments::current(&state.db, &auth.user.id, now()).await?;
    check_access(state, auth, wizard.as_ref()).await?;
    let Some(row) = wizard else {
        return Err(AppError::Redirect(if auth.full { "/settings".into() } else { "/prompt".into() }));
    };
    if row.step == expected { Ok(row) } else { Err(AppError::Redirect(row.step.path().into())) }
}

/// "Step N of M" for `page` on the way this wizard is taking; before a kind is chosen, the way of
/// the kind shown as chosen (a mobile phone's, recommended).
fn progress(row: &EnrollmentRow, page: WizardPage) -> Progress {
    let kind = row.device_kind.unwrap_or(DeviceKind::MobilePhone);
    // A mobile phone stored with its number only ("Not now") has no platform: no app pages.
    let number_only = kind == DeviceKind::MobilePhone
        && row.platform.is_none()
        && matches!(row.step, EnrollStep::Options | EnrollStep::Done);
    enroll_path::progress(kind, number_only, page).unwrap_or(Progress { step: 1, steps: 1 })
}

/// "Step N of M" for `page` on the way of `kind` (pages that know their kind without a row).
fn progress_of(kind: DeviceKind, page: WizardPage) -> Progress {
    enroll_path::progress(kind, false, page).unwrap_or(Progress { step: 1, steps: 1 })
}

fn chrome(state: &AppState, auth: &PasswordAuthed) -> Chrome {
    Chrome::new(state, Some(&auth.user.display_name), &auth.csrf)
}

fn kind_of(row: &EnrollmentRow) -> Result<DeviceKind, AppError> {
    row.device_kind.ok_or_else(|| AppError::Internal(anyhow::anyhow!("enrolment {} has no device kind", row.id)))
}

fn platform_of(row: &EnrollmentRow) -> Result<Platform, AppError> {
    row.platform.ok_or_else(|| AppError::Internal(anyhow::anyhow!("enrolment {} has no platform", row.id)))
}

/// The move `event` makes from the wizard's step (the transition table is `EnrollStep::on`).
fn moving(row: &EnrollmentRow, event: EnrollEvent) -> Result<Move, AppError> {
    row.step.moving(event).ok_or_else(|| AppError::Redirect(row.step.path().into()))
}

/// Makes the move `event` calls for (only from the step the wizard is at) and goes to the new
/// step's page.
async fn advance(
    state: &AppState,
    row: &EnrollmentRow,
    event: EnrollEvent,
    change: StepChange<'_>,
) -> Result<HttpResponse, AppError> {
    let step = moving(row, event)?;
    store::enrollments::advance(&state.db, &row.id, step, change, now()).await?;
    Ok(see_other(step.to.path()))
}

csrf_form!(StartForm {});

pub async fn start_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<StartForm>,
) -> Result<HttpResponse, AppError> {
    check_access(&state, &auth, None).await?;
    let t = now();
    let expires = t + i64::from(state.settings.enrollment.wizard_expiry_minutes) * 60;
    let row = store::enrollments::start(&state.db, &auth.user.id, t, expires).await?;
    auth.session.set_wizard(&row.id)?;
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::EnrollStart, Outcome::Info)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(&req).as_deref()),
        t,
    )
    .await?;
    Ok(see_other(EnrollStep::FIRST.path()))
}

pub async fn enroll_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    match store::enrollments::current(&state.db, &auth.user.id, now()).await? {
        Some(row) => Ok(see_other(row.step.path())),
        None => Ok(see_other("/prompt")),
    }
}

csrf_form!(BackForm {});

/// "Back": one step back, while no device has been stored yet.
pub async fn back_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<BackForm>,
) -> Result<HttpResponse, AppError> {
    let Some(row) = store::enrollments::current(&state.db, &auth.user.id, now()).await? else {
        return Ok(see_other("/prompt"));
    };
    check_access(&state, &auth, Some(&row)).await?;
    match row.step.moving(EnrollEvent::Back) {
        Some(_) => advance(&state, &row, EnrollEvent::Back, StepChange::default()).await,
        None => Ok(see_other(row.step.path())),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = crate::web::get;
    cfg.route("/enroll", get().to(enroll_get))
        .route("/enroll/start", web::post().to(start_post))
        .route("/enroll/back", web::post().to(back_post))
        .route("/enroll/device-type", get().to(device_type_get))
        .route("/enroll/device-type", web::post().to(device_type_post))
        .route("/enroll/platform", get().to(platform_get))
        .route("/enroll/platform", web::post().to(platform_post))
        .route("/enroll/install", get().to(install_get))
        .route("/enroll/install", web::post().to(install_post))
        .route("/enroll/activate", get().to(activate_get))
        .route("/enroll/activate", web::post().to(activate_post))
        .route("/enroll/options", get().to(options_get))
        .route("/enroll/options", web::post().to(options_post))
        .route("/enroll/done", get().to(done_get))
        .route("/enroll/phone", get().to(phone::phone_get))
        .route("/enroll/phone", web::post().to(phone::phone_post))
        .route("/enroll/phone/confirm", get().to(phone::confirm_get))
        .route("/enroll/phone/confirm", web::post().to(phone::confirm_post))
        .route("/enroll/phone/verify", get().to(phone::verify_get))
        .route("/enroll/phone/verify", web::post().to(phone::verify_post))
        .route(simulated::PATH, get().to(simulated::texts_get))
        .route("/enroll/phone/app", get().to(phone::app_get))
        .route("/enroll/phone/app", web::post().to(phone::app_post))
        .route("/enroll/security-key", get().to(security_key::page_get))
        .route("/enroll/security-key", web::post().to(security_key::finish_post))
        .route("/enroll/security-key/options", web::post().to(security_key::options_post))
        .route(token::CLAIM_PATH, get().to(token_get))
        .route(token::CLAIM_PATH, web::post().to(token_post))
        .configure(app::routes);
}

//! The enrolment wizard ("Start setup"): device type → operating system → install the app →
//! scan the QR code and verify a passcode → device options → "Continue to Login".
//! The wizard's state is a database row; each page checks it is the current step.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::chrome::Chrome;
use super::csrf::CsrfForm;
use super::prompt::seed_context;
use super::session::PasswordAuthed;
use super::state::{AppState, now};
use super::{client_ip, html};
use crate::csrf_form;
use crate::domain::{DeviceKind, DeviceName, EnrollStep, LoginAction, Passcode, Platform};
use crate::error::{AppError, see_other};
use crate::factors::totp::{TotpSeed, Verification, qr_svg_data_uri};
use crate::store::{
    self,
    audit::{Event, Outcome},
    enrollments::{EnrollmentRow, StepChange, VerifiedDevice},
};

/// A choice on a radio-button page.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "enroll/device_type.html")]
struct DeviceTypePage {
    chrome: Chrome,
    step: u8,
    steps: u8,
    choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/platform.html")]
struct PlatformPage {
    chrome: Chrome,
    step: u8,
    steps: u8,
    kind: &'static str,
    choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/install.html")]
struct InstallPage {
    chrome: Chrome,
    step: u8,
    steps: u8,
    platform: &'static str,
    platform_key: &'static str,
}

#[derive(Template)]
#[template(path = "enroll/activate.html")]
struct ActivatePage {
    chrome: Chrome,
    step: u8,
    steps: u8,
    qr: String,
    key: String,
    issuer: String,
    account: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/options.html")]
struct OptionsPage {
    chrome: Chrome,
    step: u8,
    steps: u8,
    name: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/done.html")]
struct DonePage {
    chrome: Chrome,
    name: String,
    next: &'static str,
}

/// Who may use the wizard: a fully signed-in user, or after the password alone a user whose only
/// device (if any) is the one created by the wizard this same session started. Anyone else must
/// pass the prompt first, so a stolen password cannot add a device to an enrolled account.
async fn check_access(state: &AppState, auth: &PasswordAuthed, wizard: Option<&EnrollmentRow>) -> Result<(), AppError> {
    if auth.full {
        return Ok(());
    }
    let devices = store::devices::list_for_user(&state.db, &auth.user.id).await?;
    let started_here = wizard.filter(|w| auth.session.wizard().as_deref() == Some(w.id.as_str()));
    let own = started_here.and_then(|w| w.device_id.as_deref());
    if devices.iter().all(|d| Some(d.id.as_str()) == own) { Ok(()) } else { Err(AppError::SecondFactorRequired) }
}

/// Loads the wizard and insists it is at `expected`; otherwise sends the user to where it is.
async fn at_step(state: &AppState, auth: &PasswordAuthed, expected: EnrollStep) -> Result<EnrollmentRow, AppError> {
    let wizard = store::enrollments::current(&state.db, &auth.user.id, now()).await?;
    check_access(state, auth, wizard.as_ref()).await?;
    let Some(row) = wizard else {
        return Err(AppError::Redirect(if auth.full { "/settings".into() } else { "/prompt".into() }));
    };
    match EnrollStep::parse(&row.step) {
        Some(step) if step == expected => Ok(row),
        Some(step) => Err(AppError::Redirect(step.path().into())),
        None => Err(AppError::Internal(anyhow::anyhow!("enrolment {} has unknown step", row.id))),
    }
}

fn chrome(state: &AppState, auth: &PasswordAuthed) -> Chrome {
    Chrome::new(state, Some(&auth.user.display_name), &auth.csrf)
}

fn kind_of(row: &EnrollmentRow) -> Result<DeviceKind, AppError> {
    DeviceKind::parse(row.device_kind.as_deref().unwrap_or_default())
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

fn platform_of(row: &EnrollmentRow) -> Result<Platform, AppError> {
    Platform::parse(row.platform.as_deref().unwrap_or_default()).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

/// Moves the wizard on (conditional on its step) and redirects to the new step's page.
async fn advance(
    state: &AppState,
    row: &EnrollmentRow,
    from: EnrollStep,
    to: EnrollStep,
    change: StepChange<'_>,
) -> Result<HttpResponse, AppError> {
    store::enrollments::advance(&state.db, &row.id, from.as_str(), to.as_str(), change, now()).await?;
    Ok(see_other(to.path()))
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
    let row = store::enrollments::start(&state.db, &auth.user.id, EnrollStep::FIRST.as_str(), t, expires).await?;
    auth.session.set_wizard(&row.id)?;
    store::audit::record(
        &state.db,
        Event::new("enroll.start", Outcome::Info)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(&req).as_deref()),
        t,
    )
    .await?;
    Ok(see_other(EnrollStep::FIRST.path()))
}

pub async fn enroll_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    match store::enrollments::current(&state.db, &auth.user.id, now()).await? {
        Some(row) => Ok(see_other(EnrollStep::parse(&row.step).unwrap_or(EnrollStep::FIRST).path())),
        None => Ok(see_other("/prompt")),
    }
}

fn kind_choices(selected: Option<DeviceKind>) -> Vec<Choice> {
    DeviceKind::OFFERED
        .iter()
        .map(|k| Choice {
            value: k.as_str(),
            label: k.label(),
            hint: match k {
                DeviceKind::MobilePhone => "Recommended",
                DeviceKind::Tablet => "iPad, Android tablet",
            },
            checked: Some(*k) == selected,
        })
        .collect()
}

pub async fn device_type_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::DeviceType).await?;
    let selected = row.device_kind.as_deref().and_then(|k| DeviceKind::parse(k).ok()).or(Some(DeviceKind::MobilePhone));
    let page = DeviceTypePage {
        chrome: chrome(&state, &auth),
        step: 1,
        steps: EnrollStep::COUNT,
        choices: kind_choices(selected),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(DeviceTypeForm { kind: String });

pub async fn device_type_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<DeviceTypeForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::DeviceType).await?;
    match DeviceKind::parse(&form.0.kind) {
        Ok(kind) => {
            let change = StepChange { device_kind: Some(kind.as_str()), ..StepChange::default() };
            advance(&state, &row, EnrollStep::DeviceType, EnrollStep::Platform, change).await
        }
        Err(e) => {
            let page = DeviceTypePage {
                chrome: chrome(&state, &auth),
                step: 1,
                steps: EnrollStep::COUNT,
                choices: kind_choices(None),
                error: Some(e.0),
            };
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

fn platform_choices(kind: DeviceKind, selected: Option<Platform>) -> Vec<Choice> {
    kind.platforms()
        .iter()
        .map(|p| Choice { value: p.as_str(), label: p.label(), hint: "", checked: Some(*p) == selected })
        .collect()
}

pub async fn platform_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Platform).await?;
    let kind = kind_of(&row)?;
    let selected = row.platform.as_deref().and_then(|p| Platform::parse(p).ok());
    let page = PlatformPage {
        chrome: chrome(&state, &auth),
        step: 2,
        steps: EnrollStep::COUNT,
        kind: kind.label(),
        choices: platform_choices(kind, selected),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(PlatformForm { platform: String });

pub async fn platform_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PlatformForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Platform).await?;
    let kind = kind_of(&row)?;
    match Platform::parse(&form.0.platform) {
        Ok(p) if kind.platforms().contains(&p) => {
            let change = StepChange { platform: Some(p.as_str()), ..StepChange::default() };
            advance(&state, &row, EnrollStep::Platform, EnrollStep::Install, change).await
        }
        _ => {
            let page = PlatformPage {
                chrome: chrome(&state, &auth),
                step: 2,
                steps: EnrollStep::COUNT,
                kind: kind.label(),
                choices: platform_choices(kind, None),
                error: Some("Choose your device's operating system.".into()),
            };
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub async fn install_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Install).await?;
    let platform = platform_of(&row)?;
    let page = InstallPage {
        chrome: chrome(&state, &auth),
        step: 3,
        steps: EnrollStep::COUNT,
        platform: platform.label(),
        platform_key: platform.as_str(),
    };
    html(StatusCode::OK, &page)
}

csrf_form!(InstallForm {});

/// "I have the app installed": a fresh seed is made for this wizard, sealed before it is stored.
pub async fn install_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<InstallForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Install).await?;
    let sealed = state.keys.seal(&seed_context(&auth.user.id), TotpSeed::generate().as_bytes());
    let change = StepChange { totp_secret: Some(&sealed), ..StepChange::default() };
    advance(&state, &row, EnrollStep::Install, EnrollStep::Activate, change).await
}

fn activate_page(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    error: Option<String>,
) -> Result<ActivatePage, AppError> {
    let sealed =
        row.totp_secret.as_deref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("no seed at activate")))?;
    let seed = TotpSeed::from_bytes(&state.keys.open(&seed_context(&auth.user.id), sealed)?);
    let issuer = state.settings.institution.name.clone();
    let account = auth.user.username.clone();
    Ok(ActivatePage {
        chrome: chrome(state, auth),
        step: 4,
        steps: EnrollStep::COUNT,
        qr: qr_svg_data_uri(&seed.otpauth_uri(&issuer, &account)),
        key: seed.base32_grouped(),
        issuer,
        account,
        error,
    })
}

pub async fn activate_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    html(StatusCode::OK, &activate_page(&state, &auth, &row, None)?)
}

csrf_form!(ActivateForm { passcode: String });

pub async fn activate_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<ActivateForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    let retry = |message: &str| -> Result<HttpResponse, AppError> {
        html(StatusCode::UNPROCESSABLE_ENTITY, &activate_page(&state, &auth, &row, Some(message.to_string()))?)
    };
    let code = match Passcode::parse(&form.0.passcode) {
        Ok(c) => c,
        Err(e) => return retry(&e.0),
    };
    let sealed = row.totp_secret.clone().unwrap_or_default();
    let seed = TotpSeed::from_bytes(&state.keys.open(&seed_context(&auth.user.id), &sealed)?);
    let t = now();
    let Verification::Accepted { step } = seed.verify(&code, t as u64, None) else {
        return retry(
            "That passcode is not right. Make sure you scanned the QR code on this page, then enter the newest passcode from your app.",
        );
    };
    let (kind, platform) = (kind_of(&row)?, platform_of(&row)?);
    let suggested = DeviceName::suggested(kind, platform);
    let device = VerifiedDevice {
        kind: kind.as_str(),
        platform: platform.as_str(),
        name: suggested.as_str(),
        login_action: LoginAction::Ask.as_str(),
        totp_secret: &sealed,
        // The code just used cannot be used again at the prompt.
        totp_last_step: step,
    };
    let Some(device_id) = store::enrollments::create_device(
        &state.db,
        &row,
        EnrollStep::Activate.as_str(),
        EnrollStep::Options.as_str(),
        device,
        t,
    )
    .await?
    else {
        return Ok(see_other("/enroll"));
    };
    let detail = format!("device {device_id} ({}, {})", kind.as_str(), platform.as_str());
    store::audit::record(
        &state.db,
        Event::new("enroll.device_added", Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(&req).as_deref())
            .detail(&detail),
        t,
    )
    .await?;
    Ok(see_other(EnrollStep::Options.path()))
}

fn action_choices(selected: LoginAction) -> Vec<Choice> {
    [
        (LoginAction::Ask, "Ask me to choose an authentication method", ""),
        (LoginAction::Passcode, "Automatically ask me for a passcode from this device", ""),
    ]
    .into_iter()
    .map(|(a, label, hint)| Choice { value: a.as_str(), label, hint, checked: a == selected })
    .collect()
}

async fn device_name(state: &AppState, row: &EnrollmentRow) -> Result<String, AppError> {
    let devices = store::devices::list_for_user(&state.db, &row.user_id).await?;
    Ok(devices.into_iter().find(|d| Some(&d.id) == row.device_id.as_ref()).map(|d| d.name).unwrap_or_default())
}

pub async fn options_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Options).await?;
    let page = OptionsPage {
        chrome: chrome(&state, &auth),
        step: 5,
        steps: EnrollStep::COUNT,
        name: device_name(&state, &row).await?,
        choices: action_choices(LoginAction::Ask),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(OptionsForm { name: String, login_action: String });

pub async fn options_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Options).await?;
    let form = form.0;
    let parsed = DeviceName::parse(&form.name).and_then(|n| LoginAction::parse(&form.login_action).map(|a| (n, a)));
    let (name, action) = match parsed {
        Ok(v) => v,
        Err(e) => {
            let action = LoginAction::parse(&form.login_action).unwrap_or(LoginAction::Ask);
            let name: String = form.name.chars().take(DeviceName::MAX_CHARS * 2).collect();
            let page = OptionsPage {
                chrome: chrome(&state, &auth),
                step: 5,
                steps: EnrollStep::COUNT,
                name,
                choices: action_choices(action),
                error: Some(e.0),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let t = now();
    store::enrollments::save_options(
        &state.db,
        &row,
        EnrollStep::Options.as_str(),
        EnrollStep::Done.as_str(),
        name.as_str(),
        action.as_str(),
        t,
    )
    .await?;
    store::audit::record(
        &state.db,
        Event::new("enroll.complete", Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(&req).as_deref()),
        t,
    )
    .await?;
    Ok(see_other(EnrollStep::Done.path()))
}

pub async fn done_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Done).await?;
    let page = DonePage {
        chrome: chrome(&state, &auth),
        name: device_name(&state, &row).await?,
        next: if auth.full { "/settings" } else { "/prompt" },
    };
    html(StatusCode::OK, &page)
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
    let Some(step) = EnrollStep::parse(&row.step) else { return Ok(see_other("/prompt")) };
    match step.back() {
        Some(previous) => advance(&state, &row, step, previous, StepChange::default()).await,
        None => Ok(see_other(step.path())),
    }
}

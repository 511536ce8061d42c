//! Wizard steps 4–5 and the end: "Scan this QR code with the app" with "Passcode" + "Verify",
//! "Device options", and "Continue to Login". A device is stored only after a correct passcode.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::clock::now;
use crate::csrf_form;
use crate::domain::{DeviceKind, DeviceName, EnrollEvent, EnrollStep, LoginAction, Passcode};
use crate::factors::totp::{TotpSeed, qr_svg_data_uri};
use crate::signin::Caller;
use crate::signin::enroll::Added;
use crate::signin::passcode::seed_context;
use crate::store::{
    self,
    audit::{Event, Outcome},
    enrollments::EnrollmentRow,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::notices::{self, Change};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

use super::{Choice, at_step, chrome, kind_of};
use crate::domain::enroll_path::{Progress, WizardPage};

#[derive(Template)]
#[template(path = "enroll/activate.html")]
struct ActivatePage {
    chrome: Chrome,
    progress: Progress,
    qr: String,
    otpauth: String,
    key: String,
    issuer: String,
    account: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/options.html")]
struct OptionsPage {
    chrome: Chrome,
    progress: Progress,
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
    /// After a temporary or recovery passcode: the other devices, which may be the lost one.
    old_devices: Vec<(String, String)>,
    /// How the device is used from now on, by what it can really do: "token", "key", "push",
    /// "app", "mobile" (a number without an app) or "landline".
    way: &'static str,
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
    let otpauth =
        seed.otpauth_uri(&issuer, &account).map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth URI: {e}")))?;
    Ok(ActivatePage {
        chrome: chrome(state, auth),
        progress: super::progress(row, WizardPage::Step(EnrollStep::Activate)),
        qr: qr_svg_data_uri(&otpauth).map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?,
        otpauth,
        key: seed.base32_grouped(),
        issuer,
        account,
        error,
    })
}

pub async fn activate_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Activate).await?;
    if let Some(app_page) = super::app::page(&state, &auth, &row, None, None).await? {
        return Ok(app_page);
    }
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
    let ip = client_ip(&req);
    let session = auth.session.row();
    let caller = Caller::new(&auth.user, ip.as_deref()).in_session(session.as_deref());
    match state.add_app_device(&caller, &row, &code).await? {
        Added::Device(_) => Ok(see_other(EnrollStep::Options.path())),
        Added::Wrong => retry(
            "That passcode is not right. Make sure you scanned the QR code on this page, then enter the newest passcode from your app.",
        ),
        Added::MovedOn | Added::AlreadyRegistered => Ok(see_other("/enroll")),
    }
}

/// "When I log in" for the wizard's device: only what it can really do (`LoginAction::offered`).
fn action_choices(kind: DeviceKind, selected: LoginAction, push: bool, passcodes: bool) -> Vec<Choice> {
    LoginAction::offered(kind, push, passcodes)
        .into_iter()
        .map(|a| {
            let label = match a {
                LoginAction::Ask => "Ask me to choose an authentication method",
                LoginAction::Push => "Automatically send this device a Push",
                LoginAction::Passcode => "Automatically ask me for a passcode from this device",
                LoginAction::Call => "Automatically call this device",
            };
            Choice { value: a.as_str(), label, hint: "", checked: a == selected }
        })
        .collect()
}

/// The wizard's device shows passcodes (an authenticator app's seed, or a hardware token).
async fn shows_passcodes(state: &AppState, row: &EnrollmentRow) -> Result<bool, AppError> {
    let Some(id) = &row.device_id else { return Ok(false) };
    let device = store::devices::for_user(&state.db, &row.user_id, id).await?;
    Ok(device.is_some_and(|d| !d.totp_secret.is_empty() || d.kind == DeviceKind::HardwareToken))
}

/// The wizard's device was activated in the Twofold authenticator (it can receive pushes).
async fn can_push(state: &AppState, row: &EnrollmentRow) -> Result<bool, AppError> {
    let Some(id) = &row.device_id else { return Ok(false) };
    Ok(store::push_devices::key(&state.db, id).await?.is_some())
}

async fn device_name(state: &AppState, row: &EnrollmentRow) -> Result<String, AppError> {
    let devices = store::devices::list_for_user(&state.db, &row.user_id).await?;
    Ok(devices.into_iter().find(|d| Some(&d.id) == row.device_id.as_ref()).map(|d| d.name).unwrap_or_default())
}

pub async fn options_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Options).await?;
    let page = OptionsPage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::Options)),
        name: device_name(&state, &row).await?,
        choices: action_choices(
            kind_of(&row)?,
            LoginAction::Ask,
            can_push(&state, &row).await?,
            shows_passcodes(&state, &row).await?,
        ),
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
                progress: super::progress(&row, WizardPage::Step(EnrollStep::Options)),
                name,
                choices: action_choices(
                    kind_of(&row)?,
                    action,
                    can_push(&state, &row).await?,
                    shows_passcodes(&state, &row).await?,
                ),
                error: Some(e.0),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let t = now();
    let step = super::moving(&row, EnrollEvent::SavedOptions)?;
    store::enrollments::save_options(&state.db, &row, step, name.as_str(), action, t).await?;
    let ip = client_ip(&req);
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::EnrollComplete, Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(ip.as_deref()),
        t,
    )
    .await?;
    if let Some(device_id) = &row.device_id
        && let Some(device) = store::devices::for_user(&state.db, &auth.user.id, device_id).await?
    {
        notices::device_changed(&state, &auth.user, &device, Change::DeviceAdded, ip.as_deref(), t).await?;
    }
    Ok(see_other(EnrollStep::Done.path()))
}

pub async fn done_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Done).await?;
    let old_devices = if auth.full && auth.session.replacing() {
        store::devices::list_for_user(&state.db, &auth.user.id)
            .await?
            .into_iter()
            .filter(|d| Some(&d.id) != row.device_id.as_ref())
            .map(|d| (d.id, d.name))
            .collect()
    } else {
        Vec::new()
    };
    let device = match &row.device_id {
        Some(id) => store::devices::for_user(&state.db, &auth.user.id, id).await?,
        None => None,
    };
    let way = match device {
        Some(d) if d.kind == DeviceKind::HardwareToken => "token",
        Some(d) if d.kind == DeviceKind::SecurityKey => "key",
        _ if can_push(&state, &row).await? => "push",
        Some(d) if !d.totp_secret.is_empty() => "app",
        Some(d) if d.kind == DeviceKind::Landline => "landline",
        _ => "mobile",
    };
    let page = DonePage {
        way,
        chrome: chrome(&state, &auth),
        name: device_name(&state, &row).await?,
        next: if auth.full {
            "/settings"
        } else if auth.invited {
            "/login"
        } else {
            "/prompt"
        },
        old_devices,
    };
    html(StatusCode::OK, &page)
}

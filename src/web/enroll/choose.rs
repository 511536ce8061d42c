//! Wizard steps 1–3: "What type of device are you adding?", the operating system, and
//! "Install the authenticator app" (which makes the seed the next step shows).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::csrf_form;
use crate::domain::InputError;
use crate::domain::policy::MethodSet;
use crate::domain::{DeviceKind, EnrollEvent, EnrollStep, Platform};
use crate::factors::totp::TotpSeed;
use crate::signin::passcode::seed_context;
use crate::store::enrollments::StepChange;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

use super::{Choice, advance, at_step, chrome, kind_of, platform_of};
use crate::domain::enroll_path::{Progress, WizardPage};

#[derive(Template)]
#[template(path = "enroll/device_type.html")]
struct DeviceTypePage {
    chrome: Chrome,
    progress: Progress,
    choices: Vec<Choice>,
    error: Option<String>,
    /// Signed in with a temporary or recovery passcode: the page says why the wizard opened.
    replacing: bool,
    help_desk: String,
}

#[derive(Template)]
#[template(path = "enroll/platform.html")]
struct PlatformPage {
    chrome: Chrome,
    progress: Progress,
    kind: &'static str,
    choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/install.html")]
struct InstallPage {
    chrome: Chrome,
    progress: Progress,
    platform: &'static str,
    platform_key: &'static str,
}

/// Security keys are offered only when the server can be a WebAuthn relying party (a domain name).
/// The policy's allowed methods decide too: a kind is offered when one of its methods is allowed.
fn kind_choices(state: &AppState, allowed: &MethodSet, selected: Option<DeviceKind>) -> Vec<Choice> {
    let keys = state.relying_party().is_some();
    DeviceKind::OFFERED
        .iter()
        .filter(|k| keys || **k != DeviceKind::SecurityKey)
        .filter(|k| allowed.offers_kind(**k))
        .map(|k| Choice {
            value: k.as_str(),
            label: k.label(),
            hint: match k {
                DeviceKind::MobilePhone => "Recommended",
                DeviceKind::Tablet => "iPad, Android tablet",
                DeviceKind::HardwareToken => "A key fob or card from your institution",
                DeviceKind::SecurityKey => "YubiKey, Touch ID, Windows Hello",
                DeviceKind::Landline => "A desk or home phone: we call it",
            },
            checked: Some(*k) == selected,
        })
        .collect()
}

pub async fn device_type_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::DeviceType).await?;
    let selected = row.device_kind.or(Some(DeviceKind::MobilePhone));
    let allowed = crate::signin::allowed::methods_for_user(&state, &auth.user.id, None).await?;
    let page = DeviceTypePage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::DeviceType)),
        choices: kind_choices(&state, &allowed, selected),
        error: None,
        replacing: auth.session.replacing(),
        help_desk: state.settings.institution.help_desk.clone(),
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
    let allowed = crate::signin::allowed::methods_for_user(&state, &auth.user.id, None).await?;
    let parsed = DeviceKind::parse(&form.0.kind).and_then(|k| {
        if allowed.offers_kind(k) {
            Ok(k)
        } else {
            Err(InputError::new(format!(
                "A {} cannot be used for your account. Choose another type of device.",
                k.label().to_lowercase()
            )))
        }
    });
    match parsed {
        // A token from the inventory is claimed on its own page ("Serial number" + "Passcode").
        Ok(DeviceKind::HardwareToken) => Ok(crate::web::error::see_other(super::token::CLAIM_PATH)),
        Ok(kind) => {
            // No operating system to choose for a key: the browser finds it.
            let platform = (kind == DeviceKind::SecurityKey).then_some(Platform::Other);
            let change = StepChange { device_kind: Some(kind), platform, ..StepChange::default() };
            advance(&state, &row, EnrollEvent::ChoseKind(kind), change).await
        }
        Err(e) => {
            let page = DeviceTypePage {
                chrome: chrome(&state, &auth),
                progress: super::progress(&row, WizardPage::Step(EnrollStep::DeviceType)),
                choices: kind_choices(&state, &allowed, None),
                error: Some(e.0),
                replacing: auth.session.replacing(),
                help_desk: state.settings.institution.help_desk.clone(),
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
    let selected = row.platform;
    let page = PlatformPage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::Platform)),
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
            let change = StepChange { platform: Some(p), ..StepChange::default() };
            advance(&state, &row, EnrollEvent::ChosePlatform, change).await
        }
        _ => {
            let page = PlatformPage {
                chrome: chrome(&state, &auth),
                progress: super::progress(&row, WizardPage::Step(EnrollStep::Platform)),
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
        progress: super::progress(&row, WizardPage::Step(EnrollStep::Install)),
        platform: platform.label(),
        platform_key: platform.as_str(),
    };
    html(StatusCode::OK, &page)
}

csrf_form!(InstallForm { app: String });

/// "I have the app installed": a fresh seed is made for this wizard, sealed before it is stored.
pub async fn install_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<InstallForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Install).await?;
    if form.0.app == "twofold" {
        // The Twofold authenticator: the next step shows an activation link instead of otpauth.
        state.new_activation(&auth.user.id, Some(&row.id), None).await?;
    } else {
        // Another app (perhaps after "Back"): an earlier activation link stops working.
        crate::store::push_devices::cancel_for_enrollment(&state.db, &row.id, crate::clock::now()).await?;
    }
    let sealed = state.keys.seal(&seed_context(&auth.user.id), TotpSeed::generate().as_bytes())?;
    let change = StepChange { totp_secret: Some(&sealed), ..StepChange::default() };
    advance(&state, &row, EnrollEvent::InstalledApp, change).await
}

//! Wizard step "Use a security key": the options for `navigator.credentials.create`, then the
//! key's answer, verified against the ceremony taken (single use) and stored with a new device.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::csrf_form;
use crate::domain::EnrollStep;
use crate::factors::webauthn::{Failure, Registrant, start_registration};
use crate::signin::Caller;
use crate::signin::enroll::{Added, Registration};
use crate::signin::security_key::REGISTER;
use crate::store::{self};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::security_key as keys;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

use super::{at_step, chrome};
use crate::domain::enroll_path::{Progress, WizardPage};

const ALREADY_REGISTERED: &str =
    "This security key is already registered. Use another key, or go back and choose another type of device.";

#[derive(Template)]
#[template(path = "enroll/security_key.html")]
struct SecurityKeyPage {
    chrome: Chrome,
    progress: Progress,
    available: bool,
    error: Option<String>,
}

fn page(
    state: &AppState,
    auth: &PasswordAuthed,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let page = SecurityKeyPage {
        chrome: chrome(state, auth),
        progress: super::progress_of(crate::domain::DeviceKind::SecurityKey, WizardPage::Step(EnrollStep::SecurityKey)),
        available: state.relying_party().is_some(),
        error,
    };
    html(status, &page)
}

pub async fn page_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    at_step(&state, &auth, EnrollStep::SecurityKey).await?;
    page(&state, &auth, StatusCode::OK, None)
}

csrf_form!(OptionsForm {});

/// Starts a registration: a fresh challenge, the user's keys excluded, the state kept server-side
/// (replacing any earlier registration of this user).
pub async fn options_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    at_step(&state, &auth, EnrollStep::SecurityKey).await?;
    let Some(rp) = state.relying_party() else {
        return Ok(keys::json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    };
    let exclude = store::webauthn::list_for_user(&state.db, &auth.user.id)
        .await?
        .iter()
        .map(|row| state.open_credential(row).map(|c| c.cred_id))
        .collect::<Result<Vec<_>, _>>()?;
    let who =
        Registrant { user_id: &auth.user.id, username: &auth.user.username, display_name: &auth.user.display_name };
    let (options, ceremony) = start_registration(&rp, state.settings.webauthn.user_verification, &who, exclude)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("starting a WebAuthn registration: {e:?}")))?;
    let id = state.begin_ceremony(&auth.user.id, REGISTER, &ceremony).await?;
    auth.session.set_webauthn_ceremony(REGISTER, &id)?;
    Ok(keys::json(&options))
}

csrf_form!(KeyForm { credential: String });

pub async fn finish_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::SecurityKey).await?;
    if form.0.credential.trim().is_empty() {
        let message = "A security key needs JavaScript. Turn on JavaScript in your browser and try again, or go back and choose another type of device.";
        return page(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, Some(message.into()));
    }
    let ip = client_ip(&req);
    let session = auth.session.row();
    let caller = Caller::new(&auth.user, ip.as_deref()).in_session(session.as_deref());
    let ceremony = auth.session.take_webauthn_ceremony(REGISTER);
    let credential = match state.verify_registration(&caller, ceremony.as_deref(), &form.0.credential).await? {
        Ok(c) => c,
        Err(refusal) => {
            let (status, message) = refused(&refusal);
            return page(&state, &auth, status, Some(message.into()));
        }
    };
    match state.add_security_key(&caller, &row, &credential).await? {
        Added::Device(_) => Ok(see_other(EnrollStep::Options.path())),
        Added::AlreadyRegistered => page(&state, &auth, StatusCode::CONFLICT, Some(ALREADY_REGISTERED.into())),
        Added::MovedOn | Added::Wrong => Ok(see_other("/enroll")),
    }
}

/// Why a registration was refused, in the wizard's words.
fn refused(refusal: &Registration) -> (StatusCode, &'static str) {
    let message = match refusal {
        Registration::Unreadable => "Your browser's answer could not be read. Select Continue to try again.",
        Registration::NoCeremony => "That request has expired or was already used. Select Continue to try again.",
        Registration::Unavailable => "Security keys are not available on this server.",
        Registration::AlreadyRegistered | Registration::Failed(Failure::AlreadyRegistered, _) => {
            return (StatusCode::CONFLICT, ALREADY_REGISTERED);
        }
        Registration::Failed(Failure::NotVerified, _) => {
            "Your security key did not check that it's you. Try again and enter the key's PIN or use its fingerprint reader when asked."
        }
        Registration::Failed(Failure::WrongSite, _) => {
            "Your security key answered for a different website. Open this page at its usual address and try again."
        }
        Registration::Failed(..) => "Your security key could not be registered. Select Continue to try again.",
    };
    (StatusCode::UNPROCESSABLE_ENTITY, message)
}

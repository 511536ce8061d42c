//! Wizard step "Use a security key": the options for `navigator.credentials.create`, then the
//! key's answer, verified against the ceremony taken (single use) and stored with a new device.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use webauthn_rs::prelude::{Credential, RegisterPublicKeyCredential};

use crate::clock::now;
use crate::csrf_form;
use crate::domain::{DeviceKind, DeviceName, EnrollEvent, EnrollStep, LoginAction, Platform};
use crate::factors::webauthn::{
    Failure, Registrant, RegistrationState, credential_id_text, finish_registration, start_registration,
};
use crate::signin::security_key::REGISTER;
use crate::store::devices::NewDevice;
use crate::store::{
    self, StoreError,
    audit::{Event, Outcome},
    webauthn::NewCredential,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::security_key as keys;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

use super::{at_step, chrome};

const ALREADY_REGISTERED: &str =
    "This security key is already registered. Use another key, or go back and choose another type of device.";

#[derive(Template)]
#[template(path = "enroll/security_key.html")]
struct SecurityKeyPage {
    chrome: Chrome,
    step: u8,
    steps: u8,
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
        step: EnrollStep::SecurityKey.number(),
        steps: EnrollStep::KEY_COUNT,
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
    let (t, ip) = (now(), client_ip(&req));
    let credential = match verify(&state, &auth, &form.0.credential).await? {
        Ok(c) => c,
        Err(refusal) => {
            if let Some(detail) = &refusal.audit {
                audit(&state, &auth, ip.as_deref(), (AuditEvent::EnrollSecurityKey, Outcome::Failure), detail, t)
                    .await?;
            }
            return page(&state, &auth, refusal.status, Some(refusal.message.into()));
        }
    };
    let (credential_id, sealed) = state.seal_credential(&auth.user.id, &credential)?;
    let name = DeviceName::suggested(DeviceKind::SecurityKey, Platform::Other);
    let device = NewDevice {
        kind: DeviceKind::SecurityKey,
        platform: Platform::Other,
        name: name.as_str(),
        login_action: LoginAction::Ask,
        totp_secret: "",
        totp_last_step: None,
        phone: None,
        extension: None,
    };
    let new = NewCredential {
        credential_id: &credential_id,
        sealed_credential: &sealed,
        sign_count: i64::from(credential.counter),
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        user_verified: credential.user_verified,
    };
    let step = super::moving(&row, EnrollEvent::RegisteredKey)?;
    let device_id = match store::webauthn::create_device(&state.db, (&row.id, &auth.user.id), step, device, new, t)
        .await
    {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(see_other("/enroll")),
        Err(StoreError::Conflict) => return page(&state, &auth, StatusCode::CONFLICT, Some(ALREADY_REGISTERED.into())),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("device {device_id} (security_key, credential {credential_id})");
    audit(&state, &auth, ip.as_deref(), (AuditEvent::EnrollDeviceAdded, Outcome::Success), &detail, t).await?;
    Ok(see_other(step.to.path()))
}

/// Why a registration was refused: status and message for the page; the audit detail when a
/// response was actually checked and failed.
struct Refusal {
    status: StatusCode,
    message: &'static str,
    audit: Option<String>,
}

fn refused(message: &'static str) -> Result<Result<Credential, Refusal>, AppError> {
    Ok(Err(Refusal { status: StatusCode::UNPROCESSABLE_ENTITY, message, audit: None }))
}

/// Checks the key's answer against the ceremony, which is taken (deleted) first: single use.
async fn verify(
    state: &AppState,
    auth: &PasswordAuthed,
    submitted: &str,
) -> Result<Result<Credential, Refusal>, AppError> {
    if submitted.trim().is_empty() {
        return refused(
            "A security key needs JavaScript. Turn on JavaScript in your browser and try again, or go back and choose another type of device.",
        );
    }
    let Ok(response) = serde_json::from_str::<RegisterPublicKeyCredential>(submitted) else {
        return refused("Your browser's answer could not be read. Select Continue to try again.");
    };
    let Some(ceremony) = state
        .take_ceremony::<RegistrationState>(
            &auth.user.id,
            REGISTER,
            auth.session.take_webauthn_ceremony(REGISTER).as_deref(),
        )
        .await?
    else {
        return refused("That request has expired or was already used. Select Continue to try again.");
    };
    let Some(rp) = state.relying_party() else { return refused("Security keys are not available on this server.") };
    // The browser refuses excluded keys; a response that names one anyway is refused here too.
    let new_id = credential_id_text(&response.raw_id);
    let existing = store::webauthn::list_for_user(&state.db, &auth.user.id).await?;
    if existing.iter().any(|r| r.credential_id == new_id) {
        return Ok(Err(Refusal { status: StatusCode::CONFLICT, message: ALREADY_REGISTERED, audit: None }));
    }
    finish_registration(&rp, &ceremony, &response).map(Ok).or_else(|e| {
        let failure = Failure::of(&e);
        let message = match failure {
            Failure::AlreadyRegistered => ALREADY_REGISTERED,
            Failure::NotVerified => {
                "Your security key did not check that it's you. Try again and enter the key's PIN or use its fingerprint reader when asked."
            }
            Failure::WrongSite => {
                "Your security key answered for a different website. Open this page at its usual address and try again."
            }
            _ => "Your security key could not be registered. Select Continue to try again.",
        };
        let audit = Some(format!("{}: {e:?}", failure.as_str()));
        Ok(Err(Refusal { status: StatusCode::UNPROCESSABLE_ENTITY, message, audit }))
    })
}

async fn audit(
    state: &AppState,
    auth: &PasswordAuthed,
    ip: Option<&str>,
    (event, outcome): (AuditEvent, Outcome),
    detail: &str,
    t: i64,
) -> Result<(), AppError> {
    let e = Event::new(event, outcome).user(&auth.user.id, &auth.user.username).ip(ip).detail(detail);
    Ok(store::audit::record(&state.db, e, t).await?)
}

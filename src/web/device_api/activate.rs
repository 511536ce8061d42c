//! Activation: the app presents the single-use link's token and its new public key, and gets the
//! account (institution, username) and the TOTP seed for offline passcodes.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::clock::now;
use crate::domain::{DeviceName, EnrollStep, LoginAction};
use crate::factors::push::parse_public_key;
use crate::factors::totp::TotpSeed;
use crate::signin::passcode::seed_context;
use crate::store::{
    self,
    audit::{Event, Outcome},
    enrollments::VerifiedDevice,
    push_devices::ActivationRow,
    users::UserRow,
};
use crate::web::client_ip;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct ActivateBody {
    token: String,
    public_key: String,
}

#[derive(Serialize)]
struct Activated {
    device_id: String,
    institution: String,
    username: String,
    /// Base32, SHA-1, 6 digits, 30 seconds.
    totp_secret: String,
}

fn link_invalid() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "activation_invalid",
        "This activation link has expired or was already used. Ask for a new one on the setup page.",
    )
}

pub async fn activate_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ActivateBody>,
) -> Result<HttpResponse, ApiError> {
    if parse_public_key(&body.public_key).is_err() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_key", "The public key is not a P-256 key."));
    }
    let t = now();
    // Consumed before anything else: single use, even when two phones open the link at once.
    let hash = state.keys.hash_token(&body.token);
    let activation = store::push_devices::consume_activation(&state.db, &hash, t).await?.ok_or_else(link_invalid)?;
    let user = store::users::by_id(&state.db, &activation.user_id).await?.ok_or_else(link_invalid)?;
    let device_id = match &activation.device_id {
        Some(id) => {
            let device = store::devices::for_user(&state.db, &user.id, id).await?.ok_or_else(link_invalid)?;
            let sealed = state.keys.seal(&seed_context(&user.id), TotpSeed::generate().as_bytes())?;
            store::push_devices::replace_seed(&state.db, &device.id, &sealed).await?;
            device.id
        }
        None => create_wizard_device(&state, &user, &activation, t).await?,
    };
    store::push_devices::set_key(&state.db, &device_id, &user.id, &body.public_key, t).await?;
    let what = if activation.device_id.is_some() { "reactivated" } else { "activated" };
    let detail = format!("device {device_id} {what} the Twofold authenticator");
    let ip = client_ip(&req);
    let event = Event::new(AuditEvent::PushActivated, Outcome::Success)
        .user(&user.id, &user.username)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, event, t).await?;
    let device = store::devices::for_user(&state.db, &user.id, &device_id).await?.ok_or_else(link_invalid)?;
    let seed = TotpSeed::from_bytes(&state.keys.open(&seed_context(&user.id), &device.totp_secret)?);
    Ok(HttpResponse::Ok().json(Activated {
        device_id,
        institution: state.settings.institution.name.clone(),
        username: user.username.clone(),
        totp_secret: seed.base32_grouped().replace(' ', ""),
    }))
}

/// The wizard's link: the device is stored now (the app holds the key, so no passcode check is
/// needed) and the wizard moves on to "Device options".
async fn create_wizard_device(
    state: &AppState,
    user: &UserRow,
    activation: &ActivationRow,
    t: i64,
) -> Result<String, ApiError> {
    let wizard = store::enrollments::current(&state.db, &user.id, t)
        .await?
        .filter(|w| Some(&w.id) == activation.enrollment_id.as_ref() && w.step == EnrollStep::Activate.as_str())
        .ok_or_else(link_invalid)?;
    let kind = crate::domain::DeviceKind::parse(wizard.device_kind.as_deref().unwrap_or_default())
        .map_err(|_| link_invalid())?;
    let platform =
        crate::domain::Platform::parse(wizard.platform.as_deref().unwrap_or_default()).map_err(|_| link_invalid())?;
    let sealed = wizard.totp_secret.clone().ok_or_else(link_invalid)?;
    let name = DeviceName::suggested(kind, platform);
    let device = VerifiedDevice {
        kind: kind.as_str(),
        platform: platform.as_str(),
        name: name.as_str(),
        login_action: LoginAction::Ask.as_str(),
        totp_secret: &sealed,
        // No passcode used yet: the current step and the one after stay usable at the prompt.
        totp_last_step: t / 30 - 2,
    };
    let from = EnrollStep::Activate.as_str();
    let to = EnrollStep::Options.as_str();
    let device_id =
        store::enrollments::create_device(&state.db, &wizard, from, to, device, t).await?.ok_or_else(link_invalid)?;
    // The mobile number verified earlier in the wizard stays with the device (as with a passcode).
    crate::web::enroll::phone::attach_verified_number(state, &wizard, &device_id).await.map_err(ApiError::internal)?;
    let detail = format!("device {device_id} ({}, {}, Twofold authenticator)", kind.as_str(), platform.as_str());
    let event =
        Event::new(AuditEvent::EnrollDeviceAdded, Outcome::Success).user(&user.id, &user.username).detail(&detail);
    store::audit::record(&state.db, event, t).await?;
    state.db.changes().publish(&state.db, &format!("enroll:{}", wizard.id)).await?;
    Ok(device_id)
}

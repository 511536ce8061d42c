//! Activation: the app presents the single-use link's token and its new public key, and gets the
//! account (institution, username) and the TOTP seed for offline passcodes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::factors::push::parse_public_key;
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
    let ip = client_ip(&req);
    let activated = state.activate_app(&body.token, &body.public_key, ip.as_deref()).await?.ok_or_else(link_invalid)?;
    Ok(HttpResponse::Ok().json(Activated {
        device_id: activated.device_id,
        institution: state.settings.institution.name.clone(),
        username: activated.user.username.clone(),
        totp_secret: activated.seed.base32_grouped().replace(' ', ""),
    }))
}

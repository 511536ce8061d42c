//! The device API (`/device/v1/…`, JSON) used by the Twofold authenticator app: activate with a
//! single-use link, list pending pushes, answer one. The device proves itself by signing with its key.

mod activate;
mod answer;
pub(crate) mod notify;

use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde::Serialize;

use crate::store::StoreError;
use crate::store::push_devices::PushKeyRow;
use crate::web::state::AppState;

/// Bodies are small JSON documents; anything larger is refused unread (413).
const BODY_LIMIT: usize = 8 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/device/v1")
            .app_data(json_config())
            .route("/activate", web::post().to(activate::activate_post))
            .route("/pending", web::post().to(answer::pending_post))
            .route("/answer", web::post().to(answer::answer_post))
            .route("/vapid", web::get().to(notify::vapid_get))
            .route("/subscribe", web::post().to(notify::subscribe_post)),
    );
}

/// JSON only (415 otherwise), at most `BODY_LIMIT` bytes (413), errors as JSON.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(BODY_LIMIT).error_handler(|err, _req| {
        let api = match &err {
            JsonPayloadError::ContentType => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send application/json.")
            }
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "The request body is too large.")
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "The request body is not the JSON expected."),
        };
        let response = api.error_response();
        InternalError::from_response(err, response).into()
    })
}

/// An API error: a status, a stable code for the app, and a sentence for people.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "device API failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong. Try again.")
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "bad_signature", "This device is not activated, or the signature is wrong.")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody { error: self.code, message: &self.message })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::signin::Error> for ApiError {
    fn from(e: crate::signin::Error) -> Self {
        Self::internal(e)
    }
}

impl From<crate::secrets::SealError> for ApiError {
    fn from(e: crate::secrets::SealError) -> Self {
        Self::internal(format!("{e:?}"))
    }
}

impl From<crate::secrets::OpenError> for ApiError {
    fn from(e: crate::secrets::OpenError) -> Self {
        Self::internal(format!("{e:?}"))
    }
}

/// The device's key, if `signature` is that key's signature of `message`. A removed device, an
/// unknown one, a replaced key (reactivation) or a bad signature are all the same 401.
async fn signed_by(state: &AppState, device_id: &str, message: &str, signature: &str) -> Result<PushKeyRow, ApiError> {
    let key = crate::store::push_devices::key(&state.db, device_id).await?.ok_or_else(ApiError::unauthorized)?;
    if crate::factors::push::verify(&key.public_key, message, signature) {
        Ok(key)
    } else {
        Err(ApiError::unauthorized())
    }
}

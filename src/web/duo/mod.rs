//! Duo-compatible APIs for applications: Auth API v2 (`/auth/v2/…`, signed requests v2 and v5)
//! and the Universal Prompt (`/oauth/v1/…`), with Duo's response envelopes and rate limit; the
//! Admin API (`/admin/v1/…`, `/admin/v2/…`) in `admin/`.

mod admin;
mod auth;
pub(crate) mod authorize;
mod devices;
mod enroll;
mod factors;
pub(crate) mod limits;
mod signed;
mod universal;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The Auth API v2 and the Universal Prompt.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/v2/ping", super::get().to(auth::ping_get))
        .route("/auth/v2/check", super::get().to(auth::check_get))
        .route("/auth/v2/logo", super::get().to(auth::logo_get))
        .route("/auth/v2/preauth", web::post().to(auth::preauth_post))
        .route("/auth/v2/auth", web::post().to(auth::auth_post))
        .route("/auth/v2/auth_status", super::get().to(auth::auth_status_get))
        .route("/auth/v2/enroll", web::post().to(enroll::enroll_post))
        .route("/auth/v2/enroll_status", web::post().to(enroll::enroll_status_post))
        .route("/auth/v2/enroll/qr/{token}", super::get().to(enroll::qr_get))
        .route("/oauth/v1/health_check", web::post().to(universal::health_check_post))
        .route("/oauth/v1/authorize", super::get().to(authorize::authorize_get))
        .route("/oauth/v1/continue", super::get().to(authorize::continue_get))
        .route("/oauth/v1/token", web::post().to(universal::token_post));
    admin::routes(cfg);
}

/// `{"stat":"OK","response":…}`
pub fn ok(response: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "stat": "OK", "response": response }))
}

/// `{"stat":"FAIL","code":…,"message":…}` with an HTTP status (DUO-API.md §2.1).
#[derive(Debug)]
pub struct Fail {
    pub status: StatusCode,
    pub code: u32,
    pub message: &'static str,
    pub detail: Option<String>,
}

impl Fail {
    pub fn unauthorized(message: &'static str) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, code: 40101, message, detail: None }
    }

    pub fn missing(detail: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 40001,
            message: "Missing required request parameters",
            detail: Some(detail.into()),
        }
    }

    pub fn invalid(detail: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 40002,
            message: "Invalid request parameters",
            detail: Some(detail.into()),
        }
    }

    pub fn not_found(message: &'static str) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: 40401, message, detail: None }
    }

    /// Over the application's rate limit (Duo's code 42901).
    pub fn too_many_requests() -> Self {
        Self { status: StatusCode::TOO_MANY_REQUESTS, code: 42901, message: "Too Many Requests", detail: None }
    }

    pub fn internal() -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, code: 50000, message: "Internal error", detail: None }
    }

    pub fn response(&self) -> HttpResponse {
        let mut body = json!({ "stat": "FAIL", "code": self.code, "message": self.message });
        if let Some(detail) = &self.detail {
            body["message_detail"] = json!(detail);
        }
        HttpResponse::build(self.status).json(body)
    }
}

impl From<crate::store::StoreError> for Fail {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "Duo API request failed");
        Fail::internal()
    }
}

impl Fail {
    /// The core failed (the database, a sealed value): logged, answered as Duo's internal error.
    pub fn from_core(e: crate::signin::Error) -> Self {
        tracing::error!(error = %e, "Duo API request failed");
        Fail::internal()
    }
}

pub type ApiResult = Result<HttpResponse, Fail>;

/// Turns a handler's result into the response (errors keep Duo's envelope, never an HTML page).
pub fn respond(result: ApiResult) -> HttpResponse {
    result.unwrap_or_else(|fail| fail.response())
}

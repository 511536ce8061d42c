//! Duo-compatible Auth API v2 (`/auth/v2/…`) for applications: signed requests (v2 and v5),
//! Duo's response envelopes, and the second factor checked with the same rules as the prompt.

mod auth;
mod signed;

pub use auth::{auth_post, auth_status_get, check_get, logo_get, ping_get, preauth_post};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

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
        tracing::error!(error = %e, "Auth API request failed");
        Fail::internal()
    }
}

pub type ApiResult = Result<HttpResponse, Fail>;

/// Turns a handler's result into the response (errors keep Duo's envelope, never an HTML page).
pub fn respond(result: ApiResult) -> HttpResponse {
    result.unwrap_or_else(|fail| fail.response())
}

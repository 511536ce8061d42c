//! Security keys in the browser: the routes of both ceremonies (wizard and prompt), the script
//! that drives them, and the pieces both share: relying party, ceremony state, JSON answers.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::web::enroll::security_key as enroll;
use crate::web::prompt::security_key as prompt;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = || web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()));
    cfg.route("/enroll/security-key", get().to(enroll::page_get))
        .route("/enroll/security-key", web::post().to(enroll::finish_post))
        .route("/enroll/security-key/options", web::post().to(enroll::options_post))
        .route("/prompt/security-key", get().to(|| async { crate::web::error::see_other("/prompt") }))
        .route("/prompt/security-key", web::post().to(prompt::finish_post))
        .route("/prompt/security-key/options", web::post().to(prompt::options_post))
        .route("/static/webauthn.js", get().to(script));
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/webauthn.js"))
}

/// Options for the browser, as JSON.
pub fn json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// A JSON error the script turns into the page's message for `code`.
pub fn json_error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code }))
}

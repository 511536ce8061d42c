//! Security keys in the browser: the script that drives both ceremonies (the wizard's and the
//! prompt's, routed by their areas) and the JSON answers both give it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Serialize;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/webauthn.js", crate::web::get().to(script));
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

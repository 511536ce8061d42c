//! The stylesheet, the waiting pages' script, the tab icon and the institution's logo (embedded or read at
//! start: one binary to deploy).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::error::AppError;
use super::http::get;
use super::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", get().to(stylesheet))
        .route("/static/wait.js", get().to(wait_script))
        .route("/static/form_post.js", get().to(form_post_script))
        .route("/favicon.ico", get().to(favicon))
        .route("/branding/logo", get().to(logo));
}

/// The browser's tab icon: the brand colour with two bars (two steps).
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(&include_bytes!("../../static/favicon.ico")[..])
}

async fn wait_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/wait.js"))
}

async fn form_post_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/form_post.js"))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/style.css"))
}

async fn logo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let logo = state.logo.as_ref().ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(logo.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        // An SVG opened on its own must not run script.
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox"))
        .body(logo.bytes.clone()))
}

//! The Twofold authenticator web app's files (embedded: one binary to deploy). Its API is
//! `device_api`; the prompt's push and the wizard's activation link are theirs.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::web::error::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/authenticator", web::get().to(|| async { see_other("/authenticator/") }))
        .route("/authenticator/", web::get().to(index))
        .route("/authenticator/app.js", web::get().to(app_js))
        .route("/authenticator/app.css", web::get().to(app_css))
        .route("/authenticator/sw.js", web::get().to(service_worker))
        .route("/authenticator/manifest.webmanifest", web::get().to(manifest))
        .route("/authenticator/icon.svg", web::get().to(icon));
}

fn file(content_type: &str, body: &'static str) -> HttpResponse {
    // Revalidated each time: the service worker keeps the offline copy.
    HttpResponse::Ok().content_type(content_type).insert_header((header::CACHE_CONTROL, "no-cache")).body(body)
}

async fn index() -> HttpResponse {
    file("text/html; charset=utf-8", include_str!("../../static/authenticator/index.html"))
}

async fn app_js() -> HttpResponse {
    file("text/javascript; charset=utf-8", include_str!("../../static/authenticator/app.js"))
}

async fn app_css() -> HttpResponse {
    file("text/css; charset=utf-8", include_str!("../../static/authenticator/app.css"))
}

async fn service_worker() -> HttpResponse {
    file("text/javascript; charset=utf-8", include_str!("../../static/authenticator/sw.js"))
}

async fn manifest() -> HttpResponse {
    file("application/manifest+json", include_str!("../../static/authenticator/manifest.webmanifest"))
}

async fn icon() -> HttpResponse {
    file("image/svg+xml", include_str!("../../static/authenticator/icon.svg"))
}

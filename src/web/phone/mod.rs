//! The telephony simulator's page (administrators), the carrier's signed webhooks (key pressed,
//! call status) and the script waiting pages use while a call rings.

mod simulator;
mod webhooks;

use actix_web::web;

use super::get;
use crate::channels::telephony::twilio::{GATHER_PATH, STATUS_PATH};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/simulator/phone", get().to(simulator::phone_get))
        .route("/simulator/phone/calls/{id}/answer", web::post().to(simulator::answer_post))
        .route("/simulator/phone/calls/{id}/decline", web::post().to(simulator::decline_post))
        .route("/static/phone_wait.js", get().to(phone_wait_js))
        .route(&format!("{GATHER_PATH}{{id}}"), web::post().to(webhooks::gather_post))
        .route(&format!("{STATUS_PATH}{{id}}"), web::post().to(webhooks::status_post));
}

async fn phone_wait_js() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/phone_wait.js"))
}

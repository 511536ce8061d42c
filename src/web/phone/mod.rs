//! Phone pages outside the wizard and the prompt: the telephony simulator (administrators) and the
//! carrier's signed webhooks (key pressed, call status).

mod helpdesk;
pub mod numbers;
mod simulator;
mod webhooks;

use actix_web::web;

use super::{enroll, get, prompt};
use crate::channels::telephony::twilio::{GATHER_PATH, STATUS_PATH};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/simulator/phone", get().to(simulator::phone_get))
        .route("/simulator/phone/calls/{id}/answer", web::post().to(simulator::answer_post))
        .route("/simulator/phone/calls/{id}/decline", web::post().to(simulator::decline_post))
        .route("/admin/users/{id}/phone", web::post().to(helpdesk::add_phone_post))
        .route("/static/phone_wait.js", get().to(phone_wait_js))
        .route("/prompt/text", web::post().to(prompt::phone::text_post))
        .route("/prompt/call", web::post().to(prompt::phone::call_post))
        .route("/prompt/call", get().to(prompt::phone::call_get))
        .route("/prompt/call/continue", web::post().to(prompt::phone::call_continue_post))
        .route("/enroll/phone", get().to(enroll::phone::phone_get))
        .route("/enroll/phone", web::post().to(enroll::phone::phone_post))
        .route("/enroll/phone/confirm", get().to(enroll::phone::confirm_get))
        .route("/enroll/phone/confirm", web::post().to(enroll::phone::confirm_post))
        .route("/enroll/phone/verify", get().to(enroll::phone::verify_get))
        .route("/enroll/phone/verify", web::post().to(enroll::phone::verify_post))
        .route("/enroll/phone/app", get().to(enroll::phone::app_get))
        .route("/enroll/phone/app", web::post().to(enroll::phone::app_post))
        .route(&format!("{GATHER_PATH}{{id}}"), web::post().to(webhooks::gather_post))
        .route(&format!("{STATUS_PATH}{{id}}"), web::post().to(webhooks::status_post));
}

async fn phone_wait_js() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/phone_wait.js"))
}

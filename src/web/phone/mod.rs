//! Phone pages outside the wizard and the prompt: the telephony simulator (administrators) and the
//! carrier's signed webhooks (key pressed, call status).

mod simulator;
mod webhooks;

use actix_web::web;

use super::get;
use crate::channels::telephony::twilio::{GATHER_PATH, STATUS_PATH};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/simulator/phone", get().to(simulator::phone_get))
        .route("/simulator/phone/calls/{id}/answer", web::post().to(simulator::answer_post))
        .route("/simulator/phone/calls/{id}/decline", web::post().to(simulator::decline_post))
        .route(&format!("{GATHER_PATH}{{id}}"), web::post().to(webhooks::gather_post))
        .route(&format!("{STATUS_PATH}{{id}}"), web::post().to(webhooks::status_post));
}

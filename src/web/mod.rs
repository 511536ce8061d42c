//! The web layer: routes grouped by who may call them, the middleware every response passes
//! (security headers, same-origin check, request span), and small helpers shared by handlers.

mod admin;
pub(crate) mod app_flow;
mod assets;
mod authenticator;
pub mod body;
pub mod chrome;
pub mod csrf;
pub(crate) mod device_api;
mod duo;
pub(crate) mod enroll;
pub mod error;
pub mod http;
pub(crate) mod invite;
mod login;
pub mod middleware;
pub mod notices;
mod oidc;
mod openid;
pub mod ops;
pub(crate) mod phone;
pub(crate) mod prompt;
mod recover;
mod scim;
pub(crate) mod security_key;
pub(crate) mod served;
pub mod session;
pub(crate) mod settings;
pub mod setup;
pub mod state;
mod trust;
mod wasnt_me;

use actix_web::web;

pub(crate) use http::get;
pub use http::{client_ip, html};

/// Every route, area by area: each area registers its own pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(login::routes)
        .configure(setup::routes)
        .configure(prompt::routes)
        .configure(trust::routes)
        .configure(enroll::routes)
        .configure(settings::routes)
        .configure(invite::routes)
        .configure(recover::routes)
        .configure(wasnt_me::routes)
        .configure(admin::routes)
        .configure(duo::routes)
        .configure(oidc::routes)
        .configure(openid::routes)
        .configure(scim::routes)
        .configure(phone::routes)
        .configure(authenticator::routes)
        .configure(device_api::routes)
        .configure(security_key::routes)
        .configure(assets::routes)
        .configure(ops::routes)
        .default_service(web::to(http::not_found));
}

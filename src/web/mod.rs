//! The web layer: routes grouped by who may call them, the middleware every response passes
//! (security headers, same-origin check, request span), and small helpers shared by handlers.

mod admin;
pub(crate) mod app_flow;
mod authenticator;
pub mod body;
pub mod chrome;
pub mod csrf;
pub(crate) mod device_api;
mod duo;
pub(crate) mod enroll;
pub mod error;
pub(crate) mod invite;
mod login;
pub mod notices;
mod oidc;
pub mod ops;
pub(crate) mod phone;
pub(crate) mod prompt;
mod recover;
pub(crate) mod security_key;
pub mod session;
mod settings;
pub mod setup;
pub mod state;
mod tokens;
mod trust;
mod wasnt_me;
pub(crate) mod words;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use tracing::Instrument;

use error::AppError;
use state::AppState;

/// A GET route that answers HEAD too (monitors and link checkers send HEAD; GET never changes state).
pub(crate) fn get() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// Routes. Anyone: login, setup, assets. Password only: prompt, enrolment. Both factors: the rest.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get().to(login::root_get))
        .route("/login", get().to(login::login_get))
        .route("/login", web::post().to(login::login_post))
        .route("/logout", web::post().to(login::logout_post))
        .route("/setup/{token}", get().to(setup::setup_get))
        .route("/setup/{token}", web::post().to(setup::setup_post))
        .route("/prompt", get().to(prompt::prompt_get))
        .route("/prompt/passcode", web::post().to(prompt::passcode_post))
        .route("/prompt/trust", get().to(trust::trust_get))
        .route("/prompt/trust", web::post().to(trust::trust_post))
        .route("/enroll", get().to(enroll::enroll_get))
        .route("/enroll/start", web::post().to(enroll::start_post))
        .route("/enroll/back", web::post().to(enroll::back_post))
        .route("/enroll/device-type", get().to(enroll::device_type_get))
        .route("/enroll/device-type", web::post().to(enroll::device_type_post))
        .route("/enroll/platform", get().to(enroll::platform_get))
        .route("/enroll/platform", web::post().to(enroll::platform_post))
        .route("/enroll/install", get().to(enroll::install_get))
        .route("/enroll/install", web::post().to(enroll::install_post))
        .route("/enroll/activate", get().to(enroll::activate_get))
        .route("/enroll/activate", web::post().to(enroll::activate_post))
        .route("/enroll/options", get().to(enroll::options_get))
        .route("/enroll/options", web::post().to(enroll::options_post))
        .route("/enroll/done", get().to(enroll::done_get))
        .route("/settings", get().to(settings::settings_get))
        .route("/settings/devices/{id}", get().to(settings::options_get))
        .route("/settings/devices/{id}", web::post().to(settings::options_post))
        .route("/settings/devices/{id}/default", web::post().to(settings::default_post))
        .route("/settings/devices/{id}/remove", get().to(settings::remove_get))
        .route("/settings/devices/{id}/remove", web::post().to(settings::remove_post))
        .route("/settings/trusted-browsers/{id}/revoke", web::post().to(settings::revoke_post))
        .route("/settings/trusted-browsers/revoke-all", web::post().to(settings::revoke_all_post))
        .route("/settings/backup-codes", web::post().to(settings::backup_codes_post))
        .route("/invite/{token}", get().to(invite::start_get))
        .route("/invite/{token}", web::post().to(invite::start_post))
        .route("/recover", get().to(recover::recover_get))
        .route("/recover", web::post().to(recover::recover_post))
        .route("/wasnt-me/{token}", get().to(wasnt_me::confirm_get))
        .route("/wasnt-me/{token}", web::post().to(wasnt_me::report_post))
        .route("/admin", get().to(|| async { error::see_other("/admin/users") }))
        .route("/admin/dashboard", get().to(admin::dashboard_get))
        .route("/admin/fraud", get().to(admin::fraud_get))
        .route("/admin/fraud/{id}", web::post().to(admin::fraud_post))
        .route("/admin/users", get().to(admin::users_get))
        .route("/admin/users/{id}", get().to(admin::user_get))
        .route("/admin/users/{id}/unlock", web::post().to(admin::unlock_post))
        .route("/admin/users/{id}/status", web::post().to(admin::status_post))
        .route("/admin/users/{id}/invite", web::post().to(admin::invite_post))
        .route("/admin/invitations", get().to(admin::invitations_get))
        .route("/admin/invitations/group", web::post().to(admin::group_invite_post))
        .route("/admin/users/{id}/passcode", get().to(admin::passcode_get))
        .route("/admin/users/{id}/passcode", web::post().to(admin::passcode_post))
        .route("/admin/users/{id}/devices/{device}/disable", web::post().to(admin::device_disable_post))
        .route("/admin/audit", get().to(admin::audit_get))
        .route("/admin/audit.csv", get().to(admin::audit_csv_get))
        .route("/admin/outbox", get().to(admin::outbox_get))
        .route("/admin/import", get().to(admin::import_get))
        .route("/admin/import", web::post().to(admin::import_upload_post))
        .route("/admin/import/{id}/commit", web::post().to(admin::import_commit_post))
        .route("/admin/policies", get().to(admin::policies_get))
        .route("/admin/policies", web::post().to(admin::policies_post))
        .route("/admin/applications", get().to(admin::applications_get))
        .route("/admin/applications", web::post().to(admin::application_add_post))
        .route("/admin/applications/{ikey}/rotate", web::post().to(admin::application_rotate_post))
        .route("/admin/applications/{ikey}/delete", web::post().to(admin::application_delete_post))
        .route("/admin/applications/{ikey}/redirect-uris", web::post().to(admin::application_redirect_uris_post))
        .route("/auth/v2/ping", get().to(duo::ping_get))
        .route("/auth/v2/check", get().to(duo::check_get))
        .route("/auth/v2/logo", get().to(duo::logo_get))
        .route("/auth/v2/preauth", web::post().to(duo::preauth_post))
        .route("/auth/v2/auth", web::post().to(duo::auth_post))
        .route("/auth/v2/auth_status", get().to(duo::auth_status_get))
        .configure(duo::routes)
        .configure(oidc::routes)
        .configure(tokens::routes)
        .configure(security_key::routes)
        .configure(phone::routes)
        .configure(authenticator::routes)
        .route("/static/style.css", get().to(stylesheet))
        .route("/branding/logo", get().to(logo))
        .route("/healthz", get().to(ops::healthz))
        .route("/readyz", get().to(ops::readyz))
        .route("/metrics", get().to(ops::metrics_get))
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        Err(AppError::NotFound)
    } else {
        Ok(HttpResponse::MethodNotAllowed().finish())
    }
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

/// Renders a page with a status. Pages are never cached (they may show secrets or personal data).
pub fn html<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(page.render()?))
}

/// The client's address: the TCP peer, or, when the peer is a configured trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.settings.trusted_proxies.as_slice()).unwrap_or(&[]);
    Some(
        client_address(peer, req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()), trusted)
            .to_string(),
    )
}

fn client_address<'a>(
    peer: std::net::IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> =
        forwarded.flat_map(|h| h.split(',')).filter_map(|a| a.trim().parse().ok()).collect();
    // Walk from the nearest hop outwards; the first one we do not run is the client as far as we can tell.
    hops.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)
}

/// Headers on every response; `Cache-Control: no-store` unless a handler set its own.
pub fn security_headers(secure: bool) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'; worker-src 'self'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // Not "no-referrer": with it, browsers send `Origin: null` on form posts and the same-origin
        // check below could not tell our own forms from forged ones.
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"));
    if secure {
        headers = headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    headers
}

/// Refuses state-changing requests that a browser says come from another site. The CSRF token is
/// the main defence; this is the second wall (ASVS 13.2.4).
pub async fn same_origin_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let expected = req.app_data::<web::Data<AppState>>().map(|s| s.public_origin()).unwrap_or_default();
        let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let cross_site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        if cross_site || origin.is_some_and(|o| o != expected) {
            tracing::warn!(origin = origin.unwrap_or(""), "cross-origin form submission refused");
            return Err(AppError::Csrf.into());
        }
    }
    next.call(req).await
}

/// One span per request: method, route pattern (never the raw path: setup links carry tokens),
/// status and time taken.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = req.match_pattern().unwrap_or_else(|| "(unmatched)".into());
    let span = tracing::info_span!("request", method = %req.method(), route = %route);
    let started = Instant::now();
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let result = next.call(req).instrument(span.clone()).await;
    let _guard = span.enter();
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    match &result {
        Ok(_) => tracing::info!(status, ms = started.elapsed().as_millis() as u64, "served"),
        Err(_) => tracing::info!(status, "refused"),
    }
    if let Some(metrics) = metrics {
        metrics.observe_request(method.as_str(), &route, status, started.elapsed().as_secs_f64());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let header = ["203.0.113.9, 198.51.100.7"];
        assert_eq!(client_address(ip("192.0.2.1"), header.into_iter(), &[proxy]), ip("192.0.2.1"), "untrusted peer");
        assert_eq!(client_address(proxy, header.into_iter(), &[proxy]), ip("198.51.100.7"), "nearest untrusted hop");
        assert_eq!(
            client_address(proxy, ["203.0.113.9, 10.0.0.3"].into_iter(), &[proxy, ip("10.0.0.3")]),
            ip("203.0.113.9")
        );
        assert_eq!(client_address(proxy, ["garbage"].into_iter(), &[proxy]), proxy, "no usable hop");
    }
}

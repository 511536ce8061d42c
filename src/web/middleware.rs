//! The middleware every response passes: security headers, the same-origin check for
//! state-changing requests, and the request span (method, route pattern, status, time).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web;
use tracing::Instrument;

use super::error::AppError;
use super::served::Served;
use super::state::AppState;

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
    // Microsoft Entra ID posts its sign-in requests from its own site; they change nothing until
    // the prompt (the request is checked on its own: a hint signed by Entra).
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.path() == crate::web::openid::AUTHORIZE_PATH;
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
    let id = crate::web::served::new_id();
    let settings = req.app_data::<web::Data<AppState>>().map(|s| s.settings.clone());
    let client = crate::web::client_ip(req.request());
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        route = %route,
        client = client.as_deref().unwrap_or("-")
    );
    let started = Instant::now();
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let result =
        crate::web::served::SERVED.scope(Served { id, settings }, next.call(req).instrument(span.clone())).await;
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

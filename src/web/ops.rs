//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers) and
//! `/metrics` (Prometheus), on the main address or on a separate `metrics.bind` listener.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::{client_ip, get};

/// On the separate metrics listener: these three and nothing else.
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", get().to(metrics_open))
        .route("/healthz", get().to(healthz))
        .route("/readyz", get().to(readyz))
        .default_service(web::to(|| async { HttpResponse::NotFound().finish() }));
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Ready when the database answers within two seconds; load balancers stop sending traffic otherwise.
/// Not ready either once a graceful stop has begun (the metrics listener still answers then).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.shutdown.is_raised() {
        return HttpResponse::ServiceUnavailable().content_type("text/plain").body("stopping");
    }
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(true) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        _ => {
            tracing::warn!("readiness check: the database does not answer");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unreachable")
        }
    }
}

/// `/metrics` on the main address: only for the configured addresses (after `trusted_proxies`),
/// and not at all when metrics have their own listener. Others get the ordinary "not found".
pub async fn metrics_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let settings = &state.settings.metrics;
    let allowed = client_ip(&req)
        .and_then(|ip| ip.parse().ok())
        .is_some_and(|ip: std::net::IpAddr| settings.allowed_addresses.contains(&ip));
    if !settings.enabled || settings.bind.is_some() || !allowed {
        return Err(AppError::NotFound);
    }
    Ok(exposition(&state).await)
}

async fn metrics_open(state: web::Data<AppState>) -> HttpResponse {
    exposition(&state).await
}

async fn exposition(state: &AppState) -> HttpResponse {
    // Read at scrape time: a gauge kept in memory would only know this instance's pushes.
    match crate::store::push_requests::count_pending(&state.db, crate::clock::now()).await {
        Ok(n) => {
            state.metrics.pushes_pending.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count pending pushes"),
    }
    state.metrics.observe_process();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", get().to(healthz))
        .route("/readyz", get().to(readyz))
        .route("/metrics", get().to(metrics_get));
}

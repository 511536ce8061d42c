//! The carrier's webhooks: the key pressed on a call (`<Gather>` action) and the call's final
//! status. Each is verified by `X-Twilio-Signature` over the URL built from `public_url`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::channels::telephony::CallOutcome;
use crate::channels::telephony::signature;
use crate::clock::now;
use crate::web::error::AppError;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "phone/reply.xml")]
struct Reply {
    accepted: bool,
    fraud: bool,
}

/// The parameters of a verified webhook; `None` (and a warning) when the signature is wrong.
fn verified(req: &HttpRequest, state: &AppState, body: &[u8]) -> Option<Vec<(String, String)>> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    // The URL the carrier signed, from configuration: scheme, host and port are never taken from
    // request headers, which a proxy (or an attacker) may rewrite.
    let base = state.public_url.as_str().trim_end_matches('/');
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("{base}{path}");
    let header = req.headers().get("x-twilio-signature").and_then(|v| v.to_str().ok());
    if signature::verify(&state.settings.telephony.auth_token, &url, &params, header) {
        Some(params)
    } else {
        tracing::warn!(
            route = req.match_pattern().unwrap_or_default(),
            "telephony webhook with a bad signature refused"
        );
        None
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn xml(reply: &Reply) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(reply.render()?))
}

/// `<Gather>` action: the key the person pressed.
pub async fn gather_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(params) = verified(&req, &state, &body) else { return Ok(HttpResponse::Forbidden().finish()) };
    let digits = param(&params, "Digits").unwrap_or("");
    let outcome = if digits.is_empty() {
        state.phones.call_ended(&id, "completed", now()).await?;
        CallOutcome::NotAnswered
    } else {
        state.call_key(&id, digits).await?
    };
    xml(&Reply { accepted: outcome == CallOutcome::Answered, fraud: outcome == CallOutcome::Fraud })
}

/// Status callback: busy, no-answer, failed, canceled or completed (a call that ended without a
/// key). A call already settled by a key press is not changed.
pub async fn status_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(params) = verified(&req, &state, &body) else { return Ok(HttpResponse::Forbidden().finish()) };
    let status = param(&params, "CallStatus").unwrap_or("failed");
    if !matches!(status, "queued" | "ringing" | "in-progress" | "initiated") {
        state.phones.call_ended(&id, status, now()).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

//! Pending pushes and answers. Listing is signed over the device id and the current time; an
//! answer is signed over the request id, the decision and the number typed (number matching).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{ApiError, signed_by};
use crate::clock::now;
use crate::factors::push::{Decision, PushStatus, answer_message, pending_message};
use crate::secrets::constant_time_eq;
use crate::store::{
    self,
    audit::{Event, Outcome},
    push_requests::PushRequestRow,
    users::UserRow,
};
use crate::web::client_ip;
use crate::web::state::AppState;

/// How far the app's clock may be from ours when it lists requests.
const CLOCK_SKEW: i64 = 300;

#[derive(Deserialize)]
pub struct PendingBody {
    device_id: String,
    timestamp: i64,
    signature: String,
}

#[derive(Serialize)]
struct Pending {
    id: String,
    application: String,
    username: String,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: i64,
    expires_at: i64,
    /// False for an application's push (Auth API): approve or deny, no number to type.
    number_matching: bool,
}

pub async fn pending_post(state: web::Data<AppState>, body: web::Json<PendingBody>) -> Result<HttpResponse, ApiError> {
    let t = now();
    if (t - body.timestamp).abs() > CLOCK_SKEW {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stale",
            "The device's clock is wrong; set it automatically.",
        ));
    }
    let key =
        signed_by(&state, &body.device_id, &pending_message(&body.device_id, body.timestamp), &body.signature).await?;
    // The number to match is never sent to the device: the user reads it from the login screen.
    let requests: Vec<Pending> = store::push_requests::pending_for_user(&state.db, &key.user_id, t)
        .await?
        .into_iter()
        .map(|r| Pending {
            number_matching: !r.number.is_empty(),
            id: r.id,
            application: r.application,
            username: r.username,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "requests": requests })))
}

#[derive(Deserialize)]
pub struct AnswerBody {
    device_id: String,
    request_id: String,
    decision: String,
    #[serde(default)]
    number: String,
    signature: String,
}

pub async fn answer_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<AnswerBody>,
) -> Result<HttpResponse, ApiError> {
    let decision = Decision::parse(&body.decision)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "bad_decision", "Answer approve, deny or fraud."))?;
    let message = answer_message(&body.request_id, decision, &body.number);
    let key = signed_by(&state, &body.device_id, &message, &body.signature).await?;
    let t = now();
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is no such request.");
    let request = store::push_requests::by_id(&state.db, &body.request_id)
        .await?
        .filter(|r| r.user_id == key.user_id)
        .ok_or_else(not_found)?;
    let user = store::users::by_id(&state.db, &key.user_id).await?.ok_or_else(not_found)?;
    if request.status == PushStatus::Pending.as_str() && request.expires_at <= t {
        store::push_requests::time_out(&state.db, &request.id, t).await?;
        return Err(ApiError::new(
            StatusCode::GONE,
            "expired",
            "This request timed out. Log in again to get a new one.",
        ));
    }
    let outcome = match decision {
        Decision::Approve if !constant_time_eq(&body.number, &request.number) => PushStatus::Denied,
        Decision::Approve => PushStatus::Approved,
        Decision::Deny => PushStatus::Denied,
        Decision::Fraud => PushStatus::Fraud,
    };
    if !store::push_requests::answer(&state.db, &request.id, outcome.as_str(), &key.device_id, t).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_answered", "This request was already answered."));
    }
    let ip = client_ip(&req);
    let wrong_number = decision == Decision::Approve && outcome == PushStatus::Denied;
    after_answer(&state, &user, &request, &key.device_id, outcome, wrong_number, ip.as_deref(), t).await?;
    if wrong_number {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_number",
            "That number does not match the one on the login screen, so the request was denied.",
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": outcome.as_str() })))
}

/// Audit, and the consequences: a wrong number counts as a failed attempt; fraud is reported.
#[allow(clippy::too_many_arguments)]
async fn after_answer(
    state: &AppState,
    user: &UserRow,
    request: &PushRequestRow,
    device_id: &str,
    outcome: PushStatus,
    wrong_number: bool,
    ip: Option<&str>,
    t: i64,
) -> Result<(), ApiError> {
    let detail = format!("request {} answered by device {device_id}: {}", request.id, outcome.as_str());
    let (event, result) = match outcome {
        PushStatus::Approved => ("push.approved", Outcome::Success),
        PushStatus::Fraud => ("push.fraud", Outcome::Failure),
        _ if wrong_number => ("push.wrong_number", Outcome::Failure),
        _ => ("push.denied", Outcome::Failure),
    };
    let e = Event::new(event, result).user(&user.id, &user.username).ip(ip).detail(&detail);
    store::audit::record(&state.db, e, t).await?;
    if wrong_number {
        let max = state.policy().await?.lockout_max_failures;
        let (id, username) = (user.id.clone(), user.username.clone());
        store::users::record_failure(&state.db, &user.id, max, t, move |attempts, locked| {
            let d = format!("wrong push number; {attempts} failed attempt(s)");
            let e = Event::new("account.locked", Outcome::Info).user(&id, &username).detail(&d);
            if locked { vec![e.into()] } else { Vec::new() }
        })
        .await?;
    }
    if outcome == PushStatus::Fraud {
        super::fraud::report(state, user, request, t).await.map_err(ApiError::internal)?;
    }
    Ok(())
}

//! Pending pushes and answers. Listing is signed over the device id and the current time; an
//! answer is signed over the request id, the decision and the number typed (number matching).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{ApiError, signed_by};
use crate::clock::now;
use crate::factors::push::{Decision, answer_message, pending_message};
use crate::signin::push::Answered;
use crate::store::{self};
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
    /// "login", or "verify": the help desk's verification push; approved, the answer carries a
    /// code the person reads back to the help desk.
    purpose: String,
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
            purpose: r.purpose,
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
    let ip = client_ip(&req);
    let answered = state.answer_push(&key, &body.request_id, decision, &body.number, ip.as_deref()).await?;
    match answered {
        Answered::Recorded(status) => {
            let mut reply = serde_json::json!({ "status": status.as_str() });
            if let Some(code) = state.verification_code_for_device(&key, &body.request_id).await? {
                reply["verification_code"] = serde_json::json!(code);
            }
            Ok(HttpResponse::Ok().json(reply))
        }
        Answered::WrongNumber => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_number",
            "That number does not match the one on the login screen, so the request was denied.",
        )),
        Answered::NotFound => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is no such request.")),
        Answered::Expired => {
            Err(ApiError::new(StatusCode::GONE, "expired", "This request timed out. Log in again to get a new one."))
        }
        Answered::AlreadyAnswered => {
            Err(ApiError::new(StatusCode::CONFLICT, "already_answered", "This request was already answered."))
        }
    }
}

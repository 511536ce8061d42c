//! "Send Me a Push": start a push (cap, fraud lock), wait for the answer with the number shown
//! ("Enter the number shown in the app"), and finish the sign-in once, when it was approved.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Serialize;

use super::{Asking, Words, answer, methods, onward, page, stepped_up};
use crate::clock::now;
use crate::csrf_form;
use crate::factors::push::PushStatus;
use crate::signin::push::{PushAsk, PushRefusal, PushStart};
use crate::store::{self, push_requests::PushRequestRow};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

/// The longest one status request waits for a change (the script asks again after), less a
/// random part of up to `LONG_POLL_JITTER`: prompts opened together (a class signing in at
/// once) spread their renewals instead of all arriving in the same instant.
const LONG_POLL: Duration = Duration::from_secs(25);
const LONG_POLL_JITTER: Duration = Duration::from_secs(5);

fn long_poll() -> Duration {
    use rand::RngExt;
    LONG_POLL - LONG_POLL_JITTER.mul_f64(rand::rng().random::<f64>())
}

#[derive(Template)]
#[template(path = "prompt/push.html")]
struct PushPage {
    chrome: Chrome,
    id: String,
    number: String,
    approved: bool,
    seconds_left: i64,
}

csrf_form!(PushForm {});

pub async fn push_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<PushForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    let agent =
        req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(200).collect::<String>());
    let ask = PushAsk {
        number_matching: true,
        title: &state.settings.institution.product_name,
        username: &auth.user.username,
        shown_ip: asking.ip.as_deref(),
        user_agent: agent.as_deref(),
    };
    let (status, message) = match state.start_push(&asking.caller(&auth.user), ask).await? {
        PushStart::Sent { id, .. } => return Ok(see_other(&format!("/prompt/push/{id}"))),
        PushStart::Refused(PushRefusal::Locked | PushRefusal::Disabled) => return Ok(see_other("/prompt")),
        PushStart::Refused(refusal) => refused(&state, refusal),
    };
    let methods = methods(&state, &auth.user.id).await?;
    html(status, &page(&state, &auth, &methods, Some(message)).await?)
}

/// Why no push was sent, in the prompt's words.
fn refused(state: &AppState, refusal: PushRefusal) -> (StatusCode, String) {
    let status = match refusal {
        PushRefusal::NoDevice => StatusCode::UNPROCESSABLE_ENTITY,
        PushRefusal::Capped { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::FORBIDDEN,
    };
    (status, crate::words::push_refused(state, refusal))
}

/// The user's own request (anyone else's id is as if it did not exist), timed out if overdue.
async fn own(state: &AppState, user_id: &str, id: &str) -> Result<Option<PushRequestRow>, AppError> {
    Ok(state.push_state(user_id, id).await?)
}

pub async fn push_get(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(row) = own(&state, &auth.user.id, &path).await? else { return Ok(see_other("/prompt")) };
    let message = match PushStatus::parse(&row.status) {
        Some(PushStatus::Pending) => None,
        Some(PushStatus::Approved) if row.consumed_at.is_none() => None,
        // A push reported as fraudulent ends the user's sessions (`signin::fraud`); the browser
        // that asked may be the attacker's, so it is signed out here at once (the report may still
        // be ending the others) and told nothing about the report.
        Some(PushStatus::Fraud) => {
            auth.session.logout();
            return Ok(see_other("/login"));
        }
        Some(PushStatus::Denied) => {
            Some("The push was denied. If you denied it by mistake, send a new push or use another method.")
        }
        Some(PushStatus::TimedOut) => {
            Some("The push timed out without an answer. Send a new push or use another method.")
        }
        _ => return Ok(see_other("/prompt")),
    };
    if let Some(m) = message {
        let methods = methods(&state, &auth.user.id).await?;
        return html(StatusCode::OK, &page(&state, &auth, &methods, Some(m.to_string())).await?);
    }
    let p = PushPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        approved: row.status == PushStatus::Approved.as_str(),
        seconds_left: (row.expires_at - now()).max(0),
        id: row.id,
        number: row.number,
    };
    html(StatusCode::OK, &p)
}

#[derive(Serialize)]
struct Status<'a> {
    status: &'a str,
}

/// When a pending request runs out (a moment after, so `own` sees it overdue).
fn expiry(row: &PushRequestRow) -> tokio::time::Instant {
    let left = u64::try_from(row.expires_at - now() + 1).unwrap_or(0);
    tokio::time::Instant::now() + Duration::from_secs(left)
}

/// Long-poll: answers at once when the request is no longer pending, otherwise when it changes
/// (the change feed, so an answer handled by another instance wakes us) or after `LONG_POLL`.
///
/// While it waits, the response's head has already gone out and the answer follows as its body:
/// the request (its parsed head, session and read buffer: about 12 KB) is freed instead of
/// being held for up to 25 s (10,000 waiting prompts: 29 KB each before, 16.5 KB now).
/// The page reads the body as it always did. When the server stops, a waiting answer says
/// "pending" at once (its head went out with the connection kept open); the page asks again at
/// once, and that request, made while the server is stopping, is answered "pending" with the
/// connection closed, so the poll after it reaches another instance.
pub async fn push_status_get(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    // Subscribed before the first read: an answer landing in between still wakes the wait.
    let sub = state.db.changes().subscribe(&store::push_requests::topic(&id)).await?;
    let Some(row) = own(&state, &auth.user.id, &id).await? else { return Err(AppError::NotFound) };
    if state.shutdown.is_raised() {
        return Ok(HttpResponse::Ok().force_close().json(Status { status: &row.status }));
    }
    if row.status != PushStatus::Pending.as_str() {
        return Ok(HttpResponse::Ok().json(Status { status: &row.status }));
    }
    let user_id = auth.user.id.clone();
    drop(auth);
    let answer = async move {
        let status = wait_for_answer(&state, &user_id, &id, row, sub).await.map_err(|e| {
            // The connection is cut without an answer: the page asks again a moment later.
            tracing::warn!(error = %e, "push status wait failed");
            std::io::Error::other("push status wait failed")
        })?;
        let body = serde_json::to_vec(&Status { status: &status }).map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>(web::Bytes::from(body))
    };
    Ok(HttpResponse::Ok().content_type("application/json").streaming(futures_util::stream::once(answer)))
}

/// The request's status once it is no longer pending, after `long_poll()`, or as soon as the
/// server stops ("gone" when the request has disappeared meanwhile: the page reloads).
async fn wait_for_answer(
    state: &AppState,
    user_id: &str,
    id: &str,
    mut row: PushRequestRow,
    mut sub: store::changes::Subscription,
) -> Result<String, AppError> {
    let deadline = tokio::time::Instant::now() + long_poll();
    loop {
        if row.status != PushStatus::Pending.as_str()
            || tokio::time::Instant::now() >= deadline
            || state.shutdown.is_raised()
        {
            return Ok(row.status);
        }
        tokio::select! {
            // Woken by an answer, or at the push's own expiry (then `own` marks it timed out).
            _ = sub.changed(deadline.min(expiry(&row))) => {}
            _ = state.shutdown.raised() => {}
        }
        // Boxed: the wait's own state stays small while it sleeps (10,000 of them at once).
        let Some(now_row) = Box::pin(own(state, user_id, id)).await? else { return Ok("gone".into()) };
        row = now_row;
    }
}

csrf_form!(FinishForm {});

/// Uses the approval (once) and upgrades the session exactly like a correct passcode.
pub async fn push_finish_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _f: CsrfForm<FinishForm>,
) -> Result<HttpResponse, AppError> {
    let asking = Asking::of(&req, &state, &auth).await?;
    let verdict = state.finish_push(&asking.caller(&auth.user), &path).await?;
    if matches!(verdict, crate::signin::Verdict::Wrong { .. } | crate::signin::Verdict::Replayed { .. }) {
        // Not approved (yet), or already used: back to the waiting page, which says which.
        return Ok(see_other(&format!("/prompt/push/{}", path.as_str())));
    }
    let methods = methods(&state, &auth.user.id).await?;
    let words = Words { wrong: "", replayed: "" };
    answer(&req, &auth, &state, &methods, &asking, verdict, words).await
}

/// "Use another method": the waiting push is cancelled, so a late approval does nothing.
pub async fn push_cancel_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _f: CsrfForm<FinishForm>,
) -> Result<HttpResponse, AppError> {
    state.cancel_push(&auth.user.id, &path).await?;
    Ok(see_other("/prompt"))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/prompt/push", web::post().to(push_post))
        .route("/prompt/push/{id}", web::get().to(push_get))
        .route("/prompt/push/{id}/status", web::get().to(push_status_get))
        .route("/prompt/push/{id}/finish", web::post().to(push_finish_post))
        .route("/prompt/push/{id}/cancel", web::post().to(push_cancel_post))
        .route("/static/push.js", web::get().to(script));
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/push.js"))
}

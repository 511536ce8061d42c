//! The Auth API v2 endpoints: ping, check, logo, preauth, auth (every factor; async with a txid)
//! and auth_status (long-polls until final). The out-of-band factors live in `factors`.

use crate::domain::AuditEvent;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::factors::{self, Asker, Started};
use super::signed::{self, Signed};
use super::{ApiResult, Fail, ok, respond};
use crate::clock::now;
use crate::domain::Username;
use crate::signin::readiness::Readiness;
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::UserRow,
};
use crate::web::client_ip;
use crate::web::state::AppState;

/// How long the enrolment link in a preauth `enroll` answer works.
const ENROLL_LINK_SECONDS: i64 = 86_400;

pub async fn ping_get() -> HttpResponse {
    ok(json!({ "time": now() }))
}

pub async fn check_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(async { signed::verify(&req, &body, &state).await.map(|_| ok(json!({ "time": now() }))) }.await)
}

pub async fn logo_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(
        async {
            signed::verify(&req, &body, &state).await?;
            let logo = state.logo.as_ref().ok_or_else(|| Fail::not_found("No logo has been configured"))?;
            Ok(HttpResponse::Ok().content_type(logo.content_type).body(logo.bytes.clone()))
        }
        .await,
    )
}

/// The user named by `username` or `user_id`.
async fn find_user(state: &AppState, signed: &Signed) -> Result<Option<UserRow>, Fail> {
    if let Some(id) = signed.param("user_id") {
        return Ok(store::users::by_id(&state.db, id).await?);
    }
    let name = signed.param("username").ok_or_else(|| Fail::missing("user_id or username"))?;
    match Username::parse(name) {
        Ok(u) => Ok(store::users::by_username(&state.db, &u).await?),
        Err(_) => Ok(None),
    }
}

/// Which application asked: the start of every Auth API audit entry's detail.
fn about(signed: &Signed) -> String {
    format!("application {} ({})", signed.app.name, signed.app.integration_key)
}

async fn audit(
    state: &AppState,
    req: &HttpRequest,
    signed: &Signed,
    user: &UserRow,
    event: AuditEvent,
    outcome: Outcome,
    detail: &str,
) -> Result<(), Fail> {
    let detail = format!("{}; {detail}", about(signed));
    let ip = client_ip(req);
    let e = Event::new(event, outcome)
        .user(&user.id, &user.username)
        .ip(ip.as_deref())
        .detail(&detail)
        .application(&signed.app.name);
    Ok(store::audit::record(&state.db, e, now()).await?)
}

pub async fn preauth_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(preauth(&req, &body, &state).await)
}

async fn preauth(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = signed::verify(req, body, state).await?;
    let Some(user) = find_user(state, &signed).await? else {
        return Ok(ok(json!({ "result": "deny", "status_msg": "This user is not set up for Twofold." })));
    };
    let readiness = state.readiness(&user).await.map_err(Fail::from_core)?;
    if !matches!(readiness, Readiness::Disabled | Readiness::Locked | Readiness::NoWayIn)
        && let Some((result, _, status_msg)) = Asker::new(req, &signed, &user).access(state).await?
    {
        // Denied or let through by the access rules (the core audited which rule).
        return Ok(ok(json!({ "result": result, "status_msg": status_msg })));
    }
    let m = match readiness {
        Readiness::Disabled => {
            audit(state, req, &signed, &user, AuditEvent::ApiPreauth, Outcome::Failure, "deny: disabled").await?;
            return Ok(ok(json!({ "result": "deny", "status_msg": "Your account is disabled." })));
        }
        Readiness::Locked => {
            audit(state, req, &signed, &user, AuditEvent::ApiPreauth, Outcome::Failure, "deny: locked out").await?;
            return Ok(ok(json!({ "result": "deny", "status_msg": "Your account is locked out." })));
        }
        Readiness::NoWayIn => {
            let why = "deny: no way to sign in";
            audit(state, req, &signed, &user, AuditEvent::ApiPreauth, Outcome::Failure, why).await?;
            let msg = format!("No device is left on this account. Contact {}.", state.settings.institution.help_desk);
            return Ok(ok(json!({ "result": "deny", "status_msg": msg })));
        }
        Readiness::MustEnroll => {
            // A single-use enrolment link for this user (an invitation that lasts a day).
            let portal = state.invitation_link(&user, None, ENROLL_LINK_SECONDS).await.map_err(Fail::from_core)?;
            audit(state, req, &signed, &user, AuditEvent::ApiPreauth, Outcome::Info, "enroll").await?;
            return Ok(ok(json!({
                "result": "enroll",
                "status_msg": "Enroll an authentication device to proceed",
                "enroll_portal_url": portal,
            })));
        }
        Readiness::Ready(m) => m,
    };
    let devices = super::devices::list(state, &user.id, &m.devices).await?;
    audit(state, req, &signed, &user, AuditEvent::ApiPreauth, Outcome::Info, "auth").await?;
    Ok(ok(json!({ "result": "auth", "status_msg": "Account is active", "devices": devices })))
}

pub async fn auth_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    respond(auth(&req, &body, &state).await)
}

async fn auth(req: &HttpRequest, body: &[u8], state: &web::Data<AppState>) -> ApiResult {
    let signed = signed::verify(req, body, state).await?;
    // duo_client's `enroll_status` posts here (not to /enroll_status): answer it the same way.
    if signed.param("factor").is_none() && signed.param("activation_code").is_some() {
        return super::enroll::status(state, &signed).await;
    }
    let factor = signed.param("factor").ok_or_else(|| Fail::missing("factor"))?.to_string();
    let user = find_user(state, &signed).await?.ok_or_else(|| Fail::invalid("username"))?;
    let asker = Asker::new(req, &signed, &user);
    let started = match factor.as_str() {
        "passcode" | "auto" | "push" | "phone" | "sms" if let Some(answer) = asker.access(state).await? => {
            Started::Done(answer)
        }
        "passcode" => {
            let code = signed.param("passcode").ok_or_else(|| Fail::missing("passcode"))?;
            Started::Done(factors::passcode(state, &asker, code).await?)
        }
        "auto" | "push" | "phone" | "sms" => factors::start(state, &asker, &signed, &factor).await?,
        _ => return Err(Fail::invalid("factor")),
    };
    if signed.param("async") == Some("1") {
        let Some(waiting) = factors::waiting(&started) else {
            let Started::Done(answer) = started else { return Err(Fail::internal()) };
            let txid = factors::record(state, &asker, &factor, &answer).await?;
            return Ok(ok(json!({ "txid": txid })));
        };
        let txid = factors::record(state, &asker, &factor, &waiting).await?;
        factors::finish_later(state.clone(), asker, started, txid.clone());
        return Ok(ok(json!({ "txid": txid })));
    }
    // Answered now: no transaction id to keep for `auth_status` (the audit log has the outcome).
    let (result, status, status_msg) = factors::finish(state, &asker, started).await?;
    Ok(ok(json!({ "result": result, "status": status, "status_msg": status_msg })))
}

pub async fn auth_status_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let mut res = respond(
        async {
            let signed = signed::verify(&req, &body, &state).await?;
            let txid = signed.param("txid").ok_or_else(|| Fail::missing("txid"))?;
            // Long-poll: held open until the request is final (or the configured wait passes).
            let wait = std::time::Duration::from_secs(state.settings.applications.auth_status_wait_seconds.into());
            let r = super::limits::until_final(&state, &signed.app.id, txid, wait)
                .await?
                .ok_or_else(|| Fail::invalid("txid"))?;
            Ok(ok(json!({ "result": r.result, "status": r.status, "status_msg": r.status_msg })))
        }
        .await,
    );
    if state.shutdown.is_raised() {
        // The client's next poll goes to another instance.
        res.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    }
    res
}

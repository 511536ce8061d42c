//! The Auth API's out-of-band factors (`push`, `phone`, `sms`, `auto`): started with the prompt's own
//! rules (lockout, push cap and lock, phone budgets), waited for on the change feed, answered like Duo.

use std::time::Duration;

use actix_web::{HttpRequest, web};

use super::Fail;
use super::signed::Signed;
use crate::channels::telephony::CallOutcome;
use crate::clock::now;
use crate::domain::policy::Method;
use crate::domain::{DeviceKind, PhoneNumber};
use crate::factors::push::PushStatus;
use crate::store::{
    self, StoreError,
    applications::{ApplicationRow, NewAuthRequest},
    audit::{Event, Outcome},
    phone_devices::PhoneDevice,
    push_requests::NewPush,
    users::UserRow,
};
use crate::web::client_ip;
use crate::web::prompt::{lock_message, phone::PURPOSE, push::refusal};
use crate::web::state::AppState;

/// Duo's answer: result, status, status_msg.
pub type Answer = (&'static str, &'static str, String);

/// How long an async request's result can be read back after it started.
pub const TXID_SECONDS: i64 = 300;
/// How often a waiting call is looked at (calls have no change-feed topic).
const CALL_POLL: Duration = Duration::from_millis(300);
/// The longest pushinfo shown in the app.
const PUSHINFO_CHARS: usize = 300;

/// The answer when the server stopped before the user answered (the push or call was ended).
const STOPPED: &str = "The service restarted before the request was answered. Please try again.";

fn deny(status: &'static str, msg: impl Into<String>) -> Answer {
    ("deny", status, msg.into())
}

/// Who asked, for the audit log (also from the task that finishes an async request).
#[derive(Clone)]
pub struct Asker {
    pub app: ApplicationRow,
    pub user: UserRow,
    pub ip: Option<String>,
}

impl Asker {
    pub fn new(req: &HttpRequest, signed: &Signed, user: &UserRow) -> Self {
        Self { app: signed.app.clone(), user: user.clone(), ip: client_ip(req) }
    }

    pub async fn audit(&self, state: &AppState, event: &str, outcome: Outcome, detail: &str) -> Result<(), StoreError> {
        let detail = format!("application {} ({}); {detail}", self.app.name, self.app.integration_key);
        let e = Event::new(event, outcome)
            .user(&self.user.id, &self.user.username)
            .ip(self.ip.as_deref())
            .detail(&detail)
            .application(&self.app.name);
        store::audit::record(&state.db, e, now()).await
    }
}

/// What a factor started: an answer now, or a push or call to wait for.
pub enum Started {
    Done(Answer),
    Push(String),
    Call(String),
}

/// Starts `factor` for the user (`device`: an id or "auto").
pub async fn start(state: &web::Data<AppState>, a: &Asker, signed: &Signed, factor: &str) -> Result<Started, Fail> {
    let t = now();
    if !a.user.is_active() {
        return Ok(Started::Done(deny("deny", "Your account is disabled.")));
    }
    if lock_message(state, &a.user, t).await.map_err(|_| Fail::internal())?.is_some() {
        a.audit(state, "api.auth", Outcome::Failure, "locked out").await?;
        return Ok(Started::Done(deny("locked_out", "Your account is locked out.")));
    }
    let device = signed.param("device").unwrap_or("auto");
    let push_ids = store::push_devices::push_device_ids(&state.db, &a.user.id).await?;
    let factor = match factor {
        "auto" if device == "auto" && !push_ids.is_empty() => "push",
        "auto" if push_ids.iter().any(|id| id == device) => "push",
        "auto" => "phone",
        other => other,
    };
    // The Policies page's allowed methods hold here too (push checks them with its other rules).
    let method = match factor {
        "phone" => Some(Method::PhoneCall),
        "sms" => Some(Method::Sms),
        _ => None,
    };
    if let Some(m) = method
        && !crate::signin::allowed::method_allowed(state, &a.user.id, m).await?
    {
        a.audit(state, "mfa.method_refused", Outcome::Failure, &format!("{} not allowed", m.as_str())).await?;
        return Ok(Started::Done(deny("deny", crate::signin::allowed::refusal(state, m))));
    }
    match factor {
        "push" => {
            let id = match device {
                "auto" => push_ids.first(),
                id => push_ids.iter().find(|p| *p == id),
            };
            if id.is_none() {
                return Err(Fail::invalid("device: no device of this user can receive pushes"));
            }
            push(state, a, signed, t).await
        }
        "phone" => {
            let phone = phone_device(state, &a.user, device, false).await?;
            call(state, a, &phone, t).await
        }
        "sms" => {
            let phone = phone_device(state, &a.user, device, true).await?;
            text(state, a, &phone, t).await
        }
        _ => Err(Fail::invalid("factor")),
    }
}

/// The user's phone named by `device` ("auto": the first; `mobile`: only ones that take texts).
async fn phone_device(state: &AppState, user: &UserRow, device: &str, mobile: bool) -> Result<PhoneDevice, Fail> {
    store::phone_devices::for_user(&state.db, &user.id)
        .await?
        .into_iter()
        .filter(|d| !d.phone.is_empty())
        .filter(|d| !mobile || d.kind == DeviceKind::MobilePhone.as_str())
        .find(|d| device == "auto" || d.id == device)
        .ok_or_else(|| {
            Fail::invalid(if mobile {
                "device: no mobile phone with a number"
            } else {
                "device: no phone with a number"
            })
        })
}

/// The words in the app's request screen: the application, the type of request and pushinfo.
pub fn push_title(app: &str, kind: Option<&str>, pushinfo: Option<&str>) -> String {
    let kind = kind.map(str::trim).filter(|k| !k.is_empty()).unwrap_or("Login");
    let mut title = format!("{app}: {kind} request");
    if let Some(info) = pushinfo {
        let pairs: Vec<String> =
            url::form_urlencoded::parse(info.as_bytes()).map(|(k, v)| format!("{k}: {v}")).collect();
        if !pairs.is_empty() {
            title.push_str(&format!(" ({})", pairs.join("; ")));
        }
    }
    title.chars().take(PUSHINFO_CHARS).collect()
}

/// A push without number matching (the Auth API has nowhere to show a number; docs/architecture.md).
async fn push(state: &web::Data<AppState>, a: &Asker, signed: &Signed, t: i64) -> Result<Started, Fail> {
    // The user's address as the application saw it (an IP address), else the application's own.
    let ip = signed
        .param("ipaddr")
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string)
        .or_else(|| a.ip.clone());
    if let Some((_, message)) = refusal(state, &a.user, ip.as_deref(), t).await.map_err(|_| Fail::internal())? {
        a.audit(state, "api.auth", Outcome::Failure, "push refused").await?;
        return Ok(Started::Done(deny("deny", message)));
    }
    let application = push_title(&a.app.name, signed.param("type"), signed.param("pushinfo"));
    let username: String = signed.param("display_username").unwrap_or(&a.user.username).chars().take(100).collect();
    let push = NewPush {
        user_id: &a.user.id,
        number: "",
        application: &application,
        username: &username,
        ip: ip.as_deref(),
        user_agent: None,
        expires_at: t + i64::from(state.settings.push.timeout_seconds),
    };
    let id = store::push_requests::insert(&state.db, push, t).await?;
    crate::web::device_api::notify::notify_new_request(state.clone(), a.user.id.clone(), id.clone());
    a.audit(state, "push.sent", Outcome::Info, &format!("request {id}")).await?;
    Ok(Started::Push(id))
}

async fn call(state: &AppState, a: &Asker, phone: &PhoneDevice, t: i64) -> Result<Started, Fail> {
    let number = PhoneNumber::from_e164(&phone.phone).map_err(|_| Fail::internal())?;
    let ext = phone.phone_extension.as_deref();
    match state.phones.start_call(&a.user.id, &a.user.username, &number, ext, PURPOSE, t).await {
        Ok(id) => Ok(Started::Call(id)),
        Err(e) => refused(state, a, &e).await,
    }
}

/// Texted passcodes: Duo answers `deny` with `sent`; the user then types one (`factor=passcode`).
async fn text(state: &AppState, a: &Asker, phone: &PhoneDevice, t: i64) -> Result<Started, Fail> {
    let number = PhoneNumber::from_e164(&phone.phone).map_err(|_| Fail::internal())?;
    match state.phones.send_codes(&a.user.id, &a.user.username, &number, PURPOSE, t).await {
        Ok(()) => {
            a.audit(state, "api.auth", Outcome::Info, "sms passcodes sent").await?;
            Ok(Started::Done(deny("sent", "New SMS passcodes sent")))
        }
        Err(e) => refused(state, a, &e).await,
    }
}

async fn refused(state: &AppState, a: &Asker, e: &crate::channels::telephony::PhoneError) -> Result<Started, Fail> {
    let Some(message) = crate::web::enroll::phone::phone_problem(e) else {
        tracing::error!(error = %e, "Auth API: telephony failed");
        return Err(Fail::internal());
    };
    a.audit(state, "api.auth", Outcome::Failure, "phone refused").await?;
    Ok(Started::Done(deny("deny", message)))
}

/// The status an async request shows while it waits.
pub fn waiting(started: &Started) -> Option<Answer> {
    match started {
        Started::Done(_) => None,
        Started::Push(_) => Some(("waiting", "pushed", "Pushed a login request to your device...".into())),
        Started::Call(_) => Some(("waiting", "calling", "Calling your phone...".into())),
    }
}

/// Waits for a push or call to end and records the outcome (audit; a success resets failures).
pub async fn finish(state: &AppState, a: &Asker, started: Started) -> Result<Answer, Fail> {
    let (answer, event, detail) = match started {
        Started::Done(answer) => return Ok(answer),
        Started::Push(id) => (push_outcome(state, &a.user.id, &id).await?, "mfa.push", format!("push {id}")),
        Started::Call(id) => (call_outcome(state, &a.user.id, &id).await?, "mfa.phone_call", format!("call {id}")),
    };
    if answer.0 == "allow" {
        store::users::reset_failures(&state.db, &a.user.id).await?;
        a.audit(state, event, Outcome::Success, &detail).await?;
    } else {
        a.audit(state, "api.auth", Outcome::Failure, &format!("{detail}: {}", answer.1)).await?;
    }
    Ok(answer)
}

/// The push's end, woken by the change feed; an approval is used once, here. When the server
/// stops, a push still pending at `SETTLE_AFTER` is cancelled (a late approval does nothing).
async fn push_outcome(state: &AppState, user_id: &str, id: &str) -> Result<Answer, StoreError> {
    let topic = store::push_requests::topic(id);
    let mut sub = state.db.changes().subscribe(&topic).await?;
    loop {
        let Some(row) = store::push_requests::by_id(&state.db, id).await? else {
            return Ok(deny("deny", "Login request denied."));
        };
        let t = now();
        return Ok(match PushStatus::parse(&row.status) {
            Some(PushStatus::Pending) if row.expires_at <= t => {
                store::push_requests::time_out(&state.db, id, t).await?;
                continue;
            }
            Some(PushStatus::Pending) => {
                let left = Duration::from_secs(u64::try_from(row.expires_at - t).unwrap_or(0));
                tokio::select! {
                    _ = sub.changed(tokio::time::Instant::now() + left) => {}
                    _ = state.shutdown.settle_time() => {
                        if store::push_requests::cancel(&state.db, id, user_id, now()).await? {
                            return Ok(deny("deny", STOPPED));
                        }
                    }
                }
                continue;
            }
            Some(PushStatus::Approved) if store::push_requests::consume(&state.db, id, user_id, t).await? => {
                ("allow", "allow", "Success. Logging you in...".into())
            }
            Some(PushStatus::Fraud) => deny("fraud", "Login request reported as fraudulent."),
            Some(PushStatus::TimedOut) => deny("timeout", "Login request timed out."),
            _ => deny("deny", "Login request denied."),
        });
    }
}

/// The call's end (the simulator or the carrier's webhook records it); an answer is used once.
/// When the server stops, a call still ringing at `SETTLE_AFTER` is ended as failed.
async fn call_outcome(state: &AppState, user_id: &str, id: &str) -> Result<Answer, StoreError> {
    loop {
        let t = now();
        let Some(call) = state.phones.call_for_user(id, user_id, t).await? else {
            return Ok(deny("deny", "The call failed."));
        };
        return Ok(match CallOutcome::of(&call.status) {
            CallOutcome::Ringing => {
                tokio::select! {
                    _ = tokio::time::sleep(CALL_POLL) => {}
                    _ = state.shutdown.settle_time() => {
                        if store::phone_calls::finish(&state.db, id, "failed", None, now()).await? {
                            return Ok(deny("deny", STOPPED));
                        }
                    }
                }
                continue;
            }
            CallOutcome::Answered if store::phone_calls::consume_answered(&state.db, id, user_id, t).await? => {
                ("allow", "allow", "Success. Logging you in...".into())
            }
            CallOutcome::Fraud => deny("fraud", "Call reported as fraudulent."),
            CallOutcome::NotAnswered if call.status == "no_answer" || call.status == "timeout" => {
                deny("timeout", "The call was not answered.")
            }
            _ => deny("deny", "The call was declined."),
        });
    }
}

/// Stores the request with the application: final at once, or waiting and finished by a task.
pub async fn record(
    state: &web::Data<AppState>,
    a: &Asker,
    factor: &str,
    answer: &Answer,
) -> Result<String, StoreError> {
    let t = now();
    let request = NewAuthRequest {
        application_id: &a.app.id,
        user_id: &a.user.id,
        factor,
        result: answer.0,
        status: answer.1,
        status_msg: &answer.2,
    };
    store::applications::insert_request(&state.db, request, t, t + TXID_SECONDS).await
}

/// `async=1`: the push or call is waited for in the background; `auth_status` reads the result.
/// A tracked task: a graceful stop waits for it (the push or call ends by `SETTLE_AFTER`), and its
/// one write is a conditional update, so the request is either still waiting or final.
pub fn finish_later(state: web::Data<AppState>, a: Asker, started: Started, txid: String) {
    let shutdown = state.shutdown.clone();
    shutdown.spawn(async move {
        let answer = match finish(&state, &a, started).await {
            Ok(answer) => answer,
            Err(_) => deny("deny", "The request could not be completed."),
        };
        if let Err(e) = store::applications::finish_request(&state.db, &txid, answer.0, answer.1, &answer.2).await {
            tracing::error!(error = %e, "Auth API: could not record an async result");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::push_title;

    #[test]
    fn the_push_title_names_the_application_the_type_and_the_pushinfo() {
        assert_eq!(push_title("VPN", None, None), "VPN: Login request");
        assert_eq!(
            push_title("VPN", Some("Transfer"), Some("from=Paris&amount=10+CHF")),
            "VPN: Transfer request (from: Paris; amount: 10 CHF)"
        );
        assert_eq!(push_title("VPN", Some(" "), Some("")), "VPN: Login request");
        assert_eq!(push_title("VPN", None, Some(&"x=y&".repeat(500))).chars().count(), 300);
    }
}

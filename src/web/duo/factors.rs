//! The Auth API's factors as Duo answers them: the core decides (passcode, push, phone, sms,
//! `auto`), this turns its verdicts into Duo's `result` / `status` / `status_msg`.

use actix_web::{HttpRequest, web};

use super::Fail;
use super::signed::Signed;
use crate::domain::Passcode;
use crate::domain::access::{Decision, Door};
use crate::signin::phone::{CallEnd, PhoneChoice, PhoneRefusal};
use crate::signin::push::{PushAsk, PushEnd, PushRefusal, PushStart};
use crate::signin::{Application, Caller, Verdict};
use crate::store::{self, StoreError, applications::NewAuthRequest, users::UserRow};
use crate::web::client_ip;
use crate::web::state::AppState;
use crate::words;

/// Duo's answer: result, status, status_msg.
pub type Answer = (&'static str, &'static str, String);

/// How long an async request's result can be read back after it started.
pub const TXID_SECONDS: i64 = 300;
/// The longest pushinfo shown in the app.
const PUSHINFO_CHARS: usize = 300;

/// The answer when the server stopped before the user answered (the push or call was ended).
const STOPPED: &str = "The service restarted before the request was answered. Please try again.";

fn deny(status: &'static str, msg: impl Into<String>) -> Answer {
    ("deny", status, msg.into())
}

fn allow() -> Answer {
    ("allow", "allow", "Success. Logging you in...".into())
}

/// Who asked: the application, the user and the application's address (also owned by the task
/// that finishes an async request).
#[derive(Clone)]
pub struct Asker {
    pub app_id: String,
    pub application: Application,
    pub user: UserRow,
    pub ip: Option<String>,
}

impl Asker {
    pub fn new(req: &HttpRequest, signed: &Signed, user: &UserRow) -> Self {
        let application = Application {
            name: signed.app.name.clone(),
            integration_key: signed.app.integration_key.clone(),
            scope: crate::signin::access::registered_scope(&signed.app.id),
        };
        // The user's address as the application saw it (`ipaddr`), else the application's own.
        let ip = signed
            .param("ipaddr")
            .map(str::trim)
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
            .map(str::to_string)
            .or_else(|| client_ip(req));
        Self { app_id: signed.app.id.clone(), application, user: user.clone(), ip }
    }

    /// The access rules' decision for this request (audited by the core when it denies or lets
    /// through): `None` to go on with the factor, else Duo's answer.
    pub async fn access(&self, state: &AppState) -> Result<Option<Answer>, Fail> {
        let access = state.access(&self.caller(), Door::Application).await.map_err(Fail::from_core)?;
        Ok(match access.decision {
            Decision::Continue => None,
            Decision::Deny(reason) => Some(deny("deny", words::access_denied(state, &reason))),
            Decision::AllowWithoutMfa(_) => Some(("allow", "allow", words::ALLOWED_WITHOUT_MFA.into())),
        })
    }

    pub fn caller(&self) -> Caller<'_> {
        Caller::new(&self.user, self.ip.as_deref()).for_application(Some(&self.application))
    }
}

/// A settled attempt's verdict in Duo's words (`wrong` for a wrong or used passcode).
pub fn verdict_answer(state: &AppState, verdict: Verdict, wrong: &str) -> Answer {
    match verdict {
        Verdict::Accepted(_) => allow(),
        Verdict::Locked => deny("locked_out", "Your account is locked out."),
        Verdict::Disabled => deny("deny", "Your account is disabled."),
        Verdict::Refused(method) => deny("deny", words::method_refused(state, method)),
        Verdict::Wrong { .. } | Verdict::Replayed { .. } | Verdict::SessionEnded => deny("deny", wrong),
    }
}

/// `factor=passcode`: the same rules as "Enter a Passcode" at the prompt.
pub async fn passcode(state: &AppState, a: &Asker, typed: &str) -> Result<Answer, Fail> {
    const WRONG: &str = "Incorrect passcode. Please try again.";
    let Ok(code) = Passcode::parse(typed) else {
        // Not a passcode's shape: nothing to check, nothing counted.
        return Ok(deny("deny", WRONG));
    };
    let verdict = state.passcode(&a.caller(), &code).await.map_err(Fail::from_core)?;
    Ok(verdict_answer(state, verdict, WRONG))
}

/// What a factor started: an answer now, or a push or call to wait for.
pub enum Started {
    Done(Answer),
    Push(String),
    Call(String),
}

/// Starts `factor` for the user (`device`: an id or "auto").
pub async fn start(state: &AppState, a: &Asker, signed: &Signed, factor: &str) -> Result<Started, Fail> {
    let device = signed.param("device").unwrap_or("auto");
    let push_ids = store::push_devices::push_device_ids(&state.db, &a.user.id).await?;
    let factor = match factor {
        "auto" if device == "auto" && !push_ids.is_empty() => "push",
        "auto" if push_ids.iter().any(|id| id == device) => "push",
        "auto" => "phone",
        other => other,
    };
    let choice = if device == "auto" { PhoneChoice::Auto } else { PhoneChoice::Device(device) };
    match factor {
        "push" => {
            if device != "auto" && !push_ids.iter().any(|p| p == device) {
                return Err(Fail::invalid("device: no device of this user can receive pushes"));
            }
            push(state, a, signed).await
        }
        "phone" => match state.call(&a.caller(), choice).await.map_err(Fail::from_core)? {
            Ok(id) => Ok(Started::Call(id)),
            Err(refusal) => phone_refused(state, refusal, "device: no phone with a number"),
        },
        "sms" => match state.text_codes(&a.caller(), choice).await.map_err(Fail::from_core)? {
            // Duo answers `deny` with `sent`; the user then types one (`factor=passcode`).
            Ok(()) => Ok(Started::Done(deny("sent", "New SMS passcodes sent"))),
            Err(refusal) => phone_refused(state, refusal, "device: no mobile phone with a number"),
        },
        _ => Err(Fail::invalid("factor")),
    }
}

fn phone_refused(state: &AppState, refusal: PhoneRefusal, no_phone: &str) -> Result<Started, Fail> {
    Ok(Started::Done(match refusal {
        PhoneRefusal::NoPhone => return Err(Fail::invalid(no_phone)),
        PhoneRefusal::Locked => deny("locked_out", "Your account is locked out."),
        PhoneRefusal::Disabled => deny("deny", "Your account is disabled."),
        PhoneRefusal::NotAllowed(method) => deny("deny", words::method_refused(state, method)),
        PhoneRefusal::Channel(e) => match words::phone_problem(&e) {
            Some(message) => deny("deny", message),
            None => {
                tracing::error!(error = %e, "Auth API: telephony failed");
                return Err(Fail::internal());
            }
        },
    }))
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
async fn push(state: &AppState, a: &Asker, signed: &Signed) -> Result<Started, Fail> {
    // The user's address as the application saw it (an IP address), else the application's own.
    let shown_ip = a.ip.clone();
    let title = push_title(&a.application.name, signed.param("type"), signed.param("pushinfo"));
    let username: String = signed.param("display_username").unwrap_or(&a.user.username).chars().take(100).collect();
    let ask = PushAsk {
        number_matching: false,
        title: &title,
        username: &username,
        shown_ip: shown_ip.as_deref(),
        user_agent: None,
    };
    Ok(match state.start_push(&a.caller(), ask).await.map_err(Fail::from_core)? {
        PushStart::Sent { id, .. } => Started::Push(id),
        PushStart::Refused(PushRefusal::Locked) => Started::Done(deny("locked_out", "Your account is locked out.")),
        PushStart::Refused(PushRefusal::Disabled) => Started::Done(deny("deny", "Your account is disabled.")),
        PushStart::Refused(PushRefusal::NoDevice) => {
            return Err(Fail::invalid("device: no device of this user can receive pushes"));
        }
        PushStart::Refused(refusal) => Started::Done(deny("deny", words::push_refused(state, refusal))),
    })
}

/// The status an async request shows while it waits.
pub fn waiting(started: &Started) -> Option<Answer> {
    match started {
        Started::Done(_) => None,
        Started::Push(_) => Some(("waiting", "pushed", "Pushed a login request to your device...".into())),
        Started::Call(_) => Some(("waiting", "calling", "Calling your phone...".into())),
    }
}

/// Waits for a push or call to end; the core settles an approval once and audits the outcome.
pub async fn finish(state: &AppState, a: &Asker, started: Started) -> Result<Answer, Fail> {
    let caller = a.caller();
    Ok(match started {
        Started::Done(answer) => answer,
        Started::Push(id) => match state.wait_push(&caller, &id).await.map_err(Fail::from_core)? {
            PushEnd::Settled(verdict) => verdict_answer(state, verdict, "Login request denied."),
            PushEnd::Fraud => deny("fraud", "Login request reported as fraudulent."),
            PushEnd::TimedOut => deny("timeout", "Login request timed out."),
            PushEnd::Stopped => deny("deny", STOPPED),
            PushEnd::Denied => deny("deny", "Login request denied."),
        },
        Started::Call(id) => match state.wait_call(&caller, &id).await.map_err(Fail::from_core)? {
            CallEnd::Settled(verdict) => verdict_answer(state, verdict, "The call was declined."),
            CallEnd::Fraud => deny("fraud", "Call reported as fraudulent."),
            CallEnd::NotAnswered => deny("timeout", "The call was not answered."),
            CallEnd::Stopped => deny("deny", STOPPED),
            CallEnd::Declined => deny("deny", "The call was declined."),
        },
    })
}

/// Stores the request with the application: final at once, or waiting and finished by a task.
pub async fn record(state: &AppState, a: &Asker, factor: &str, answer: &Answer) -> Result<String, StoreError> {
    let t = crate::clock::now();
    let request = NewAuthRequest {
        application_id: &a.app_id,
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

//! "Text Me" and "Call Me" at the prompt: texted passcodes (entered through "Enter a Passcode"),
//! and a call that waits for a key press on a page that updates by itself.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Asking, Words, answer, methods, onward, page, stepped_up};
use crate::channels::telephony::{CallOutcome, PhoneError};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::policy::{Method, MethodSet};
use crate::domain::{DeviceKind, LoginAction};
use crate::signin::passcode::PURPOSE;
use crate::signin::phone::{PhoneChoice as Choice, PhoneRefusal};
use crate::store;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::words;

pub struct PhoneChoice {
    pub id: String,
    pub name: String,
    /// The number with its middle hidden (the prompt is reached with the password alone).
    pub masked: String,
    pub mobile: bool,
    /// "Call Me" is allowed (the policy may allow texts only).
    pub call: bool,
}

/// The prompt's phone section.
#[derive(Default)]
pub struct PhoneMethods {
    pub choices: Vec<PhoneChoice>,
    /// Unused texted passcodes are waiting to be entered.
    pub texted: bool,
    /// "Automatically call this device": the device to call as soon as the page opens (by a form
    /// the page's script submits; without script the person presses "Call Me").
    pub auto_call: Option<String>,
}

impl PhoneMethods {
    /// From the user's devices (already read by the prompt).
    pub async fn load(
        state: &AppState,
        auth: &PasswordAuthed,
        devices: &[store::devices::DeviceRow],
    ) -> Result<Self, AppError> {
        let devices = store::phone_devices::among(&state.keys, devices)?;
        if devices.is_empty() {
            return Ok(Self { texted: false, choices: Vec::new(), auto_call: None });
        }
        let auto_call = devices
            .first()
            .filter(|d| d.is_default == 1 && d.login_action == LoginAction::Call)
            .filter(|_| !auth.full && auth.session.call().is_none())
            .map(|d| d.id.clone());
        Ok(Self {
            texted: store::phone_codes::has_live(&state.db, &auth.user.id, PURPOSE, now()).await?,
            choices: devices
                .into_iter()
                .map(|d| PhoneChoice {
                    masked: crate::domain::phone::mask(&d.phone),
                    mobile: d.kind == DeviceKind::MobilePhone,
                    call: true,
                    id: d.id,
                    name: d.name,
                })
                .collect(),
            auto_call,
        })
    }
}

impl PhoneMethods {
    /// Keeps "Call Me" and "Text Me" only where the policy allows them.
    pub fn allowed_only(mut self, allowed: &MethodSet) -> Self {
        let (call, text) = (allowed.allows(Method::PhoneCall), allowed.allows(Method::Sms));
        for c in &mut self.choices {
            c.call = call;
            c.mobile = c.mobile && text;
        }
        self.choices.retain(|c| c.call || c.mobile);
        if !call {
            self.auto_call = None;
        }
        self
    }
}

/// The prompt again, with what went wrong; every other method stays on it.
async fn prompt_with(
    state: &AppState,
    auth: &PasswordAuthed,
    status: StatusCode,
    message: String,
) -> Result<HttpResponse, AppError> {
    let methods = methods(state, &auth.user.id).await?;
    html(status, &page(state, auth, &methods, Some(message)).await?)
}

/// Why no text was sent or call placed, on the prompt.
async fn refused(state: &AppState, auth: &PasswordAuthed, refusal: PhoneRefusal) -> Result<HttpResponse, AppError> {
    match refusal {
        PhoneRefusal::NotAllowed(method) => {
            prompt_with(state, auth, StatusCode::FORBIDDEN, super::refusal(state, method)).await
        }
        PhoneRefusal::NoPhone | PhoneRefusal::Locked => Ok(see_other("/prompt")),
        PhoneRefusal::Disabled => Err(AppError::LoginRequired),
        PhoneRefusal::Channel(e) => {
            let status = match e {
                PhoneError::Budget(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            match words::phone_problem(&e) {
                Some(message) => prompt_with(state, auth, status, message).await,
                None => Err(AppError::Internal(e.into())),
            }
        }
    }
}

csrf_form!(PhoneForm { device: String });

/// "Text Me": a batch of passcodes to a mobile phone. Sending never resets the failure count.
pub async fn text_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PhoneForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    match state.text_codes(&asking.caller(&auth.user), Choice::Device(&form.0.device)).await? {
        Ok(()) => Ok(see_other("/prompt")),
        Err(refusal) => refused(&state, &auth, refusal).await,
    }
}

/// "Call Me": places the call and waits for it on /prompt/call.
pub async fn call_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PhoneForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    match state.call(&asking.caller(&auth.user), Choice::Device(&form.0.device)).await? {
        Ok(call_id) => {
            auth.session.set_call(&call_id)?;
            Ok(see_other("/prompt/call"))
        }
        Err(refusal) => {
            // Remember that a call was tried, so "Automatically call this device" does not loop.
            auth.session.set_call("")?;
            refused(&state, &auth, refusal).await
        }
    }
}

#[derive(Template)]
#[template(path = "prompt/call.html")]
struct CallPage {
    chrome: Chrome,
    masked: String,
    /// ringing, answered, declined, fraud, or how it ended otherwise.
    status: String,
}

/// The waiting page: refreshes itself while the phone rings; once answered, continues.
pub async fn call_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    let call_id = auth.session.call().unwrap_or_default();
    let Some(call) = state.phones.call_for_user(&call_id, &auth.user.id, now()).await? else {
        return Ok(see_other("/prompt"));
    };
    let status = match CallOutcome::of(&call.status) {
        CallOutcome::Ringing => "ringing",
        CallOutcome::Answered => "answered",
        // A call reported as fraudulent ends the user's sessions (`signin::fraud`); the browser
        // that asked may be the attacker's, so it is signed out here at once, told nothing.
        CallOutcome::Fraud => {
            auth.session.logout();
            return Ok(see_other("/login"));
        }
        CallOutcome::Declined => "declined",
        CallOutcome::Used => "used",
        CallOutcome::NotAnswered if call.status == "busy" => "busy",
        CallOutcome::NotAnswered if call.status == "failed" => "failed",
        CallOutcome::NotAnswered => "not_answered",
    };
    let page = CallPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        masked: crate::domain::phone::mask(&call.to_number),
        status: status.to_string(),
    };
    html(StatusCode::OK, &page)
}

csrf_form!(ContinueForm {});

/// Continues a sign-in whose call was answered. The answer is consumed once, by this session.
pub async fn call_continue_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<ContinueForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let call_id = auth.session.call().unwrap_or_default();
    if call_id.is_empty() {
        return Ok(see_other("/prompt/call"));
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    let verdict = state.finish_call(&asking.caller(&auth.user), &call_id).await?;
    if matches!(verdict, crate::signin::Verdict::Wrong { .. } | crate::signin::Verdict::Replayed { .. }) {
        return Ok(see_other("/prompt/call"));
    }
    let methods = methods(&state, &auth.user.id).await?;
    answer(&req, &auth, &state, &methods, &asking, verdict, Words { wrong: "", replayed: "" }).await
}

//! Wizard steps for phones: country and "Phone number" ("Extension" for landlines), "Is this the
//! correct number?", verification (a texted code, or "Call me to verify"), then the app or not.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::channels::telephony::{CallOutcome, Recipient};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::phone::{country_name, parse_extension};
use crate::domain::policy::Method;
use crate::domain::{DeviceKind, EnrollEvent, EnrollStep, PhoneNumber};
use crate::store::audit::{Event, Outcome};
use crate::store::enrollments::EnrollmentRow;
use crate::store::phone_devices::{self, WizardPhone};
use crate::store::{self, enrollments::StepChange};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

use super::{advance, at_step, chrome, kind_of, moving};
use crate::domain::enroll_path::{Progress, WizardPage};
use crate::signin::Caller;
use crate::signin::enroll::Added;

/// Purpose of texted codes and calls made by the wizard.
pub const PURPOSE: &str = "enroll";

pub struct Country {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "enroll/phone.html")]
struct PhonePage {
    chrome: Chrome,
    progress: Progress,
    landline: bool,
    countries: Vec<Country>,
    number: String,
    extension: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/phone_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    progress: Progress,
    number: String,
    extension: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/phone_verify.html")]
struct VerifyPage {
    chrome: Chrome,
    progress: Progress,
    landline: bool,
    number: String,
    code_sent: bool,
    /// ringing, answered, or how the last call ended.
    call: Option<String>,
    error: Option<String>,
    /// The telephony simulator: nothing reaches a real phone (the page says where to look).
    simulator: bool,
    /// An administrator may read the texts sent to their own wizard's number (`simulated`).
    own_texts: bool,
}

#[derive(Template)]
#[template(path = "enroll/phone_app.html")]
struct AppPage {
    chrome: Chrome,
    progress: Progress,
    number: String,
    /// "Set up the app" is offered (push or app passcodes are allowed).
    app: bool,
    /// "Not now" (the number alone) is offered (texts or calls are allowed).
    number_only: bool,
}

fn countries(allowed: &[String], selected: &str) -> Vec<Country> {
    let selected = if selected.is_empty() { allowed.first().map(String::as_str).unwrap_or("") } else { selected };
    allowed
        .iter()
        .map(|c| Country {
            code: c.to_ascii_uppercase(),
            name: country_name(c).trim_start_matches("the ").to_string(),
            selected: c.eq_ignore_ascii_case(selected),
        })
        .collect()
}

/// The number the wizard holds (set at the Phone step).
pub(super) async fn wizard_number(
    state: &AppState,
    row: &EnrollmentRow,
) -> Result<(PhoneNumber, WizardPhone), AppError> {
    let wp = phone_devices::wizard_phone(&state.db, &state.keys, &row.id).await?.ok_or(AppError::NotFound)?;
    let number = PhoneNumber::from_e164(wp.phone.as_deref().unwrap_or_default())
        .map_err(|_| AppError::Redirect(EnrollStep::Phone.path().into()))?;
    Ok((number, wp))
}

/// The mobile number the user's source (the directory) knows, to fill in: it is only a
/// suggestion, verified by a text like any typed number. `None` when there is none or it does
/// not open.
async fn suggested_number(state: &AppState, user_id: &str) -> Result<Option<PhoneNumber>, AppError> {
    let Some(sealed) = crate::store::directory::phone_suggestion(&state.db, user_id).await? else { return Ok(None) };
    let e164 = crate::store::phone_numbers::open(&state.keys, Some(user_id), &sealed).ok();
    Ok(e164.and_then(|n| PhoneNumber::from_e164(&n).ok()))
}

pub async fn phone_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Phone).await?;
    let landline = kind_of(&row)? == DeviceKind::Landline;
    let suggested = if landline { None } else { suggested_number(&state, &auth.user.id).await? };
    let region = suggested.as_ref().map(|n| n.region().to_string()).unwrap_or_default();
    let page = PhonePage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::Phone)),
        landline,
        countries: countries(&state.policy().await?.allowed_countries, &region),
        number: suggested.map(|n| n.international().to_string()).unwrap_or_default(),
        extension: String::new(),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(PhoneForm { country: String, number: String, extension: String });

pub async fn phone_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PhoneForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::Phone).await?;
    let form = form.0;
    let kind = kind_of(&row)?;
    let landline = kind == DeviceKind::Landline;
    let allowed = &state.policy().await?.allowed_countries;
    let parsed = PhoneNumber::parse(&form.number, &form.country, allowed)
        .and_then(|n| if landline { parse_extension(&form.extension).map(|e| (n, e)) } else { Ok((n, None)) });
    let problem = match &parsed {
        Err(e) => Some(e.0.clone()),
        Ok((n, _))
            if !landline
                && phone_devices::mobile_taken_by_other(&state.db, &state.keys, n.e164(), &auth.user.id).await? =>
        {
            Some(format!(
                "This mobile number is already registered to another account. Enter another number, or contact {} if it is yours.",
                state.settings.institution.help_desk
            ))
        }
        Ok(_) => None,
    };
    if let (Ok((number, extension)), None) = (&parsed, &problem) {
        let step = moving(&row, EnrollEvent::EnteredNumber)?;
        phone_devices::set_wizard_phone(&state.db, &state.keys, &row, step, number.e164(), extension.as_deref(), now())
            .await?;
        return Ok(see_other(step.to.path()));
    }
    let page = PhonePage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::Phone)),
        landline,
        countries: countries(allowed, &form.country),
        number: form.number.chars().take(40).collect(),
        extension: form.extension.chars().take(20).collect(),
        error: problem,
    };
    html(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn confirm_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneConfirm).await?;
    let (number, wp) = wizard_number(&state, &row).await?;
    let page = ConfirmPage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::PhoneConfirm)),
        number: number.international().to_string(),
        extension: wp.phone_extension,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(ConfirmForm {});

/// "Yes, it's correct".
pub async fn confirm_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneConfirm).await?;
    advance(&state, &row, EnrollEvent::ConfirmedNumber, StepChange::default()).await
}

async fn verify_page(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    error: Option<String>,
) -> Result<VerifyPage, AppError> {
    let (number, wp) = wizard_number(state, row).await?;
    let t = now();
    let call = match wp.phone_call_id.as_deref() {
        Some(id) => state.phones.call_for_user(id, &auth.user.id, t).await?.map(|c| c.status),
        None => None,
    };
    Ok(VerifyPage {
        chrome: chrome(state, auth),
        progress: super::progress(row, WizardPage::Step(EnrollStep::PhoneVerify)),
        landline: kind_of(row)? == DeviceKind::Landline,
        number: number.international().to_string(),
        code_sent: store::phone_codes::has_live(&state.db, &auth.user.id, PURPOSE, t).await?,
        call,
        error,
        simulator: state.phones.is_simulator(),
        own_texts: super::simulated::may_read(state, auth),
    })
}

pub async fn verify_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneVerify).await?;
    html(StatusCode::OK, &verify_page(&state, &auth, &row, None).await?)
}

csrf_form!(VerifyForm { action: String, passcode: String });

pub async fn verify_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<VerifyForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneVerify).await?;
    let (number, wp) = wizard_number(&state, &row).await?;
    let landline = kind_of(&row)? == DeviceKind::Landline;
    let (user, t) = (&auth.user, now());
    // No device yet: the number is being verified.
    let to_whom = Recipient { user_id: &user.id, username: &user.username, device_id: None };
    let sent = match form.0.action.as_str() {
        "text" if !landline => state.phones.send_codes(to_whom, &number, PURPOSE, t).await.map(|_| ()),
        "call" => {
            let ext = wp.phone_extension.as_deref();
            match state.phones.start_call(to_whom, &number, ext, PURPOSE, t).await {
                Ok(id) => Ok(phone_devices::set_wizard_call(&state.db, &row.id, &id).await?),
                Err(e) => Err(e),
            }
        }
        "code" if !landline => {
            let typed: String = form.0.passcode.chars().filter(char::is_ascii_digit).collect();
            if !state.phones.use_code(&user.id, PURPOSE, &typed, t).await? {
                return wrong_code(&state, &auth, &row, t).await;
            }
            return verified(&req, &state, &auth, &row, &number, &wp).await;
        }
        "check" => {
            let call_id = wp.phone_call_id.clone().unwrap_or_default();
            match state.phones.call_for_user(&call_id, &user.id, t).await?.map(|c| CallOutcome::of(&c.status)) {
                Some(CallOutcome::Answered)
                    if store::phone_calls::consume_answered(&state.db, &call_id, &user.id, t).await? =>
                {
                    return verified(&req, &state, &auth, &row, &number, &wp).await;
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    };
    match sent {
        Ok(()) => Ok(see_other(EnrollStep::PhoneVerify.path())),
        Err(e) => match crate::words::phone_problem(&e) {
            Some(message) => retry(&state, &auth, &row, message).await,
            None => Err(AppError::Internal(e.into())),
        },
    }
}

/// Wrong guesses at enrolment do not lock the account (the person holding the number is the one
/// typing), but after `MAX_WRONG_CODES` the codes are void: with the hourly text budget this keeps
/// guessing a 7-digit code hopeless.
const MAX_WRONG_CODES: i64 = 5;

async fn wrong_code(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    t: i64,
) -> Result<HttpResponse, AppError> {
    let wrong = phone_devices::wrong_code(&state.db, &row.id).await?;
    if wrong >= MAX_WRONG_CODES {
        store::phone_codes::void_all(&state.db, &auth.user.id, PURPOSE, t).await?;
        phone_devices::reset_wrong_codes(&state.db, &row.id).await?;
        let message = "Too many wrong codes: the codes we sent no longer work. Send a new code and enter it.";
        return retry(state, auth, row, message.into()).await;
    }
    let message = "That code is not right or has expired. Enter the newest code we texted, or send a new one.";
    retry(state, auth, row, message.into()).await
}

async fn retry(
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    message: String,
) -> Result<HttpResponse, AppError> {
    html(StatusCode::UNPROCESSABLE_ENTITY, &verify_page(state, auth, row, Some(message)).await?)
}

/// The number is proven: a landline becomes a device now; a mobile goes on to the app question.
async fn verified(
    req: &HttpRequest,
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    number: &PhoneNumber,
    wp: &WizardPhone,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let detail = format!("number {} verified", number.masked());
    let ip = client_ip(req);
    let event = Event::new(AuditEvent::EnrollPhoneVerified, Outcome::Success)
        .user(&auth.user.id, &auth.user.username)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, event, t).await?;
    if kind_of(row)? != DeviceKind::Landline {
        let step = moving(row, EnrollEvent::VerifiedMobileNumber)?;
        phone_devices::wizard_verified(&state.db, &row.id, step, t).await?;
        return Ok(see_other(step.to.path()));
    }
    device_added(req, state, auth, row, EnrollEvent::VerifiedLandline, (number, wp.phone_extension.as_deref())).await
}

/// Stores the phone with its number only and goes on to "Device options".
async fn device_added(
    req: &HttpRequest,
    state: &AppState,
    auth: &PasswordAuthed,
    row: &EnrollmentRow,
    event: EnrollEvent,
    number: (&PhoneNumber, Option<&str>),
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(req);
    let session = auth.session.row();
    let caller = Caller::new(&auth.user, ip.as_deref()).in_session(session.as_deref());
    match state.add_number_device(&caller, row, event, number).await? {
        Added::Device(_) => Ok(see_other(EnrollStep::Options.path())),
        _ => Ok(see_other("/enroll")),
    }
}

pub async fn app_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneApp).await?;
    let (number, _) = wizard_number(&state, &row).await?;
    let allowed = crate::signin::allowed::methods_for_user(&state, &auth.user.id, None).await?;
    let page = AppPage {
        chrome: chrome(&state, &auth),
        progress: super::progress(&row, WizardPage::Step(EnrollStep::PhoneApp)),
        number: number.international().to_string(),
        app: allowed.allows(Method::Push) || allowed.allows(Method::Totp),
        number_only: allowed.allows(Method::Sms) || allowed.allows(Method::PhoneCall),
    };
    html(StatusCode::OK, &page)
}

csrf_form!(AppForm { choice: String });

/// "Set up the app" goes on to the operating system; "Not now" stores the phone with its number.
pub async fn app_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<AppForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::PhoneApp).await?;
    let allowed = crate::signin::allowed::methods_for_user(&state, &auth.user.id, None).await?;
    let app = allowed.allows(Method::Push) || allowed.allows(Method::Totp);
    if form.0.choice == "app" && app {
        return advance(&state, &row, EnrollEvent::WantsApp, StepChange::default()).await;
    }
    // The choice not offered (the app, or the number alone when neither texts nor calls are
    // allowed) is never taken: back to the question.
    if form.0.choice == "app" || !(allowed.allows(Method::Sms) || allowed.allows(Method::PhoneCall)) {
        return Ok(see_other(EnrollStep::PhoneApp.path()));
    }
    let (number, _) = wizard_number(&state, &row).await?;
    device_added(&req, &state, &auth, &row, EnrollEvent::KeepsNumberOnly, (&number, None)).await
}

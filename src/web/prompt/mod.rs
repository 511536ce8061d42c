//! The prompt: "Choose an authentication method" after the password, and "Confirm it's you"
//! before device changes. Today that is "Enter a Passcode": an authenticator app's code or a
//! backup code. Failures count towards lockout across every method.

pub(crate) mod passcode;
pub(crate) mod phone;
pub(crate) mod push;
pub(crate) mod security_key;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::clock::now;
use crate::csrf_form;
use crate::domain::policy::Method;
use crate::domain::{EnrollStep, Passcode};
use crate::store::{
    self,
    audit::{Event, Outcome},
    devices::DeviceRow,
    users::UserRow,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};
use passcode::Checked;

#[derive(Template, WebTemplate)]
#[template(path = "prompt/prompt.html")]
pub struct PromptPage {
    chrome: Chrome,
    device_names: Vec<String>,
    /// Hardware tokens (their passcodes come from a button or a touch, not an app).
    token_names: Vec<String>,
    /// The user has a security key: "Use a security key" is offered.
    security_keys: bool,
    /// Never had a device: "Not enrolled yet" and "Start setup".
    never_enrolled: bool,
    /// Something to verify with: a device, a backup code or a temporary passcode.
    can_verify: bool,
    temporary_codes: bool,
    help_desk: String,
    recovery: bool,
    /// Without self-enrolment, a user with no device is told to ask for an invitation.
    self_enrollment: bool,
    /// A signed-in user confirming it's them before a device change.
    step_up: bool,
    backup_codes: i64,
    locked: Option<String>,
    error: Option<String>,
    /// The application a Universal Prompt sign-in continues to.
    application: Option<String>,
    /// "Call Me" and "Text Me" for each device with a number.
    phones: phone::PhoneMethods,
    /// A device can receive pushes: "Send Me a Push".
    push: bool,
    /// "Automatically send this device a Push": the page starts it by itself.
    auto_push: bool,
}

csrf_form!(PasscodeForm { passcode: String });

/// The context used to seal a user's TOTP seeds: a seed copied to another user's row won't open.
pub fn seed_context(user_id: &str) -> String {
    format!("totp-seed:{user_id}")
}

/// If the account is locked, the message to show (after applying automatic unlock).
pub(crate) async fn lock_message(state: &AppState, user: &UserRow, t: i64) -> Result<Option<String>, AppError> {
    let Some(locked_at) = user.locked_at else { return Ok(None) };
    let auto = i64::from(state.policy().await?.lockout_auto_unlock_minutes) * 60;
    if auto > 0 {
        if store::users::unlock_if_locked_before(&state.db, &user.id, t - auto).await? {
            return Ok(None);
        }
        let minutes = ((locked_at + auto - t) + 59) / 60;
        return Ok(Some(format!(
            "Your account is locked after too many failed attempts. Try again in {minutes} minute{}, or contact {} to unlock it now.",
            if minutes == 1 { "" } else { "s" },
            state.settings.institution.help_desk
        )));
    }
    Ok(Some(format!(
        "Your account is locked after too many failed attempts. Contact {} to unlock it.",
        state.settings.institution.help_desk
    )))
}

/// A failed second factor, whatever the method: counted towards the lockout every method shares
/// and audit-logged as `event` (plus `account.locked` when this failure is the one that locks).
/// True when the account is now locked.
pub(crate) async fn record_failed_attempt(
    state: &AppState,
    user: &UserRow,
    ip: Option<&str>,
    event: &str,
    reason: &str,
    t: i64,
) -> Result<bool, AppError> {
    let max = state.policy().await?.lockout_max_failures;
    let (id, username, ip, event, reason) =
        (user.id.clone(), user.username.clone(), ip.map(str::to_string), event.to_string(), reason.to_string());
    let (_, locked_now) = store::users::record_failure(&state.db, &user.id, max, t, move |attempts, locked| {
        let detail = format!("{reason}; {attempts} failed attempt(s)");
        let at =
            |name, outcome| Event::new(name, outcome).user(&id, &username).ip(ip.as_deref()).detail(&detail).into();
        let mut entries = vec![at(&event, Outcome::Failure)];
        if locked {
            entries.push(at("account.locked", Outcome::Info));
        }
        entries
    })
    .await?;
    Ok(locked_now)
}

/// What the user can sign in with.
pub(crate) struct Methods {
    pub devices: Vec<DeviceRow>,
    pub backup_codes: i64,
    pub temporary_codes: i64,
}

impl Methods {
    pub(crate) fn any(&self) -> bool {
        !self.devices.is_empty() || self.backup_codes > 0 || self.temporary_codes > 0
    }
}

pub(crate) async fn methods(state: &AppState, user_id: &str) -> Result<Methods, AppError> {
    let (backup_codes, temporary_codes) = store::backup_codes::counts(&state.db, user_id, now()).await?;
    Ok(Methods { devices: store::devices::list_for_user(&state.db, user_id).await?, backup_codes, temporary_codes })
}

fn is_security_key(device: &DeviceRow) -> bool {
    device.kind == crate::domain::DeviceKind::SecurityKey.as_str()
}

/// True when the user has a fresh second factor for the step-up window.
pub(crate) async fn stepped_up(state: &AppState, auth: &PasswordAuthed) -> Result<bool, AppError> {
    let window = i64::from(state.policy().await?.step_up_minutes) * 60;
    Ok(auth.full && auth.session.recently_verified(now(), window))
}

/// Where to go once the prompt is done with.
pub(crate) fn onward(auth: &PasswordAuthed) -> HttpResponse {
    let to = auth.session.take_return_to();
    see_other(to.as_ref().map(|p| p.as_str()).unwrap_or("/settings"))
}

pub(crate) async fn page(
    state: &AppState,
    auth: &PasswordAuthed,
    methods: &Methods,
    error: Option<String>,
) -> Result<PromptPage, AppError> {
    let policy = state.policy().await?;
    // Only the methods the policy allows this user are offered (temporary passcodes always are).
    let allowed = crate::signin::allowed::methods_for_user(state, &auth.user.id).await?;
    let push_ids = if allowed.allows(Method::Push) {
        store::push_devices::push_device_ids(&state.db, &auth.user.id).await?
    } else {
        Vec::new()
    };
    let names = |method: Method, keep: &dyn Fn(&DeviceRow) -> bool| -> Vec<String> {
        let devices = methods.devices.iter().filter(|d| allowed.allows(method) && keep(d));
        devices.map(|d| d.name.clone()).collect()
    };
    Ok(PromptPage {
        chrome: Chrome::new(state, Some(&auth.user.display_name), &auth.csrf),
        // Devices with an app seed; hardware tokens, security keys and phones known by number only have none.
        device_names: names(Method::Totp, &|d| !d.totp_secret.is_empty()),
        token_names: names(Method::HardwareToken, &|d| d.kind == "hardware_token"),
        security_keys: allowed.allows(Method::SecurityKey) && methods.devices.iter().any(is_security_key),
        never_enrolled: auth.user.enrolled_at.is_none() && !methods.any(),
        can_verify: methods.any(),
        temporary_codes: methods.temporary_codes > 0,
        help_desk: state.settings.institution.help_desk.clone(),
        recovery: policy.recovery_enabled,
        self_enrollment: policy.self_enrollment,
        step_up: auth.full,
        backup_codes: if allowed.allows(Method::BackupCodes) { methods.backup_codes } else { 0 },
        locked: lock_message(state, &auth.user, now()).await?,
        push: allowed.allows(Method::Push) && !push_ids.is_empty(),
        auto_push: allowed.allows(Method::Push)
            && error.is_none()
            && !auth.full
            && push::auto_push(state, &auth.user.id, &methods.devices, &push_ids).await?,
        error,
        application: crate::web::duo::authorize::application_name(state, &auth.session).await?,
        phones: phone::PhoneMethods::load(state, auth, &methods.devices).await?.allowed_only(&allowed),
    })
}

pub async fn prompt_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if auth.invited {
        // An invitation reaches the wizard only; signing in needs the password.
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let methods = methods(&state, &auth.user.id).await?;
    html(actix_web::http::StatusCode::OK, &page(&state, &auth, &methods, None).await?)
}

pub async fn passcode_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PasscodeForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let t = now();
    let ip = client_ip(&req);
    let methods = methods(&state, &auth.user.id).await?;
    if !methods.any() || lock_message(&state, &auth.user, t).await?.is_some() {
        // Locked or nothing to check against: no code is examined at all.
        return Ok(see_other("/prompt"));
    }
    let code = match Passcode::parse(&form.0.passcode) {
        Ok(c) => c,
        Err(e) => {
            return html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page(&state, &auth, &methods, Some(e.0)).await?,
            );
        }
    };
    if let Some(refused) = passcode::refused_before_check(&state, &auth.user.id, &code).await? {
        return method_refused(&state, &auth, &methods, ip.as_deref(), refused, t).await;
    }
    let checked = passcode::check(&state, &auth.user.id, &methods.devices, &code, t).await?;
    let replayed = match checked {
        Checked::Accepted { method, detail, replace_device } => {
            if let Some(m) = Method::of_event(method)
                && !crate::signin::allowed::method_allowed(&state, &auth.user.id, m).await?
            {
                return method_refused(&state, &auth, &methods, ip.as_deref(), m, t).await;
            }
            return succeed(&req, &auth, &state, (method, &detail), replace_device, t).await;
        }
        Checked::Replayed => true,
        Checked::Wrong => false,
    };
    let reason = if replayed { "passcode already used" } else { "wrong passcode" };
    if record_failed_attempt(&state, &auth.user, ip.as_deref(), "mfa.passcode", reason, t).await? {
        return Ok(see_other("/prompt"));
    }
    let message = if replayed && matches!(code.as_str().len(), 9 | 10) {
        "That code has already been used. Each backup or temporary code works only as often as it was issued for."
    } else if replayed {
        "That passcode was already used. Wait for the next one to appear in your app and enter it."
    } else {
        "Incorrect passcode. Enter the newest passcode shown in your app."
    };
    html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &methods, Some(message.into())).await?)
}

/// A method the policy does not allow this user: refused with a clear message, and logged.
pub(crate) async fn method_refused(
    state: &AppState,
    auth: &PasswordAuthed,
    methods: &Methods,
    ip: Option<&str>,
    method: Method,
    t: i64,
) -> Result<HttpResponse, AppError> {
    let detail = format!("{} is not allowed by policy", method.as_str());
    let e = Event::new("mfa.method_refused", Outcome::Failure).user(&auth.user.id, &auth.user.username).ip(ip);
    store::audit::record(&state.db, e.detail(&detail), t).await?;
    let message = crate::signin::allowed::refusal(state, method);
    html(actix_web::http::StatusCode::FORBIDDEN, &page(state, auth, methods, Some(message)).await?)
}

pub(crate) async fn succeed(
    req: &HttpRequest,
    auth: &PasswordAuthed,
    state: &AppState,
    (method, detail): (&str, &str),
    replace_device: bool,
    t: i64,
) -> Result<HttpResponse, AppError> {
    store::users::reset_failures(&state.db, &auth.user.id).await?;
    store::users::touch_login(&state.db, &auth.user.id, t).await?;
    // Begun by an application (Universal Prompt): back to it, never a portal session.
    if let Some(back) = crate::web::duo::authorize::finish(req, state, &auth.user, (method, detail), t).await? {
        return Ok(back);
    }
    let was_signed_in = auth.full;
    auth.session.complete_second_factor(t)?;
    store::audit::record(
        &state.db,
        Event::new(method, Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(req).as_deref())
            .detail(detail),
        t,
    )
    .await?;
    if replace_device {
        // A temporary or recovery passcode: straight on to add a new device (no browser trust).
        let expires = t + i64::from(state.settings.enrollment.wizard_expiry_minutes) * 60;
        let wizard =
            store::enrollments::start(&state.db, &auth.user.id, EnrollStep::FIRST.as_str(), t, expires).await?;
        auth.session.set_wizard(&wizard.id)?;
        auth.session.set_replacing()?;
        return Ok(see_other(EnrollStep::FIRST.path()));
    }
    // "Trust this browser?" is asked at sign-in, not when confirming it's you.
    if !was_signed_in && state.policy().await?.trusted_browser_days > 0 {
        Ok(see_other("/prompt/trust"))
    } else {
        Ok(onward(auth))
    }
}

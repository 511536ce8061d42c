//! The prompt: "Choose an authentication method" after the password, and "Confirm it's you"
//! before device changes. Today that is "Enter a Passcode": an authenticator app's code or a
//! backup code. Failures count towards lockout across every method.

pub(crate) mod choice;
pub(crate) mod phone;
pub(crate) mod push;
pub(crate) mod security_key;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::clock::now;
use crate::csrf_form;
use crate::domain::policy::Method;
use crate::domain::prompt_choice::PromptMethod;
use crate::domain::{EnrollStep, LoginAction, Passcode};
use crate::factors::codes::{BACKUP_CODE_DIGITS, TEMPORARY_CODE_DIGITS};
use crate::signin::lockout::Lock;
use crate::signin::{Accepted, Application, Caller, Verdict};
use crate::store::{self, devices::DeviceRow, users::UserRow};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{app_flow, client_ip, html};

#[derive(Template, WebTemplate)]
#[template(path = "prompt/prompt.html")]
pub struct PromptPage {
    chrome: Chrome,
    device_names: Vec<String>,
    /// Hardware tokens (their passcodes come from a button or a touch, not an app).
    token_names: Vec<String>,
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
    /// "Automatically send this device a Push": the page starts it by itself.
    auto_push: bool,
    /// The device chosen, the method shown first and "Other options".
    shown: choice::Shown,
    /// "Other options" starts open (`?other=1`, or after an error so every method is at hand).
    other_open: bool,
}

impl PromptPage {
    /// The chosen device's "Call Me" and "Text Me".
    fn selected_phone(&self) -> Option<&phone::PhoneChoice> {
        let (id, _) = self.shown.device.as_ref()?;
        self.phones.choices.iter().find(|p| &p.id == id)
    }

    /// The devices whose app passcodes "Enter a Passcode" names: the chosen one when it has an app.
    fn passcode_names(&self) -> Vec<String> {
        match &self.shown.device {
            Some((_, name)) if self.shown.device_app_passcode => vec![name.clone()],
            _ => self.device_names.clone(),
        }
    }

    fn is_first(&self, method: &str) -> bool {
        self.shown.first.is_some_and(|m| m.as_str() == method)
    }

    fn auto_call_here(&self) -> bool {
        self.phones.auto_call.is_some() && self.phones.auto_call == self.selected_phone().map(|p| p.id.clone())
    }
}

csrf_form!(PasscodeForm { passcode: String });

/// If the account is locked, the message to show (after applying automatic unlock).
pub(crate) async fn lock_message(state: &AppState, user: &UserRow) -> Result<Option<String>, AppError> {
    let help_desk = &state.settings.institution.help_desk;
    Ok(match state.lock(user).await? {
        Lock::Open => None,
        Lock::Locked { unlocks_at: Some(at) } => {
            let minutes = (((at - now()) + 59) / 60).max(1);
            let plural = if minutes == 1 { "" } else { "s" };
            Some(format!(
                "Your account is locked after too many failed attempts. Try again in {minutes} minute{plural}, or contact {help_desk} to unlock it now."
            ))
        }
        Lock::Locked { unlocks_at: None } => {
            Some(format!("Your account is locked after too many failed attempts. Contact {help_desk} to unlock it."))
        }
    })
}

/// Who asks, as the core sees a prompt request: the user, the address, the application that
/// began the sign-in (if one did), and this session (the attempt is refused once it has ended).
pub(crate) struct Asking {
    pub ip: Option<String>,
    pub application: Option<Application>,
    pub session: Option<String>,
}

impl Asking {
    pub(crate) async fn of(req: &HttpRequest, state: &AppState, auth: &PasswordAuthed) -> Result<Self, AppError> {
        Ok(Self {
            ip: client_ip(req),
            application: app_flow::application(state, &auth.session).await?,
            session: auth.session.row(),
        })
    }

    pub(crate) fn caller<'a>(&'a self, user: &'a UserRow) -> Caller<'a> {
        Caller::new(user, self.ip.as_deref())
            .for_application(self.application.as_ref())
            .in_session(self.session.as_deref())
    }
}

pub(crate) use crate::signin::devices::Methods;

pub(crate) async fn methods(state: &AppState, user_id: &str) -> Result<Methods, AppError> {
    Ok(state.methods(user_id).await?)
}

fn is_security_key(device: &DeviceRow) -> bool {
    device.kind == crate::domain::DeviceKind::SecurityKey
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
    page_for(state, auth, methods, error, &choice::View::default()).await
}

/// The prompt as `view` asks (a device chosen, "Other options" open).
pub(crate) async fn page_for(
    state: &AppState,
    auth: &PasswordAuthed,
    methods: &Methods,
    error: Option<String>,
    view: &choice::View,
) -> Result<PromptPage, AppError> {
    let policy = state.policy().await?;
    // Only the methods the policy allows this user are offered (temporary passcodes always are).
    let application = app_flow::application(state, &auth.session).await?;
    let allowed = crate::signin::allowed::methods_for_user(state, &auth.user.id, application.as_ref()).await?;
    // Push is not offered while a push reported as fraudulent is unhandled (it would be refused).
    let push_ids =
        if allowed.allows(Method::Push) && !store::push_devices::push_locked(&state.db, &auth.user.id).await? {
            store::push_devices::push_device_ids(&state.db, &auth.user.id).await?
        } else {
            Vec::new()
        };
    let names = |method: Method, keep: &dyn Fn(&DeviceRow) -> bool| -> Vec<String> {
        let devices = methods.devices.iter().filter(|d| allowed.allows(method) && keep(d));
        devices.map(|d| d.name.clone()).collect()
    };
    let device_names = names(Method::Totp, &|d| !d.totp_secret.is_empty());
    let security_keys = allowed.allows(Method::SecurityKey) && methods.devices.iter().any(is_security_key);
    let backup_codes = if allowed.allows(Method::BackupCodes) { methods.backup_codes } else { 0 };
    let temporary_codes = methods.temporary_codes > 0;
    let auto_push = allowed.allows(Method::Push)
        && !push_ids.is_empty()
        && error.is_none()
        && !auth.full
        && state.auto_push_wanted(&auth.user.id, &methods.devices, &push_ids).await?;
    let phones = phone::PhoneMethods::load(state, auth, &methods.devices).await?.allowed_only(&allowed);
    let scope = application.as_ref().map_or(store::last_methods::PORTAL, |a| a.integration_key.as_str());
    let remembered = store::last_methods::for_user(&state.db, &auth.user.id, scope).await?;
    let auto_device = if auto_push {
        let push_device = |d: &&DeviceRow| d.login_action == LoginAction::Push && push_ids.contains(&d.id);
        methods.devices.iter().find(push_device).map(|d| d.id.as_str())
    } else {
        phones.auto_call.as_deref()
    };
    // What the situation puts first: the code to enter (a help-desk passcode, a text just sent),
    // the push or call that starts by itself.
    let first = if temporary_codes || phones.texted {
        Some(PromptMethod::Passcode)
    } else if auto_push {
        Some(PromptMethod::Push)
    } else if phones.auto_call.is_some() {
        Some(PromptMethod::Call)
    } else {
        None
    };
    let facts = choice::Facts {
        devices: &methods.devices,
        allowed: &allowed,
        push_ids: &push_ids,
        phones: &phones,
        passcode: !device_names.is_empty() || backup_codes > 0 || temporary_codes || !security_keys,
        first,
        auto_device,
        remembered: &remembered,
    };
    let shown = choice::shown(&facts, view);
    Ok(PromptPage {
        chrome: Chrome::new(state, Some(&auth.user.display_name), &auth.csrf),
        // Devices with an app seed; hardware tokens, security keys and phones known by number only have none.
        device_names,
        token_names: names(Method::HardwareToken, &|d| d.kind == crate::domain::DeviceKind::HardwareToken),
        never_enrolled: auth.user.enrolled_at.is_none() && !methods.any(),
        can_verify: methods.any(),
        temporary_codes,
        help_desk: state.settings.institution.help_desk.clone(),
        recovery: policy.recovery_enabled,
        self_enrollment: policy.self_enrollment,
        step_up: auth.full,
        backup_codes,
        locked: lock_message(state, &auth.user).await?,
        auto_push,
        other_open: error.is_some() || view.other.is_some(),
        error,
        application: application.map(|a| a.name),
        phones,
        shown,
    })
}

pub async fn prompt_get(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    view: web::Query<choice::View>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        // An invitation reaches the wizard only; signing in needs the password.
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let methods = methods(&state, &auth.user.id).await?;
    html(StatusCode::OK, &page_for(&state, &auth, &methods, None, &view).await?)
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
    let methods = methods(&state, &auth.user.id).await?;
    if !methods.any() {
        // Nothing to check against: no code is examined at all.
        return Ok(see_other("/prompt"));
    }
    let code = match Passcode::parse(&form.0.passcode) {
        Ok(c) => c,
        // The format of a code is no secret: said plainly, not counted as a guess.
        Err(e) => return html(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &methods, Some(e.0)).await?),
    };
    let asking = Asking::of(&req, &state, &auth).await?;
    let verdict = state.passcode(&asking.caller(&auth.user), &code).await?;
    // Backup, temporary and recovery passcodes are used up (not kept) once used: a second use
    // finds nothing and reads as wrong, so the words for their length say both.
    let words = if matches!(code.as_str().len(), BACKUP_CODE_DIGITS | TEMPORARY_CODE_DIGITS) {
        Words {
            wrong: "That passcode is not right, or it was already used: each backup, temporary or recovery passcode works once.",
            replayed: "That code has already been used. Each backup or temporary code works only as often as it was issued for.",
        }
    } else {
        Words {
            wrong: "Incorrect passcode. Enter the newest passcode shown in your app.",
            replayed: "That passcode was already used. Wait for the next one to appear in your app and enter it.",
        }
    };
    answer(&req, &auth, &state, &methods, &asking, verdict, words).await
}

/// What the prompt says when a method's answer was wrong or already used.
pub(crate) struct Words<'a> {
    pub wrong: &'a str,
    pub replayed: &'a str,
}

/// The prompt's answer to the core's verdict, for every method: signed in, the prompt again with
/// what went wrong, or back to the prompt (locked: the page says so).
pub(crate) async fn answer(
    req: &HttpRequest,
    auth: &PasswordAuthed,
    state: &AppState,
    methods: &Methods,
    asking: &Asking,
    verdict: Verdict,
    words: Words<'_>,
) -> Result<HttpResponse, AppError> {
    let again = |status, message: &str| {
        let message = message.to_string();
        async move { html(status, &page(state, auth, methods, Some(message)).await?) }
    };
    match verdict {
        Verdict::Accepted(accepted) => succeed(req, auth, state, &accepted, asking).await,
        Verdict::Locked => Ok(see_other("/prompt")),
        v if v.locked_now() => Ok(see_other("/prompt")),
        Verdict::Wrong { .. } => again(StatusCode::UNPROCESSABLE_ENTITY, words.wrong).await,
        Verdict::Replayed { .. } => again(StatusCode::UNPROCESSABLE_ENTITY, words.replayed).await,
        Verdict::Refused(method) => again(StatusCode::FORBIDDEN, &refusal(state, method)).await,
        Verdict::Disabled | Verdict::SessionEnded => {
            auth.session.logout();
            Err(AppError::LoginRequired)
        }
    }
}

/// What a user is told when they try a method the policy does not allow them.
pub(crate) fn refusal(state: &AppState, method: Method) -> String {
    crate::words::method_refused(state, method)
}

/// A second factor the core accepted (it reset the failures and audited the sign-in): the
/// application that began the sign-in gets its answer, or the session is upgraded.
pub(crate) async fn succeed(
    req: &HttpRequest,
    auth: &PasswordAuthed,
    state: &AppState,
    accepted: &Accepted,
    asking: &Asking,
) -> Result<HttpResponse, AppError> {
    let t = now();
    // Begun by an application (Universal Prompt): back to it, never a portal session.
    if let Some(back) =
        app_flow::finish(req, state, &auth.user, accepted.factor.event().as_str(), asking.ip.as_deref(), t).await?
    {
        return Ok(back);
    }
    let was_signed_in = auth.full;
    auth.session.complete_second_factor(t)?;
    if accepted.factor.replaces_device() {
        // A temporary or recovery passcode: straight on to add a new device (no browser trust).
        let expires = t + i64::from(state.settings.enrollment.wizard_expiry_minutes) * 60;
        let wizard = store::enrollments::start(&state.db, &auth.user.id, t, expires).await?;
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

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = crate::web::get;
    cfg.route("/prompt", get().to(prompt_get))
        .route("/prompt/passcode", web::post().to(passcode_post))
        .route("/prompt/text", web::post().to(phone::text_post))
        .route("/prompt/call", web::post().to(phone::call_post))
        .route("/prompt/call", get().to(phone::call_get))
        .route("/prompt/call/continue", web::post().to(phone::call_continue_post))
        .route("/prompt/security-key", get().to(|| async { see_other("/prompt") }))
        .route("/prompt/security-key", web::post().to(security_key::finish_post))
        .route("/prompt/security-key/options", web::post().to(security_key::options_post))
        .configure(push::routes);
}

//! The prompt: "Choose an authentication method" after the password. Today that is "Enter a
//! Passcode" from an authenticator app. Failures count towards lockout across every method.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::chrome::Chrome;
use super::csrf::CsrfForm;
use super::session::PasswordAuthed;
use super::state::{AppState, now};
use super::{client_ip, html};
use crate::csrf_form;
use crate::domain::Passcode;
use crate::error::{AppError, see_other};
use crate::factors::totp::{TotpSeed, Verification};
use crate::store::{
    self,
    audit::{Event, Outcome},
    devices::DeviceRow,
    users::UserRow,
};

#[derive(Template, WebTemplate)]
#[template(path = "prompt/prompt.html")]
pub struct PromptPage {
    chrome: Chrome,
    device_names: Vec<String>,
    enrolled: bool,
    locked: Option<String>,
    error: Option<String>,
}

csrf_form!(PasscodeForm { passcode: String });

/// The context used to seal a user's TOTP seeds: a seed copied to another user's row won't open.
pub fn seed_context(user_id: &str) -> String {
    format!("totp-seed:{user_id}")
}

/// If the account is locked, the message to show (after applying automatic unlock).
async fn lock_message(state: &AppState, user: &UserRow, t: i64) -> Result<Option<String>, AppError> {
    let Some(locked_at) = user.locked_at else { return Ok(None) };
    let auto = i64::from(state.settings.lockout.auto_unlock_minutes) * 60;
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

async fn page(
    state: &AppState,
    auth: &PasswordAuthed,
    devices: &[DeviceRow],
    error: Option<String>,
) -> Result<PromptPage, AppError> {
    Ok(PromptPage {
        chrome: Chrome::new(state, Some(&auth.user.display_name), &auth.csrf),
        device_names: devices.iter().map(|d| d.name.clone()).collect(),
        enrolled: !devices.is_empty(),
        locked: lock_message(state, &auth.user, now()).await?,
        error,
    })
}

pub async fn prompt_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if auth.full {
        return Ok(see_other("/settings"));
    }
    let devices = store::devices::list_for_user(&state.db, &auth.user.id).await?;
    html(actix_web::http::StatusCode::OK, &page(&state, &auth, &devices, None).await?)
}

pub async fn passcode_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<PasscodeForm>,
) -> Result<HttpResponse, AppError> {
    if auth.full {
        return Ok(see_other("/settings"));
    }
    let t = now();
    let ip = client_ip(&req);
    let devices = store::devices::list_for_user(&state.db, &auth.user.id).await?;
    if devices.is_empty() || lock_message(&state, &auth.user, t).await?.is_some() {
        // Locked or nothing to check against: no code is examined at all.
        return Ok(see_other("/prompt"));
    }
    let code = match Passcode::parse(&form.0.passcode) {
        Ok(c) => c,
        Err(e) => {
            return html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page(&state, &auth, &devices, Some(e.0)).await?,
            );
        }
    };
    let mut replayed = false;
    for device in &devices {
        let seed = TotpSeed::from_bytes(&state.keys.open(&seed_context(&auth.user.id), &device.totp_secret)?);
        match seed.verify(&code, t as u64, device.totp_last_step) {
            Verification::Accepted { step } => {
                // Single use: only the request that moves the step forward succeeds.
                if store::devices::advance_totp_step(&state.db, &device.id, step, t).await? {
                    return succeed(&req, &auth, &state, device, t).await;
                }
                replayed = true;
            }
            Verification::Replayed => replayed = true,
            Verification::Wrong => {}
        }
    }
    let (attempts, locked_now) =
        store::users::record_failure(&state.db, &auth.user.id, state.settings.lockout.max_failures, t).await?;
    let reason = if replayed { "passcode already used" } else { "wrong passcode" };
    let detail = format!("{reason}; {attempts} failed attempt(s)");
    store::audit::record(
        &state.db,
        Event::new("mfa.passcode", Outcome::Failure)
            .user(&auth.user.id, &auth.user.username)
            .ip(ip.as_deref())
            .detail(&detail),
        t,
    )
    .await?;
    if locked_now {
        store::audit::record(
            &state.db,
            Event::new("account.locked", Outcome::Info)
                .user(&auth.user.id, &auth.user.username)
                .ip(ip.as_deref())
                .detail(&detail),
            t,
        )
        .await?;
        return Ok(see_other("/prompt"));
    }
    let message = if replayed {
        "That passcode was already used. Wait for the next one to appear in your app and enter it."
    } else {
        "Incorrect passcode. Enter the newest passcode shown in your app."
    };
    html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &devices, Some(message.into())).await?)
}

async fn succeed(
    req: &HttpRequest,
    auth: &PasswordAuthed,
    state: &AppState,
    device: &DeviceRow,
    t: i64,
) -> Result<HttpResponse, AppError> {
    store::users::reset_failures(&state.db, &auth.user.id).await?;
    store::users::touch_login(&state.db, &auth.user.id, t).await?;
    auth.session.complete_second_factor(t)?;
    let detail = format!("device {}", device.id);
    store::audit::record(
        &state.db,
        Event::new("mfa.passcode", Outcome::Success)
            .user(&auth.user.id, &auth.user.username)
            .ip(client_ip(req).as_deref())
            .detail(&detail),
        t,
    )
    .await?;
    if state.settings.trusted_browser.days > 0 { Ok(see_other("/prompt/trust")) } else { Ok(see_other("/settings")) }
}

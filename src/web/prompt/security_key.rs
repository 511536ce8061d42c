//! "Use a security key" at the prompt: options for `navigator.credentials.get`, then the
//! assertion, checked by the core against the ceremony this session started. Success and failure
//! go the same way as a passcode: one lockout count, one audit trail, "Trust this browser?".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::csrf_form;
use crate::factors::webauthn::Failure;
use crate::signin::security_key::{AUTHENTICATE, KeyProblem, OptionsRefusal};
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::security_key as keys;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

use super::{Asking, Words, answer, methods, onward, page, stepped_up};

csrf_form!(OptionsForm {});

pub async fn options_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    Ok(match state.security_key_options(&asking.caller(&auth.user)).await? {
        Ok((options, ceremony)) => {
            auth.session.set_webauthn_ceremony(AUTHENTICATE, &ceremony)?;
            keys::json(&options)
        }
        Err(OptionsRefusal::Locked) => keys::json_error(StatusCode::FORBIDDEN, "locked"),
        Err(OptionsRefusal::NotAllowed) => keys::json_error(StatusCode::FORBIDDEN, "not_allowed"),
        Err(OptionsRefusal::Unavailable) => keys::json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Err(OptionsRefusal::NoKeys) => keys::json_error(StatusCode::NOT_FOUND, "none"),
    })
}

csrf_form!(KeyForm { credential: String });

pub async fn finish_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if stepped_up(&state, &auth).await? {
        return Ok(onward(&auth));
    }
    let methods = methods(&state, &auth.user.id).await?;
    if !methods.any() {
        return Ok(see_other("/prompt"));
    }
    if form.0.credential.trim().is_empty() {
        let message =
            "A security key needs JavaScript. Turn on JavaScript in your browser, or enter a passcode instead.";
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &methods, Some(message.into())).await?);
    }
    let asking = Asking::of(&req, &state, &auth).await?;
    let ceremony = auth.session.take_webauthn_ceremony(AUTHENTICATE);
    let outcome = state.security_key(&asking.caller(&auth.user), ceremony.as_deref(), &form.0.credential).await?;
    let message = message(outcome.problem, &state.settings.institution.help_desk);
    answer(&req, &auth, &state, &methods, &asking, outcome.verdict, Words { wrong: &message, replayed: &message }).await
}

/// Why the key did not sign in, in the prompt's words.
fn message(problem: Option<KeyProblem>, help_desk: &str) -> String {
    let words = match problem {
        Some(KeyProblem::Unreadable) => "Your browser's answer could not be read. Try again.",
        Some(KeyProblem::NoCeremony) => {
            "That security key request has expired or was already used. Select Use a security key to try again."
        }
        Some(KeyProblem::NotRegistered) => {
            "That security key is not registered to your account. Use a key you added, or choose another method."
        }
        Some(KeyProblem::Unavailable) => "Security keys are not available on this server.",
        Some(KeyProblem::Failed(Failure::CounterRegression)) => {
            return format!(
                "This security key may have been copied, so it was not accepted. Use another method and contact {help_desk}."
            );
        }
        Some(KeyProblem::Failed(Failure::NotVerified)) => {
            "Your security key did not check that it's you. Try again and enter the key's PIN or use its fingerprint reader when asked."
        }
        Some(KeyProblem::Failed(Failure::WrongSite)) => {
            "Your security key answered for a different website. Open this page at its usual address and try again."
        }
        Some(KeyProblem::UsedMeanwhile) => {
            "That security key answer was already used. Select Use a security key to try again."
        }
        Some(KeyProblem::Failed(Failure::Invalid | Failure::AlreadyRegistered)) | None => {
            "Your security key's answer was not accepted. Select Use a security key to try again."
        }
    };
    words.to_string()
}

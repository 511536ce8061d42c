//! "Use a security key" at the prompt: options for `navigator.credentials.get`, then the
//! assertion, checked against the ceremony taken (single use). Success and failure go the same
//! way as a passcode: one lockout count, one audit trail, "Trust this browser?".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use webauthn_rs::prelude::PublicKeyCredential;

use crate::clock::now;
use crate::config::webauthn::CounterRegression;
use crate::csrf_form;
use crate::domain::policy::Method;
use crate::factors::webauthn::{
    AuthenticationState, Failure, credential_id_text, finish_authentication, start_authentication, updated,
};
use crate::store::{
    self,
    audit::{Event, Outcome},
    webauthn::{CredentialRow, NewCredential},
};
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::security_key::{self as keys, AUTHENTICATE};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

use super::{lock_message, methods, onward, page, record_failed_attempt, stepped_up, succeed};

/// The user's keys that may sign in: all of them, or, when the policy disables possibly cloned
/// keys, those never flagged.
async fn usable_keys(state: &AppState, user_id: &str) -> Result<Vec<CredentialRow>, AppError> {
    let disable = state.settings.webauthn.counter_regression == CounterRegression::Disable;
    let rows = store::webauthn::list_for_user(&state.db, user_id).await?;
    Ok(rows.into_iter().filter(|r| !(disable && r.flagged_at.is_some())).collect())
}

csrf_form!(OptionsForm {});

pub async fn options_post(
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    _f: CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    if auth.invited {
        return Err(AppError::LoginRequired);
    }
    if lock_message(&state, &auth.user, now()).await?.is_some() {
        return Ok(keys::json_error(StatusCode::FORBIDDEN, "locked"));
    }
    if !crate::signin::allowed::method_allowed(&state, &auth.user.id, Method::SecurityKey).await? {
        return Ok(keys::json_error(StatusCode::FORBIDDEN, "not_allowed"));
    }
    let Some(rp) = keys::rp(&state) else {
        return Ok(keys::json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    };
    let rows = usable_keys(&state, &auth.user.id).await?;
    let credentials = rows.iter().map(|r| keys::open_credential(&state, r)).collect::<Result<Vec<_>, _>>()?;
    if credentials.is_empty() {
        return Ok(keys::json_error(StatusCode::NOT_FOUND, "none"));
    }
    let (options, ceremony) = start_authentication(&rp, state.settings.webauthn.user_verification, &credentials)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("starting a WebAuthn sign-in: {e:?}")))?;
    keys::begin(&state, &auth.session, (&auth.user.id, AUTHENTICATE), &ceremony).await?;
    Ok(keys::json(&options))
}

csrf_form!(KeyForm { credential: String });

/// Why a security-key sign-in failed: the audit detail and the message on the page.
struct Refusal {
    detail: String,
    message: &'static str,
}

impl Refusal {
    fn new(detail: impl Into<String>, message: &'static str) -> Self {
        Self { detail: detail.into(), message }
    }
}

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
    let t = now();
    let methods = methods(&state, &auth.user.id).await?;
    if !methods.any() || lock_message(&state, &auth.user, t).await?.is_some() {
        return Ok(see_other("/prompt"));
    }
    if !crate::signin::allowed::method_allowed(&state, &auth.user.id, Method::SecurityKey).await? {
        let ip = crate::web::client_ip(&req);
        return super::method_refused(&state, &auth, &methods, ip.as_deref(), Method::SecurityKey, t).await;
    }
    if form.0.credential.trim().is_empty() {
        let message =
            "A security key needs JavaScript. Turn on JavaScript in your browser, or enter a passcode instead.";
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &methods, Some(message.into())).await?);
    }
    match verify(&state, &auth, &form.0.credential, t).await? {
        Ok(detail) => succeed(&req, &auth, &state, ("mfa.security_key", &detail), false, t).await,
        Err(refusal) => refuse(&req, &auth, &state, &methods, refusal, t).await,
    }
}

/// Checks the assertion; Ok(audit detail) when it signs the user in.
async fn verify(
    state: &AppState,
    auth: &PasswordAuthed,
    submitted: &str,
    t: i64,
) -> Result<Result<String, Refusal>, AppError> {
    let Ok(response) = serde_json::from_str::<PublicKeyCredential>(submitted) else {
        return Ok(Err(Refusal::new("unreadable response", "Your browser's answer could not be read. Try again.")));
    };
    // Consumed before verification: a replayed or second answer finds no ceremony.
    let Some(ceremony) = keys::take::<AuthenticationState>(state, &auth.session, (&auth.user.id, AUTHENTICATE)).await?
    else {
        return Ok(Err(Refusal::new(
            "no ceremony in progress (expired, replaced or already used)",
            "That security key request has expired or was already used. Select Use a security key to try again.",
        )));
    };
    let credential_id = credential_id_text(&response.raw_id);
    let rows = usable_keys(state, &auth.user.id).await?;
    let Some(row) = rows.into_iter().find(|r| r.credential_id == credential_id) else {
        return Ok(Err(Refusal::new(
            format!("credential {credential_id} is not registered to this user"),
            "That security key is not registered to your account. Use a key you added, or choose another method.",
        )));
    };
    let Some(rp) = keys::rp(state) else {
        return Ok(Err(Refusal::new("no relying party", "Security keys are not available on this server.")));
    };
    let result = match finish_authentication(&rp, &ceremony, &response) {
        Ok(r) => r,
        Err(e) => {
            let failure = Failure::of(&e);
            if failure == Failure::CounterRegression {
                store::webauthn::flag(&state.db, &row.id, t).await?;
                let detail =
                    format!("device {}, credential {credential_id}: signature counter went backwards", row.device_id);
                store::audit::record(
                    &state.db,
                    Event::new("security_key.clone_warning", Outcome::Failure)
                        .user(&auth.user.id, &auth.user.username)
                        .detail(&detail),
                    t,
                )
                .await?;
            }
            let message = match failure {
                Failure::CounterRegression => {
                    "This security key may have been copied, so it was not accepted. Use another method and contact your help desk."
                }
                Failure::NotVerified => {
                    "Your security key did not check that it's you. Try again and enter the key's PIN or use its fingerprint reader when asked."
                }
                Failure::WrongSite => {
                    "Your security key answered for a different website. Open this page at its usual address and try again."
                }
                Failure::Invalid | Failure::AlreadyRegistered => {
                    "Your security key's answer was not accepted. Select Use a security key to try again."
                }
            };
            return Ok(Err(Refusal::new(format!("credential {credential_id}: {}", failure.as_str()), message)));
        }
    };
    let credential = updated(&keys::open_credential(state, &row)?, &result);
    let (_, sealed) = keys::seal_credential(state, &auth.user.id, &credential)?;
    let new = NewCredential {
        credential_id: &credential_id,
        sealed_credential: &sealed,
        sign_count: i64::from(credential.counter),
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        user_verified: result.user_verified(),
    };
    if !store::webauthn::record_use(&state.db, &row, &sealed, &new, t).await? {
        return Ok(Err(Refusal::new(
            format!("credential {credential_id}: used by another sign-in at the same moment"),
            "That security key answer was already used. Select Use a security key to try again.",
        )));
    }
    Ok(Ok(format!("device {}, credential {credential_id}", row.device_id)))
}

/// A refused key counts towards the lockout shared by every method, like a wrong passcode.
async fn refuse(
    req: &HttpRequest,
    auth: &PasswordAuthed,
    state: &AppState,
    methods: &super::Methods,
    refusal: Refusal,
    t: i64,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(req);
    if record_failed_attempt(state, &auth.user, ip.as_deref(), "mfa.security_key", &refusal.detail, t).await? {
        return Ok(see_other("/prompt"));
    }
    html(StatusCode::UNPROCESSABLE_ENTITY, &page(state, auth, methods, Some(refusal.message.into())).await?)
}

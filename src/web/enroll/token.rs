//! Wizard: "Hardware token" → "Serial number" + "Passcode" (and the next passcode for tokens with
//! a button, HOTP) claims an available token from the inventory as the user's new device.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{at_step, chrome};
use crate::domain::enroll_path::{Progress, WizardPage};
use crate::signin::token_claim::ClaimAsk;
use crate::signin::{Caller, Verdict};

/// The wizard page that claims a token ("Serial number" + "Passcode").
pub const CLAIM_PATH: &str = "/enroll/token";

use crate::csrf_form;
use crate::domain::token::parse_serial;
use crate::domain::{EnrollStep, Passcode};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "enroll/token.html")]
struct TokenPage {
    chrome: Chrome,
    progress: Progress,
    serial: String,
    error: Option<String>,
}

fn page(state: &AppState, auth: &PasswordAuthed, serial: &str, error: Option<String>) -> TokenPage {
    let serial = serial.chars().take(64).collect();
    TokenPage {
        chrome: chrome(state, auth),
        progress: super::progress_of(crate::domain::DeviceKind::HardwareToken, WizardPage::TokenClaim),
        serial,
        error,
    }
}

pub async fn token_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    at_step(&state, &auth, EnrollStep::DeviceType).await?;
    html(StatusCode::OK, &page(&state, &auth, "", None))
}

csrf_form!(ClaimForm { serial: String, passcode: String, next_passcode: String });

/// The same words for an unknown serial, a token already claimed and a wrong code, so the page
/// never tells which serial numbers exist.
const NO_MATCH: &str = "That serial number and passcode do not match a token you can add. Check the serial \
                        number on the token, then enter a new passcode (for a token with a button, press it twice \
                        and enter both passcodes).";

/// A locked account, in the words that name whom to contact.
fn locked_words(state: &AppState) -> String {
    format!("Too many incorrect attempts. Contact {} to unlock your account.", state.settings.institution.help_desk)
}

pub async fn token_post(
    req: HttpRequest,
    auth: PasswordAuthed,
    state: web::Data<AppState>,
    form: CsrfForm<ClaimForm>,
) -> Result<HttpResponse, AppError> {
    let row = at_step(&state, &auth, EnrollStep::DeviceType).await?;
    let form = form.0;
    let retry =
        |message: String| html(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &auth, &form.serial, Some(message)));
    if auth.user.locked_at.is_some() {
        return retry(locked_words(&state));
    }
    let serial = match parse_serial(&form.serial) {
        Ok(s) => s,
        Err(e) => return retry(e.0),
    };
    let code = match Passcode::parse(&form.passcode) {
        Ok(c) => c,
        Err(e) => return retry(e.0),
    };
    let next = Passcode::parse(&form.next_passcode).ok();
    let ip = client_ip(&req);
    let session = auth.session.row();
    let caller = Caller::new(&auth.user, ip.as_deref()).in_session(session.as_deref());
    let ask = ClaimAsk { serial: &serial, code: &code, next: next.as_ref() };
    match state.claim_token(&caller, &row, ask).await? {
        Verdict::Accepted(_) => Ok(see_other(EnrollStep::Options.path())),
        Verdict::Locked => retry(locked_words(&state)),
        Verdict::Disabled | Verdict::SessionEnded => Err(AppError::LoginRequired),
        _ => retry(NO_MATCH.into()),
    }
}

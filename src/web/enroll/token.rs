//! Wizard: "Hardware token" → "Serial number" + "Passcode" (and the next passcode for tokens with
//! a button, HOTP) claims an available token from the inventory as the user's new device.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{at_step, chrome};

/// The wizard page that claims a token ("Serial number" + "Passcode").
pub const CLAIM_PATH: &str = "/enroll/token";

use crate::clock::now;
use crate::csrf_form;
use crate::domain::token::{TokenKind, parse_serial};
use crate::domain::{EnrollStep, Passcode};
use crate::factors::hotp::HotpSeed;
use crate::store::{
    self,
    audit::{Event, Outcome},
    tokens::{Claim, TokenRow},
};
use crate::tokens::{TokenCheck, check, check_pair};
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
    step: u8,
    steps: u8,
    serial: String,
    error: Option<String>,
}

fn page(state: &AppState, auth: &PasswordAuthed, serial: &str, error: Option<String>) -> TokenPage {
    let serial = serial.chars().take(64).collect();
    TokenPage { chrome: chrome(state, auth), step: 2, steps: EnrollStep::COUNT, serial, error }
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

/// The available token with this serial and what its code(s) say. Unknown serials still cost a
/// resynchronisation's worth of HMACs, so timing tells as little as the message does.
async fn verify_claim(
    state: &AppState,
    serial: &str,
    code: &Passcode,
    next: Option<&Passcode>,
    t: i64,
) -> Result<(Option<TokenRow>, TokenCheck), AppError> {
    let token = store::tokens::by_serial(&state.db, serial).await?.filter(|tok| tok.status == "available");
    let window = state.settings.tokens.hotp_resync_window;
    let checked = match (&token, next) {
        (None, _) => {
            let _ = HotpSeed::new(&[0u8; 20], 6).resync(code, next.unwrap_or(code), 0, window.clamp(2, 10_000));
            TokenCheck::Wrong
        }
        (Some(tok), Some(next)) if tok.kind == TokenKind::Hotp.as_str() => {
            check_pair(&state.keys, tok, code, next, window)?
        }
        // An HOTP token needs both codes: one code alone could be an old one someone saw.
        (Some(tok), None) if tok.kind == TokenKind::Hotp.as_str() => TokenCheck::Wrong,
        (Some(tok), _) => check(&state.keys, tok, code, t, state.settings.tokens.hotp_window)?,
    };
    Ok((token, checked))
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
        return retry("Too many incorrect attempts. Contact your help desk to unlock your account.".into());
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
    let t = now();
    let (token, checked) = verify_claim(&state, &serial, &code, next.as_ref(), t).await?;
    let ip = client_ip(&req);
    if let (Some(tok), TokenCheck::Accepted { new_counter }) = (&token, checked) {
        let how = Claim::Wizard {
            enrollment_id: &row.id,
            from: EnrollStep::DeviceType.as_str(),
            to: EnrollStep::Options.as_str(),
            counter: new_counter,
        };
        let name = format!("Token {}", tok.serial);
        // Conditional on the token still being available: of two claims at once, one wins.
        if let Some(device_id) = store::tokens::claim(&state.db, tok, &auth.user.id, &name, how, t).await? {
            let detail = format!("device {device_id} (hardware_token, serial {})", tok.serial);
            let event =
                Event::new(AuditEvent::EnrollDeviceAdded, Outcome::Success).user(&auth.user.id, &auth.user.username);
            store::audit::record(&state.db, event.ip(ip.as_deref()).detail(&detail), t).await?;
            return Ok(see_other(EnrollStep::Options.path()));
        }
    }
    // Counted like a wrong passcode at the prompt: guessing serial numbers locks the account.
    let max = state.policy().await?.lockout_max_failures;
    let user = auth.user.clone();
    store::users::record_failure(&state.db, &auth.user.id, max, t, move |attempts, _| {
        let detail = format!("serial {serial}; {attempts} failed attempt(s)");
        let event = Event::new(AuditEvent::EnrollTokenClaim, Outcome::Failure).user(&user.id, &user.username);
        vec![event.ip(ip.as_deref()).detail(&detail).into()]
    })
    .await?;
    retry(NO_MATCH.into())
}

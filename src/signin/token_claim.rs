//! Claiming a hardware token in the wizard ("Serial number" + "Passcode"): a guess against the
//! institution's inventory, so it is reserved against the lockout before it is checked, like a
//! passcode at the prompt. Unknown, taken and wrong all look the same.

use crate::domain::token::TokenKind;
use crate::domain::{AuditEvent, EnrollEvent, Passcode};
use crate::factors::hotp::HotpSeed;
use crate::secrets::{Keys, new_id};
use crate::store::attempts::{Check, Consume, TokenClaim};
use crate::store::{self, enrollments::EnrollmentRow, tokens::TokenRow};
use crate::tokens::{TokenCheck, check, check_pair};

use super::attempt::{Failure, Kind};
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};

/// What the person typed to claim a token.
pub struct ClaimAsk<'a> {
    pub serial: &'a str,
    pub code: &'a Passcode,
    /// The next code, for a token with a button (HOTP): two in a row prove it is in hand.
    pub next: Option<&'a Passcode>,
}

impl SignIn {
    /// Claims the available token with this serial for `caller`'s wizard, when the code(s) fit.
    /// `Accepted` carries the new device in its detail; anything else counts as a failure.
    pub async fn claim_token(
        &self,
        caller: &Caller<'_>,
        wizard: &EnrollmentRow,
        ask: ClaimAsk<'_>,
    ) -> Result<Verdict, Error> {
        let Some(step) = wizard.step.moving(EnrollEvent::ClaimedToken) else {
            return Ok(Verdict::Wrong { locked_now: false });
        };
        let token = store::tokens::by_serial(&self.db, ask.serial).await?.filter(|t| t.status == "available");
        let (keys, t) = (self.keys.clone(), self.now());
        let windows = (self.settings.tokens.hotp_window, self.settings.tokens.hotp_resync_window);
        let (code, next) = (ask.code.clone(), ask.next.cloned());
        let (enrollment_id, serial) = (wizard.id.clone(), ask.serial.to_string());
        let check = move || {
            let mut found = Check::default();
            if let (Some(token), TokenCheck::Accepted { new_counter }) =
                (&token, fits(&keys, token.as_ref(), &code, next.as_ref(), t, windows))
            {
                let device_id = new_id();
                let detail = format!("device {device_id} (hardware_token, serial {})", token.serial);
                let claim = TokenClaim {
                    token_id: token.id.clone(),
                    counter: new_counter,
                    enrollment_id,
                    step,
                    device_id,
                    device_name: format!("Token {}", token.serial),
                };
                found.candidates.push((Consume::TokenClaim(claim), Accepted { factor: Factor::HardwareToken, detail }));
            }
            found
        };
        let failure = Failure::new(AuditEvent::EnrollTokenClaim, format!("serial {serial}"));
        self.attempt(caller, Kind::Claim, failure, check).await
    }
}

/// What the code(s) say about the token (none: an unknown or taken serial). Unknown serials
/// still cost a resynchronisation's worth of HMACs, so timing tells as little as the message.
fn fits(
    keys: &Keys,
    token: Option<&TokenRow>,
    code: &Passcode,
    next: Option<&Passcode>,
    t: i64,
    (window, resync_window): (u64, u64),
) -> TokenCheck {
    let hotp = |tok: &TokenRow| tok.kind == TokenKind::Hotp.as_str();
    let checked = match (token, next) {
        (None, _) => {
            let _ = HotpSeed::new(&[0u8; 20], 6).resync(code, next.unwrap_or(code), 0, resync_window.clamp(2, 10_000));
            Ok(TokenCheck::Wrong)
        }
        (Some(tok), Some(next)) if hotp(tok) => check_pair(keys, tok, code, next, resync_window),
        // An HOTP token needs both codes: one code alone could be an old one someone saw.
        (Some(tok), None) if hotp(tok) => Ok(TokenCheck::Wrong),
        (Some(tok), _) => check(keys, tok, code, t, window),
    };
    checked.unwrap_or_else(|_| {
        tracing::error!("a token secret does not open");
        TokenCheck::Wrong
    })
}

//! "Enter a Passcode", at every door: a code of any kind checked against everything the user
//! has. Its length says what it can be: 10 digits a backup code, 9 a temporary or recovery
//! passcode, 7 a texted one, anything else an authenticator app's (TOTP) or a hardware token's.
//! A method the policy refuses is refused before anything is checked when the length alone says
//! which it is; app and token codes share lengths, so a match on a refused one is withheld.

use crate::domain::Passcode;
use crate::domain::policy::{Method, MethodSet};
use crate::factors::codes::{self, BACKUP_CODE_DIGITS, TEMPORARY_CODE_DIGITS};
use crate::factors::totp::{TotpSeed, Verification};
use crate::secrets::{Keys, constant_time_eq};
use crate::store::attempts::{Check, Consume};
use crate::store::audit::Outcome;
use crate::store::{self, backup_codes::BackupCodeRow, one_time_codes::OneTimeCodeRow, tokens::TokenRow};
use crate::tokens::{self as token_check, TokenCheck};

use super::attempt::{Failure, Kind, entry};
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};
use crate::domain::AuditEvent;

/// Texted passcodes (and those a call reads out) have this many digits: no other code does.
pub const TEXTED_CODE_DIGITS: usize = crate::channels::telephony::phones::CODE_DIGITS;

/// The purpose of texted codes and calls made to sign in.
pub const PURPOSE: &str = "login";

/// The context used to seal a user's TOTP seeds: a seed copied to another user's row won't open.
pub fn seed_context(user_id: &str) -> String {
    format!("totp-seed:{user_id}")
}

/// What a passcode can be, from its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Backup,
    OneTime,
    Texted,
    AppOrToken,
}

fn class_of(code: &Passcode) -> Class {
    match code.as_str().len() {
        BACKUP_CODE_DIGITS => Class::Backup,
        TEMPORARY_CODE_DIGITS => Class::OneTime,
        TEXTED_CODE_DIGITS => Class::Texted,
        _ => Class::AppOrToken,
    }
}

/// The method refused before anything is checked, when the length alone says which it is.
fn refused_by_length(class: Class, allowed: &MethodSet) -> Option<Method> {
    let method = match class {
        Class::Backup => Method::BackupCodes,
        Class::Texted => Method::Sms,
        Class::OneTime => return None,
        Class::AppOrToken if !allowed.allows(Method::Totp) && !allowed.allows(Method::HardwareToken) => Method::Totp,
        Class::AppOrToken => return None,
    };
    (!allowed.allows(method)).then_some(method)
}

/// What the check compares against, read before the attempt is reserved (each candidate is then
/// consumed conditionally, so a read that is stale by the time of the write cannot be used twice).
enum Candidates {
    Backup(Vec<BackupCodeRow>),
    OneTime(Vec<OneTimeCodeRow>),
    Texted { hash: String },
    AppOrToken { seeds: Vec<(String, String, Option<i64>)>, tokens: Vec<TokenRow> },
}

impl SignIn {
    /// Checks `code` for `caller` (see the module's comment). Every outcome is audited.
    pub async fn passcode(&self, caller: &Caller<'_>, code: &Passcode) -> Result<Verdict, Error> {
        let user_id = &caller.user.id;
        // The attempt's guard decides; this only keeps the answer's order when nothing would
        // be checked anyway (a disabled or locked account is that before a refused method).
        if !caller.user.is_active() {
            return Ok(Verdict::Disabled);
        }
        if self.lock(caller.user).await?.is_locked() {
            let e = entry(caller, AuditEvent::MfaPasscode, Outcome::Failure, "refused: account locked");
            store::audit::record_entry(&self.db, e, self.now()).await?;
            return Ok(Verdict::Locked);
        }
        let allowed = super::allowed::methods_for_user(self, user_id, caller.application).await?;
        let class = class_of(code);
        if let Some(method) = refused_by_length(class, &allowed) {
            return self.refuse_method(caller, method).await;
        }
        let candidates = self.candidates(user_id, class, code).await?;
        let (keys, t, window) = (self.keys.clone(), self.now(), self.settings.tokens.hotp_window);
        let (code, user) = (code.clone(), user_id.clone());
        let check = move || check(&keys, &user, &code, candidates, &allowed, t, window);
        let failure = Failure::new(AuditEvent::MfaPasscode, "wrong passcode");
        self.attempt(caller, Kind::Guess, failure, check).await
    }

    /// A method the policy does not allow this user: refused and audited, nothing checked.
    pub(crate) async fn refuse_method(&self, caller: &Caller<'_>, method: Method) -> Result<Verdict, Error> {
        let detail = format!("{} is not allowed by policy", method.as_str());
        let e = entry(caller, AuditEvent::MfaMethodRefused, Outcome::Failure, &detail);
        store::audit::record_entry(&self.db, e, self.now()).await?;
        Ok(Verdict::Refused(method))
    }

    async fn candidates(&self, user_id: &str, class: Class, code: &Passcode) -> Result<Candidates, Error> {
        Ok(match class {
            Class::Backup => Candidates::Backup(store::backup_codes::unused(&self.db, user_id).await?),
            Class::OneTime => Candidates::OneTime(store::one_time_codes::usable(&self.db, user_id, self.now()).await?),
            Class::Texted => Candidates::Texted { hash: self.phones.code_hash(user_id, code.as_str()) },
            Class::AppOrToken => {
                let devices = store::devices::list_for_user(&self.db, user_id).await?;
                let has_token = devices.iter().any(|d| d.kind == crate::domain::DeviceKind::HardwareToken);
                let seeds = devices
                    .into_iter()
                    .filter(|d| !d.totp_secret.is_empty())
                    .map(|d| (d.id, d.totp_secret, d.totp_last_step))
                    .collect();
                // Hardware tokens are devices too: without one there is no token to look up.
                let tokens =
                    if has_token { store::tokens::usable_for_user(&self.db, user_id).await? } else { Vec::new() };
                Candidates::AppOrToken { seeds, tokens }
            }
        })
    }
}

/// The comparison itself, run only once the attempt is reserved. Compares with every candidate
/// (no early exit), so the time taken does not tell how many codes remain.
fn check(
    keys: &Keys,
    user_id: &str,
    code: &Passcode,
    candidates: Candidates,
    allowed: &MethodSet,
    t: i64,
    window: u64,
) -> Check<Accepted> {
    let mut found = Check::default();
    let accepted = |factor: Factor, detail: String| Accepted { factor, detail };
    match candidates {
        Candidates::Backup(rows) => {
            let left = rows.len().saturating_sub(1);
            for row in
                rows.iter().filter(|r| constant_time_eq(&codes::hash(keys, &r.salt, code.as_str()), &r.code_hash))
            {
                let detail = format!("{left} backup code(s) left");
                found
                    .candidates
                    .push((Consume::BackupCode { id: row.id.clone() }, accepted(Factor::BackupCode, detail)));
            }
        }
        Candidates::OneTime(rows) => {
            for row in
                rows.iter().filter(|r| constant_time_eq(&codes::hash(keys, &r.salt, code.as_str()), &r.code_hash))
            {
                let factor = if row.kind == "recovery" { Factor::RecoveryPasscode } else { Factor::TemporaryPasscode };
                found
                    .candidates
                    .push((Consume::OneTimeCode { id: row.id.clone() }, accepted(factor, format!("code {}", row.id))));
            }
        }
        Candidates::Texted { hash } => {
            let consume = Consume::PhoneCode { purpose: PURPOSE, hash };
            found.candidates.push((consume, accepted(Factor::TextedPasscode, "texted passcode".into())));
        }
        Candidates::AppOrToken { seeds, tokens } => {
            for (device_id, sealed, last_step) in seeds {
                let Ok(seed) = keys.open(&seed_context(user_id), &sealed) else {
                    tracing::error!(device = %device_id, "a TOTP seed does not open");
                    continue;
                };
                match TotpSeed::from_bytes(&seed).verify(code, t.max(0) as u64, last_step) {
                    Verification::Accepted { step } => {
                        let a = accepted(Factor::AppPasscode, format!("device {device_id}"));
                        if allowed.allows(Method::Totp) {
                            found.candidates.push((Consume::TotpStep { device_id, step }, a));
                        } else {
                            found.withheld = Some(a);
                        }
                    }
                    Verification::Replayed => found.replayed = true,
                    Verification::Wrong => {}
                }
            }
            for token in tokens {
                match token_check::check(keys, &token, code, t, window) {
                    Ok(TokenCheck::Accepted { new_counter }) => {
                        let a = accepted(Factor::HardwareToken, format!("token {} ({})", token.serial, token.kind));
                        if allowed.allows(Method::HardwareToken) {
                            let consume = Consume::TokenCounter { token_id: token.id.clone(), counter: new_counter };
                            found.candidates.push((consume, a));
                        } else {
                            found.withheld = Some(a);
                        }
                    }
                    Ok(TokenCheck::Replayed) => found.replayed = true,
                    Ok(TokenCheck::Wrong) => {}
                    Err(_) => tracing::error!(token = %token.id, "a token secret does not open"),
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Passcode {
        Passcode::parse(s).unwrap()
    }

    #[test]
    fn the_length_of_a_code_says_what_it_can_be() {
        assert_eq!(class_of(&code("1234567890")), Class::Backup);
        assert_eq!(class_of(&code("123456789")), Class::OneTime);
        assert_eq!(class_of(&code("1234567")), Class::Texted);
        assert_eq!(class_of(&code("123456")), Class::AppOrToken);
        assert_eq!(class_of(&code("12345678")), Class::AppOrToken);
    }

    #[test]
    fn a_refused_method_is_known_from_the_length_before_anything_is_checked() {
        let only = MethodSet::of;
        let all = MethodSet::all();
        assert_eq!(refused_by_length(Class::Backup, &only(&[Method::Totp])), Some(Method::BackupCodes));
        assert_eq!(refused_by_length(Class::Backup, &all), None);
        assert_eq!(refused_by_length(Class::Texted, &only(&[Method::Totp])), Some(Method::Sms));
        // Help-desk and recovery passcodes are how people get back in: never refused.
        assert_eq!(refused_by_length(Class::OneTime, &only(&[])), None);
        assert_eq!(refused_by_length(Class::AppOrToken, &only(&[Method::Push])), Some(Method::Totp));
        assert_eq!(refused_by_length(Class::AppOrToken, &only(&[Method::HardwareToken])), None);
    }
}

//! Checking a passcode typed at the prompt against everything the user has: each authenticator
//! app (TOTP, 6 digits), hardware tokens (HOTP/TOTP, Yubico OTP) and the unused backup codes
//! (10 digits). Each success is single use.

use crate::domain::Passcode;
use crate::domain::policy::Method;
use crate::factors::codes::{self, BACKUP_CODE_DIGITS, TEMPORARY_CODE_DIGITS};
use crate::factors::totp::{TotpSeed, Verification};
use crate::secrets::constant_time_eq;
use crate::store::{self, devices::DeviceRow};
use crate::web::error::AppError;
use crate::web::state::AppState;

use super::seed_context;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Accepted; `method` and `detail` go to the audit log. `replace_device` is set for a
    /// temporary or recovery passcode: the user goes straight on to add a new device.
    Accepted {
        method: &'static str,
        detail: String,
        replace_device: bool,
    },
    /// It matched something already used (a replayed TOTP step or a used code).
    Replayed,
    Wrong,
}

/// The method a passcode of this length is, when that method is not allowed: refused before
/// anything is consumed. App passcodes and hardware tokens share lengths: refused here only
/// when neither is allowed (otherwise after the check, by the accepted method).
pub async fn refused_before_check(
    state: &AppState,
    user_id: &str,
    code: &Passcode,
) -> Result<Option<Method>, AppError> {
    let allowed = crate::signin::allowed::methods_for_user(state, user_id).await?;
    let len = code.as_str().len();
    let method = if len == BACKUP_CODE_DIGITS {
        Method::BackupCodes
    } else if len == TEMPORARY_CODE_DIGITS {
        return Ok(None);
    } else if len == crate::channels::telephony::phones::CODE_DIGITS {
        Method::Sms
    } else if !allowed.allows(Method::Totp) && !allowed.allows(Method::HardwareToken) {
        Method::Totp
    } else {
        return Ok(None);
    };
    Ok((!allowed.allows(method)).then_some(method))
}

pub async fn check(
    state: &AppState,
    user_id: &str,
    devices: &[DeviceRow],
    code: &Passcode,
    t: i64,
) -> Result<Checked, AppError> {
    if code.as_str().len() == BACKUP_CODE_DIGITS {
        return check_backup_code(state, user_id, code, t).await;
    }
    if code.as_str().len() == TEMPORARY_CODE_DIGITS {
        return check_temporary_code(state, user_id, code, t).await;
    }
    if code.as_str().len() == crate::channels::telephony::phones::CODE_DIGITS {
        return super::phone::check_texted_code(state, user_id, code, t).await;
    }
    let mut replayed = false;
    // Devices without an app seed have no passcode to check here: hardware tokens (their secrets
    // live in the token inventory, below), security keys, phones known by their number only.
    for device in devices.iter().filter(|d| !d.totp_secret.is_empty()) {
        let seed = TotpSeed::from_bytes(&state.keys.open(&seed_context(user_id), &device.totp_secret)?);
        match seed.verify(code, t as u64, device.totp_last_step) {
            Verification::Accepted { step } => {
                // Single use: only the request that moves the step forward succeeds.
                if store::devices::advance_totp_step(&state.db, &device.id, step, t).await? {
                    return Ok(Checked::Accepted {
                        method: "mfa.passcode",
                        detail: format!("device {}", device.id),
                        replace_device: false,
                    });
                }
                replayed = true;
            }
            Verification::Replayed => replayed = true,
            Verification::Wrong => {}
        }
    }
    // Hardware tokens are devices too: without one there is no token to look up.
    if !devices.iter().any(|d| d.kind == crate::domain::DeviceKind::HardwareToken.as_str()) {
        return Ok(if replayed { Checked::Replayed } else { Checked::Wrong });
    }
    let window = state.settings.tokens.hotp_window;
    let (token, token_replayed) =
        crate::tokens::verify_for_user(&state.db, &state.keys, user_id, code, t, window).await?;
    if let Some(token) = token {
        return Ok(Checked::Accepted {
            method: "mfa.token",
            detail: format!("token {} ({})", token.serial, token.kind),
            replace_device: false,
        });
    }
    Ok(if replayed || token_replayed { Checked::Replayed } else { Checked::Wrong })
}

async fn check_backup_code(state: &AppState, user_id: &str, code: &Passcode, t: i64) -> Result<Checked, AppError> {
    let unused = store::backup_codes::unused(&state.db, user_id).await?;
    // Compare with every unused code (no early exit), so timing does not tell how many remain.
    let matched = unused
        .iter()
        .filter(|row| constant_time_eq(&codes::hash(&state.keys, &row.salt, code.as_str()), &row.code_hash))
        .map(|row| row.id.clone())
        .collect::<Vec<_>>()
        .pop();
    let Some(id) = matched else { return Ok(Checked::Wrong) };
    if !store::backup_codes::consume(&state.db, &id, t).await? {
        return Ok(Checked::Replayed);
    }
    let left = store::backup_codes::count_unused(&state.db, user_id).await?;
    Ok(Checked::Accepted {
        method: "mfa.backup_code",
        detail: format!("{left} backup code(s) left"),
        replace_device: false,
    })
}

async fn check_temporary_code(state: &AppState, user_id: &str, code: &Passcode, t: i64) -> Result<Checked, AppError> {
    let usable = store::one_time_codes::usable(&state.db, user_id, t).await?;
    let matched = usable
        .iter()
        .filter(|row| constant_time_eq(&codes::hash(&state.keys, &row.salt, code.as_str()), &row.code_hash))
        .cloned()
        .collect::<Vec<_>>()
        .pop();
    let Some(row) = matched else { return Ok(Checked::Wrong) };
    // Conditional decrement: 20 simultaneous uses of a one-use code give exactly one success.
    if !store::one_time_codes::use_once(&state.db, &row.id, t).await? {
        return Ok(Checked::Replayed);
    }
    let method = if row.kind == "recovery" { "mfa.recovery_passcode" } else { "mfa.temporary_passcode" };
    Ok(Checked::Accepted { method, detail: format!("code {}", row.id), replace_device: true })
}

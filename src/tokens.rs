//! Hardware tokens as a service for the web pages and the command line: importing a checked file
//! (all or nothing), and checking a passcode against one token (opening its sealed secret).

use std::collections::HashMap;

use crate::domain::Passcode;
use crate::domain::import::LineError;
use crate::domain::token::{TokenKind, TokenRow as ImportRow};
use crate::factors::{hotp, totp, yubico_otp};
use crate::secrets::{Keys, OpenError, SealError, new_id};
use crate::store::tokens::{NewToken, TokenRow};
use crate::store::{self, Db, StoreError};

/// Sealed token secrets carry their token's id: a secret copied to another row does not open.
pub fn seal_context(token_id: &str) -> String {
    format!("hardware-token:{token_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s) in the file", .0.len())]
    Lines(Vec<LineError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealing a token secret failed")]
    Seal(#[from] SealError),
}

/// Lines whose serial or public id is already in the inventory.
pub async fn already_imported(db: &Db, rows: &[ImportRow]) -> Result<Vec<LineError>, StoreError> {
    let mut taken: HashMap<String, ()> = HashMap::new();
    for (serial, public_id) in store::tokens::taken_identifiers(db).await? {
        taken.insert(format!("serial {serial}"), ());
        if let Some(p) = public_id {
            taken.insert(format!("public id {p}"), ());
        }
    }
    Ok(rows
        .iter()
        .filter_map(|r| {
            let keys = [Some(format!("serial {}", r.serial)), r.public_id.as_ref().map(|p| format!("public id {p}"))];
            let key = keys.into_iter().flatten().find(|k| taken.contains_key(k))?;
            Some(LineError { line: r.line, message: format!("A token with {key} is already in the inventory.") })
        })
        .collect())
}

/// Imports every row or none: duplicates against the inventory are reported per line first; a
/// serial taken by a concurrent import makes the single transaction fail as a whole.
pub async fn import(db: &Db, keys: &Keys, rows: &[ImportRow], by: &str, now: i64) -> Result<usize, ImportError> {
    let duplicates = already_imported(db, rows).await?;
    if !duplicates.is_empty() {
        return Err(ImportError::Lines(duplicates));
    }
    let mut tokens = Vec::with_capacity(rows.len());
    for r in rows {
        let id = new_id();
        let sealed_secret = keys.seal(&seal_context(&id), &r.secret.0)?;
        tokens.push(NewToken {
            id,
            serial: r.serial.clone(),
            kind: r.kind.as_str(),
            sealed_secret,
            digits: i64::from(r.digits),
            period: r.period as i64,
            counter: i64::try_from(r.counter).unwrap_or(i64::MAX),
            public_id: r.public_id.clone(),
        });
    }
    match store::tokens::insert_all(db, &tokens, by, now).await {
        Ok(n) => Ok(n),
        Err(StoreError::Conflict) => Err(ImportError::Lines(vec![LineError {
            line: 0,
            message: "Another import added some of these serial numbers just now. Nothing was imported; check the file again.".into(),
        }])),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Store this counter (conditionally: only if it is still higher than the stored one).
    Accepted {
        new_counter: i64,
    },
    Replayed,
    Wrong,
}

/// Whether `code` has the shape this token types (digits of its length, or a Yubico OTP).
pub fn fits(token: &TokenRow, code: &Passcode) -> bool {
    match TokenKind::parse(&token.kind) {
        Ok(TokenKind::Yubico) => yubico_otp::looks_like_otp(code.as_str()),
        Ok(_) => code.as_str().len() == token.digits as usize && code.as_str().bytes().all(|b| b.is_ascii_digit()),
        Err(_) => false,
    }
}

/// Checks one code against one token at server time `now` (nothing is stored here).
pub fn check(keys: &Keys, token: &TokenRow, code: &Passcode, now: i64, window: u64) -> Result<TokenCheck, OpenError> {
    if !fits(token, code) {
        return Ok(TokenCheck::Wrong);
    }
    let secret = keys.open(&seal_context(&token.id), &token.secret)?;
    let digits = u8::try_from(token.digits).unwrap_or(6);
    Ok(match TokenKind::parse(&token.kind) {
        Ok(TokenKind::Hotp) => {
            let next = u64::try_from(token.counter).unwrap_or(0);
            match hotp::HotpSeed::new(&secret, digits).verify(code, next, window.clamp(1, 1000)) {
                hotp::Verification::Accepted { counter } => TokenCheck::Accepted { new_counter: counter as i64 + 1 },
                hotp::Verification::Replayed => TokenCheck::Replayed,
                hotp::Verification::Wrong => TokenCheck::Wrong,
            }
        }
        Ok(TokenKind::Totp) => {
            let last = (token.counter > 0).then_some(token.counter);
            let period = u64::try_from(token.period).unwrap_or(30);
            match totp::verify_token(&secret, digits, period, code, now.max(0) as u64, last) {
                totp::Verification::Accepted { step } => TokenCheck::Accepted { new_counter: step },
                totp::Verification::Replayed => TokenCheck::Replayed,
                totp::Verification::Wrong => TokenCheck::Wrong,
            }
        }
        Ok(TokenKind::Yubico) => {
            let Some((public_id, encrypted)) = yubico_otp::split(code.as_str()) else { return Ok(TokenCheck::Wrong) };
            if token.public_id.as_deref() != Some(public_id) || secret.len() != 22 {
                return Ok(TokenCheck::Wrong);
            }
            let (key, private_id) = secret.split_at(yubico_otp::KEY_BYTES);
            match yubico_otp::verify(encrypted, key, private_id, token.counter) {
                yubico_otp::Verification::Accepted(d) => TokenCheck::Accepted { new_counter: d.counter() },
                yubico_otp::Verification::Replayed => TokenCheck::Replayed,
                yubico_otp::Verification::Wrong => TokenCheck::Wrong,
            }
        }
        Err(_) => TokenCheck::Wrong,
    })
}

/// Claiming an HOTP token: two consecutive codes anywhere in the resynchronisation window.
pub fn check_pair(
    keys: &Keys,
    token: &TokenRow,
    first: &Passcode,
    second: &Passcode,
    window: u64,
) -> Result<TokenCheck, OpenError> {
    if !fits(token, first) || !fits(token, second) {
        return Ok(TokenCheck::Wrong);
    }
    let secret = keys.open(&seal_context(&token.id), &token.secret)?;
    let seed = hotp::HotpSeed::new(&secret, u8::try_from(token.digits).unwrap_or(6));
    let next = u64::try_from(token.counter).unwrap_or(0);
    Ok(match seed.resync(first, second, next, window.clamp(2, 10_000)) {
        Some(counter) => TokenCheck::Accepted { new_counter: counter as i64 + 1 },
        None => TokenCheck::Wrong,
    })
}

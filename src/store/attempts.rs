//! A second-factor attempt as one write. In one transaction: the guard (the account is active
//! and not locked, the failure budget has room, the session that asks still exists) is checked
//! and the attempt reserved by one conditional statement; only then does the caller's check run
//! (in memory: it compares the typed code, it does not wait); what it matched is consumed
//! conditionally, first winner only; the outcome (failures reset, or the lock) and its audit
//! entries are stored. A guess that gets no reservation is never checked, so a burst of guesses
//! cannot check more than the budget, and one that waited while the account locked finds it
//! locked. The success path and the failure path are each one commit.

use sqlx::AnyConnection;

use super::audit::Entry;
use super::{
    Db, StoreError, backup_codes, devices, last_methods, one_time_codes, phone_calls, phone_codes, push_requests,
    tokens,
};
use super::{sessions, trusted_browsers, webauthn};

/// What must hold for the attempt to be made at all.
#[derive(Debug, Clone)]
pub struct Guard {
    pub user_id: String,
    /// A guess (a typed code, a key's answer) is counted against `max_failures` before it is
    /// checked. An approval or an answered call is no guess: it needs only an unlocked account.
    pub guess: bool,
    pub max_failures: i64,
    /// A lock taken at or before this time has run out (automatic unlock); `None`: locks stay.
    pub unlock_before: Option<i64>,
    /// The session (keyed hash of its id) that asks; it must still exist (not logged out).
    pub session: Option<String>,
    /// A success is a sign-in (remembered as the last one); claiming a token in the wizard is not.
    pub sign_in: bool,
    /// Where a sign-in's method is remembered for the prompt to show first (`last_methods`): the
    /// application's integration key, or `last_methods::PORTAL`.
    pub application: String,
}

/// Why an attempt was not made (nothing was checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Locked, or the failure budget is spent by guesses still being checked.
    Locked,
    /// Disabled or deleted.
    Inactive,
    /// The session that asked ended meanwhile (logged out, revoked, expired).
    SessionEnded,
}

/// One thing an accepted check uses up; each is a conditional update that only one caller wins.
#[derive(Debug, Clone)]
pub enum Consume {
    /// An app's TOTP step (only moves forward).
    TotpStep {
        device_id: String,
        step: i64,
    },
    /// A hardware token's counter or time step (only moves forward).
    TokenCounter {
        token_id: String,
        counter: i64,
    },
    BackupCode {
        id: String,
    },
    /// A temporary (help desk) or recovery passcode: one use.
    OneTimeCode {
        id: String,
    },
    /// A texted or spoken passcode, by its keyed hash.
    PhoneCode {
        purpose: &'static str,
        hash: String,
    },
    /// An approved push, by the user it was sent to, in the session that started it.
    PushApproval {
        id: String,
        session: Option<String>,
    },
    /// An answered call.
    CallAnswer {
        id: String,
    },
    /// A security key's assertion: the stored credential moves on from the sign count it was read at.
    SecurityKey(KeyUse),
    /// A trusted browser's cookie (keyed hash), trusted after `trusted_since` and still valid.
    TrustedBrowser {
        token_hash: String,
        trusted_since: i64,
    },
    /// A hardware token claimed in the wizard: the token, its device and the wizard's move.
    TokenClaim(TokenClaim),
}

#[derive(Debug, Clone)]
pub struct TokenClaim {
    pub token_id: String,
    pub counter: i64,
    pub enrollment_id: String,
    pub step: crate::domain::Move,
    pub device_id: String,
    pub device_name: String,
}

#[derive(Debug, Clone)]
pub struct KeyUse {
    pub credential_row_id: String,
    pub device_id: String,
    pub read_sign_count: i64,
    pub sealed_credential: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub user_verified: bool,
}

/// What the check found: candidates to consume in order (the first one consumed wins), whether
/// something matched that was already used, and a match the caller withholds (e.g. a method
/// the policy refuses): never consumed, the attempt fails.
#[derive(Debug)]
pub struct Check<T> {
    pub candidates: Vec<(Consume, T)>,
    pub replayed: bool,
    pub withheld: Option<T>,
}

impl<T> Default for Check<T> {
    fn default() -> Self {
        Self { candidates: Vec::new(), replayed: false, withheld: None }
    }
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Settled<T> {
    Refused(Refusal),
    /// The candidate consumed; failures were reset.
    Accepted(T),
    /// Nothing was consumed. `attempts` is the count after this one (a guess counts).
    Failed {
        attempts: i64,
        locked_now: bool,
        replayed: bool,
        withheld: Option<T>,
    },
}

/// Runs one attempt (see the module's comment). `check` runs only after the reservation;
/// `audit` names the entries of the outcome, stored in the same transaction.
pub async fn settle<T, C, A>(db: &Db, guard: Guard, now: i64, check: C, audit: A) -> Result<Settled<T>, StoreError>
where
    T: Send + 'static,
    C: FnOnce() -> Check<T> + Send + 'static,
    A: FnOnce(&Settled<T>) -> Vec<Entry> + Send + 'static,
{
    let (settled, entries) = db
        .write(move |c| {
            Box::pin(async move {
                let settled = run(c, &guard, now, check).await?;
                let entries = audit(&settled);
                for entry in &entries {
                    entry.insert(c, now).await?;
                }
                Ok((settled, entries))
            })
        })
        .await?;
    for entry in &entries {
        entry.told(db);
    }
    Ok(settled)
}

async fn run<T>(
    c: &mut AnyConnection,
    guard: &Guard,
    now: i64,
    check: impl FnOnce() -> Check<T>,
) -> Result<Settled<T>, StoreError> {
    if let Some(session) = &guard.session
        && !sessions::hold_on(c, session, now).await?
    {
        return Ok(Settled::Refused(Refusal::SessionEnded));
    }
    let Some(attempts) = reserve(c, guard).await? else {
        return Ok(Settled::Refused(refusal(c, &guard.user_id).await?));
    };
    let mut found = check();
    let mut replayed = found.replayed;
    for (consume, value) in std::mem::take(&mut found.candidates) {
        if apply(c, &guard.user_id, &consume, now).await? {
            succeeded(c, &guard.user_id, guard.sign_in, now).await?;
            if guard.sign_in {
                last_methods::remember_on(c, &guard.user_id, &guard.application, &consume, now).await?;
            }
            return Ok(Settled::Accepted(value));
        }
        // It matched, but another request used it first.
        replayed = true;
    }
    let mut locked_now = false;
    if guard.guess && attempts >= guard.max_failures {
        let done = sqlx::query(
            "UPDATE users SET locked_at = $1 WHERE id = $2 AND locked_at IS NULL AND failed_attempts >= $3",
        )
        .bind(now)
        .bind(&guard.user_id)
        .bind(guard.max_failures)
        .execute(&mut *c)
        .await?;
        locked_now = done.rows_affected() == 1;
    }
    Ok(Settled::Failed { attempts, locked_now, replayed, withheld: found.withheld })
}

/// The conditional statement that checks the lock and the budget and reserves the attempt (a
/// guess is counted now, and forgiven by `succeeded`). A lock whose time has run out is lifted
/// here. On PostgreSQL it also holds the user's row until the commit, so the attempts of one
/// user are settled one after another.
async fn reserve(c: &mut AnyConnection, guard: &Guard) -> Result<Option<i64>, StoreError> {
    let unlock_before = guard.unlock_before.unwrap_or(i64::MIN);
    let query = if guard.guess {
        sqlx::query_as(
            "UPDATE users SET failed_attempts = CASE WHEN locked_at IS NULL THEN failed_attempts + 1 ELSE 1 END, \
             locked_at = NULL WHERE id = $1 AND status = 'active' \
             AND ((locked_at IS NULL AND failed_attempts < $2) OR locked_at <= $3) RETURNING failed_attempts",
        )
        .bind(&guard.user_id)
        .bind(guard.max_failures)
        .bind(unlock_before)
    } else {
        sqlx::query_as(
            "UPDATE users SET failed_attempts = CASE WHEN locked_at IS NULL THEN failed_attempts ELSE 0 END, \
             locked_at = NULL WHERE id = $1 AND status = 'active' AND (locked_at IS NULL OR locked_at <= $2) \
             RETURNING failed_attempts",
        )
        .bind(&guard.user_id)
        .bind(unlock_before)
    };
    let row: Option<(i64,)> = query.fetch_optional(&mut *c).await?;
    Ok(row.map(|(n,)| n))
}

async fn refusal(c: &mut AnyConnection, user_id: &str) -> Result<Refusal, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT status FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *c).await?;
    Ok(match row {
        Some((status,)) if status == "active" => Refusal::Locked,
        _ => Refusal::Inactive,
    })
}

/// A success: the failure count starts again, and a sign-in is remembered.
async fn succeeded(c: &mut AnyConnection, user_id: &str, sign_in: bool, now: i64) -> Result<(), StoreError> {
    let query = if sign_in {
        sqlx::query("UPDATE users SET failed_attempts = 0, last_login_at = $1 WHERE id = $2").bind(now).bind(user_id)
    } else {
        sqlx::query("UPDATE users SET failed_attempts = 0 WHERE id = $1").bind(user_id)
    };
    query.execute(&mut *c).await?;
    Ok(())
}

async fn apply(c: &mut AnyConnection, user_id: &str, consume: &Consume, now: i64) -> Result<bool, StoreError> {
    match consume {
        Consume::TotpStep { device_id, step } => devices::advance_totp_step_on(c, device_id, *step, now).await,
        Consume::TokenCounter { token_id, counter } => tokens::advance_counter_on(c, token_id, *counter, now).await,
        Consume::BackupCode { id } => backup_codes::consume_on(c, user_id, id, now).await,
        Consume::OneTimeCode { id } => one_time_codes::use_once_on(c, user_id, id, now).await,
        Consume::PhoneCode { purpose, hash } => phone_codes::consume_on(c, user_id, purpose, hash, now).await,
        Consume::PushApproval { id, session } => {
            push_requests::consume_on(c, id, user_id, session.as_deref(), now).await
        }
        Consume::CallAnswer { id } => phone_calls::consume_answered_on(c, id, user_id, now).await,
        Consume::SecurityKey(key) => webauthn::record_use_on(c, key, now).await,
        Consume::TrustedBrowser { token_hash, trusted_since } => {
            trusted_browsers::seen_on(c, user_id, token_hash, *trusted_since, now).await
        }
        Consume::TokenClaim(claim) => {
            let how =
                tokens::Claim::Wizard { enrollment_id: &claim.enrollment_id, step: claim.step, counter: claim.counter };
            let device = (claim.device_id.as_str(), claim.device_name.as_str());
            tokens::claim_on(c, &claim.token_id, claim.counter, user_id, device, how, now).await
        }
    }
}

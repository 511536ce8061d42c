//! Calls in progress ("Call Me", "Call me to verify"): who is called, why, and how it ended.
//! The outcome moves once, from "ringing", by a conditional update (single use).

use sqlx::FromRow;

use super::phone_numbers;
use super::{Db, StoreError};
use crate::secrets::Keys;

#[derive(Debug, Clone, FromRow)]
pub struct CallRow {
    pub id: String,
    pub user_id: String,
    /// E.164 (stored sealed to the user); shown masked to anyone but the owner.
    pub to_number: String,
    /// "login" or "enroll".
    pub purpose: String,
    /// "simulator" or "twilio".
    pub provider: String,
    pub provider_sid: Option<String>,
    /// What the call says (no secrets: who is signing in and which keys to press).
    pub script: String,
    /// ringing, answered, declined, fraud, busy, no_answer, failed, timeout.
    pub status: String,
    pub digits: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, user_id, to_number, purpose, provider, provider_sid, script, status, digits, created_at, updated_at, expires_at";

pub struct NewCall<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub to_number: &'a str,
    pub purpose: &'a str,
    pub provider: &'a str,
    pub script: &'a str,
    pub expires_at: i64,
    /// The device called (none when a number is being verified at enrolment).
    pub device_id: Option<&'a str>,
}

pub async fn insert(db: &Db, keys: &Keys, c: NewCall<'_>, now: i64) -> Result<(), StoreError> {
    let to = phone_numbers::seal(keys, Some(c.user_id), c.to_number)?;
    sqlx::query(
        "INSERT INTO phone_calls (id, user_id, to_number, purpose, provider, script, status, created_at, updated_at, \
         expires_at, device_id) VALUES ($1, $2, $3, $4, $5, $6, 'ringing', $7, $8, $9, $10)",
    )
    .bind(c.id)
    .bind(c.user_id)
    .bind(&to.sealed)
    .bind(c.purpose)
    .bind(c.provider)
    .bind(c.script)
    .bind(now)
    .bind(now)
    .bind(c.expires_at)
    .bind(c.device_id)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// Opens the number of rows just read.
fn opened(keys: &Keys, mut call: CallRow) -> Result<CallRow, StoreError> {
    call.to_number = phone_numbers::open(keys, Some(&call.user_id), &call.to_number)?;
    Ok(call)
}

pub async fn by_id(db: &Db, keys: &Keys, id: &str) -> Result<Option<CallRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM phone_calls WHERE id = $1");
    let row: Option<CallRow> = sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?;
    row.map(|call| opened(keys, call)).transpose()
}

pub async fn set_provider_sid(db: &Db, id: &str, sid: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE phone_calls SET provider_sid = $1 WHERE id = $2")
        .bind(sid)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Ends a ringing call with `status` (and the key pressed). True for the one update that did it:
/// a second webhook, a second click or a late key press changes nothing.
pub async fn finish(db: &Db, id: &str, status: &str, digits: Option<&str>, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE phone_calls SET status = $1, digits = $2, updated_at = $3 WHERE id = $4 AND status = 'ringing'",
    )
    .bind(status)
    .bind(digits)
    .bind(now)
    .bind(id)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Hands an answered call's approval to the one waiting sign-in: "answered" becomes "used".
pub async fn consume_answered(db: &Db, id: &str, user_id: &str, now: i64) -> Result<bool, StoreError> {
    let mut conn = db.writes().acquire().await?;
    consume_answered_on(&mut conn, id, user_id, now).await
}

/// `consume_answered` on the caller's transaction (see `attempts`).
pub(crate) async fn consume_answered_on(
    c: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE phone_calls SET status = 'used', updated_at = $1 WHERE id = $2 AND user_id = $3 AND status = 'answered'",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The phone that answered was just used.
    sqlx::query(
        "UPDATE devices SET last_used_at = $1 WHERE user_id = $2 AND id IN (SELECT device_id FROM phone_calls WHERE id = $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(true)
}

/// Calls the simulator is ringing or rang recently, newest first.
pub async fn recent_simulated(db: &Db, keys: &Keys, limit: i64) -> Result<Vec<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM phone_calls WHERE provider = 'simulator' ORDER BY created_at DESC, id DESC LIMIT $1"
    );
    let rows: Vec<CallRow> = sqlx::query_as(&sql).bind(limit).fetch_all(db.pool()).await?;
    rows.into_iter().map(|call| opened(keys, call)).collect()
}

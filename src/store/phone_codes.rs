//! Passcodes sent by text or read out by a call: keyed hashes only, ten minutes by default, each
//! used once (a conditional update decides the one winner under concurrent submissions).

use super::{Db, StoreError};
use crate::secrets::new_id;

/// Stores a batch of code hashes for the user. Older unused codes stay valid until they expire:
/// sending new codes never resets anything, including the failure count.
pub async fn insert_batch(
    db: &Db,
    user_id: &str,
    device_id: Option<&str>,
    purpose: &str,
    hashes: &[String],
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO phone_codes (id, user_id, code_hash, purpose, created_at, expires_at, device_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(hash)
        .bind(purpose)
        .bind(now)
        .bind(expires_at)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Uses the unexpired, unused code with this hash. True for exactly one caller.
pub async fn consume(db: &Db, user_id: &str, purpose: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
    let mut conn = db.writes().acquire().await?;
    consume_on(&mut conn, user_id, purpose, hash, now).await
}

/// `consume` on the caller's transaction (see `attempts`).
pub(crate) async fn consume_on(
    c: &mut sqlx::AnyConnection,
    user_id: &str,
    purpose: &str,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE phone_codes SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND code_hash = $4 \
         AND used_at IS NULL AND expires_at > $5",
    )
    .bind(now)
    .bind(user_id)
    .bind(purpose)
    .bind(hash)
    .bind(now)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    // The phone the code was texted to was just used.
    sqlx::query(
        "UPDATE devices SET last_used_at = $1 WHERE user_id = $2 AND id IN \
         (SELECT device_id FROM phone_codes WHERE user_id = $2 AND purpose = $3 AND code_hash = $4)",
    )
    .bind(now)
    .bind(user_id)
    .bind(purpose)
    .bind(hash)
    .execute(&mut *c)
    .await?;
    Ok(true)
}

/// True when the user has an unexpired, unused code (so "Enter a Passcode" may mention texts).
pub async fn has_live(db: &Db, user_id: &str, purpose: &str, now: i64) -> Result<bool, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM phone_codes WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

/// Voids every live code of this purpose (too many wrong guesses): a new text is needed.
pub async fn void_all(db: &Db, user_id: &str, purpose: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE phone_codes SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(purpose)
        .execute(db.writes())
        .await?;
    Ok(())
}
